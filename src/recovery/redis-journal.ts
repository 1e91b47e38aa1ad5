/**
 * The journal of open cards in Redis, shared by every replica of the app: each card an entry in a hash, its
 * lease's end in one sorted set while its replica renews it and in another once a replica claimed it to close
 * it, measured on Redis's own clock (`TIME`). Each change is one Lua script, so a claim and a renewal never
 * interleave: an expired card is handed to one replica only, a renewal never extends a card that was claimed
 * or removed, and a card whose claimer died before removing it is claimed again once the claim runs out.
 */
import { type RedisLike, Script, assertRedis, runWithin } from '../governor/redis.js';
import { type CardJournal, DEFAULT_CLAIM_MS, type JournalEntry, checkEntry, checkLease, checkLimit } from './journal.js';

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS: [1] leases (renewed), [2] the entries, [3] claims (being closed).
const PUT = new Script(`${NOW}
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
return 1`);

const RENEW = new Script(`${NOW}
local untilMs = now + tonumber(ARGV[1])
local missing = {}
for i = 2, #ARGV do
  if redis.call('ZADD', KEYS[1], 'XX', 'CH', untilMs, ARGV[i]) == 0 and not redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    table.insert(missing, ARGV[i])
  end
end
return missing`);

const REMOVE = new Script(`redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`);

const CLAIM = new Script(`${NOW}
local limit, untilMs = tonumber(ARGV[1]), now + tonumber(ARGV[2])
local entries = {}
for _, set in ipairs({KEYS[1], KEYS[3]}) do
  local room = limit - #entries
  if room > 0 then
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', set, '-inf', now, 'LIMIT', 0, room)) do
      redis.call('ZREM', set, id)
      local entry = redis.call('HGET', KEYS[2], id)
      if entry then
        redis.call('ZADD', KEYS[3], untilMs, id)
        table.insert(entries, entry)
      end
    end
  end
end
local nextMs = -1
for _, set in ipairs({KEYS[1], KEYS[3]}) do
  local first = redis.call('ZRANGE', set, 0, 0, 'WITHSCORES')
  if first[2] then
    local wait = math.max(0, tonumber(first[2]) - now)
    if nextMs < 0 or wait < nextMs then nextMs = wait end
  end
end
return {tostring(nextMs), entries}`);

export interface RedisJournalOptions {
  /** Prefix of the journal's keys. Default `feishu-card-session:journal`. */
  prefix?: string;
  /** How long a command may take before it fails (a client reconnecting queues commands), ms. Default 2000. */
  timeoutMs?: number;
}

export class RedisJournal implements CardJournal {
  readonly #redis: RedisLike;
  readonly #prefix: string;
  readonly #timeoutMs: number;

  /** @param redis an `ioredis` client (an optional peer dependency), shared with the governor if you like. */
  constructor(redis: RedisLike, options: RedisJournalOptions = {}) {
    assertRedis(redis, 'new RedisJournal(redis)');
    const prefix = options.prefix ?? 'feishu-card-session:journal';
    if (typeof prefix !== 'string' || prefix === '') throw new TypeError('options.prefix must be a non-empty string');
    const timeoutMs = options.timeoutMs ?? 2000;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > 2_147_483_647) throw new RangeError('options.timeoutMs must be a number of ms above 0');
    this.#redis = redis;
    this.#prefix = prefix;
    this.#timeoutMs = timeoutMs;
  }

  async put(entry: JournalEntry, leaseMs: number): Promise<void> {
    checkEntry(entry);
    checkLease(leaseMs);
    await this.#run(PUT, entry.appId, [Math.ceil(leaseMs), entry.cardId, JSON.stringify(entry)]);
  }

  async renew(appId: string, cardIds: readonly string[], leaseMs: number): Promise<string[]> {
    checkLease(leaseMs);
    const missing: string[] = [];
    // A thousand ids per script at most: one script holds Redis while it runs. No ids: one call all the same
    // (a recovery probes a journal that failed with it).
    for (let i = 0; i === 0 || i < cardIds.length; i += 1000) {
      missing.push(...((await this.#run(RENEW, appId, [Math.ceil(leaseMs), ...cardIds.slice(i, i + 1000)])) as string[]));
    }
    return missing;
  }

  async remove(appId: string, cardId: string): Promise<void> {
    await this.#run(REMOVE, appId, [cardId]);
  }

  async claimExpired(appId: string, limit: number, claimMs = DEFAULT_CLAIM_MS): Promise<{ entries: JournalEntry[]; nextExpiryMs: number | undefined }> {
    checkLimit(limit);
    checkLease(claimMs);
    const [next, raw] = (await this.#run(CLAIM, appId, [limit, Math.ceil(claimMs)])) as [string, string[]];
    const entries: JournalEntry[] = [];
    for (const text of raw) {
      try {
        const entry = JSON.parse(text) as JournalEntry;
        checkEntry(entry);
        entries.push(entry);
      } catch {
        // Not ours (another writer's key of the same name): nothing this journal can close.
      }
    }
    const nextMs = Number(next);
    return { entries, nextExpiryMs: nextMs >= 0 ? nextMs : undefined };
  }

  #run(script: Script, appId: string, args: (string | number)[]): Promise<unknown> {
    if (typeof appId !== 'string' || appId === '') throw new TypeError('appId must be a non-empty string');
    // One hash tag per app, so both keys live in one slot of a Redis Cluster.
    const base = `${this.#prefix}:{${appId}}`;
    return runWithin(this.#timeoutMs, script, this.#redis, [`${base}:leases`, `${base}:cards`, `${base}:claims`], args);
  }
}
