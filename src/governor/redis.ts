/** The part of an ioredis client the governor uses, and Lua scripts run by SHA on it. */
import { createHash } from 'node:crypto';

/**
 * The part of an `ioredis` client used to share the rate-limit budget and card sequences between
 * replicas (an optional peer dependency: pass your own `new Redis(…)`).
 */
export interface RedisLike {
  evalsha(sha: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** Throws a TypeError naming `what` unless `redis` looks like an ioredis client. */
export function assertRedis(redis: unknown, what: string): asserts redis is RedisLike {
  const candidate = redis as Partial<RedisLike> | null | undefined;
  if (typeof candidate?.evalsha !== 'function' || typeof candidate.eval !== 'function') {
    throw new TypeError(`${what} must be an ioredis client (with evalsha and eval)`);
  }
}

/** A Lua script run by SHA, loaded on first use (NOSCRIPT) by sending it once in full. */
export class Script {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: RedisLike, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/**
 * Runs `script`, failing after `timeoutMs`: a client that queues commands while it reconnects (ioredis's
 * default) would otherwise hold the caller for the whole outage.
 */
export function runWithin(timeoutMs: number, script: Script, redis: RedisLike, keys: string[], args: (string | number)[]): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([script.run(redis, keys, args), timeout]).finally(() => clearTimeout(timer));
}
