/**
 * Card sequences through Redis while Redis is unreachable (reference §15: every write needs a sequence
 * above the card's last): a `next()` never waits for the outage, only for its bound, then hands out a
 * local sequence above every one this store handed out for the card and above the caller's floor; the
 * first Redis answer after the outage is above the local ones too. Against a real redis-server, frozen
 * with SIGSTOP (connections stay open and answers never come, as in a network partition; the client
 * is ioredis with its defaults, which waits for ever) or killed and restarted empty on its port.
 */
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FairGovernor, RedisSequenceStore } from '../../src/governor/index.js';
import { FAIL_FAST, type RunningRedis, closeRedisClients, openRedis, redisMissing, startRedis } from '../support/redis.js';
import { sleep, waitFor } from '../support/session.js';

/** Resolves with `promise`, or rejects naming `what` when it has not settled after `ms` (a hang, not a slow answer). */
function settlesWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

/**
 * Longest a next() may take in these tests before it counts as waiting for the outage: far above the
 * 200 ms bound (a loaded machine is slow), far below the outage, which lasts until the test ends it.
 */
const HANG_MS = 5000;

/** Hands out sequences to cards the way sessions ask: one at a time per card, each above the card's last as floor (or 0). */
class Cards {
  /** Per card, the values of each round. */
  readonly handed = new Map<string, number[][]>();

  constructor(
    readonly store: RedisSequenceStore,
    readonly ids: { id: string; floor: 'last' | 'zero' }[],
  ) {}

  /** One round: a next() for every card, all at once; card `twice` gets two at once. */
  async round(twice?: string): Promise<void> {
    const ask = (id: string, floor: 'last' | 'zero') =>
      settlesWithin(this.store.next(id, floor === 'last' && this.handed.has(id) ? this.last(id) : 0), HANG_MS, `next(${id})`);
    const answers = await Promise.all(
      this.ids.flatMap(({ id, floor }) => (id === twice ? [ask(id, floor), ask(id, floor)] : [ask(id, floor)]).map((p) => p.then((v) => [id, v] as const))),
    );
    for (const { id } of this.ids) {
      const rounds = this.handed.get(id) ?? [];
      rounds.push(answers.filter(([card]) => card === id).map(([, value]) => value));
      this.handed.set(id, rounds);
    }
  }

  last(id: string): number {
    return Math.max(...this.handed.get(id)!.at(-1)!);
  }

  /** Per card: the values of one round are distinct, and all above every value of the rounds before. */
  expectIncreasing(): void {
    for (const [id, rounds] of this.handed) {
      for (const [r, values] of rounds.entries()) {
        expect(new Set(values).size, `${id} round ${r}`).toBe(values.length);
        if (r > 0) expect(Math.min(...values), `${id} round ${r}`).toBeGreaterThan(Math.max(...rounds[r - 1]!));
      }
    }
  }
}

function events(store: RedisSequenceStore): string[] {
  const seen: string[] = [];
  store.on('fallback', ({ error }) => seen.push(`fallback: ${error instanceof Error}`));
  store.on('restored', () => seen.push('restored'));
  return seen;
}

async function pidOf(redis: Redis): Promise<number> {
  const pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
  if (!Number.isInteger(pid)) throw new Error('redis-server did not report its pid');
  return pid;
}

const SKIP = redisMissing('the sequence-outage tests');

describe.skipIf(SKIP)('RedisSequenceStore while redis-server is unreachable', () => {
  let server: RunningRedis;
  let frozen: number | undefined;

  beforeEach(async () => {
    server = (await startRedis())!;
  });
  afterEach(async () => {
    if (frozen !== undefined) process.kill(frozen, 'SIGCONT');
    frozen = undefined;
    await closeRedisClients();
    await server?.stop();
  });

  const CARDS = [
    { id: 'card_floor_zero', floor: 'zero' as const },
    { id: 'card_floor_last', floor: 'last' as const },
    { id: 'card_twice', floor: 'zero' as const },
  ];

  it('frozen (SIGSTOP) under a default ioredis client: every next() settles within its bound, per card strictly above everything before; the first answer after SIGCONT is above the local ones', async () => {
    const redis = await openRedis(server.url);
    const admin = await openRedis(server.url);
    const store = new RedisSequenceStore(redis, { appId: 'cli_x', timeoutMs: 200, retryMs: 300 });
    const seen = events(store);
    const cards = new Cards(store, CARDS);
    for (let i = 0; i < 3; i++) await cards.round('card_twice');
    expect(store.fallback).toBe(false);
    const beforeOutage = cards.last('card_floor_zero');

    frozen = await pidOf(admin);
    process.kill(frozen, 'SIGSTOP');
    // Rounds across several retry periods: each retry asks the frozen Redis again and gives up after 200 ms.
    for (let i = 0; i < 8; i++) {
      await cards.round('card_twice');
      await sleep(100);
    }
    expect(store.fallback).toBe(true);
    expect(seen).toEqual(['fallback: true']);
    expect(cards.last('card_floor_zero')).toBeGreaterThan(beforeOutage);
    const local = new Map(CARDS.map(({ id }) => [id, cards.last(id)]));

    process.kill(frozen, 'SIGCONT');
    frozen = undefined;
    // Back on Redis after the next retry period; the commands that timed out during the outage ran meanwhile.
    for (let i = 0; i < 20 && store.fallback; i++) {
      await cards.round('card_twice');
      await sleep(100);
    }
    expect(store.fallback).toBe(false);
    expect(seen).toEqual(['fallback: true', 'restored']);
    await cards.round('card_twice');
    for (const { id } of CARDS) {
      expect(cards.last(id), id).toBeGreaterThan(local.get(id)!);
      // From Redis: its counter is where the store's last answer left it.
      expect(Number(await admin.get(`fcs:cli_x:seq:${id}`)), id).toBe(cards.last(id));
    }
    cards.expectIncreasing();
  }, 60_000);

  it('killed and restarted empty on its port: local sequences while it is down, and the first answers from the empty Redis are above them (the store passes them as the floor)', async () => {
    const redis = await openRedis(server.url, FAIL_FAST);
    const store = new RedisSequenceStore(redis, { appId: 'cli_x', timeoutMs: 200, retryMs: 300 });
    const seen = events(store);
    const cards = new Cards(store, CARDS);
    for (let i = 0; i < 3; i++) await cards.round('card_twice');

    await server.stop('SIGKILL');
    for (let i = 0; i < 5; i++) await cards.round('card_twice');
    expect(seen).toEqual(['fallback: true']);
    const local = new Map(CARDS.map(({ id }) => [id, cards.last(id)]));

    server = (await startRedis({ port: server.port }))!;
    await waitFor(() => redis.status === 'ready', 'the client to reconnect', 10_000);
    for (let i = 0; i < 20 && store.fallback; i++) {
      await sleep(100);
      await cards.round('card_twice');
    }
    expect(seen).toEqual(['fallback: true', 'restored']);
    await cards.round('card_twice');
    const admin = await openRedis(server.url);
    for (const { id } of CARDS) {
      expect(cards.last(id), id).toBeGreaterThan(local.get(id)!);
      expect(Number(await admin.get(`fcs:cli_x:seq:${id}`)), id).toBe(cards.last(id));
    }
    cards.expectIncreasing();
  }, 60_000);

  it('the governor built with redis surfaces it: sequenceFallback with the error, stats().sequenceFallback, and its sequences keep increasing', async () => {
    const redis = await openRedis(server.url);
    const admin = await openRedis(server.url);
    const governor = new FairGovernor({ redis, appId: 'cli_x', redisTimeoutMs: 200 });
    const seen: unknown[] = [];
    governor.on('sequenceFallback', ({ error }) => seen.push(error));
    expect(await governor.sequences.next('card_a', 0)).toBe(1);

    frozen = await pidOf(admin);
    process.kill(frozen, 'SIGSTOP');
    const during = [];
    for (let i = 0; i < 3; i++) during.push(await settlesWithin(governor.sequences.next('card_a', 0), HANG_MS, 'next(card_a)'));
    expect(during).toEqual([2, 3, 4]);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(Error);
    expect(governor.stats().sequenceFallback).toBe(true);
    // The budget falls back too, on its own: a permit is granted without Redis.
    await settlesWithin(governor.acquire({ api: 'cardkit.cardElement.content', cardId: 'card_a' }), HANG_MS, 'acquire');
    expect(governor.stats().fallback).toBe(true);
  }, 30_000);
});
