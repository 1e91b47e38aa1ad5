/**
 * What a failed write means for the next attempt (reference §17): retry (at the card's next slot, or
 * after a backoff), wait for the rate limit, move the sequence on, re-open streaming, count it as
 * applied, or give up. The codes' meanings live with the client's error categories; this maps them to
 * the session's actions.
 */
import { FeishuApiError, FeishuNetworkError, FeishuTimeoutError, isAlreadySent, isReplayApplied } from '../client/index.js';

export interface RetryPolicy {
  /** Attempts per write before a transient failure (network, timeout, 5xx, token, 200810 …) becomes final. Default 8. */
  maxAttempts: number;
  /**
   * First backoff, doubled each attempt, with jitter. Default 200 ms. A text write (which carries the whole
   * text) waits no backoff for its card's first `NEXT_SLOT_RETRIES` failures in a row: see `textRetryDelay`.
   */
  baseDelayMs: number;
  /** Longest backoff. Default 5000 ms. */
  maxDelayMs: number;
  /**
   * How long one write may keep getting rate-limit answers (99991400, 230020) before the session gives
   * up with a `SessionDeadlineError`. Rate-limit answers never use up attempts: they say when to come
   * back. Default 600000 (10 minutes).
   */
  maxThrottledMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 5000, maxThrottledMs: 600_000 };

export type Verdict =
  | { kind: 'retry' }
  | { kind: 'rate_limited'; retryAfterMs: number | undefined }
  | { kind: 'sequence_conflict' }
  | { kind: 'streaming_closed' }
  | { kind: 'applied' }
  | { kind: 'fatal' };

/** Exponential backoff with jitter: somewhere in the upper half of base * 2^(attempt - 1), capped. */
export function backoff(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * A card's transient failures in a row that a text write retries at the card's next slot, without a
 * backoff. Three: after three 5xx answers in a row a peer that sends the next frame at its next tick has
 * lost three ticks, and so has the session; with two, its p99 lag was 1.5x the peer's, with one 1.7x
 * (bench/recovery-lag.ts, one answer).
 */
export const NEXT_SLOT_RETRIES = 3;

/**
 * The wait before the next attempt of a text write (a content write, a text patch, a message card's
 * patch: each carries the whole text, re-read when it is sent, so a retry supersedes the failed write
 * rather than repeating it) after the card's `streak`-th transient failure in a row (counted across the
 * card's writes since its last accepted one). 0, the card's next slot (the governor spaces the card's
 * writes), for the first `NEXT_SLOT_RETRIES`; from then on the upper half of base * 2^(streak - 2),
 * capped: 400-800 ms for the 4th with the defaults, then doubling up to `maxDelayMs`. So a platform that
 * keeps failing is backed off from, and the default `maxAttempts` (8) spans about 6-11 s of failures.
 */
export function textRetryDelay(policy: RetryPolicy, streak: number): number {
  return streak <= NEXT_SLOT_RETRIES ? 0 : backoff(policy, streak - 1);
}

/**
 * @param replay true when this attempt repeated a non-idempotent write under the same uuid: a uuid
 *   refusal (200770), or an IM send refused because the card is already bound (230099 / 200780), then
 *   means the earlier attempt, whose answer was lost, was applied.
 */
export function judge(error: unknown, replay: boolean): Verdict {
  if (error instanceof FeishuNetworkError || error instanceof FeishuTimeoutError) return { kind: 'retry' };
  if (!(error instanceof FeishuApiError)) return { kind: 'fatal' };
  if (replay && (isReplayApplied(error) || isAlreadySent(error))) return { kind: 'applied' };
  switch (error.category) {
    case 'retryable':
    case 'token': // the client already fetched a fresh token; the next attempt uses it
      return { kind: 'retry' };
    case 'rate_limited':
      return { kind: 'rate_limited', retryAfterMs: error.retryAfterMs };
    case 'sequence_conflict':
      return { kind: 'sequence_conflict' };
    case 'streaming_closed':
      return { kind: 'streaming_closed' };
    default:
      return { kind: 'fatal' };
  }
}
