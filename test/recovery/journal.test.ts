/**
 * The journal contract (issue 13), for both stores: the in-process `MemoryJournal` and `RedisJournal` on a
 * real redis-server. An expired entry is handed to one claimer only, a renewal never brings back an entry
 * that was removed or claimed, leases run from the store's clock, apps are kept apart.
 */
import { describe, expect, it } from 'vitest';
import { type CardJournal, type JournalEntry, MemoryJournal, RedisJournal } from '../../src/recovery/index.js';
import { openRedis, redisMissing, useRedisServer } from '../support/redis.js';
import { sleep } from '../support/session.js';

const entry = (cardId: string, appId = 'cli_a'): JournalEntry => ({ appId, cardId, elementId: 'answer', summary: `s ${cardId}`, sequence: 7, replica: 'r1' });

function contract(name: string, make: () => Promise<{ journal: CardJournal; other: CardJournal }>): void {
  describe(name, () => {
    it('an entry is claimable once its lease ran out, not before; claimed once; the next expiry is told', async () => {
      const { journal } = await make();
      await journal.put(entry('c1'), 150);
      await journal.put(entry('c2'), 5000);
      expect(await journal.claimExpired('cli_a', 10)).toEqual({ entries: [], nextExpiryMs: expect.any(Number) as number });
      expect((await journal.claimExpired('cli_a', 10)).nextExpiryMs).toBeLessThanOrEqual(150);
      await sleep(200);
      const claimed = await journal.claimExpired('cli_a', 10);
      expect(claimed.entries).toEqual([entry('c1')]);
      expect(claimed.nextExpiryMs).toBeGreaterThan(4000);
      expect((await journal.claimExpired('cli_a', 10)).entries).toEqual([]);
    });

    it('two replicas claiming at once get each expired entry exactly once', async () => {
      const { journal, other } = await make();
      for (let i = 0; i < 60; i++) await journal.put(entry(`c${i}`), 50);
      await sleep(100);
      const claims = await Promise.all([0, 1, 2, 3].map((i) => (i % 2 ? other : journal).claimExpired('cli_a', 7)));
      const more = await Promise.all([journal.claimExpired('cli_a', 100), other.claimExpired('cli_a', 100)]);
      const ids = [...claims, ...more].flatMap((claim) => claim.entries.map((e) => e.cardId));
      expect(ids.length).toBe(60);
      expect(new Set(ids).size).toBe(60);
      expect(claims.every((claim) => claim.entries.length <= 7)).toBe(true);
    });

    it('renew extends a live lease and never brings back a removed or claimed entry', async () => {
      const { journal } = await make();
      await journal.put(entry('live'), 150);
      await journal.put(entry('gone'), 150);
      await journal.put(entry('claimed'), 50);
      await journal.remove('cli_a', 'gone');
      await sleep(100);
      expect((await journal.claimExpired('cli_a', 10)).entries.map((e) => e.cardId)).toEqual(['claimed']);
      await journal.renew('cli_a', ['live', 'gone', 'claimed'], 1000);
      await sleep(200);
      expect((await journal.claimExpired('cli_a', 10)).entries).toEqual([]);
      expect((await journal.claimExpired('cli_a', 10)).nextExpiryMs).toBeGreaterThan(500);
    });

    it('apps are kept apart; put replaces an entry; bad arguments are refused', async () => {
      const { journal } = await make();
      await journal.put(entry('c1', 'cli_a'), 10);
      await journal.put({ ...entry('c1', 'cli_b'), summary: 'first' }, 10);
      await journal.put({ ...entry('c1', 'cli_b'), summary: 'second' }, 10);
      await sleep(50);
      expect((await journal.claimExpired('cli_b', 10)).entries.map((e) => e.summary)).toEqual(['second']);
      expect((await journal.claimExpired('cli_a', 10)).entries.map((e) => e.appId)).toEqual(['cli_a']);
      await expect(journal.put(entry('c1'), 0)).rejects.toThrow(RangeError);
      await expect(journal.put({ ...entry('c1'), sequence: -1 }, 10)).rejects.toThrow(TypeError);
      await expect(journal.claimExpired('cli_a', 0)).rejects.toThrow(RangeError);
    });
  });
}

contract('MemoryJournal', () => {
  const journal = new MemoryJournal();
  return Promise.resolve({ journal, other: journal });
});

describe.skipIf(redisMissing('the Redis journal tests'))('RedisJournal', () => {
  const redis = useRedisServer();
  contract('on a real redis-server', async () => ({
    journal: new RedisJournal(redis.admin),
    other: new RedisJournal(await openRedis(redis.server.url)),
  }));

  it('a journal whose Redis is down fails within its timeout instead of hanging', async () => {
    const stalled = { evalsha: () => new Promise<never>(() => undefined), eval: () => new Promise<never>(() => undefined) };
    const journal = new RedisJournal(stalled, { timeoutMs: 100 });
    const started = performance.now();
    await expect(journal.claimExpired('cli_a', 1)).rejects.toThrow('Redis did not answer within 100 ms');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(() => new RedisJournal({} as never)).toThrow(TypeError);
  });
});
