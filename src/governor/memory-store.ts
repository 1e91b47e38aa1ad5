/** The budget counted in this process: exact for one replica. */
import { type BudgetStore, MAX_MARGIN_MS, type TakeRequest, type TakeResult, pacing } from './budget-store.js';
import { Deadlines } from './bounded-maps.js';
import { duration } from './checks.js';
import { type Limits, resolveLimits } from './limits.js';

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
  /** Cards inside their spacing; a card is dropped once its spacing has passed. */
  readonly #cards = new Deadlines();

  /** `marginMs`: safety margin added to every window (0 to 10000 ms), default 100; `now`: monotonic clock, default `performance.now`. */
  constructor(limits: Limits, options: { marginMs?: number; now?: () => number } = {}) {
    this.#limits = resolveLimits(limits);
    this.#p = pacing(this.#limits, duration(options.marginMs ?? 100, 'options.marginMs', 0, MAX_MARGIN_MS));
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
      const cardWait = this.#cards.remaining(request.cardId, now);
      if (cardWait > 0) return { granted: false, waitMs: cardWait, scope: 'card' };
      this.#cards.hold(request.cardId, now + this.#p.cardSpacingMs, now);
    }
    api.second.record(now);
    api.minute.record(now);
    api.tokens -= 1;
    api.last = now;
    return { granted: true };
  }

  /** The card's session ended: drop its spacing once it has passed (until then it holds the card's next write). */
  forget(cardId: string): void {
    this.#cards.release(cardId, this.#now());
  }

  /** Cards this store keeps anything for (those inside their spacing, and some whose spacing passed but not yet swept). */
  get trackedCards(): number {
    return this.#cards.size;
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
}
