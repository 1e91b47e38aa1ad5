/** Lua scripts run by SHA on the caller's Redis client. */
import { createHash } from 'node:crypto';
import type { RedisLike } from '../client/index.js';

export type { RedisLike };

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
