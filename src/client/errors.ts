/**
 * Every error the library raises: one base class, `FeishuError`, with a stable string `kind` (the
 * code to switch on). Platform errors (`FeishuApiError`) keep the platform's numeric `code` (as the
 * official SDK does), message, HTTP status and log id, and carry a classification the session acts on
 * (reference §17); what the platform's codes mean lives here, nowhere else. No error ever holds a
 * token or the app secret: the client redacts them from any text it did not write (see redact.ts).
 */
import { copyCause } from './redact.js';

/** What the caller should do about a platform error. */
export type ErrorCategory =
  /** Transient (5xx, 300120, 200810, …): retry with backoff and a new sequence. */
  | 'retryable'
  /** Frequency limit (99991400, 230020): wait `retryAfterMs` (or back off), then retry. */
  | 'rate_limited'
  /** Streaming mode closed (200850, 300309, 200510): re-open it through settings, then resend. */
  | 'streaming_closed'
  /** Sequence not increasing (300317): move the counter past the server's and continue. */
  | 'sequence_conflict'
  /**
   * Tenant token missing, invalid or expired (99991661/63/64/65). The client already refreshed and retried
   * once and has forgotten every rejected token: retrying later (with backoff) fetches a fresh one.
   */
  | 'token'
  /** The platform refuses the app's credentials themselves (wrong secret, app disabled): retrying will not help. */
  | 'credentials'
  /** The card entity is gone or not this app's (200740 missing, 200750 expired, 300311 not the creator). */
  | 'card_gone'
  /** The app lacks the scope the API needs (99991672), or its token lacks the permission (99991676). */
  | 'permission'
  /** Card or message too large (200860, 230025): shrink or split. */
  | 'too_large'
  /** Anything else: fix the request; retrying will not help. */
  | 'fatal';

const CATEGORIES: ReadonlyMap<number, ErrorCategory> = new Map([
  ...[300120, 200810, 230049, 1500, 1663, 2200, 10012, 10013].map((c) => [c, 'retryable'] as const),
  ...[99991400, 230020].map((c) => [c, 'rate_limited'] as const),
  ...[200850, 300309, 200510].map((c) => [c, 'streaming_closed'] as const),
  [300317, 'sequence_conflict'] as const,
  ...[99991661, 99991663, 99991664, 99991665].map((c) => [c, 'token'] as const),
  ...[10003, 10014, 10015, 99991662, 99991673].map((c) => [c, 'credentials'] as const),
  ...[200740, 200750, 300311].map((c) => [c, 'card_gone'] as const),
  ...[99991672, 99991676].map((c) => [c, 'permission'] as const),
  ...[200860, 230025].map((c) => [c, 'too_large'] as const),
]);

/** The classification of a platform code; unknown codes answered with a 5xx are transient. */
export function categorize(code: number, httpStatus: number): ErrorCategory {
  return CATEGORIES.get(code) ?? (httpStatus >= 500 ? 'retryable' : 'fatal');
}

/**
 * The stable string code of every error the library raises:
 * - `api`: the platform answered with a non-zero code (`FeishuApiError`);
 * - `network`: no answer (`FeishuNetworkError`); `timeout`: no answer in time (`FeishuTimeoutError`);
 * - `session_state`: a session call its state does not allow (`SessionStateError`);
 * - `deadline`: a session kept being throttled past its deadline (`SessionDeadlineError`);
 * - `sequence_exhausted`: the card has used every int32 sequence (`SequenceExhaustedError`).
 */
export type FeishuErrorKind = 'api' | 'network' | 'timeout' | 'session_state' | 'deadline' | 'sequence_exhausted' | 'stopped';

/** The root of every error the library raises; switch on `kind`. */
export abstract class FeishuError extends Error {
  abstract readonly kind: FeishuErrorKind;
  /** Endpoint name, e.g. `cardkit.cardElement.content`; undefined for errors raised before any call. */
  readonly endpoint: string | undefined;

  constructor(message: string, endpoint: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.endpoint = endpoint;
  }

  /** True when trying again (after `retryAfterMs` where given) may succeed. */
  abstract get retryable(): boolean;
}

export interface ApiErrorInit {
  code: number;
  msg: string;
  httpStatus: number;
  logId: string | undefined;
  endpoint: string;
  /** Milliseconds the platform asked to wait (`x-ogw-ratelimit-reset`), when it said. */
  retryAfterMs?: number | undefined;
}

/** The platform answered with a non-zero `code`, whatever the HTTP status. */
export class FeishuApiError extends FeishuError {
  readonly kind = 'api' as const;
  readonly code: number;
  readonly msg: string;
  readonly httpStatus: number;
  readonly logId: string | undefined;
  readonly category: ErrorCategory;
  readonly retryAfterMs: number | undefined;

  constructor(init: ApiErrorInit) {
    super(`${init.endpoint} failed with code ${init.code}: ${init.msg}${init.logId ? ` (log_id ${init.logId})` : ''}`, init.endpoint);
    this.name = 'FeishuApiError';
    this.code = init.code;
    this.msg = init.msg;
    this.httpStatus = init.httpStatus;
    this.logId = init.logId;
    this.category = categorize(init.code, init.httpStatus);
    this.retryAfterMs = init.retryAfterMs;
  }

  /** True for `retryable`, `rate_limited` and `token` (the next call fetches a fresh token). */
  get retryable(): boolean {
    return this.category === 'retryable' || this.category === 'rate_limited' || this.category === 'token';
  }
}

/** A repeat of a non-idempotent write was refused for its uuid: the first attempt, whose answer was lost, was applied (reference §15). */
export function isReplayApplied(error: unknown): boolean {
  return error instanceof FeishuApiError && error.code === 200770;
}

/** A repeated IM send refused because its first attempt did bind the card (230099 carrying 200780, reference §11): the card is out. */
export function isAlreadySent(error: unknown): boolean {
  return error instanceof FeishuApiError && error.code === 230099 && error.msg.includes('200780');
}

/** Nothing more can be written to the card (see `card_gone`). */
export function isCardGone(error: unknown): boolean {
  return error instanceof FeishuApiError && error.category === 'card_gone';
}

/** The request never got an answer: connection refused or reset, DNS failure, a body that is not JSON. */
export class FeishuNetworkError extends FeishuError {
  readonly kind = 'network' as const;

  constructor(endpoint: string, detail: string, cause?: unknown) {
    super(`${endpoint}: ${detail}`, endpoint, { cause: sanitizeCause(cause) });
    this.name = 'FeishuNetworkError';
  }

  get retryable(): boolean {
    return true;
  }
}

/** The per-request timeout ran out. The request may or may not have been applied. */
export class FeishuTimeoutError extends FeishuError {
  readonly kind = 'timeout' as const;
  readonly timeoutMs: number;

  constructor(endpoint: string, timeoutMs: number) {
    super(`${endpoint}: no answer within ${timeoutMs} ms`, endpoint);
    this.name = 'FeishuTimeoutError';
    this.timeoutMs = timeoutMs;
  }

  get retryable(): boolean {
    return true;
  }
}

/**
 * Keeps a network cause's chain of names, messages, codes and stacks, never anything a request carried
 * (the client then redacts the secrets it knows of from that text). The code of a wrapped cause (fetch's
 * `TypeError: fetch failed` around `ECONNREFUSED`) is also lifted to the first cause.
 */
function sanitizeCause(cause: unknown): Error | undefined {
  const copy = copyCause(cause);
  const inner = (cause as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  if (copy && typeof (copy as { code?: unknown }).code !== 'string' && typeof inner === 'string') Object.assign(copy, { code: inner });
  return copy;
}
