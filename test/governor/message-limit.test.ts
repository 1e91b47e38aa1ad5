/**
 * IM patch streams a message card with `PATCH /open-apis/im/v1/messages/:message_id`, and the platform
 * allows 5 patches a second to one message (reference §16, seed 004). The governor keeps it as it
 * keeps the 10/s per card: `limits.messageQps`, `PermitRequest.messageId`, the spacing
 * (1000 + margin) / messageQps between two patches of one message, in memory on a fake clock, and
 * in Redis (real redis-server, real time) across governors that share it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type BudgetStore,
  FEISHU_LIMITS,
  FairGovernor,
  type FairGovernorOptions,
  type Limits,
  MemoryBudgetStore,
  RedisBudgetStore,
  type TakeRequest,
  type TakeResult,
  resolveLimits,
} from '../../src/governor/index.js';
import { openRedis, redisMissing, useRedisServer } from '../support/redis.js';
import { busiestWindow } from '../support/windows.js';

const PATCH = 'im.message.patch';
const CONTENT = 'cardkit.cardElement.content';
/** Feishu's 5 patches a second with the default 100 ms margin: (1000 + 100) / 5. */
const MESSAGE_SPACING_MS = 220;
/** Feishu's 10 writes a second to a card with the default margin: (1000 + 100) / 10. */
const CARD_SPACING_MS = 110;
/** Feishu's 50 calls a second of one API, spread: (1000 + 100) / 50. */
const API_SPACING_MS = 22;
/** Feishu's per-card and per-message limits, with the API's out of the way. */
const TARGET_LIMITS = resolveLimits({ apiQps: 1_000_000, apiQpm: 1_000_000_000 });

/** The shortest gap between two consecutive times. */
function closestGap(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let gap = Number.POSITIVE_INFINITY;
  for (let i = 1; i < sorted.length; i++) gap = Math.min(gap, sorted[i]! - sorted[i - 1]!);
  return gap;
}

function refused(result: TakeResult): { scope: string; waitMs: number } {
  if (result.granted) throw new Error('expected a refusal, but the take was granted');
  return { scope: result.scope, waitMs: result.waitMs };
}

describe('5 patches a second per message, on a fake clock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A governor on the fake clock (Feishu's limits unless given); `grant` resolves with the time its permit was granted. */
  function governor(options: FairGovernorOptions = {}) {
    const g = new FairGovernor({ now: () => Date.now(), ...options });
    const grant = (request: Parameters<FairGovernor['acquire']>[0]) => g.acquire(request).then(() => Date.now());
    return { g, grant };
  }

  it('grants the patches of one message (1000 + margin) / messageQps apart: 220 ms with Feishu 5/s and the default margin, never 6 in a second', async () => {
    const { g, grant } = governor();
    expect(g.limits.messageQps).toBe(5);
    const start = Date.now();
    const all = Array.from({ length: 11 }, () => grant({ api: PATCH, messageId: 'om_a' }));
    await vi.advanceTimersByTimeAsync(11 * MESSAGE_SPACING_MS);
    const times = await Promise.all(all);

    expect(times[0]).toBe(start);
    expect(closestGap(times)).toBeGreaterThanOrEqual(MESSAGE_SPACING_MS);
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(5);
    // No slower than the limit asks: the eleventh goes ten spacings after the first.
    expect(Math.max(...times)).toBe(start + 10 * MESSAGE_SPACING_MS);
    expect(g.stats().apis[PATCH]?.writes).toBe(11);
  });

  it('counts from the answers: a first patch answered 150 ms late holds the sixth until a whole window after that answer, so a late arrival never puts 6 in a platform second', async () => {
    const { g, grant } = governor();
    const start = Date.now();
    /** One patch as a session sends it: a permit, then the answer `latencyMs` later; resolves with [permit, answer]. */
    const patch = async (latencyMs: number) => {
      let at: number | undefined;
      void grant({ api: PATCH, messageId: 'om_a' }).then((t) => (at = t));
      while (at === undefined) await vi.advanceTimersByTimeAsync(1);
      await vi.advanceTimersByTimeAsync(latencyMs);
      g.answered({ messageId: 'om_a' });
      return [at, Date.now()] as const;
    };
    const sent = [await patch(150)];
    for (let i = 0; i < 5; i++) sent.push(await patch(5));
    const permits = sent.map(([at]) => at);
    // Patches 2-5 keep the spacing from their permits; the sixth waits five spacings after the first answer.
    expect(permits.slice(0, 5)).toEqual([0, 1, 2, 3, 4].map((i) => start + i * MESSAGE_SPACING_MS));
    expect(permits[5]).toBeGreaterThanOrEqual(start + 150 + 5 * MESSAGE_SPACING_MS);
    expect(permits[5]).toBeLessThanOrEqual(start + 150 + 5 * MESSAGE_SPACING_MS + 2); // the clock steps by 1 ms here
    // The platform may count the first patch as late as its answer: even then no second holds 6.
    expect(busiestWindow([sent[0]![1], ...permits.slice(1)], 1000)).toBeLessThanOrEqual(5);
    expect(g.stats().tracked.windows).toBe(1);
  });

  it('keeps a messageQps given in limits, across APIs: 2/s with no margin puts two writes to one message 500 ms apart', async () => {
    const { grant } = governor({ limits: { messageQps: 2 }, safetyMarginMs: 0 });
    const start = Date.now();
    const first = grant({ api: PATCH, messageId: 'om_a' });
    const second = grant({ api: 'im.message.update', messageId: 'om_a' });
    await vi.advanceTimersByTimeAsync(500);
    expect(await first).toBe(start);
    expect(await second).toBe(start + 500);
  });

  it('two messages do not hold each other: while om_a waits for its spacing, om_b goes at once (one API spacing later)', async () => {
    const { grant } = governor();
    const start = Date.now();
    await grant({ api: PATCH, messageId: 'om_a' });
    let secondA: number | undefined;
    void grant({ api: PATCH, messageId: 'om_a' }).then((at) => (secondA = at));
    const b = grant({ api: PATCH, messageId: 'om_b' });
    await vi.advanceTimersByTimeAsync(API_SPACING_MS);
    expect(await b).toBe(start + API_SPACING_MS);
    expect(secondA).toBeUndefined();
    await vi.advanceTimersByTimeAsync(MESSAGE_SPACING_MS - API_SPACING_MS);
    expect(secondA).toBe(start + MESSAGE_SPACING_MS);
  });

  it('a message does not hold a card of the same id, nor the card the message: each keeps its own spacing (card 110 ms, message 220 ms)', async () => {
    const { g, grant } = governor();
    const start = Date.now();
    const messageTimes = [grant({ api: PATCH, messageId: 'x' }), grant({ api: PATCH, messageId: 'x' })];
    const cardTimes = [grant({ api: CONTENT, cardId: 'x' }), grant({ api: CONTENT, cardId: 'x' })];
    await vi.advanceTimersByTimeAsync(MESSAGE_SPACING_MS);
    expect(await Promise.all(cardTimes)).toEqual([start, start + CARD_SPACING_MS]);
    expect(await Promise.all(messageTimes)).toEqual([start, start + MESSAGE_SPACING_MS]);
    // Counters per card are the card's writes only.
    expect(g.stats().cards.x).toMatchObject({ writes: 2 });
  });

  it('a message busy in a shared store (another governor patched it) holds only its own patch: the waiters behind it go', async () => {
    const store = new MemoryBudgetStore(FEISHU_LIMITS, { now: () => Date.now() });
    const first = governor({ store });
    const second = governor({ store });
    const start = Date.now();
    await first.grant({ api: PATCH, messageId: 'om_a' });
    // The second governor does not know om_a is busy; the store tells it ('message'), and it looks further.
    const a = second.grant({ api: PATCH, messageId: 'om_a' });
    const b = second.grant({ api: PATCH, messageId: 'om_b' });
    const card = second.grant({ api: CONTENT, cardId: 'card_c' });
    await vi.advanceTimersByTimeAsync(MESSAGE_SPACING_MS);
    expect(await card).toBe(start);
    expect(await b).toBe(start + API_SPACING_MS);
    expect(await a).toBe(start + MESSAGE_SPACING_MS);
  });

  it("the store refuses a patch inside the message's spacing with scope 'message' and the time left, and spends nothing of the API", async () => {
    const store = new MemoryBudgetStore({ apiQps: 1000 }, { now: () => Date.now() });
    expect(await store.take({ api: PATCH, messageId: 'om_a' })).toEqual({ granted: true });
    vi.advanceTimersByTime(20);
    expect(await store.take({ api: PATCH, messageId: 'om_a' })).toEqual({ granted: false, waitMs: MESSAGE_SPACING_MS - 20, scope: 'message' });
    expect(await store.take({ api: CONTENT, cardId: 'om_a' })).toEqual({ granted: true });
    expect(await store.take({ api: PATCH, messageId: 'om_b' })).toEqual({ granted: true });
    expect(store.trackedMessages).toBe(2);
    expect(store.trackedCards).toBe(1);
  });

  it('a request naming both a cardId and a messageId is refused with a TypeError naming both, and grants nothing', async () => {
    const { g, grant } = governor();
    const both = { api: PATCH, cardId: 'card_a', messageId: 'om_a' };
    await expect(g.acquire(both)).rejects.toThrow(TypeError);
    await expect(g.acquire(both)).rejects.toThrow(/cardId "card_a" and messageId "om_a"/);
    expect(g.stats().waiting[PATCH] ?? 0).toBe(0);
    // Nothing was spent: the message and the card each go at once.
    const start = Date.now();
    expect(await grant({ api: PATCH, messageId: 'om_a' })).toBe(start);
    expect(await grant({ api: CONTENT, cardId: 'card_a' })).toBe(start);

    const store = new MemoryBudgetStore(FEISHU_LIMITS);
    await expect(store.take(both)).rejects.toThrow(TypeError);
    expect(() => store.takeNow(both)).toThrow(TypeError);
  });

  it('forget(messageId) after the spacing has passed leaves nothing for the message, in the governor and its store', async () => {
    const store = new MemoryBudgetStore(FEISHU_LIMITS, { now: () => Date.now() });
    const { g, grant } = governor({ store });
    await Promise.all([grant({ api: PATCH, messageId: 'om_a' }), grant({ api: PATCH, messageId: 'om_b' }), vi.advanceTimersByTimeAsync(API_SPACING_MS)]);
    await vi.advanceTimersByTimeAsync(MESSAGE_SPACING_MS);
    g.forget('om_a');
    expect(store.trackedMessages).toBe(1);
    g.forget('om_b');
    expect(g.stats().tracked).toEqual({ counters: 0, spacing: 0, windows: 0 });
    expect(store.trackedMessages).toBe(0);
  });

  it('forget(messageId) while its spacing runs keeps holding the next patch until it passes (whoever makes it), then drops it', async () => {
    const store = new MemoryBudgetStore(FEISHU_LIMITS, { now: () => Date.now() });
    const { g, grant } = governor({ store });
    const start = Date.now();
    await grant({ api: PATCH, messageId: 'om_a' });
    g.forget('om_a');
    expect(g.stats().tracked.spacing).toBe(1);
    expect(store.trackedMessages).toBe(1);
    const next = grant({ api: PATCH, messageId: 'om_a' });
    await vi.advanceTimersByTimeAsync(MESSAGE_SPACING_MS);
    expect(await next).toBe(start + MESSAGE_SPACING_MS);

    await vi.advanceTimersByTimeAsync(MESSAGE_SPACING_MS);
    g.forget('om_a');
    expect(g.stats().tracked.spacing).toBe(0);
    expect(store.trackedMessages).toBe(0);
  });

  it('forget(id) drops both a card and a message of that id, and nothing of other ids', async () => {
    const store = new MemoryBudgetStore(FEISHU_LIMITS, { now: () => Date.now() });
    const { g, grant } = governor({ store });
    await grant({ api: PATCH, messageId: 'x' });
    await grant({ api: CONTENT, cardId: 'x' });
    await vi.advanceTimersByTimeAsync(MESSAGE_SPACING_MS);
    await grant({ api: PATCH, messageId: 'om_other' });
    g.forget('x');
    expect(g.stats().cards.x).toBeUndefined();
    expect([store.trackedCards, store.trackedMessages]).toEqual([0, 1]);
    expect(g.stats().tracked.spacing).toBe(1);
  });

  it('when the store fails, the local share divides the API limits by fallbackReplicas but keeps messageQps whole', async () => {
    const down: BudgetStore = { take: () => Promise.reject(new Error('connection refused')), pause: () => Promise.reject(new Error('connection refused')) };
    const { g, grant } = governor({ store: down, fallbackReplicas: 2 });
    const start = Date.now();
    const all = Array.from({ length: 3 }, () => grant({ api: PATCH, messageId: 'om_a' }));
    await vi.advanceTimersByTimeAsync(3 * MESSAGE_SPACING_MS);
    expect(g.stats().fallback).toBe(true);
    // 220 ms apart, not 440: one message is patched by the one session streaming it.
    expect(await Promise.all(all)).toEqual([start, start + MESSAGE_SPACING_MS, start + 2 * MESSAGE_SPACING_MS]);
  });
});

describe('limits.messageQps', () => {
  it("defaults to Feishu's 5 a second, also when given as undefined", () => {
    expect(FEISHU_LIMITS.messageQps).toBe(5);
    expect(resolveLimits().messageQps).toBe(5);
    expect(resolveLimits({ messageQps: undefined }).messageQps).toBe(5);
    expect(new FairGovernor().limits.messageQps).toBe(5);
  });

  it('accepts one call a minute (1/60) and more', () => {
    expect(resolveLimits({ messageQps: 1 / 60 }).messageQps).toBe(1 / 60);
    expect(new FairGovernor({ limits: { messageQps: 3 } }).limits.messageQps).toBe(3);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1 / 61, '5', null])(
    'refuses messageQps = %s with a RangeError naming limits.messageQps, in resolveLimits, FairGovernor and the stores',
    (value) => {
      const limits = { messageQps: value } as Partial<Limits>;
      expect(() => resolveLimits(limits)).toThrow(RangeError);
      expect(() => resolveLimits(limits)).toThrow('limits.messageQps');
      expect(() => new FairGovernor({ limits })).toThrow('options.limits.messageQps');
      expect(() => new MemoryBudgetStore(limits)).toThrow('limits.messageQps');
      const redisLike = { evalsha: () => Promise.resolve(1), eval: () => Promise.resolve(1) };
      expect(() => new RedisBudgetStore(redisLike, limits)).toThrow('limits.messageQps');
    },
  );
});

/** A granted take: sent at `sentAt`, answered at `gotAt` (this process's clock); Redis granted it in between. */
interface Grant {
  sentAt: number;
  gotAt: number;
  by: string;
}

/** The most grants that certainly fell inside one window of `spanMs` (see redis-store.test.ts). */
function certainlyWithin(grants: Grant[], spanMs: number): number {
  let most = 0;
  for (const first of grants) {
    most = Math.max(most, grants.filter((g) => g.sentAt >= first.sentAt && g.gotAt < first.sentAt + spanMs).length);
  }
  return most;
}

/** A store that records when each of its granted takes was sent and answered. */
class RecordingStore implements BudgetStore {
  constructor(
    readonly inner: BudgetStore,
    readonly by: string,
    readonly grants: Grant[],
  ) {}

  async take(request: TakeRequest): Promise<TakeResult> {
    const sentAt = performance.now();
    const result = await this.inner.take(request);
    if (result.granted) this.grants.push({ sentAt, gotAt: performance.now(), by: this.by });
    return result;
  }

  pause(api: string, ms: number): Promise<void> {
    return this.inner.pause(api, ms);
  }
}

const SKIP = redisMissing('the Redis per-message limit tests');
/** A grant of the Redis store: it names the call's member in the shared windows, for `answered`. */
const GRANTED = { granted: true, ticket: expect.stringMatching(/^[\d.]+:\d+$/) as unknown as string };

describe.skipIf(SKIP)('5 patches a second per message, in Redis (real redis-server)', () => {
  const redis = useRedisServer();

  it("two stores of one app share a message's spacing (scope 'message', key fcs:<appId>:msg:<id>); other messages and a card of the same id are not held", async () => {
    const [one, two] = await Promise.all([openRedis(redis.server.url), openRedis(redis.server.url)]);
    const a = new RedisBudgetStore(one, TARGET_LIMITS, { appId: 'cli_x' });
    const b = new RedisBudgetStore(two, TARGET_LIMITS, { appId: 'cli_x' });
    expect(await a.take({ api: PATCH, messageId: 'om_1' })).toEqual(GRANTED);
    const held = refused(await b.take({ api: PATCH, messageId: 'om_1' }));
    expect(held.scope).toBe('message');
    expect(held.waitMs).toBeGreaterThan(MESSAGE_SPACING_MS - 100);
    expect(held.waitMs).toBeLessThanOrEqual(MESSAGE_SPACING_MS);
    expect(await b.take({ api: CONTENT, cardId: 'om_1' })).toEqual(GRANTED);
    expect(await b.take({ api: 'im.message.update', messageId: 'om_2' })).toEqual(GRANTED);

    // The message's key lives for its spacing and a second more; the card's is its own key.
    const ttl = await redis.admin.pttl('fcs:cli_x:msg:om_1');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(MESSAGE_SPACING_MS + 1000);
    expect(await redis.admin.exists('fcs:cli_x:card:om_1')).toBe(1);

    await new Promise((resolve) => setTimeout(resolve, held.waitMs));
    expect(await b.take({ api: PATCH, messageId: 'om_1' })).toEqual(GRANTED);
    expect(refused(await a.take({ api: PATCH, messageId: 'om_1' })).scope).toBe('message');
  });

  it('a take naming both a card and a message rejects with a TypeError and writes nothing to Redis', async () => {
    const store = new RedisBudgetStore(await openRedis(redis.server.url), FEISHU_LIMITS, { appId: 'cli_x' });
    await expect(store.take({ api: PATCH, cardId: 'card_1', messageId: 'om_1' })).rejects.toThrow(TypeError);
    expect(await redis.admin.keys('*')).toEqual([]);
  });

  it('two governors sharing Redis grant the patches of one message at least (1000 + margin) / messageQps apart, both of them granting', async () => {
    const grants: Grant[] = [];
    const [one, two] = await Promise.all([openRedis(redis.server.url), openRedis(redis.server.url)]);
    const governors = [one, two].map(
      (redis, i) => new FairGovernor({ store: new RecordingStore(new RedisBudgetStore(redis, FEISHU_LIMITS, { appId: 'cli_x' }), `g${i}`, grants) }),
    );
    const enough = () => grants.length >= 10;
    // Each governor patches om_1 as fast as it is allowed, until ten patches were granted between them.
    await Promise.all(
      governors.map(async (g) => {
        while (!enough()) await g.acquire({ api: PATCH, messageId: 'om_1' });
      }),
    );

    expect(governors.every((g) => g.stats().fallback === false)).toBe(true);
    expect(new Set(grants.map((g) => g.by))).toEqual(new Set(['g0', 'g1']));
    // Never two grants certainly within one spacing, never six certainly within one second.
    expect(certainlyWithin(grants, MESSAGE_SPACING_MS)).toBe(1);
    expect(certainlyWithin(grants, 1000)).toBeLessThanOrEqual(5);
  });
});
