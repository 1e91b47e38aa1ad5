/**
 * Where the sequence of each card is counted (reference §15). In memory by default: one session owns
 * its card. In Redis when several processes write to the same card (a button callback handled by
 * another replica): one script hands every writer a sequence greater than any handed out before.
 */
import { EventEmitter } from 'eventemitter3';
import { RecentMap } from './bounded-maps.js';
import { duration, positiveInteger } from './checks.js';
import { type RedisLike, Script, assertRedis, runWithin } from './redis.js';

export interface SequenceStore {
  /** A sequence for the next write to the card, greater than every one handed out for it, and than `floor`. */
  next(cardId: string, floor: number): Promise<number>;
  /** The card's session ended: drop what this process keeps for it. */
  forget?(cardId: string): void;
}

/**
 * Cards whose last sequence a store remembers in this process, by default: the most recently written
 * ones. A card forgotten (or pushed out by 10,000 more recent ones) is still safe for its own session,
 * which passes its last sequence as the floor.
 */
const MAX_CARDS = 10_000;

export class MemorySequenceStore implements SequenceStore {
  readonly #last: RecentMap<number>;

  constructor(options: { maxCards?: number } = {}) {
    this.#last = new RecentMap(positiveInteger(options.maxCards ?? MAX_CARDS, 'options.maxCards'));
  }

  next(cardId: string, floor: number): Promise<number> {
    const next = Math.max(this.#last.get(cardId) ?? 0, floor) + 1;
    this.#last.set(cardId, next);
    return Promise.resolve(next);
  }

  forget(cardId: string): void {
    this.#last.delete(cardId);
  }

  /** Cards whose last sequence is remembered. */
  get trackedCards(): number {
    return this.#last.size;
  }
}

const NEXT = new Script(`
local floor = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local next = math.max(current, floor) + 1
redis.call('SET', KEYS[1], next, 'PX', ARGV[2])
return next
`);

/** Card entities live 14 days; their counters a day longer. */
const TTL_MS = 15 * 24 * 60 * 60 * 1000;

export interface RedisSequenceStoreOptions {
  /** Names the counters; replicas of one bot use the same. Default `app`. */
  appId?: string;
  /** Prefix of every key (`<prefix>:<appId>:seq:<card_id>`). Default `fcs`. */
  prefix?: string;
  /**
   * How long one `next()` waits for Redis before it hands out a local sequence instead. Default 1000 ms,
   * like `RedisBudgetStore`'s: a client that queues commands while reconnecting would otherwise hold
   * every write for the whole outage.
   */
  timeoutMs?: number;
  /** After Redis failed, sequences are local for this long before Redis is asked again. Default 5000 ms. */
  retryMs?: number;
  /** Cards whose last sequence is remembered in this process (for the fallback). Default 10,000. */
  maxCards?: number;
  /** Monotonic clock, ms. Default `performance.now`. */
  now?: () => number;
}

export interface SequenceStoreEvents {
  /** Redis failed or did not answer in time: sequences are handed out locally. */
  fallback: [{ error: Error }];
  /** Redis answers again: sequences come from Redis again. */
  restored: [];
}

/**
 * Sequences in Redis, with a local fallback. While Redis is unreachable each `next()` settles within
 * `timeoutMs` with a local sequence above every one this store handed out for the card (and the
 * floor); the first Redis answer after the outage is asked above those too, so a card's sequences
 * keep increasing across the outage and the return. (Two replicas writing one card during an outage
 * can collide: the platform answers 300317 and the session moves on.)
 */
export class RedisSequenceStore extends EventEmitter<SequenceStoreEvents> implements SequenceStore {
  readonly #redis: RedisLike;
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #retryMs: number;
  readonly #now: () => number;
  /** The highest sequence this store handed out per card, from Redis or locally. */
  readonly #handedOut: RecentMap<number>;
  #failed = false;
  #retryAt = 0;
  /** A call is asking Redis after a failure; the others stay local meanwhile, not waiting too. */
  #probing = false;

  constructor(redis: RedisLike, options: RedisSequenceStoreOptions = {}) {
    super();
    assertRedis(redis, 'RedisSequenceStore redis');
    if (typeof options !== 'object' || options === null) throw new TypeError('RedisSequenceStore options must be an object');
    this.#redis = redis;
    this.#base = `${options.prefix ?? 'fcs'}:${options.appId ?? 'app'}`;
    this.#timeoutMs = duration(options.timeoutMs ?? 1000, 'options.timeoutMs', 1, 60_000);
    this.#retryMs = duration(options.retryMs ?? 5000, 'options.retryMs', 1, 60 * 60_000);
    this.#handedOut = new RecentMap(positiveInteger(options.maxCards ?? MAX_CARDS, 'options.maxCards'));
    this.#now = options.now ?? (() => performance.now());
  }

  /** True while sequences are handed out locally because Redis failed. */
  get fallback(): boolean {
    return this.#failed;
  }

  /** Cards whose highest sequence is remembered in this process. */
  get trackedCards(): number {
    return this.#handedOut.size;
  }

  async next(cardId: string, floor: number): Promise<number> {
    const start = this.#now();
    if (this.#failed && (start < this.#retryAt || this.#probing)) return this.#local(cardId, floor);
    const probe = this.#failed;
    this.#probing ||= probe;
    try {
      for (;;) {
        const above = Math.max(floor, this.#handedOut.get(cardId) ?? 0);
        const left = this.#timeoutMs - (this.#now() - start);
        let answer: number;
        try {
          if (left <= 0) throw new Error(`Redis did not answer within ${this.#timeoutMs} ms`);
          answer = Number(await runWithin(left, NEXT, this.#redis, [`${this.#base}:seq:${cardId}`], [above, TTL_MS]));
          if (!Number.isSafeInteger(answer)) throw new Error(`Redis answered a sequence that is not an integer: ${answer}`);
        } catch (error) {
          this.#fail(error);
          return this.#local(cardId, floor);
        }
        // A local sequence handed out for this card while Redis answered: ask again above it.
        if (answer <= (this.#handedOut.get(cardId) ?? 0)) continue;
        if (this.#failed) {
          this.#failed = false;
          this.emit('restored');
        }
        this.#handedOut.set(cardId, answer);
        return answer;
      }
    } finally {
      if (probe) this.#probing = false;
    }
  }

  forget(cardId: string): void {
    this.#handedOut.delete(cardId);
  }

  #local(cardId: string, floor: number): number {
    const next = Math.max(floor, this.#handedOut.get(cardId) ?? 0) + 1;
    this.#handedOut.set(cardId, next);
    return next;
  }

  #fail(error: unknown): void {
    this.#retryAt = this.#now() + this.#retryMs;
    if (this.#failed) return;
    this.#failed = true;
    this.emit('fallback', { error: error instanceof Error ? error : new Error(String(error)) });
  }
}
