/**
 * The platform counts an API call when it arrives, the store when its permit is granted. A permit sent late (a
 * busy event loop, a slow connection) lands closer to the next calls than the store spaced it; the governor
 * counts each call of this process from its answer once it has one (`answered({ api })`), so that no platform
 * second holds more than `apiQps` calls however late one arrived: on a fake clock, and across two governors that
 * share a real redis-server (the store moves the call in the shared windows).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FairGovernor, type FairGovernorOptions, type PermitRequest } from '../../src/governor/index.js';
import { openRedis, redisMissing, useRedisServer } from '../support/redis.js';
import { busiestWindow } from '../support/windows.js';

const CONTENT = 'cardkit.cardElement.content';
const PATCH = 'cardkit.cardElement.patch';
const LIMITS = { apiQps: 4, apiQpm: 1000, cardQps: 10 };
/** (1000 + the default 100 ms margin) / 4. */
const SPACING_MS = 275;
const SPAN_MS = 1100;

describe('API calls counted from their answers', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_700_000_000_000 }));
  afterEach(() => vi.useRealTimers());

  function harness(options: FairGovernorOptions = {}) {
    const governor = new FairGovernor({ limits: LIMITS, now: () => Date.now(), ...options });
    /** One call as a session makes it: a permit, then its answer `latencyMs` later (told unless `answer` is false). */
    const start = (asked: PermitRequest, latencyMs: number, answer = true) => {
      const request: PermitRequest = { ...asked, reportsAnswer: answer };
      return governor.acquire(request).then(async (granted) => {
        const permit = Date.now();
        const via = granted ?? request.api;
        await new Promise((resolve) => setTimeout(resolve, latencyMs));
        if (answer) governor.answered(request);
        return { permit, answer: Date.now(), via };
      });
    };
    /** Moves the clock 1 ms at a time until `promise` settles. */
    const settle = async <T>(promise: Promise<T>): Promise<T> => {
      let done = false;
      void promise.finally(() => (done = true));
      while (!done) await vi.advanceTimersByTimeAsync(1);
      return promise;
    };
    /** Calls made together, on one clock: resolves with each one's permit time, answer time and API. */
    const calls = (...started: ReturnType<typeof start>[]) => settle(Promise.all(started));
    const call = async (request: PermitRequest, latencyMs: number, answer = true) => (await calls(start(request, latencyMs, answer)))[0]!;
    return { governor, start, calls, call };
  }

  it('a first call answered 300 ms after its permit holds the fifth until a whole window after that answer', async () => {
    const { call } = harness();
    const start = Date.now();
    // Five cards, one call each, in turn: the first is slow to arrive (and so to answer), the others are not.
    const first = await call({ api: CONTENT, cardId: 'c0' }, 300);
    const rest = [];
    for (let i = 1; i < 5; i++) rest.push(await call({ api: CONTENT, cardId: `c${i}` }, 1));
    expect(first.permit).toBe(start);
    // Calls 2-4 keep the API's spacing from their permits (the first's permit is what holds them).
    for (const [i, c] of rest.slice(0, 3).entries()) expect(c.permit).toBeGreaterThanOrEqual(start + (i + 1) * SPACING_MS);
    // The fifth waits a window after the first's answer, not after its permit.
    expect(rest[3]!.permit).toBeGreaterThanOrEqual(first.answer + SPAN_MS);
    expect(rest[3]!.permit).toBeLessThanOrEqual(first.answer + SPAN_MS + 2);
    // Even if the platform counted the first call as late as its answer, no second of its holds five.
    expect(busiestWindow([first.answer, ...rest.map((c) => c.permit)], 1000)).toBeLessThanOrEqual(4);
  });

  it('without answers (a caller that does not report them), calls keep the pace of their permits: the fifth a window after the first', async () => {
    const { start, calls } = harness();
    const began = Date.now();
    const made = await calls(...Array.from({ length: 5 }, (_, i) => start({ api: CONTENT, cardId: `c${i}` }, 300, false)));
    const permits = made.map((c) => c.permit);
    expect(Math.max(...permits)).toBeLessThanOrEqual(began + SPAN_MS + 2);
    expect(busiestWindow(permits, SPAN_MS)).toBeLessThanOrEqual(4);
  });

  it('answers of one API hold that API only, and an answer with no permit waiting moves nothing', async () => {
    const { governor, start, calls } = harness();
    governor.answered({ api: PATCH }); // not a permit it granted: ignored
    // Four content calls answered late fill the content API's window until a window after their answers.
    const contents = await calls(...Array.from({ length: 4 }, (_, i) => start({ api: CONTENT, cardId: `c${i}` }, 500)));
    const filledAt = Date.now();
    // PATCH has its own budget: its first call goes at once; the next content call waits for the window.
    const [patch, content] = await calls(start({ api: PATCH, cardId: 'p0' }, 1), start({ api: CONTENT, cardId: 'c4' }, 1));
    expect(patch!.permit).toBeLessThanOrEqual(filledAt + 1);
    expect(content!.permit).toBeGreaterThanOrEqual(contents[0]!.answer + SPAN_MS);
  });

  it('a write that spills keeps the window of the API it went through, counted from its answer', async () => {
    const { start, calls } = harness({ spill: true });
    // Twelve writes at once spill to PATCH once the content API is spent; every third arrives (and is answered) late.
    const made = await calls(...Array.from({ length: 12 }, (_, i) => start({ api: CONTENT, cardId: `c${i}`, alternatives: [PATCH] }, i % 3 === 0 ? 500 : 1)));
    const byApi = (api: string) => made.filter((c) => c.via === api);
    expect(byApi(PATCH).length).toBeGreaterThan(0);
    for (const api of [CONTENT, PATCH]) {
      // A call counted as late as its answer: each window of the platform's then holds at most four.
      const counted = byApi(api).map((c) => c.answer);
      expect(busiestWindow(counted, 1000), api).toBeLessThanOrEqual(4);
    }
  });
});

const SKIP = redisMissing('the Redis late-arrival tests');

describe.skipIf(SKIP)('API calls counted from their answers, across replicas (real redis-server)', () => {
  const redis = useRedisServer();

  it("a call of one governor answered 400 ms late holds the other governor's fifth call until a window after that answer", async () => {
    const [one, two] = await Promise.all([openRedis(redis.server.url), openRedis(redis.server.url)]);
    const [a, b] = [one, two].map((client) => new FairGovernor({ limits: LIMITS, redis: client, appId: 'cli_x' }));
    const first: PermitRequest = { api: CONTENT, cardId: 'c0', reportsAnswer: true };
    await a!.acquire(first);
    const permitA = Date.now();
    // The first call is slow to arrive: its answer comes 400 ms after its permit.
    await new Promise((resolve) => setTimeout(resolve, 400));
    a!.answered(first);
    const answerA = Date.now();
    // The other replica's calls, all at once: three go within the first call's window, the fourth must wait.
    const permitsB = await Promise.all(
      Array.from({ length: 4 }, (_, i) => b!.acquire({ api: CONTENT, cardId: `c${i + 1}` }).then(() => Date.now())),
    );
    expect(Math.max(...permitsB)).toBeGreaterThanOrEqual(answerA + 1000);
    // Even counted at its answer, the first call shares no platform second with four others.
    expect(busiestWindow([answerA, ...permitsB], 1000)).toBeLessThanOrEqual(4);
    expect(permitA).toBeLessThan(answerA);
    expect([a!, b!].every((g) => g.stats().fallback === false)).toBe(true);
  }, 15_000);
});
