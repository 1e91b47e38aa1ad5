/** The budget counted in this process: exact for one replica. */
import { type BudgetStore, MAX_MARGIN_MS, type TakeRequest, type TakeResult, pacing, spacingOf, targetOf } from './budget-store.js';
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
  /** Cards, and messages, inside their spacing; each is dropped once its spacing has passed. */
  readonly #spacing = { card: new Deadlines(), message: new Deadlines() };

  /**
   * `limits`: those not given take Feishu's defaults (`FEISHU_LIMITS`); `marginMs`: safety margin added to
   * every window (0 to 10000 ms), default 100; `now`: monotonic clock, default `performance.now`.
   */
  constructor(limits: Partial<Limits>, options: { marginMs?: number; now?: () => number } = {}) {
    this.#limits = resolveLimits(limits);
    this.#p = pacing(this.#limits, duration(options.marginMs ?? 100, 'options.marginMs', 0, MAX_MARGIN_MS));
    this.#now = options.now ?? (() => performance.now());
  }

  take(request: TakeRequest): Promise<TakeResult> {
    // A request naming both a card and a message rejects (the executor's throw), as Redis's take does.
    return new Promise((resolve) => resolve(this.takeNow(request)));
  }

  /** The synchronous core of `take`; throws a TypeError for a request naming both a card and a message. */
  takeNow(request: TakeRequest): TakeResult {
    const target = targetOf(request);
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
    if (target !== undefined) {
      const held = this.#spacing[target.scope];
      const targetWait = held.remaining(target.id, now);
      if (targetWait > 0) return { granted: false, waitMs: targetWait, scope: target.scope };
      held.hold(target.id, now + spacingOf(this.#p, target.scope), now);
    }
    api.second.record(now);
    api.minute.record(now);
    api.tokens -= 1;
    api.last = now;
    return { granted: true };
  }

  /**
   * The card's or the message's session ended: drop the spacing of the card and of the message of that
   * id once it has passed (until then it holds the next write).
   */
  forget(id: string): void {
    const now = this.#now();
    this.#spacing.card.release(id, now);
    this.#spacing.message.release(id, now);
  }

  /** Cards this store keeps anything for (those inside their spacing, and some whose spacing passed but not yet swept). */
  get trackedCards(): number {
    return this.#spacing.card.size;
  }

  /** Messages this store keeps anything for (as `trackedCards`, for IM patch). */
  get trackedMessages(): number {
    return this.#spacing.message.size;
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
