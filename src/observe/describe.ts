/**
 * Errors as telemetry shows them: a bounded `code` for metric attributes, and a plain description for
 * log lines and spans with every known secret redacted (the client's own errors already are; a source's
 * error or an abort reason may quote anything).
 */
import { FeishuApiError, FeishuError } from '../client/errors.js';
import { redactSecrets } from './secrets.js';

/** Longest message kept in a description, in UTF-16 units. */
const MAX_MESSAGE = 1000;

/**
 * The `code` attribute of a refused request: the platform's code (`"99991400"`), `network` or
 * `timeout` when no answer came, `error` for anything else.
 */
export function codeOf(error: unknown): string {
  if (error instanceof FeishuApiError) return String(error.code);
  if (error instanceof FeishuError && (error.kind === 'network' || error.kind === 'timeout')) return error.kind;
  return 'error';
}

export interface ErrorDescription {
  /** The error's class name, e.g. `FeishuApiError`. */
  type: string;
  /** Its message, secrets redacted, at most 1000 characters. */
  message: string;
  /** The library's stable string code (`FeishuError.kind`), for the library's errors. */
  kind?: string;
  /** The platform's code and log id, for `FeishuApiError`. */
  code?: number;
  logId?: string;
}

/** An error (or anything thrown) as a log line or a span shows it, secrets redacted. */
export function describeError(error: unknown): ErrorDescription {
  if (!(error instanceof Error)) return { type: typeof error, message: clip(redactSecrets(String(error))) };
  const description: ErrorDescription = { type: clip(redactSecrets(error.name)), message: clip(redactSecrets(error.message)) };
  if (error instanceof FeishuError) description.kind = error.kind;
  if (error instanceof FeishuApiError) {
    description.code = error.code;
    if (error.logId !== undefined) description.logId = error.logId;
  }
  return description;
}

/** An abort reason as telemetry shows it: a string (redacted), an error described, a number, or the type of anything else (an object may hold anything). */
export function describeReason(reason: unknown): string | ErrorDescription {
  if (reason === undefined) return 'undefined';
  if (typeof reason === 'string') return clip(redactSecrets(reason));
  if (reason instanceof Error) return describeError(reason);
  if (typeof reason === 'number' || typeof reason === 'boolean' || typeof reason === 'bigint') return String(reason);
  return typeof reason;
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}
