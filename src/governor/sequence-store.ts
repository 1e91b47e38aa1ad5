/**
 * Where the sequence of each card is counted (reference §15). In memory by default: one session owns
 * its card. In Redis when several processes write to the same card (a button callback handled by
 * another replica): INCR hands every writer a sequence greater than any handed out before.
 */
import { type RedisLike, Script } from './redis.js';

export interface SequenceStore {
  /** A sequence for the next write to the card, greater than every one handed out for it, and than `floor`. */
  next(cardId: string, floor: number): Promise<number>;
}

export class MemorySequenceStore implements SequenceStore {
  readonly #last = new Map<string, number>();

  next(cardId: string, floor: number): Promise<number> {
    const next = Math.max(this.#last.get(cardId) ?? 0, floor) + 1;
    this.#last.set(cardId, next);
    return Promise.resolve(next);
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

export class RedisSequenceStore implements SequenceStore {
  constructor(
    private readonly redis: RedisLike,
    private readonly prefix = 'fcs',
  ) {}

  async next(cardId: string, floor: number): Promise<number> {
    return Number(await NEXT.run(this.redis, [`${this.prefix}:seq:${cardId}`], [floor, TTL_MS]));
  }
}
