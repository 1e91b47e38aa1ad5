/**
 * The governor shared by every session of an app. Each API has one queue of waiting writes; when
 * the budget frees a slot, it goes to the waiting write that matters most: urgent ones first
 * (finishing a card, creating one for a waiting user), then the card that has waited longest. A card
 * has at most one write waiting (its session's queue runs one at a time), so "longest waiting first"
 * is round-robin over the cards with pending text, and one long answer cannot starve the others; a
 * waiting card keeps coalescing, so its turn carries everything that arrived meanwhile.
 */
import { EventEmitter } from 'eventemitter3';
import type { BudgetStore } from './budget-store.js';
import { pacing } from './budget-store.js';
import type { Governor, PermitRequest } from './governor.js';
import { type Limits, resolveLimits } from './limits.js';
import { MemoryBudgetStore } from './memory-store.js';

export interface FairGovernorOptions {
  limits?: Partial<Limits>;
  /** Where the budget is counted. Default in this process; `RedisBudgetStore` shares it between replicas. */
  store?: BudgetStore;
  /**
   * When the store fails (Redis unreachable), the governor counts locally with the limits divided by this
   * many replicas, says so with a `fallback` event, and goes back to the store once it answers again. Default 2.
   */
  fallbackReplicas?: number;
  /** Safety margin added to every window, ms. Default 100. */
  safetyMarginMs?: number;
  /** Monotonic clock, ms. Default `performance.now`. */
  now?: () => number;
}

export interface ApiCounters {
  /** Permits granted. */
  writes: number;
  /** Permits that had to wait. */
  waits: number;
  /** Total time waited, ms. */
  waitedMs: number;
  /** Rate-limit answers reported through `pause()`. */
  rateLimited: number;
}

export interface GovernorStats {
  apis: Record<string, ApiCounters>;
  cards: Record<string, ApiCounters>;
  /** Writes waiting now, per API. */
  waiting: Record<string, number>;
  /** True while counting locally because the store failed. */
  fallback: boolean;
}

export interface GovernorEvents {
  /** An API's budget is exhausted and writes wait. Emitted when waiting starts, not for every write. */
  exhausted: [{ api: string; waiting: number; waitMs: number }];
  /** The platform said an API is rate-limited; every card's writes to it are held. */
  paused: [{ api: string; ms: number }];
  /** The store failed; counting locally with a conservative share. */
  fallback: [{ error: Error }];
  /** The store answers again. */
  restored: [];
}

interface Waiter {
  request: PermitRequest;
  since: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
  detach: () => void;
}

interface ApiQueue {
  waiters: Waiter[];
  pumping: boolean;
  exhausted: boolean;
  /** A waiter arrived since the pump last looked; it must look again before sleeping. */
  arrived: boolean;
  wake: (() => void) | undefined;
}

const RETRY_STORE_MS = 5000;

export class FairGovernor extends EventEmitter<GovernorEvents> implements Governor {
  readonly limits: Limits;
  readonly #now: () => number;
  readonly #primary: BudgetStore;
  readonly #fallback: MemoryBudgetStore;
  readonly #cardSpacingMs: number;
  readonly #queues = new Map<string, ApiQueue>();
  readonly #apiCounters = new Map<string, ApiCounters>();
  readonly #cardCounters = new Map<string, ApiCounters>();
  /** Cards known (in this process) to be inside their spacing: skipped without asking the store. */
  readonly #cardBusyUntil = new Map<string, number>();
  #store: BudgetStore;
  #retryStoreAt = 0;

  constructor(options: FairGovernorOptions = {}) {
    super();
    this.limits = resolveLimits(options.limits);
    const marginMs = options.safetyMarginMs ?? 100;
    this.#now = options.now ?? (() => performance.now());
    const replicas = options.fallbackReplicas ?? 2;
    if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError('options.fallbackReplicas must be an integer >= 1');
    this.#primary = options.store ?? new MemoryBudgetStore(this.limits, { marginMs, now: this.#now });
    // A conservative share: rounded down, so the replicas together never exceed the limit.
    const share = (limit: number) => Math.max(1, Math.floor(limit / replicas));
    this.#fallback = new MemoryBudgetStore(
      { apiQps: share(this.limits.apiQps), apiQpm: share(this.limits.apiQpm), cardQps: this.limits.cardQps },
      { marginMs, now: this.#now },
    );
    this.#store = this.#primary;
    this.#cardSpacingMs = pacing(this.limits, marginMs).cardSpacingMs;
  }

  acquire(request: PermitRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (request.signal?.aborted) {
        reject(request.signal.reason as Error);
        return;
      }
      const queue = this.#queue(request.api);
      const waiter: Waiter = { request, since: this.#now(), resolve, reject, detach: () => undefined };
      const signal = request.signal;
      if (signal) {
        const onAbort = () => {
          queue.waiters.splice(queue.waiters.indexOf(waiter), 1);
          reject(signal.reason as Error);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener('abort', onAbort);
      }
      queue.waiters.push(waiter);
      queue.arrived = true;
      queue.wake?.();
      void this.#pump(request.api, queue);
    });
  }

  pause(api: string, ms: number): void {
    this.#counters(this.#apiCounters, api).rateLimited++;
    this.emit('paused', { api, ms });
    this.#store.pause(api, ms).catch((error: unknown) => this.#storeFailed(error));
    this.#fallback.pause(api, ms).catch(() => undefined);
  }

  stats(): GovernorStats {
    const copy = (map: Map<string, ApiCounters>) => Object.fromEntries([...map].map(([k, v]) => [k, { ...v }]));
    return {
      apis: copy(this.#apiCounters),
      cards: copy(this.#cardCounters),
      waiting: Object.fromEntries([...this.#queues].map(([api, q]) => [api, q.waiters.length])),
      fallback: this.#store !== this.#primary,
    };
  }

  /** Grants slots to waiters, best first, until none is left; one pump per API at a time. */
  async #pump(api: string, queue: ApiQueue): Promise<void> {
    if (queue.pumping) return;
    queue.pumping = true;
    try {
      while (queue.waiters.length > 0) {
        queue.arrived = false;
        const waitMs = await this.#grantOne(api, queue);
        if (waitMs === 0 || queue.arrived) continue;
        if (!queue.exhausted) {
          queue.exhausted = true;
          this.emit('exhausted', { api, waiting: queue.waiters.length, waitMs });
        }
        await this.#sleep(queue, waitMs);
      }
    } finally {
      queue.pumping = false;
      queue.exhausted = false;
    }
  }

  /** Grants one waiter if any may go; otherwise returns how long until one may. */
  async #grantOne(api: string, queue: ApiQueue): Promise<number> {
    const now = this.#now();
    const order = [...queue.waiters].sort(
      (a, b) => urgency(b) - urgency(a) || a.since - b.since,
    );
    let wait = Number.POSITIVE_INFINITY;
    for (const waiter of order) {
      const cardId = waiter.request.cardId;
      const busyUntil = cardId === undefined ? 0 : (this.#cardBusyUntil.get(cardId) ?? 0);
      if (busyUntil > now) {
        wait = Math.min(wait, busyUntil - now);
        continue;
      }
      const result = await this.#take(api, cardId);
      if (!queue.waiters.includes(waiter)) continue; // aborted while the store answered
      if (result.granted) {
        this.#grant(api, queue, waiter);
        return 0;
      }
      wait = Math.min(wait, result.waitMs);
      if (result.scope === 'api') break;
      if (cardId !== undefined) this.#cardBusyUntil.set(cardId, now + result.waitMs);
    }
    return Math.max(1, Number.isFinite(wait) ? wait : 1);
  }

  #grant(api: string, queue: ApiQueue, waiter: Waiter): void {
    queue.waiters.splice(queue.waiters.indexOf(waiter), 1);
    waiter.detach();
    const now = this.#now();
    const waited = now - waiter.since;
    const { cardId } = waiter.request;
    if (cardId !== undefined) {
      this.#cardBusyUntil.set(cardId, now + this.#cardSpacingMs);
      if (this.#cardBusyUntil.size > 10_000) {
        for (const [id, until] of this.#cardBusyUntil) if (until < now) this.#cardBusyUntil.delete(id);
      }
    }
    for (const counters of [this.#counters(this.#apiCounters, api), ...(cardId === undefined ? [] : [this.#counters(this.#cardCounters, cardId)])]) {
      counters.writes++;
      if (waited >= 1) {
        counters.waits++;
        counters.waitedMs += waited;
      }
    }
    waiter.resolve();
  }

  async #take(api: string, cardId: string | undefined) {
    const request = cardId === undefined ? { api } : { api, cardId };
    const retrying = this.#store !== this.#primary;
    if (retrying && this.#now() < this.#retryStoreAt) return this.#fallback.takeNow(request);
    try {
      const result = await this.#primary.take(request);
      if (retrying) {
        this.#store = this.#primary;
        this.emit('restored');
      }
      return result;
    } catch (error) {
      this.#storeFailed(error);
      return this.#fallback.takeNow(request);
    }
  }

  #storeFailed(error: unknown): void {
    this.#retryStoreAt = this.#now() + RETRY_STORE_MS;
    if (this.#store !== this.#primary) return;
    this.#store = this.#fallback;
    this.emit('fallback', { error: error instanceof Error ? error : new Error(String(error)) });
  }

  /** Sleeps, but wakes early when a new write arrives (it may be able to go sooner). */
  #sleep(queue: ApiQueue, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        queue.wake = undefined;
        resolve();
      }
      queue.wake = done;
    });
  }

  #queue(api: string): ApiQueue {
    let queue = this.#queues.get(api);
    if (!queue) {
      queue = { waiters: [], pumping: false, exhausted: false, arrived: false, wake: undefined };
      this.#queues.set(api, queue);
    }
    return queue;
  }

  #counters(map: Map<string, ApiCounters>, key: string): ApiCounters {
    let counters = map.get(key);
    if (!counters) map.set(key, (counters = { writes: 0, waits: 0, waitedMs: 0, rateLimited: 0 }));
    return counters;
  }
}

function urgency(waiter: Waiter): number {
  return waiter.request.priority === 'urgent' ? 1 : 0;
}
