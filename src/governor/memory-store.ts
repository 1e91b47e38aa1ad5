/** The budget counted in this process: exact for one replica. */
import { type BudgetStore, type TakeRequest, type TakeResult, pacing } from './budget-store.js';
import type { Limits } from './limits.js';

class Log {
  readonly #times: number[] = [];
  #head = 0;

  constructor(
    readonly limit: number,
    readonly spanMs: number,
  ) {}

  waitMs(now: number): number {
    while (this.#head < this.#times.length && this.#times[this.#head]! <= now - this.spanMs) this.#head++;
    if (this.#head > 1024) {
      this.#times.splice(0, this.#head);
      this.#head = 0;
    }
    return this.#times.length - this.#head < this.limit ? 0 : this.#times[this.#head]! + this.spanMs - now;
  }

  record(now: number): void {
    this.#times.push(now);
  }
}

interface ApiState {
  last: number;
  second: Log;
  minute: Log;
  tokens: number;
  refilledAt: number;
  pausedUntil: number;
}

export class MemoryBudgetStore implements BudgetStore {
  readonly #p: ReturnType<typeof pacing>;
  readonly #limits: Limits;
  readonly #now: () => number;
  readonly #apis = new Map<string, ApiState>();
  readonly #cards = new Map<string, number>();

  constructor(limits: Limits, options: { marginMs?: number; now?: () => number } = {}) {
    this.#limits = limits;
    this.#p = pacing(limits, options.marginMs ?? 100);
    this.#now = options.now ?? (() => performance.now());
  }

  take(request: TakeRequest): Promise<TakeResult> {
    return Promise.resolve(this.takeNow(request));
  }

  /** The synchronous core of `take`. */
  takeNow(request: TakeRequest): TakeResult {
    const now = this.#now();
    const api = this.#api(request.api, now);
    const apiWait = Math.max(
      api.pausedUntil - now,
      api.second.waitMs(now),
      api.minute.waitMs(now),
      api.tokens >= 1 ? 0 : (1 - api.tokens) / this.#p.refillPerMs,
      api.last + this.#p.apiSpacingMs - now,
    );
    if (apiWait > 0) return { granted: false, waitMs: apiWait, scope: 'api' };
    if (request.cardId !== undefined) {
      const last = this.#cards.get(request.cardId);
      const cardWait = last === undefined ? 0 : last + this.#p.cardSpacingMs - now;
      if (cardWait > 0) return { granted: false, waitMs: cardWait, scope: 'card' };
      this.#cards.set(request.cardId, now);
      if (this.#cards.size > 10_000) this.#forgetIdleCards(now);
    }
    api.second.record(now);
    api.minute.record(now);
    api.tokens -= 1;
    api.last = now;
    return { granted: true };
  }

  pause(api: string, ms: number): Promise<void> {
    const now = this.#now();
    const state = this.#api(api, now);
    state.pausedUntil = Math.max(state.pausedUntil, now + ms);
    return Promise.resolve();
  }

  #api(name: string, now: number): ApiState {
    let state = this.#apis.get(name);
    if (!state) {
      state = {
        last: Number.NEGATIVE_INFINITY,
        second: new Log(this.#limits.apiQps, this.#p.secondSpanMs),
        minute: new Log(this.#limits.apiQpm, this.#p.minuteSpanMs),
        tokens: this.#p.burst,
        refilledAt: now,
        pausedUntil: 0,
      };
      this.#apis.set(name, state);
    }
    state.tokens = Math.min(this.#p.burst, state.tokens + (now - state.refilledAt) * this.#p.refillPerMs);
    state.refilledAt = now;
    return state;
  }

  #forgetIdleCards(now: number): void {
    for (const [cardId, last] of this.#cards) if (now - last > this.#p.cardSpacingMs) this.#cards.delete(cardId);
  }
}
