/**
 * Where an app's budget is counted: in this process (`MemoryBudgetStore`), or in Redis so that every
 * replica of a bot draws on one budget (`RedisBudgetStore`). A store answers one question atomically:
 * may one call of this API (to this card, or to this message) go now, and if not, how long until it may.
 */
import { show } from './checks.js';
import type { Limits } from './limits.js';

export interface TakeRequest {
  api: string;
  /** The card written to: at most `cardQps` a second to one card. */
  cardId?: string;
  /**
   * The message a write patches (IM patch): at most `messageQps` a second to one message.
   * A request names a card or a message (or neither), never both: a TypeError.
   */
  messageId?: string;
}

export type TakeResult =
  /** `ticket`: names the call in a store shared by replicas, for `answered`. */
  | { granted: true; ticket?: string }
  /**
   * `scope` says what is exhausted: the API's budget (nobody may go), or only this card's or this
   * message's spacing (other writes may go).
   */
  | { granted: false; waitMs: number; scope: 'api' | 'card' | 'message' };

export interface BudgetStore {
  take(request: TakeRequest): Promise<TakeResult>;
  /** Holds every call of `api` for `ms` (the platform said it is rate-limited). */
  pause(api: string, ms: number): Promise<void>;
  /**
   * Optional: the call of `api` this store granted with `ticket` got its answer. The platform counted it when it
   * arrived, by now at the latest: a store shared by replicas counts it from now, so that another replica's next
   * call waits for it too. Never throws; a failure only loses the correction.
   */
  answered?(api: string, ticket: string): void;
  /**
   * The card's or the message's session ended: drop what this process keeps for a card and for a
   * message of that id (a store in Redis lets its keys expire).
   */
  forget?(id: string): void;
  close?(): Promise<void>;
}

/** What a write is spaced on besides its API: the card it writes, or the message it patches. */
export interface Target {
  scope: 'card' | 'message';
  id: string;
}

/** The request's target, if any; a TypeError when it names both a card and a message. */
export function targetOf(request: { cardId?: string | undefined; messageId?: string | undefined }): Target | undefined {
  const { cardId, messageId } = request;
  if (cardId !== undefined && messageId !== undefined) {
    throw new TypeError(
      `a request targets one card or one message, not both; received cardId ${show(cardId)} and messageId ${show(messageId)}`,
    );
  }
  if (cardId !== undefined) return { scope: 'card', id: cardId };
  if (messageId !== undefined) return { scope: 'message', id: messageId };
  return undefined;
}

/**
 * The budget of one API, paced. Per second: a sliding window of `apiQps` calls. Per minute: a token
 * bucket holding a small burst (5% of `apiQpm`) refilled at the rate that keeps any minute-long window
 * under `apiQpm` (so a burst cannot spend the minute in its first seconds and starve everyone after),
 * plus a sliding minute window as a hard stop; and calls of one API at least a 1/apiQps second apart.
 * Writes to one card are `cardSpacingMs` apart, patches of one message `messageSpacingMs` apart.
 * Windows are stretched by a safety margin because the
 * platform counts calls when they arrive, and arrivals jitter.
 */
export interface PacingParams {
  apiQps: number;
  apiQpm: number;
  cardQps: number;
  messageQps: number;
  marginMs: number;
}

/**
 * The largest safety margin, ms. With it and the slowest limits (one call a minute) the longest
 * spacing is (1000 + 10000) * 60 ms, 11 minutes: every wait a governor computes fits a timer.
 */
export const MAX_MARGIN_MS = 10_000;

export function pacing(limits: Limits, marginMs: number) {
  const burst = Math.max(1, Math.floor(limits.apiQpm * 0.05));
  // burst + refill * minute <= apiQpm; the sliding minute window stays the hard stop for tiny limits.
  const refillPerMs = Math.max(1, limits.apiQpm - burst) / (60_000 + marginMs);
  return {
    secondSpanMs: 1000 + marginMs,
    minuteSpanMs: 60_000 + marginMs,
    burst,
    refillPerMs,
    cardSpacingMs: (1000 + marginMs) / limits.cardQps,
    messageSpacingMs: (1000 + marginMs) / limits.messageQps,
    // Calls of one API are spread, never sent as one burst: a burst delayed by a busy event loop
    // could otherwise arrive on top of the next one and overflow the platform's one-second window.
    apiSpacingMs: (1000 + marginMs) / limits.apiQps,
  };
}

/** The spacing of `scope`'s writes, from `pacing()`. */
export function spacingOf(p: ReturnType<typeof pacing>, scope: Target['scope']): number {
  return scope === 'card' ? p.cardSpacingMs : p.messageSpacingMs;
}
