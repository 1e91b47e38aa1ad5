/**
 * One call to the platform: a token, the request under a per-call timeout and the caller's signal,
 * the envelope turned into data or a typed error, and on a token error one retry with a fresh token
 * (reference §17 "T", §18). Every token the platform rejects is forgotten, the retry's too, so a later
 * call starts with a fresh one. Errors leave here with the client's secrets redacted.
 */
import { type RequestCapture, claimRequest } from '../observe/hub.js';
import { rememberSecrets } from '../observe/secrets.js';
import { deadline } from './deadline.js';
import { FeishuApiError, FeishuError, FeishuNetworkError, FeishuTimeoutError } from './errors.js';
import type { Secrets } from './redact.js';
import type { TokenSource } from './token.js';
import type { Transport, TransportRequest, TransportResponse } from './transport.js';
import { requireTimeout } from './validate.js';

export interface CallOptions {
  /** Aborts the call; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Per-request timeout in ms, above 0 and at most 2_147_483_647; overrides the client's `timeoutMs`. */
  timeoutMs?: number;
}

export interface CallSpec extends CallOptions {
  endpoint: string;
  method: TransportRequest['method'];
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** The token endpoint itself is called without a token and answers at the top level. */
  tokenRequest?: boolean;
}

interface Envelope {
  code: number;
  msg?: string;
  data?: unknown;
  error?: { log_id?: string };
}

type Attempt = { ok: true; data: unknown } | { ok: false; error: FeishuApiError; token: string | undefined };

/** How the answer of an observed request (see observe/hub.ts) reaches its capture. */
type Capture = RequestCapture | undefined;

export class Requester {
  tokens: TokenSource | undefined;

  constructor(
    private readonly transport: Transport,
    readonly defaultTimeoutMs: number,
    /** What the client holds that must never appear in an error. */
    readonly secrets: Secrets,
  ) {
    // Telemetry redacts text it did not write (a source's error, an abort reason) with every client's secrets.
    rememberSecrets(secrets);
  }

  /** Throws a `RangeError` at once for a bad per-call `timeoutMs`; otherwise the call's promise. */
  call<T>(spec: CallSpec): Promise<T> {
    if (spec.timeoutMs !== undefined) requireTimeout(spec.timeoutMs, 'timeoutMs');
    // Taken synchronously, before this call may ask for a token (a request of its own).
    return this.#call<T>(spec, claimRequest());
  }

  async #call<T>(spec: CallSpec, capture: Capture): Promise<T> {
    const useToken = !spec.tokenRequest && !this.transport.managesTokens;
    const first = await this.#attempt(spec, useToken, capture);
    if (first.ok) return first.data as T;
    if (!this.#tokenRejected(first)) throw first.error;
    capture?.tokenRefusals.push({ error: first.error });
    const second = await this.#attempt(spec, useToken, capture);
    if (second.ok) return second.data as T;
    this.#tokenRejected(second);
    throw second.error;
  }

  /** When the platform rejected the token the attempt was sent with, forgets it and says so. */
  #tokenRejected(attempt: Extract<Attempt, { ok: false }>): boolean {
    if (attempt.error.category !== 'token' || attempt.token === undefined) return false;
    this.tokens?.invalidate(attempt.token);
    return true;
  }

  /**
   * One try; a platform error comes back with the token it was sent with, for the retry decision. An
   * observed request notes its answer's log id in `capture` (errors carry theirs).
   */
  async #attempt(spec: CallSpec, useToken: boolean, capture: Capture): Promise<Attempt> {
    spec.signal?.throwIfAborted();
    const timeoutMs = spec.timeoutMs ?? this.defaultTimeoutMs;
    const limit = deadline(timeoutMs, spec.signal);
    const signal = limit.signal;
    try {
      const token = useToken && this.tokens ? await this.tokens.token(signal) : undefined;
      this.secrets.addToken(token);
      const response = await this.transport.send({
        method: spec.method,
        path: spec.path,
        endpoint: spec.endpoint,
        signal,
        ...(spec.query ? { query: spec.query } : {}),
        ...(spec.body === undefined ? {} : { body: spec.body }),
        ...(token === undefined ? {} : { token }),
      });
      const result = unwrap(spec, response, this.secrets);
      if (capture) capture.logId = redactOptional(this.secrets, response.header('x-tt-logid'));
      return result instanceof FeishuApiError ? { ok: false, error: result, token } : { ok: true, data: result };
    } catch (error) {
      if (spec.signal?.aborted) throw spec.signal.reason;
      if (limit.timedOut) throw new FeishuTimeoutError(spec.endpoint, timeoutMs);
      throw error instanceof FeishuError ? this.secrets.scrub(error) : error;
    } finally {
      limit.dispose();
    }
  }
}

/** The answer's data, or the platform's error with its text (server-written, may echo a token) redacted. */
function unwrap(spec: CallSpec, response: TransportResponse, secrets: Secrets): unknown {
  const body = response.body as Envelope | undefined;
  if (typeof body !== 'object' || body === null || typeof body.code !== 'number') {
    if (response.status >= 500 || response.status === 429) {
      throw new FeishuNetworkError(spec.endpoint, `HTTP ${response.status} without a platform answer`);
    }
    return new FeishuApiError({
      code: -1,
      msg: `HTTP ${response.status} without a platform answer`,
      httpStatus: response.status,
      logId: redactOptional(secrets, response.header('x-tt-logid')),
      endpoint: spec.endpoint,
    });
  }
  if (body.code === 0) return spec.tokenRequest ? body : (body.data ?? {});
  const reset = Number(response.header('x-ogw-ratelimit-reset'));
  const logId = response.header('x-tt-logid') ?? body.error?.log_id;
  return new FeishuApiError({
    code: body.code,
    msg: typeof body.msg === 'string' ? secrets.redact(body.msg) : '',
    httpStatus: response.status,
    logId: redactOptional(secrets, logId),
    endpoint: spec.endpoint,
    retryAfterMs: Number.isFinite(reset) && reset >= 0 && response.header('x-ogw-ratelimit-reset') !== undefined ? reset * 1000 : undefined,
  });
}

function redactOptional(secrets: Secrets, text: string | undefined): string | undefined {
  return typeof text === 'string' ? secrets.redact(text) : undefined;
}
