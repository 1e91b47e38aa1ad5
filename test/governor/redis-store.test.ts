/**
 * The budget and the card sequences shared between replicas through Redis (reference §15, §16),
 * against a real redis-server over loopback: several stores, each on its own ioredis connection as
 * separate processes would be, must behave as one budget. The store decides on Redis's clock; here a
 * grant is known to have happened between sending the take and getting its answer, so window checks
 * count only what certainly fell inside a window (a slow machine loosens them, it cannot fail them).
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  FairGovernor,
  type FairGovernorOptions,
  type Limits,
  type RedisBudgetStoreOptions,
  RedisBudgetStore,
  type RedisLike,
  RedisSequenceStore,
  type TakeRequest,
  type TakeResult,
} from '../../src/governor/index.js';
import { FAIL_FAST, type RunningRedis, closeRedisClients, openRedis, redisMissing, startRedis } from '../support/redis.js';
import { sleep, waitFor } from '../support/session.js';
import { busiestWindow } from '../support/windows.js';

/** A grant of the Redis store: it names the call's member in the shared windows (`<time>:<n>`), for `answered`. */
const GRANTED = { granted: true, ticket: expect.stringMatching(/^[\d.]+:\d+$/) as unknown as string };

const CONTENT = 'cardkit.cardElement.content';
const SETTINGS = 'cardkit.card.settings';
/** FairGovernor retries a failed store this long after it failed (fair-governor.ts RETRY_STORE_MS). */
const RETRY_STORE_MS = 5000;

/** Limits with everything not named out of the way (apiQps so high that calls of one API need no spacing). */
const limitsOf = (limits: Partial<Limits>): Limits => ({ apiQps: 1_000_000, apiQpm: 100_000_000, cardQps: 1_000_000, messageQps: 1_000_000, ...limits });

/** A granted take: sent at `sentAt`, answered at `gotAt` (this process's clock); the store granted it in between. */
interface Grant {
  sentAt: number;
  gotAt: number;
  store?: string;
}

/** Takes until granted or until `stop()` says enough, waiting what each refusal says; the grant, or undefined. */
async function takeUntilGranted(store: RedisBudgetStore, request: TakeRequest, stop: () => boolean): Promise<Grant | undefined> {
  while (!stop()) {
    const sentAt = performance.now();
    const result = await store.take(request);
    if (result.granted) return { sentAt, gotAt: performance.now() };
    await sleep(result.waitMs);
  }
  return undefined;
}

/**
 * The most grants that certainly fell inside one window of `spanMs`: sent no earlier than some
 * grant was sent, and answered before that moment + `spanMs`.
 */
function certainlyWithin(grants: Grant[], spanMs: number): number {
  let most = 0;
  for (const first of grants) {
    most = Math.max(most, grants.filter((g) => g.sentAt >= first.sentAt && g.gotAt < first.sentAt + spanMs).length);
  }
  return most;
}


function refused(result: TakeResult): { scope: 'api' | 'card' | 'message'; waitMs: number } {
  if (result.granted) throw new Error('expected a refusal, but the take was granted');
  return { scope: result.scope, waitMs: result.waitMs };
}

/** Resolves with `promise`, or rejects naming `what` when it has not settled after `ms` (a hang, not a slow answer). */
function settlesWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

const SKIP = redisMissing('the Redis budget and sequence store tests');

describe.skipIf(SKIP)('against a real redis-server', () => {
  let server: RunningRedis;
  let admin: Redis;

  beforeAll(async () => {
    server = (await startRedis())!;
  });
  afterAll(async () => {
    await closeRedisClients();
    await server?.stop('SIGTERM');
  });
  beforeEach(async () => {
    admin = await openRedis(server.url);
    await admin.flushall();
  });
  afterEach(closeRedisClients);

  /** `n` connections to the test's Redis, as `n` replicas would each have. */
  const connections = (n: number) => Promise.all(Array.from({ length: n }, () => openRedis(server.url)));

  async function stores(n: number, limits: Partial<Limits>, options: RedisBudgetStoreOptions = {}): Promise<RedisBudgetStore[]> {
    return (await connections(n)).map((redis) => new RedisBudgetStore(redis, limitsOf(limits), options));
  }

  describe('new FairGovernor({ redis, appId })', () => {
    it('takes an ioredis Redis as its redis option (it type-checks), and then counts its budget and hands out its sequences in that Redis under the appId', async () => {
      const redis = await openRedis(server.url);
      // Compile time: an ioredis client is what the option asks for, and something else is not.
      expectTypeOf<Redis>().toExtend<RedisLike>();
      const options: FairGovernorOptions = { redis, appId: 'cli_x', limits: { apiQps: 2 } };
      // @ts-expect-error a plain object is not a Redis client
      expect(() => new FairGovernor({ redis: {} })).toThrow(TypeError);
      expect(() => new FairGovernor({ redis, appId: '' })).toThrow('options.appId');

      const governor = new FairGovernor(options);
      expect(governor.sequences).toBeInstanceOf(RedisSequenceStore);
      await governor.acquire({ api: CONTENT, cardId: 'card_a' });
      await governor.acquire({ api: CONTENT, cardId: 'card_b' });
      expect(governor.stats().fallback).toBe(false);
      // Another replica of cli_x (its own connection) finds this second's budget of 2 spent...
      const [other] = await connections(1);
      expect(refused(await new RedisBudgetStore(other!, limitsOf({ apiQps: 2 }), { appId: 'cli_x' }).take({ api: CONTENT })).scope).toBe('api');
      // ...and continues the card's sequence where this governor left it.
      expect(await governor.sequences.next('card_a', 0)).toBe(1);
      expect(await new RedisSequenceStore(other!, { appId: 'cli_x' }).next('card_a', 0)).toBe(2);
      expect(await governor.sequences.next('card_a', 0)).toBe(3);
      expect(await admin.get('fcs:cli_x:seq:card_a')).toBe('3');
      // forget() drops only what this process keeps: the card's counter in Redis stays for the other replicas.
      governor.forget('card_a');
      expect(await governor.sequences.next('card_a', 0)).toBe(4);
    });

    it('without redis, counts in this process: nothing reaches Redis', async () => {
      const governor = new FairGovernor({ appId: 'cli_x', limits: { apiQps: 2 } });
      await governor.acquire({ api: CONTENT, cardId: 'card_a' });
      expect(await governor.sequences.next('card_a', 0)).toBe(1);
      expect(await admin.keys('*')).toEqual([]);
    });
  });

  describe('RedisBudgetStore', () => {
    it.each([0, 100])(
      'two stores of one app share the per-second window: at most apiQps grants in any (1000 + margin %i) ms, both stores granted',
      async (marginMs) => {
        const apiQps = 5;
        const [a, b] = await stores(2, { apiQps, apiQpm: 6000 }, { appId: 'cli_x', marginMs });
        const grants: Grant[] = [];
        const enough = () => grants.length >= 3 * apiQps;
        // Each store asks as fast as it is allowed, waiting what it was told, until 3 windows' worth were granted.
        const run = async (store: RedisBudgetStore, name: string) => {
          for (let grant; (grant = await takeUntilGranted(store, { api: CONTENT }, enough)); ) grants.push({ ...grant, store: name });
        };
        await Promise.all([run(a!, 'a'), run(b!, 'b')]);

        expect(certainlyWithin(grants, 1000 + marginMs)).toBeLessThanOrEqual(apiQps);
        expect(new Set(grants.map((g) => g.store))).toEqual(new Set(['a', 'b']));
      },
    );

    it('two stores of one app share the paced minute budget: together they get its burst (5% of apiQpm) plus the refill, not twice that', async () => {
      // apiQpm 100: a burst of 5, refilled at 95 per 60.1 s (one every ~633 ms). The second window is out of the way.
      const burst = 5;
      const refillPerMs = 95 / 60_100;
      const [a, b] = await stores(2, { apiQpm: 100 }, { appId: 'cli_x' });
      const start = performance.now();
      const grants: Grant[] = [];
      const over = () => performance.now() > start + 1500;
      const run = async (store: RedisBudgetStore, name: string) => {
        for (let grant; (grant = await takeUntilGranted(store, { api: CONTENT }, over)); ) grants.push({ ...grant, store: name });
      };
      await Promise.all([run(a!, 'a'), run(b!, 'b')]);

      const spanMs = Math.max(...grants.map((g) => g.gotAt)) - Math.min(...grants.map((g) => g.sentAt));
      expect(grants.length).toBeGreaterThanOrEqual(burst);
      expect(grants.length).toBeLessThanOrEqual(burst + refillPerMs * spanMs);
      expect(new Set(grants.map((g) => g.store))).toEqual(new Set(['a', 'b']));
    });

    it('two stores of one app share the minute budget: with apiQpm 20 or 1, after one store is granted the other is told to wait for the refill (~3.2 s, ~60 s)', async () => {
      const [a, b] = await stores(2, { apiQpm: 20 }, { appId: 'cli_x' });
      expect(await a!.take({ api: CONTENT })).toEqual(GRANTED);
      // Burst 1, refilled at 19 per 60.1 s: one more after ~3.16 s.
      const wait20 = refused(await b!.take({ api: CONTENT }));
      expect(wait20.scope).toBe('api');
      expect(wait20.waitMs).toBeGreaterThan(3000);

      const [c, d] = await stores(2, { apiQpm: 1 }, { appId: 'cli_y' });
      expect(await c!.take({ api: CONTENT })).toEqual(GRANTED);
      const wait1 = refused(await d!.take({ api: CONTENT }));
      expect(wait1.scope).toBe('api');
      expect(wait1.waitMs).toBeGreaterThan(59_000);
      expect(wait1.waitMs).toBeLessThanOrEqual(60_100);
    });

    it('two stores of one app share the per-card spacing, across APIs, and other cards are not held by it', async () => {
      // cardQps 2, margin 100: one write per card every 550 ms.
      const [a, b] = await stores(2, { cardQps: 2 }, { appId: 'cli_x', marginMs: 100 });
      expect(await a!.take({ api: CONTENT, cardId: 'card_1' })).toEqual(GRANTED);
      const held = refused(await b!.take({ api: CONTENT, cardId: 'card_1' }));
      expect(held.scope).toBe('card');
      expect(held.waitMs).toBeGreaterThan(450);
      expect(held.waitMs).toBeLessThanOrEqual(550);
      expect(refused(await b!.take({ api: SETTINGS, cardId: 'card_1' })).scope).toBe('card');
      expect(await b!.take({ api: CONTENT, cardId: 'card_2' })).toEqual(GRANTED);

      await sleep(held.waitMs);
      expect(await b!.take({ api: SETTINGS, cardId: 'card_1' })).toEqual(GRANTED);
      // Now b's grant holds the card for a as well.
      expect(refused(await a!.take({ api: CONTENT, cardId: 'card_1' })).scope).toBe('card');
    });

    it('stores of different appIds, or with different key prefixes, count separate budgets', async () => {
      const limits = limitsOf({ apiQps: 1, cardQps: 1 });
      const [x1, x2, y, other] = await connections(4);
      const appX = new RedisBudgetStore(x1!, limits, { appId: 'cli_x' });
      const appXAgain = new RedisBudgetStore(x2!, limits, { appId: 'cli_x' });
      const appY = new RedisBudgetStore(y!, limits, { appId: 'cli_y' });
      const appXOtherPrefix = new RedisBudgetStore(other!, limits, { appId: 'cli_x', prefix: 'staging' });

      expect(await appX.take({ api: CONTENT, cardId: 'card_1' })).toEqual(GRANTED);
      // The same app and prefix: its API budget is spent, and card_1 is inside its spacing for every API.
      expect(refused(await appXAgain.take({ api: CONTENT, cardId: 'card_2' })).scope).toBe('api');
      expect(refused(await appXAgain.take({ api: SETTINGS, cardId: 'card_1' })).scope).toBe('card');
      for (const separate of [appY, appXOtherPrefix]) {
        expect(await separate.take({ api: CONTENT, cardId: 'card_1' })).toEqual(GRANTED);
        expect(refused(await separate.take({ api: CONTENT, cardId: 'card_2' })).scope).toBe('api');
      }
    });

    it("pause() from one store holds that API in every store of the app for its whole length; a shorter pause does not cut it; other APIs and apps go", async () => {
      const [a, b] = await stores(2, {}, { appId: 'cli_x' });
      const [otherApp] = await stores(1, {}, { appId: 'cli_y' });
      await a!.pause(CONTENT, 800);
      await a!.pause(CONTENT, 100);
      const held = refused(await b!.take({ api: CONTENT, cardId: 'card_1' }));
      expect(held.scope).toBe('api');
      expect(held.waitMs).toBeGreaterThan(600);
      expect(held.waitMs).toBeLessThanOrEqual(800);
      expect(refused(await b!.take({ api: CONTENT })).scope).toBe('api');
      expect(await b!.take({ api: SETTINGS, cardId: 'card_1' })).toEqual(GRANTED);
      expect(await otherApp!.take({ api: CONTENT, cardId: 'card_1' })).toEqual(GRANTED);

      await sleep(held.waitMs);
      expect(await b!.take({ api: CONTENT, cardId: 'card_2' })).toEqual(GRANTED);
    });

    it("a refusal names its scope: 'card' when only the card is inside its spacing, 'api' when the API's budget is spent (even if the card is too); a refused take spends nothing", async () => {
      // apiQps 2 in 1.1 s; cardQps 1: a card's next write 1.1 s after its last.
      const [a, b] = await stores(2, { apiQps: 2, cardQps: 1 }, { appId: 'cli_x', marginMs: 100 });
      expect(await a!.take({ api: SETTINGS, cardId: 'card_1' })).toEqual(GRANTED);
      // Refused for the card on an API nobody has called yet, five times over...
      for (let i = 0; i < 5; i++) expect(refused(await b!.take({ api: CONTENT, cardId: 'card_1' })).scope).toBe('card');
      // ...spending none of CONTENT's budget: its first call goes at once.
      expect(await b!.take({ api: CONTENT, cardId: 'card_2' })).toEqual(GRANTED);
      expect(await takeUntilGranted(a!, { api: CONTENT, cardId: 'card_3' }, () => false)).toBeDefined();
      // Two calls in the window: CONTENT is spent, and that is what a write for the busy card_1 is told
      // too (no card may go), as is one for a fresh card.
      expect(refused(await a!.take({ api: CONTENT, cardId: 'card_1' })).scope).toBe('api');
      expect(refused(await a!.take({ api: CONTENT, cardId: 'card_4' })).scope).toBe('api');
      // An API refusal did not mark the fresh card as written: it goes as soon as another API allows.
      expect(await a!.take({ api: 'cardkit.cardElement.patch', cardId: 'card_4' })).toEqual(GRANTED);
    });

    it('200 concurrent writers on 4 stores get exactly apiQps grants in the first window, and 200 takes for one card exactly one (check and record are atomic)', async () => {
      // apiQps 3 in 1.1 s: when the store spaces calls, the third goes 733 ms into the window.
      const apiQps = 3;
      const spanMs = 1100; // margin 100
      const four = await stores(4, { apiQps, apiQpm: 6000 }, { appId: 'cli_x', marginMs: 100 });
      // 200 writers, one take each at the same moment, then again when told, each until granted once;
      // stopped once the first window and a bit of the next are decided.
      const grants: Grant[] = [];
      const enough = () => grants.length >= apiQps + 2;
      await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const grant = await takeUntilGranted(four[i % 4]!, { api: CONTENT, cardId: `card_${i}` }, enough);
          if (grant) grants.push(grant);
        }),
      );
      const first = grants.reduce((a, b) => (a.gotAt < b.gotAt ? a : b));
      // No more than apiQps in any window, and apiQps did go in the first (they were sent before it closed).
      expect(certainlyWithin(grants, spanMs)).toBeLessThanOrEqual(apiQps);
      expect(grants.filter((g) => g.sentAt < first.gotAt + spanMs).length).toBeGreaterThanOrEqual(apiQps);

      // 200 takes for one card at the same moment (the API out of the way): exactly one goes, the others are told the card is busy.
      const unlimited = await stores(4, { cardQps: 10 }, { appId: 'cli_x' });
      const sameCard = await Promise.all(Array.from({ length: 200 }, (_, i) => unlimited[i % 4]!.take({ api: SETTINGS, cardId: 'card_one' })));
      expect(sameCard.filter((r) => r.granted)).toHaveLength(1);
      expect(new Set(sameCard.filter((r) => !r.granted).map((r) => refused(r).scope))).toEqual(new Set(['card']));
    });
  });

  describe('RedisSequenceStore', () => {
    it('4 stores × 250 concurrent next() hand out 1000 distinct sequences, strictly increasing in each store’s call order', async () => {
      const four = (await connections(4)).map((redis) => new RedisSequenceStore(redis, { appId: 'cli_x' }));
      const perStore = await Promise.all(four.map((store) => Promise.all(Array.from({ length: 250 }, () => store.next('card_1', 0)))));
      for (const values of perStore) {
        for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]!);
      }
      const all = perStore.flat();
      expect(new Set(all).size).toBe(1000);
      expect(Math.min(...all)).toBe(1);
      expect(Math.max(...all)).toBe(1000);
    });

    it('next(card, floor) is above the floor and above everything handed out before, whichever store asks', async () => {
      const [a, b] = (await connections(2)).map((redis) => new RedisSequenceStore(redis, { appId: 'cli_x' }));
      expect(await a!.next('card_1', 500)).toBe(501);
      expect(await b!.next('card_1', 0)).toBe(502);
      expect(await b!.next('card_1', 10)).toBe(503);
      expect(await a!.next('card_1', 2000)).toBe(2001);
      expect(await b!.next('card_1', 2001)).toBe(2002);
    });

    it('each card, and each app, has its own counter', async () => {
      const [a, b] = await connections(2);
      const appX = new RedisSequenceStore(a!, { appId: 'cli_x' });
      const appY = new RedisSequenceStore(b!, { appId: 'cli_y' });
      expect(await appX.next('card_1', 40)).toBe(41);
      expect(await appX.next('card_2', 0)).toBe(1);
      expect(await appY.next('card_1', 0)).toBe(1);
      expect(await appX.next('card_1', 0)).toBe(42);
    });

    it('the counter key expires, later than the 14 days a card entity lives', async () => {
      const store = new RedisSequenceStore(admin, { appId: 'cli_x' });
      await store.next('card_1', 0);
      const ttl = await admin.pttl('fcs:cli_x:seq:card_1');
      expect(ttl).toBeGreaterThan(14 * 24 * 60 * 60 * 1000);
      expect(ttl).toBeLessThanOrEqual(15 * 24 * 60 * 60 * 1000);
      // Every next() keeps it alive that long again.
      await admin.pexpire('fcs:cli_x:seq:card_1', 60_000);
      await store.next('card_1', 0);
      expect(await admin.pttl('fcs:cli_x:seq:card_1')).toBeGreaterThan(14 * 24 * 60 * 60 * 1000);
    });
  });
});

/**
 * The governor when Redis goes away. Its clients fail fast (FAIL_FAST in support/redis.ts): with
 * ioredis's defaults a command on a dead connection waits in the offline queue through up to 20
 * reconnections, so the store would hang for seconds instead of failing and the governor could not
 * fall back. Each test has its own redis-server, since it kills it.
 */
describe.skipIf(SKIP)('FairGovernor on a RedisBudgetStore when redis-server dies', () => {
  let server: RunningRedis;

  beforeEach(async () => {
    server = (await startRedis())!;
  });
  afterEach(async () => {
    await closeRedisClients();
    await server?.stop();
  });

  interface Recorded {
    events: string[];
    errors: unknown[];
  }

  function record(governor: FairGovernor): Recorded {
    const recorded: Recorded = { events: [], errors: [] };
    governor.on('fallback', ({ error }) => {
      recorded.events.push('fallback');
      recorded.errors.push(error);
    });
    governor.on('restored', () => recorded.events.push('restored'));
    return recorded;
  }

  /** Acquires `n` card-less permits of CONTENT at once; resolves with when each was granted, in order. */
  async function grantTimes(governor: FairGovernor, n: number): Promise<number[]> {
    const times: number[] = [];
    await settlesWithin(
      Promise.all(Array.from({ length: n }, () => governor.acquire({ api: CONTENT }).then(() => times.push(performance.now())))),
      10_000,
      `acquiring ${n} permits`,
    );
    return times;
  }

  it(
    'killed mid-run: acquire still resolves, one fallback event with an Error, stats().fallback, a local share of limits / fallbackReplicas; restarted on its port, after the 5 s retry period restored fires and grants go through Redis again',
    async () => {
      const limits = limitsOf({ apiQps: 6, apiQpm: 6000, cardQps: 10 });
      const redis = await openRedis(server.url, FAIL_FAST);
      const probeRedis = await openRedis(server.url, FAIL_FAST);
      const governor = new FairGovernor({ limits, store: new RedisBudgetStore(redis, limits, { appId: 'cli_x' }), fallbackReplicas: 2 });
      const probe = new RedisBudgetStore(probeRedis, limits, { appId: 'cli_x' });
      const recorded = record(governor);

      // Through Redis: another replica sees the second's budget spent.
      await grantTimes(governor, 6);
      expect(refused(await probe.take({ api: CONTENT })).scope).toBe('api');

      await server.stop('SIGKILL');
      const failedAt = performance.now();
      const local = await grantTimes(governor, 4);
      expect(recorded.events).toEqual(['fallback']);
      expect(recorded.errors[0]).toBeInstanceOf(Error);
      expect(governor.stats().fallback).toBe(true);
      // apiQps 6 over 2 replicas: at most 3 a second in this process.
      expect(busiestWindow(local, 1000)).toBeLessThanOrEqual(3);

      const port = server.port;
      server = (await startRedis({ port }))!;
      await waitFor(() => redis.status === 'ready' && probeRedis.status === 'ready', 'the clients to reconnect');
      await sleep(Math.max(0, failedAt + RETRY_STORE_MS + 500 - performance.now()));

      await grantTimes(governor, 6);
      expect(recorded.events).toEqual(['fallback', 'restored']);
      expect(governor.stats().fallback).toBe(false);
      // The restarted Redis (empty) counted those six: the other replica is held again.
      expect(refused(await probe.take({ api: CONTENT })).scope).toBe('api');
      expect(governor.stats().apis[CONTENT]?.writes).toBe(16);
    },
    30_000,
  );

  it('while redis-server stays down past the retry period, the retry that fails again emits neither restored nor a second fallback', async () => {
    const limits = limitsOf({ apiQps: 6, apiQpm: 6000, cardQps: 10 });
    const redis = await openRedis(server.url, FAIL_FAST);
    // The governor's clock, pushed past the retry period instead of waiting 5 s more in real time.
    let skew = 0;
    const governor = new FairGovernor({
      limits,
      store: new RedisBudgetStore(redis, limits, { appId: 'cli_x' }),
      now: () => performance.now() + skew,
    });
    const recorded = record(governor);
    await grantTimes(governor, 1);

    await server.stop('SIGKILL');
    await grantTimes(governor, 1);
    expect(recorded.events).toEqual(['fallback']);
    skew += RETRY_STORE_MS + 500;
    await grantTimes(governor, 2);

    // `restored` means "the store answers again" (fair-governor.ts); it did not.
    expect(recorded.events).toEqual(['fallback']);
    expect(governor.stats().fallback).toBe(true);
  });

  it('a fractional local share rounds down: apiQps 5 over 2 replicas grants at most 2 a second, so two replicas stay within 5', async () => {
    const limits = limitsOf({ apiQps: 5, apiQpm: 6000, cardQps: 10 });
    const redis = await openRedis(server.url, FAIL_FAST);
    const governor = new FairGovernor({ limits, store: new RedisBudgetStore(redis, limits, { appId: 'cli_x' }), fallbackReplicas: 2 });
    await server.stop('SIGKILL');

    const local = await grantTimes(governor, 5);
    expect(governor.stats().fallback).toBe(true);
    expect(busiestWindow(local, 1000)).toBeLessThanOrEqual(2);
  });
});
