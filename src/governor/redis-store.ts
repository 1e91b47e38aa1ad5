/**
 * The app's budget in Redis, shared by every replica: one Lua script checks and records atomically,
 * on Redis's own clock (`TIME`), so replicas with skewed clocks still agree. The same limits as the
 * in-process store: sliding windows per second and per minute, the paced minute bucket, the pause the
 * platform asked for, and the spacing of writes to one card or patches of one message (touched by
 * several replicas). A write's target (its card, key `<base>:card:<id>`, or its message, key
 * `<base>:msg:<id>`) is passed to the script with its spacing, so the whole check stays one atomic script.
 */
import { type BudgetStore, MAX_MARGIN_MS, type TakeRequest, type TakeResult, pacing, spacingOf, targetOf } from './budget-store.js';
import { type Limits, resolveLimits } from './limits.js';
import { duration } from './checks.js';
import { type RedisLike, Script, assertRedis, runWithin } from './redis.js';

const TAKE = new Script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local secondSpan, apiQps, minuteSpan, apiQpm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local burst, refill, spacing, scope = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local apiSpacing = tonumber(ARGV[9])
local wait = tonumber(redis.call('GET', KEYS[4]) or '0') - now
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - secondSpan)
if redis.call('ZCARD', KEYS[1]) >= apiQps then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  wait = math.max(wait, tonumber(oldest[2]) + secondSpan - now)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - minuteSpan)
if redis.call('ZCARD', KEYS[2]) >= apiQpm then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  wait = math.max(wait, tonumber(oldest[2]) + minuteSpan - now)
end
local bucket = redis.call('HMGET', KEYS[3], 'tokens', 'at', 'last')
local tokens = tonumber(bucket[1]) or burst
local at = tonumber(bucket[2]) or now
local last = tonumber(bucket[3])
if last then wait = math.max(wait, last + apiSpacing - now) end
tokens = math.min(burst, tokens + (now - at) * refill)
if tokens < 1 then wait = math.max(wait, (1 - tokens) / refill) end
if wait > 0 then return {0, math.ceil(wait), 'api'} end
if scope ~= '' then
  local last = tonumber(redis.call('GET', KEYS[5]) or '-1e18')
  local targetWait = last + spacing - now
  if targetWait > 0 then return {0, math.ceil(targetWait), scope} end
  redis.call('SET', KEYS[5], tostring(now), 'PX', math.ceil(spacing) + 1000)
end
local member = tostring(now) .. ':' .. redis.call('INCR', KEYS[6])
redis.call('ZADD', KEYS[1], now, member)
redis.call('ZADD', KEYS[2], now, member)
redis.call('PEXPIRE', KEYS[1], math.ceil(secondSpan) + 1000)
redis.call('PEXPIRE', KEYS[2], math.ceil(minuteSpan) + 1000)
redis.call('HSET', KEYS[3], 'tokens', tostring(tokens - 1), 'at', tostring(now), 'last', tostring(now))
redis.call('PEXPIRE', KEYS[3], math.ceil(minuteSpan) + 1000)
redis.call('PEXPIRE', KEYS[6], math.ceil(minuteSpan) + 1000)
return {1, 0, '', member}
`);

/** Counts one granted call (its member in the second's and the minute's windows) from now, if that is later. */
const ANSWERED = new Script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
for i = 1, 2 do
  local score = redis.call('ZSCORE', KEYS[i], ARGV[1])
  if not score or tonumber(score) < now then
    redis.call('ZADD', KEYS[i], now, ARGV[1])
    redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[i + 1])) + 1000)
  end
end
return 1
`);

const PAUSE = new Script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local untilMs = now + tonumber(ARGV[1])
if untilMs > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], tostring(untilMs), 'PX', math.ceil(tonumber(ARGV[1])) + 1000)
end
return 1
`);

/** The key segment of a target's spacing: `<base>:card:<id>`, `<base>:msg:<id>`. */
const KEY_OF = { card: 'card', message: 'msg' } as const;

export interface RedisBudgetStoreOptions {
  /** Names the budget; replicas of one bot use the same. Default `app`. */
  appId?: string;
  /** Prefix of every key. Default `fcs`. */
  prefix?: string;
  /** Safety margin added to every window, ms (0 to 10000). Default 100. */
  marginMs?: number;
  /**
   * How long one check may take before it counts as a failure (and the governor falls back to its
   * local share). A client that queues commands while reconnecting would otherwise hold every write.
   * Default 1000 ms; at most 60000.
   */
  timeoutMs?: number;
}

export class RedisBudgetStore implements BudgetStore {
  readonly #redis: RedisLike;
  readonly #limits: Limits;
  readonly #p: ReturnType<typeof pacing>;
  readonly #base: string;
  readonly #timeoutMs: number;

  /** `limits`: those not given take Feishu's defaults (`FEISHU_LIMITS`). */
  constructor(redis: RedisLike, limits: Partial<Limits>, options: RedisBudgetStoreOptions = {}) {
    assertRedis(redis, 'RedisBudgetStore redis');
    this.#redis = redis;
    this.#limits = resolveLimits(limits);
    this.#p = pacing(this.#limits, duration(options.marginMs ?? 100, 'options.marginMs', 0, MAX_MARGIN_MS));
    this.#base = `${options.prefix ?? 'fcs'}:${options.appId ?? 'app'}`;
    this.#timeoutMs = duration(options.timeoutMs ?? 1000, 'options.timeoutMs', 1, 60_000);
  }

  #run(script: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    return runWithin(this.#timeoutMs, script, this.#redis, keys, args);
  }

  /** Rejects with a TypeError for a request naming both a card and a message. */
  async take(request: TakeRequest): Promise<TakeResult> {
    const target = targetOf(request);
    const api = `${this.#base}:api:${request.api}`;
    const targetKey = target === undefined ? `${this.#base}:card:-` : `${this.#base}:${KEY_OF[target.scope]}:${target.id}`;
    const keys = [`${api}:s`, `${api}:m`, `${api}:b`, `${api}:p`, targetKey, `${api}:n`];
    const p = this.#p;
    const args = [
      p.secondSpanMs,
      this.#limits.apiQps,
      p.minuteSpanMs,
      this.#limits.apiQpm,
      p.burst,
      p.refillPerMs,
      target === undefined ? 0 : spacingOf(p, target.scope),
      target?.scope ?? '',
      p.apiSpacingMs,
    ];
    const [granted, waitMs, scope, member] = (await this.#run(TAKE, keys, args)) as [number, number, string, string?];
    if (granted === 1) return typeof member === 'string' ? { granted: true, ticket: member } : { granted: true };
    return { granted: false, waitMs: Math.max(1, waitMs), scope: scope === 'card' || scope === 'message' ? scope : 'api' };
  }

  /**
   * The call of `api` granted with `ticket` (its member in the shared windows) got its answer: it is counted from
   * now, on Redis's clock, in the second's and the minute's windows, so every replica's next call of `api` waits
   * for it as the platform does. Fire and forget: a failure only loses the correction.
   */
  answered(api: string, ticket: string): void {
    const base = `${this.#base}:api:${api}`;
    this.#run(ANSWERED, [`${base}:s`, `${base}:m`], [ticket, this.#p.secondSpanMs, this.#p.minuteSpanMs]).catch(() => undefined);
  }

  async pause(api: string, ms: number): Promise<void> {
    await this.#run(PAUSE, [`${this.#base}:api:${api}:p`], [Math.max(0, ms)]);
  }
}
