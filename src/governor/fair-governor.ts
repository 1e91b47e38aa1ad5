/**
 * The governor shared by every session of an app. Each API has one queue of waiting writes; when
 * the budget frees a slot, it goes to the waiting write that matters most: urgent ones first
 * (finishing a card, creating one for a waiting user), then the card that has waited longest. A card
 * has at most one write waiting (its session's queue runs one at a time), so "longest waiting first"
 * is round-robin over the cards with pending text, and one long answer cannot starve the others; a
 * waiting card keeps coalescing, so its turn carries everything that arrived meanwhile. A message
 * streamed by IM patch is paced the same way, on its own spacing (`messageQps`).
 */
import { EventEmitter } from 'eventemitter3';
import { type Arrival, ArrivalWindows } from './arrival-windows.js';
import { AnswerWindows, Deadlines, RecentMap } from './bounded-maps.js';
import type { BudgetStore, Target, TakeRequest } from './budget-store.js';
import { pacing, spacingOf, targetOf } from './budget-store.js';
import { MAX_TIMER_MS } from './delay.js';
import type { Answered, Governor, PermitRequest } from './governor.js';
import type { Limits } from './limits.js';
import { MemoryBudgetStore } from './memory-store.js';
import { type FairGovernorOptions, resolveGovernorOptions } from './options.js';
import { RedisSequenceStore, type SequenceStore } from './sequence-store.js';

export type { FairGovernorOptions };

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
  /** Per card, for the 1,000 cards written most recently and not forgotten (messages are counted under `apis` only). */
  cards: Record<string, ApiCounters>;
  /** Writes waiting now, per API. */
  waiting: Record<string, number>;
  /** True while counting the budget locally because the store failed. */
  fallback: boolean;
  /** True while handing out sequences locally because Redis failed. */
  sequenceFallback: boolean;
  /** How many cards and messages this process keeps something for: bounded, whatever the number ever written. */
  tracked: {
    /** Cards with counters (at most 1,000). */
    counters: number;
    /** Cards and messages inside their spacing (dropped once it has passed). */
    spacing: number;
    /** Cards and messages whose last writes are less than a window old (dropped once they are not). */
    windows: number;
  };
}

export interface GovernorEvents {
  /** An API's budget is exhausted and writes wait. Emitted when waiting starts, not for every write. */
  exhausted: [{ api: string; waiting: number; waitMs: number }];
  /** The platform said an API is rate-limited; every card's writes to it are held. */
  paused: [{ api: string; ms: number }];
  /** The budget's store failed; counting locally with a conservative share. */
  fallback: [{ error: Error }];
  /** The budget's store answers again. */
  restored: [];
  /** Redis failed or did not answer in time for a sequence: sequences are handed out locally, above every one handed out. */
  sequenceFallback: [{ error: Error }];
  /** Redis answers sequences again. */
  sequenceRestored: [];
}

interface Waiter {
  request: PermitRequest;
  /** The card or message the write is spaced on, if any. */
  target: Target | undefined;
  since: number;
  resolve: (api?: string) => void;
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
/**
 * Writes spill to another API only when the queue of their own would make the last of them wait at least this
 * long (and two steps of the API's pace): below the content API's budget the waits are a pacing step (about
 * 60 ms at 1000 a minute) and the typewriter is kept.
 */
export const SPILL_AFTER_MS = 250;
/** Cards whose counters `stats()` keeps: the most recently written. */
const COUNTED_CARDS = 1000;

export class FairGovernor extends EventEmitter<GovernorEvents> implements Governor {
  readonly limits: Limits;
  /** True when a write whose API is exhausted may go through one of its request's `alternatives` (option `spill`). */
  readonly spill: boolean;
  /** Hands out card sequences: in Redis when given `redis`, else in this process. */
  readonly sequences: SequenceStore;
  readonly #now: () => number;
  readonly #primary: BudgetStore;
  readonly #fallback: MemoryBudgetStore;
  readonly #pacing: ReturnType<typeof pacing>;
  readonly #queues = new Map<string, ApiQueue>();
  readonly #apiCounters = new Map<string, ApiCounters>();
  readonly #cardCounters = new RecentMap<ApiCounters>(COUNTED_CARDS);
  /**
   * Cards and messages known (in this process) to be inside their spacing: skipped without asking the
   * store. Keyed `c:<cardId>` or `m:<messageId>` (`busyKey`), so a card and a message never share one.
   */
  readonly #targetBusy = new Deadlines();
  /** The last writes to each card and message, moved to their answers' times (`answered()`). */
  readonly #windows: AnswerWindows;
  /** Each API's calls from this process, moved to their answers' times: none lands in a window too full. */
  readonly #arrivals: ArrivalWindows;
  /** Each permit granted and not answered yet: the API it went through, its call in that API's window, its ticket. */
  readonly #granted = new WeakMap<object, { api: string; call: Arrival; ticket: string | undefined }>();
  #store: BudgetStore;
  #retryStoreAt = 0;
  /** APIs the platform paused (a rate-limit answer), until when: nothing spills from or onto them meanwhile. */
  readonly #paused = new Map<string, number>();

  /**
   * @example
   * const governor = new FairGovernor({ redis: new Redis(process.env.REDIS_URL!), appId });
   * const session = await CardSession.start(client, { governor, to: { chat_id } });
   */
  constructor(options: FairGovernorOptions = {}) {
    super();
    const o = resolveGovernorOptions(options);
    this.limits = o.limits;
    this.spill = o.spill;
    this.#now = o.now;
    this.#primary = o.store;
    this.sequences = o.sequences;
    // A conservative share: rounded down, so the replicas together never exceed the limit.
    const share = (limit: number, least: number) => {
      const part = limit / o.replicas;
      return part >= 1 ? Math.floor(part) : Math.max(least, part);
    };
    this.#fallback = new MemoryBudgetStore(
      // The spacing per card and per message is kept whole: each is written by the one session streaming it.
      { ...this.limits, apiQps: share(this.limits.apiQps, 1 / 60), apiQpm: share(this.limits.apiQpm, 1) },
      { marginMs: o.marginMs, now: this.#now },
    );
    this.#store = this.#primary;
    this.#pacing = pacing(this.limits, o.marginMs);
    const windowOf = (scope: Target['scope']) => {
      const qps = scope === 'card' ? this.limits.cardQps : this.limits.messageQps;
      const size = Math.max(1, Math.floor(qps));
      return { size, spanMs: size * spacingOf(this.#pacing, scope) };
    };
    const windows = { card: windowOf('card'), message: windowOf('message') };
    this.#windows = new AnswerWindows((key) => (key.startsWith('c:') ? windows.card : windows.message));
    this.#arrivals = new ArrivalWindows(Math.max(1, Math.floor(this.limits.apiQps)), this.#pacing.secondSpanMs);
    if (this.sequences instanceof RedisSequenceStore) {
      this.sequences.on('fallback', (event) => this.emit('sequenceFallback', event));
      this.sequences.on('restored', () => this.emit('sequenceRestored'));
    }
  }

  /**
   * Resolves when the write may be dispatched now, and counts it. Rejects with the signal's reason on
   * abort, and with a TypeError when the request names both a `cardId` and a `messageId`.
   * @example
   * await governor.acquire({ api: 'im.message.patch', messageId, signal });
   */
  acquire(request: PermitRequest): Promise<string | void> {
    return new Promise<string | void>((resolve, reject) => {
      if (request.signal?.aborted) {
        reject(request.signal.reason as Error);
        return;
      }
      const target = targetOf(request); // a throw here rejects the promise
      const queue = this.#queue(request.api);
      const waiter: Waiter = { request, target, since: this.#now(), resolve, reject, detach: () => undefined };
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
    // A wait beyond what a timer holds (a broken header) is cut to the longest one; nonsense is no wait.
    ms = Number.isNaN(ms) ? 0 : Math.min(Math.max(0, ms), MAX_TIMER_MS);
    this.#counters(this.#apiCounters, api).rateLimited++;
    // The platform refused for the rate: the app's own count was off (another process, a change of plan), so no
    // write spills from this API or onto it until the pause is over.
    this.#paused.set(api, Math.max(this.#paused.get(api) ?? 0, this.#now() + ms));
    this.emit('paused', { api, ms });
    this.#store.pause(api, ms).catch((error: unknown) => this.#storeFailed(error));
    this.#fallback.pause(api, ms).catch(() => undefined);
  }

  /**
   * The call permitted for `request` (the object given to `acquire`) got its answer, accepted or not, or will not
   * be sent. The platform counted it when it arrived, at the latest now: the API's next calls (in every replica,
   * through a shared store) and the card's or message's next writes are held so that no window of the
   * platform's, measured from there, holds more than the limit, however slowly the call traveled. An object that
   * was not granted moves only its card's or message's last write.
   */
  answered(request: Answered): void {
    const now = this.#now();
    const target = targetOf(request);
    if (target !== undefined) this.#windows.answered(busyKey(target), now);
    const grant = this.#granted.get(request);
    if (grant === undefined) return;
    this.#granted.delete(request);
    this.#arrivals.answered(grant.call, now);
    // Replicas sharing the budget learn it through the store that granted it (the fallback grants no ticket).
    if (grant.ticket !== undefined) this.#primary.answered?.(grant.api, grant.ticket);
    // A call in flight held its API for as long as it lasted: the waiting writes may go sooner now.
    const queue = this.#queues.get(grant.api);
    if (queue !== undefined) {
      queue.arrived = true;
      queue.wake?.();
    }
  }

  /**
   * The card's or the message's session ended: drop what is kept for it in this process. `id` is a card
   * id or a message id (`om_…`); what is kept for a card and for a message of that id is dropped (the
   * platform's card and message ids never coincide).
   */
  forget(id: string): void {
    const now = this.#now();
    this.#cardCounters.delete(id);
    // A spacing still running holds the next write, whoever makes it; it is dropped once passed.
    for (const scope of ['card', 'message'] as const) {
      this.#targetBusy.release(busyKey({ scope, id }), now);
      this.#windows.release(busyKey({ scope, id }), now);
    }
    this.#primary.forget?.(id);
    this.#fallback.forget(id);
    this.sequences.forget?.(id);
  }

  stats(): GovernorStats {
    const copy = (entries: Iterable<[string, ApiCounters]>) => Object.fromEntries([...entries].map(([k, v]) => [k, { ...v }]));
    return {
      apis: copy(this.#apiCounters),
      cards: copy(this.#cardCounters.entries()),
      waiting: Object.fromEntries([...this.#queues].map(([api, q]) => [api, q.waiters.length])),
      fallback: this.#store !== this.#primary,
      sequenceFallback: this.sequences instanceof RedisSequenceStore && this.sequences.fallback,
      tracked: { counters: this.#cardCounters.size, spacing: this.#targetBusy.size, windows: this.#windows.keys },
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
    // This process's calls that arrived late fill the platform's window for a while: nobody may go meanwhile.
    const arriving = this.#arrivals.remaining(api, now);
    for (const waiter of order) {
      const { target } = waiter;
      const busy =
        target === undefined
          ? 0
          : Math.max(this.#targetBusy.remaining(busyKey(target), now), this.#windows.remaining(busyKey(target), now));
      if (busy > 0) {
        wait = Math.min(wait, busy);
        continue;
      }
      const result = arriving > 0 ? ({ granted: false, waitMs: arriving, scope: 'api' } as const) : await this.#take(api, target);
      if (!queue.waiters.includes(waiter)) continue; // aborted while the store answered
      if (result.granted) {
        this.#grant(api, queue, waiter, result.ticket);
        return 0;
      }
      wait = Math.min(wait, result.waitMs);
      if (result.scope === 'api') {
        // The API is spent for a while: the write may go through another API that carries it and has budget.
        if (this.spill && this.#backlogged(api, queue, result.waitMs, now) && (await this.#spill(queue, waiter))) return 0;
        break;
      }
      // Only this card or message is busy: other waiters may still go.
      if (target !== undefined) this.#targetBusy.hold(busyKey(target), now + result.waitMs, now);
    }
    return Math.max(1, Number.isFinite(wait) ? wait : 1);
  }

  /**
   * True when the API's queue would hold its last write long enough to spill: the head's wait, then one step of
   * the API's pace per write behind it (its spacing while the minute bucket still holds a burst, the bucket's
   * refill once it binds), at least `SPILL_AFTER_MS` and two steps; never while the platform paused the API.
   */
  #backlogged(api: string, queue: ApiQueue, waitMs: number, now: number): boolean {
    const { apiSpacingMs, refillPerMs } = this.#pacing;
    const step = waitMs > apiSpacingMs + 1 ? Math.max(apiSpacingMs, 1 / refillPerMs) : apiSpacingMs;
    const backlogMs = waitMs + (queue.waiters.length - 1) * step;
    return backlogMs >= Math.max(SPILL_AFTER_MS, 2 * step) && !this.#isPaused(api, now);
  }

  /**
   * Grants `waiter` through the first of its alternatives that has budget now and no write of its own waiting
   * (a spilled write never goes ahead of that API's own); true when it did.
   */
  async #spill(queue: ApiQueue, waiter: Waiter): Promise<boolean> {
    for (const alternative of waiter.request.alternatives ?? []) {
      const now = this.#now();
      if (
        alternative === waiter.request.api ||
        (this.#queues.get(alternative)?.waiters.length ?? 0) > 0 ||
        this.#isPaused(alternative, now) ||
        this.#arrivals.remaining(alternative, now) > 0
      ) {
        continue;
      }
      const result = await this.#take(alternative, waiter.target);
      if (!queue.waiters.includes(waiter)) return false; // aborted while the store answered
      if (result.granted) {
        this.#grant(alternative, queue, waiter, result.ticket);
        return true;
      }
    }
    return false;
  }

  #isPaused(api: string, now: number): boolean {
    const until = this.#paused.get(api);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#paused.delete(api);
    return false;
  }

  #grant(api: string, queue: ApiQueue, waiter: Waiter, ticket: string | undefined): void {
    queue.waiters.splice(queue.waiters.indexOf(waiter), 1);
    waiter.detach();
    const now = this.#now();
    const waited = now - waiter.since;
    const { target } = waiter;
    const call = this.#arrivals.granted(api, now, waiter.request.reportsAnswer === true);
    this.#granted.set(waiter.request, { api, call, ticket });
    if (target !== undefined) {
      this.#targetBusy.hold(busyKey(target), now + spacingOf(this.#pacing, target.scope), now);
      this.#windows.sent(busyKey(target), now);
    }
    const cardCounters = target?.scope === 'card' ? [this.#cardCounters.touch(target.id, newCounters)] : [];
    for (const counters of [this.#counters(this.#apiCounters, api), ...cardCounters]) {
      counters.writes++;
      if (waited >= 1) {
        counters.waits++;
        counters.waitedMs += waited;
      }
    }
    waiter.resolve(api === waiter.request.api ? undefined : api);
  }

  async #take(api: string, target: Target | undefined) {
    const request: TakeRequest =
      target === undefined ? { api } : target.scope === 'card' ? { api, cardId: target.id } : { api, messageId: target.id };
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

  /**
   * Sleeps, but wakes early when a new write arrives (it may be able to go sooner). A wait longer
   * than a timer holds is cut to the longest one: the pump then looks again, it does not spin.
   */
  #sleep(queue: ApiQueue, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
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
    if (!counters) map.set(key, (counters = newCounters()));
    return counters;
  }
}

function newCounters(): ApiCounters {
  return { writes: 0, waits: 0, waitedMs: 0, rateLimited: 0 };
}

/** A target's key among the spacings this process knows: a card and a message of the same id are two keys. */
function busyKey(target: Target): string {
  return `${target.scope === 'card' ? 'c' : 'm'}:${target.id}`;
}

function urgency(waiter: Waiter): number {
  return waiter.request.priority === 'urgent' ? 1 : 0;
}
