/**
 * What a failed write means for the next attempt (reference §17): retry after a backoff, wait for the
 * rate limit, move the sequence on, re-open streaming, count it as applied, or give up.
 */
import { FeishuApiError, FeishuNetworkError, FeishuTimeoutError } from '../client/index.js';

export interface RetryPolicy {
  /** Attempts per write before a transient failure becomes final. Default 8. */
  maxAttempts: number;
  /** First backoff, doubled each attempt, with jitter. Default 200 ms. */
  baseDelayMs: number;
  /** Longest backoff. Default 5000 ms. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 5000 };

export type Verdict =
  | { kind: 'retry'; delayMs: number }
  | { kind: 'rate_limited'; delayMs: number }
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
 * @param replay true when this attempt repeated a non-idempotent write under the same uuid: a 200770
 *   then means the earlier attempt, whose answer was lost, was applied.
 */
export function judge(error: unknown, policy: RetryPolicy, attempt: number, replay: boolean): Verdict {
  if (error instanceof FeishuNetworkError || error instanceof FeishuTimeoutError) {
    return { kind: 'retry', delayMs: backoff(policy, attempt) };
  }
  if (!(error instanceof FeishuApiError)) return { kind: 'fatal' };
  if (error.code === 200770 && replay) return { kind: 'applied' };
  switch (error.category) {
    case 'retryable':
      return { kind: 'retry', delayMs: backoff(policy, attempt) };
    case 'rate_limited':
      return { kind: 'rate_limited', delayMs: error.retryAfterMs ?? backoff(policy, attempt) };
    case 'sequence_conflict':
      return { kind: 'sequence_conflict' };
    case 'streaming_closed':
      return { kind: 'streaming_closed' };
    default:
      return { kind: 'fatal' };
  }
}
