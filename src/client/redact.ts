/**
 * Keeps the app secret and tenant tokens out of every error the library raises. Text from elsewhere can
 * quote them: a `fetch` whose error message quotes the request body (the token request carries the
 * secret), a server echoing the token in `msg`, an SDK error. Such text passes through a `Secrets` that
 * knows what the client has held, and each occurrence becomes `[redacted]`.
 */
import type { FeishuError } from './errors.js';

export const REDACTED = '[redacted]';
/** Tokens remembered. A token lives at most 2 hours and is renewed every 1.5, so this spans weeks. */
const MAX_TOKENS = 256;
/** Causes of causes kept in an error; deeper ones are dropped. */
const MAX_CAUSE_DEPTH = 8;

export class Secrets {
  /** App secrets: kept for the client's life. */
  readonly #fixed = new Set<string>();
  /** Tenant tokens, oldest first. */
  readonly #tokens = new Set<string>();
  /** Every value, longest first (so a secret containing another is replaced whole); rebuilt on change. */
  #ordered: string[] = [];

  addSecret(value: unknown): void {
    if (typeof value !== 'string' || value === '' || this.#fixed.has(value)) return;
    this.#fixed.add(value);
    this.#reorder();
  }

  addToken(value: unknown): void {
    if (typeof value !== 'string' || value === '') return;
    if (this.#tokens.delete(value)) {
      this.#tokens.add(value);
      return;
    }
    this.#tokens.add(value);
    if (this.#tokens.size > MAX_TOKENS) this.#tokens.delete(this.#tokens.values().next().value as string);
    this.#reorder();
  }

  /** `text` with every known secret replaced by `[redacted]`. */
  redact(text: string): string {
    let result = text;
    for (const secret of this.#ordered) if (result.includes(secret)) result = result.split(secret).join(REDACTED);
    return result;
  }

  /** A copy of a parsed JSON value with every string redacted (an error answer's body). */
  redactJson(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (typeof value !== 'object' || value === null || depth > 32) return value;
    if (Array.isArray(value)) return value.map((item: unknown) => this.redactJson(item, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [this.redact(key), this.redactJson(item, depth + 1)]));
  }

  /**
   * Redacts a library error in place before it is thrown: its message and stack, and its cause chain,
   * replaced by a copy that keeps each cause's name, message, string `code` and stack, redacted.
   */
  scrub<E extends FeishuError>(error: E): E {
    if (this.#ordered.length === 0) return error;
    error.message = this.redact(error.message);
    if (typeof error.stack === 'string') error.stack = this.redact(error.stack);
    if (error.cause !== undefined) {
      Object.defineProperty(error, 'cause', {
        value: copyCause(error.cause, (text) => this.redact(text)),
        writable: true,
        enumerable: false,
        configurable: true,
      });
    }
    return error;
  }

  #reorder(): void {
    this.#ordered = [...this.#fixed, ...this.#tokens].sort((a, b) => b.length - a.length);
  }
}

/**
 * A plain copy of an error chain holding only each error's name, message, string `code`, stack and
 * cause, with `redact` applied to the text. Anything else a cause carries (an HTTP client's request
 * config with headers and body) is left behind. Non-Error causes are dropped.
 */
export function copyCause(cause: unknown, redact: (text: string) => string = (text) => text, depth = 0, seen = new Set<unknown>()): Error | undefined {
  if (!(cause instanceof Error) || depth >= MAX_CAUSE_DEPTH || seen.has(cause)) return undefined;
  seen.add(cause);
  const copy = new Error(redact(String(cause.message)));
  copy.name = redact(String(cause.name));
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(copy, { code: redact(code) });
  if (typeof cause.stack === 'string') copy.stack = redact(cause.stack);
  else delete copy.stack;
  const inner = copyCause(cause.cause, redact, depth + 1, seen);
  if (inner) Object.defineProperty(copy, 'cause', { value: inner, writable: true, enumerable: false, configurable: true });
  return copy;
}
