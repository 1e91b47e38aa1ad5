/**
 * One call to the platform: a token, the request under a per-call timeout and the caller's signal,
 * the envelope turned into data or a typed error, and on a token error one retry with a fresh token.
 */
import { FeishuApiError, FeishuNetworkError, FeishuTimeoutError } from './errors.js';
import type { TokenSource } from './token.js';
import type { Transport, TransportRequest, TransportResponse } from './transport.js';

export interface CallOptions {
  /** Aborts the call; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Per-request timeout in ms; overrides the client's `timeoutMs`. */
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

export class Requester {
  tokens: TokenSource | undefined;

  constructor(
    private readonly transport: Transport,
    readonly defaultTimeoutMs: number,
  ) {}

  async call<T>(spec: CallSpec): Promise<T> {
    const useToken = !spec.tokenRequest && !this.transport.managesTokens;
    const first = await this.#attempt(spec, useToken);
    if (first.ok) return first.data as T;
    if (first.error.category !== 'token' || first.token === undefined) throw first.error;
    this.tokens?.invalidate(first.token);
    const second = await this.#attempt(spec, useToken);
    if (second.ok) return second.data as T;
    throw second.error;
  }

  /** One try; a platform error comes back with the token it was sent with, for the retry decision. */
  async #attempt(spec: CallSpec, useToken: boolean): Promise<Attempt> {
    spec.signal?.throwIfAborted();
    const timeoutMs = spec.timeoutMs ?? this.defaultTimeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
    try {
      const token = useToken && this.tokens ? await this.tokens.token(signal) : undefined;
      const response = await this.transport.send({
        method: spec.method,
        path: spec.path,
        endpoint: spec.endpoint,
        signal,
        ...(spec.query ? { query: spec.query } : {}),
        ...(spec.body === undefined ? {} : { body: spec.body }),
        ...(token === undefined ? {} : { token }),
      });
      const result = unwrap(spec, response);
      return result instanceof FeishuApiError ? { ok: false, error: result, token } : { ok: true, data: result };
    } catch (error) {
      if (spec.signal?.aborted) throw spec.signal.reason;
      if (timeout.aborted) throw new FeishuTimeoutError(spec.endpoint, timeoutMs);
      throw error;
    }
  }
}

function unwrap(spec: CallSpec, response: TransportResponse): unknown {
  const body = response.body as Envelope | undefined;
  if (typeof body !== 'object' || body === null || typeof body.code !== 'number') {
    if (response.status >= 500 || response.status === 429) {
      throw new FeishuNetworkError(spec.endpoint, `HTTP ${response.status} without a platform answer`);
    }
    return new FeishuApiError({
      code: -1,
      msg: `HTTP ${response.status} without a platform answer`,
      httpStatus: response.status,
      logId: response.header('x-tt-logid'),
      endpoint: spec.endpoint,
    });
  }
  if (body.code === 0) return spec.tokenRequest ? body : (body.data ?? {});
  const reset = Number(response.header('x-ogw-ratelimit-reset'));
  return new FeishuApiError({
    code: body.code,
    msg: typeof body.msg === 'string' ? body.msg : '',
    httpStatus: response.status,
    logId: response.header('x-tt-logid') ?? body.error?.log_id,
    endpoint: spec.endpoint,
    retryAfterMs: Number.isFinite(reset) && reset >= 0 && response.header('x-ogw-ratelimit-reset') !== undefined ? reset * 1000 : undefined,
  });
}
