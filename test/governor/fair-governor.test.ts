/**
 * FairGovernor (in-process store) on a fake clock: every permit it grants is recorded with the (fake) time it was
 * granted, and the record is checked against the limits the platform counts (reference §16): per
 * API per second and per minute, per card spacing, each stretched by the safety margin.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FEISHU_LIMITS, type Limits, FairGovernor, type PermitRequest, resolveLimits } from '../../src/governor/index.js';
import { busiestWindow } from '../support/windows.js';

const CONTENT = 'cardkit.cardElement.content';
const SETTINGS = 'cardkit.card.settings';

interface Grant {
  api: string;
  cardId: string | undefined;
  at: number;
}

/** A governor on the fake clock, and helpers that record when each permit was granted. */
function harness(options: { limits?: Partial<Limits>; safetyMarginMs?: number } = {}) {
  const governor = new FairGovernor({ ...options, now: () => Date.now() });
  const grants: Grant[] = [];
  let pending = 0;
  const acquire = (request: PermitRequest): Promise<Grant> => {
    pending++;
    return governor.acquire(request).then(
      () => {
        pending--;
        const grant = { api: request.api, cardId: request.cardId, at: Date.now() };
        grants.push(grant);
        return grant;
      },
      (error: unknown) => {
        pending--;
        throw error;
      },
    );
  };
  /** Advances the fake clock until every request made so far was granted (or a bound is hit). */
  const drain = async (stepMs = 50, maxMs = 30 * 60_000): Promise<void> => {
    const until = Date.now() + maxMs;
    while (pending > 0 && Date.now() < until) await vi.advanceTimersByTimeAsync(stepMs);
  };
  return { governor, grants, acquire, drain, pending: () => pending };
}


/** The shortest gap between two consecutive grants. */
function closestGap(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let gap = Number.POSITIVE_INFINITY;
  for (let i = 1; i < sorted.length; i++) gap = Math.min(gap, sorted[i]! - sorted[i - 1]!);
  return gap;
}

const timesOf = (grants: Grant[], keep: (g: Grant) => boolean) => grants.filter(keep).map((g) => g.at);

describe('FairGovernor', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('per-API windows', () => {
    it('grants at most apiQps permits of one API in any second stretched by the safety margin', async () => {
      const h = harness({ limits: { apiQps: 5, apiQpm: 10_000, cardQps: 1000 }, safetyMarginMs: 100 });
      const start = Date.now();
      const all = Array.from({ length: 23 }, (_, i) => h.acquire({ api: CONTENT, cardId: `card_${i}` }));
      await h.drain(10);
      await Promise.all(all);

      const times = timesOf(h.grants, () => true);
      expect(times).toHaveLength(23);
      expect(busiestWindow(times, 1100)).toBe(5);
      // Never one burst: calls of one API are (1000 + margin) / apiQps apart, the first at once.
      expect(Math.min(...times)).toBe(start);
      expect(closestGap(times)).toBeGreaterThanOrEqual(220);
    });

    it('grants at most apiQpm permits of one API in any minute stretched by the safety margin', async () => {
      const h = harness({ limits: { apiQps: 1000, apiQpm: 10, cardQps: 1000 }, safetyMarginMs: 250 });
      const all = Array.from({ length: 25 }, () => h.acquire({ api: CONTENT }));
      await h.drain(1000);
      await Promise.all(all);

      const times = timesOf(h.grants, () => true);
      expect(times).toHaveLength(25);
      expect(busiestWindow(times, 60_250)).toBeLessThanOrEqual(10);
    });

    it('paces the minute budget: a burst spends 5% of it at once, the rest is spread over the minute', async () => {
      const h = harness({ limits: { apiQps: 50, apiQpm: 1000, cardQps: 1000 }, safetyMarginMs: 100 });
      const start = Date.now();
      const all = Array.from({ length: 400 }, (_, i) => h.acquire({ api: CONTENT, cardId: `card_${i}` }));
      await vi.advanceTimersByTimeAsync(10_000);
      const inTenSeconds = h.grants.length;
      // 50 at once, then 950 per minute: about 50 + 158 in ten seconds, far from the 400 asked for,
      // so 40 s later the minute budget is not spent and later writes still go.
      expect(inTenSeconds).toBeGreaterThanOrEqual(200);
      expect(inTenSeconds).toBeLessThanOrEqual(215);
      await h.drain(100);
      await Promise.all(all);
      const times = timesOf(h.grants, () => true);
      expect(busiestWindow(times, 60_100)).toBeLessThanOrEqual(1000);
      expect(Math.max(...times) - start).toBeGreaterThan(20_000);
    });

    it('counts each API on its own: one API at its limit does not hold back another', async () => {
      const h = harness({ limits: { apiQps: 2, apiQpm: 1000, cardQps: 1000 } });
      const start = Date.now();
      const content = Array.from({ length: 4 }, () => h.acquire({ api: CONTENT }));
      const settings = Array.from({ length: 2 }, () => h.acquire({ api: SETTINGS }));
      await vi.advanceTimersByTimeAsync(550);
      // Settings runs on its own spacing (550 ms at 2/s), whatever content is waiting for.
      expect((await Promise.all(settings)).map((g) => g.at)).toEqual([start, start + 550]);
      await h.drain();
      await Promise.all(content);
      expect(busiestWindow(timesOf(h.grants, (g) => g.api === CONTENT), 1100)).toBe(2);
    });
  });

  describe('per-card spacing', () => {
    it('never grants two permits for one card closer than (1000 + margin) / cardQps, across APIs', async () => {
      const h = harness({ limits: { apiQps: 1000, apiQpm: 100_000, cardQps: 10 }, safetyMarginMs: 100 });
      const all = [
        ...Array.from({ length: 12 }, () => h.acquire({ api: CONTENT, cardId: 'card_a' })),
        h.acquire({ api: SETTINGS, cardId: 'card_a', priority: 'urgent' }),
      ];
      await h.drain(5);
      await Promise.all(all);

      const times = timesOf(h.grants, () => true);
      expect(times).toHaveLength(13);
      expect(closestGap(times)).toBeGreaterThanOrEqual(110);
      expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(10);
    });

    it('does not block other cards while one card waits for its spacing', async () => {
      const h = harness({ limits: { cardQps: 10 }, safetyMarginMs: 100 });
      const start = Date.now();
      await h.acquire({ api: CONTENT, cardId: 'card_a' });
      let secondA: Grant | undefined;
      void h.acquire({ api: CONTENT, cardId: 'card_a' }).then((g) => (secondA = g));
      const b = h.acquire({ api: CONTENT, cardId: 'card_b' });
      const c = h.acquire({ api: CONTENT, cardId: 'card_c' });
      await vi.advanceTimersByTimeAsync(0);

      await vi.advanceTimersByTimeAsync(44);
      // b and c go right away, one API spacing apart ((1000 + 100) / 50 = 22 ms), not after a's 110 ms.
      expect((await b).at).toBe(start + 22);
      expect((await c).at).toBe(start + 44);
      expect(secondA).toBeUndefined();
      await vi.advanceTimersByTimeAsync(65);
      expect(secondA).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(secondA?.at).toBe(start + 110);
    });

    it('keeps every limit for any mix of APIs, cards, margins and request times', async () => {
      const request = fc.record({
        afterMs: fc.integer({ min: 0, max: 3000 }),
        api: fc.constantFrom(CONTENT, SETTINGS, 'cardkit.cardElement.patch'),
        cardId: fc.option(fc.constantFrom('card_a', 'card_b', 'card_c'), { nil: undefined }),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            limits: fc.record({
              apiQps: fc.integer({ min: 1, max: 8 }),
              apiQpm: fc.integer({ min: 1, max: 40 }),
              cardQps: fc.integer({ min: 1, max: 12 }),
            }),
            margin: fc.integer({ min: 0, max: 300 }),
            requests: fc.array(request, { minLength: 1, maxLength: 40 }),
          }),
          async ({ limits, margin, requests }) => {
            vi.setSystemTime(1_700_000_000_000);
            const h = harness({ limits, safetyMarginMs: margin });
            const all: Promise<Grant>[] = [];
            for (const { afterMs, api, cardId } of requests) {
              setTimeout(() => all.push(h.acquire({ api, ...(cardId === undefined ? {} : { cardId }) })), afterMs);
            }
            await vi.advanceTimersByTimeAsync(3000);
            await h.drain(100, 60 * 60_000);
            await Promise.all(all);

            expect(h.grants).toHaveLength(requests.length);
            for (const api of new Set(requests.map((r) => r.api))) {
              const times = timesOf(h.grants, (g) => g.api === api);
              expect(busiestWindow(times, 1000 + margin)).toBeLessThanOrEqual(limits.apiQps);
              expect(busiestWindow(times, 60_000 + margin)).toBeLessThanOrEqual(limits.apiQpm);
            }
            for (const cardId of new Set(requests.flatMap((r) => (r.cardId === undefined ? [] : [r.cardId])))) {
              const times = timesOf(h.grants, (g) => g.cardId === cardId);
              expect(closestGap(times)).toBeGreaterThanOrEqual((1000 + margin) / limits.cardQps);
            }
            vi.clearAllTimers();
          },
        ),
        { numRuns: 60 },
      );
    });
  });

  describe('pause(api, ms)', () => {
    it("holds that API's permits for every card and for card-less calls, and not other APIs'", async () => {
      const h = harness();
      const start = Date.now();
      h.governor.pause(CONTENT, 500);
      const held = [
        h.acquire({ api: CONTENT, cardId: 'card_a' }),
        h.acquire({ api: CONTENT, cardId: 'card_b' }),
        h.acquire({ api: CONTENT }),
      ];
      const other = h.acquire({ api: SETTINGS, cardId: 'card_c' });
      await vi.advanceTimersByTimeAsync(0);
      expect((await other).at).toBe(start);

      await vi.advanceTimersByTimeAsync(499);
      expect(h.grants.filter((g) => g.api === CONTENT)).toEqual([]);
      await h.drain(1);
      for (const grant of await Promise.all(held)) expect(grant.at).toBeGreaterThanOrEqual(start + 500);
    });

    it('extends a pause but never shortens it', async () => {
      const h = harness();
      const start = Date.now();
      h.governor.pause(CONTENT, 800);
      h.governor.pause(CONTENT, 200);
      const held = h.acquire({ api: CONTENT, cardId: 'card_a' });
      await h.drain(1);
      expect((await held).at).toBeGreaterThanOrEqual(start + 800);
    });
  });

  describe('abort', () => {
    it('rejects acquire with the reason of a signal that is already aborted, granting nothing', async () => {
      const h = harness();
      const reason = new Error('user went away');
      await expect(h.acquire({ api: CONTENT, cardId: 'card_a', signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
      expect(h.grants).toEqual([]);
    });

    it('rejects a waiting acquire with the reason when its signal aborts, and the slot stays free', async () => {
      const h = harness({ limits: { cardQps: 10 }, safetyMarginMs: 100 });
      const start = Date.now();
      await h.acquire({ api: CONTENT, cardId: 'card_a' });
      const controller = new AbortController();
      const waiting = h.acquire({ api: CONTENT, cardId: 'card_a', signal: controller.signal });
      const outcome = waiting.then(
        () => 'granted',
        (error: unknown) => error,
      );
      await vi.advanceTimersByTimeAsync(50);
      const reason = new DOMException('stopped', 'AbortError');
      controller.abort(reason);
      await vi.advanceTimersByTimeAsync(0);
      expect(await outcome).toBe(reason);

      const next = h.acquire({ api: CONTENT, cardId: 'card_a' });
      await h.drain(1);
      expect((await next).at).toBe(start + 110);
    });
  });

  describe('resolveLimits', () => {
    it('fills Feishu defaults and keeps the limits given', () => {
      expect(resolveLimits()).toEqual(FEISHU_LIMITS);
      expect(resolveLimits({ cardQps: 5 })).toEqual({ apiQps: 50, apiQpm: 1000, cardQps: 5, messageQps: 5 });
      expect(new FairGovernor({ limits: { apiQps: 7 } }).limits).toEqual({ apiQps: 7, apiQpm: 1000, cardQps: 10, messageQps: 5 });
    });

    it('takes the default for a limit given as undefined, as FeishuClient({ limits }) accepts it', () => {
      // FeishuClient checks `limits` and lets `{ cardQps: undefined }` through as "not given"; the
      // governor every session of that client shares is built from the same object.
      expect(resolveLimits({ apiQps: 20, cardQps: undefined })).toEqual({ apiQps: 20, apiQpm: 1000, cardQps: 10, messageQps: 5 });
    });

    const bad: [keyof Limits, unknown][] = [];
    for (const name of ['apiQps', 'apiQpm', 'cardQps'] as const) {
      for (const value of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5', null]) bad.push([name, value]);
    }
    it.each(bad)('rejects limits.%s = %s with a RangeError naming the limit', (name, value) => {
      const limits = { [name]: value } as Partial<Limits>;
      expect(() => resolveLimits(limits)).toThrow(RangeError);
      expect(() => resolveLimits(limits)).toThrow(`limits.${name}`);
      expect(() => new FairGovernor({ limits })).toThrow(`limits.${name}`);
    });
  });
});
