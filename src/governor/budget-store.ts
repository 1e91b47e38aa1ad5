/**
 * Where an app's budget is counted: in this process (`MemoryBudgetStore`), or in Redis so that every
 * replica of a bot draws on one budget (`RedisBudgetStore`). A store answers one question atomically:
 * may one call of this API (to this card) go now, and if not, how long until it may.
 */
export interface TakeRequest {
  api: string;
  cardId?: string;
}

export type TakeResult =
  | { granted: true }
  /** `scope` says what is exhausted: the API's budget (nobody may go) or only this card's. */
  | { granted: false; waitMs: number; scope: 'api' | 'card' };

export interface BudgetStore {
  take(request: TakeRequest): Promise<TakeResult>;
  /** Holds every call of `api` for `ms` (the platform said it is rate-limited). */
  pause(api: string, ms: number): Promise<void>;
  /** The card's session ended: drop what this process keeps for it (a store in Redis lets its keys expire). */
  forget?(cardId: string): void;
  close?(): Promise<void>;
}

/**
 * The budget of one API, paced. Per second: a sliding window of `apiQps` calls. Per minute: a token
 * bucket holding a small burst (5% of `apiQpm`) refilled at the rate that keeps any minute-long window
 * under `apiQpm` (so a burst cannot spend the minute in its first seconds and starve everyone after),
 * plus a sliding minute window as a hard stop; and calls of one API at least a 1/apiQps second apart.
 * Windows are stretched by a safety margin because the
 * platform counts calls when they arrive, and arrivals jitter.
 */
export interface PacingParams {
  apiQps: number;
  apiQpm: number;
  cardQps: number;
  marginMs: number;
}

/**
 * The largest safety margin, ms. With it and the slowest limits (one call a minute) the longest
 * spacing is (1000 + 10000) * 60 ms, 11 minutes: every wait a governor computes fits a timer.
 */
export const MAX_MARGIN_MS = 10_000;

export function pacing(limits: { apiQps: number; apiQpm: number; cardQps: number }, marginMs: number) {
  const burst = Math.max(1, Math.floor(limits.apiQpm * 0.05));
  // burst + refill * minute <= apiQpm; the sliding minute window stays the hard stop for tiny limits.
  const refillPerMs = Math.max(1, limits.apiQpm - burst) / (60_000 + marginMs);
  return {
    secondSpanMs: 1000 + marginMs,
    minuteSpanMs: 60_000 + marginMs,
    burst,
    refillPerMs,
    cardSpacingMs: (1000 + marginMs) / limits.cardQps,
    // Calls of one API are spread, never sent as one burst: a burst delayed by a busy event loop
    // could otherwise arrive on top of the next one and overflow the platform's one-second window.
    apiSpacingMs: (1000 + marginMs) / limits.apiQps,
  };
}
