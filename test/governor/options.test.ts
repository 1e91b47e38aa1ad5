/**
 * FairGovernor refuses, at construction, options whose windows and spacings it could not keep (a rate
 * below one call a minute, a margin or timeout no timer holds), naming the option and showing the
 * value; and no wait it computes is ever handed to a timer beyond 2^31-1 ms (Node cuts those to 1 ms,
 * which would make the governor spin).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  FairGovernor,
  type FairGovernorOptions,
  MAX_TIMER_MS,
  MemoryBudgetStore,
  RedisSequenceStore,
  delay,
  resolveLimits,
} from '../../src/governor/index.js';

const CONTENT = 'cardkit.cardElement.content';
const redisLike = { evalsha: () => Promise.resolve(1), eval: () => Promise.resolve(1) };

describe('FairGovernor options', () => {
  const refused: [string, FairGovernorOptions, string][] = [
    ['a card rate of one call in 31 years', { limits: { cardQps: 1e-9 } }, 'options.limits.cardQps'],
    ['an API rate just under one call a minute', { limits: { apiQps: 1 / 61 } }, 'options.limits.apiQps'],
    ['half a call a minute', { limits: { apiQpm: 0.5 } }, 'options.limits.apiQpm'],
    ['an infinite rate', { limits: { apiQps: Number.POSITIVE_INFINITY } }, 'options.limits.apiQps'],
    ['a negative margin', { safetyMarginMs: -1 }, 'options.safetyMarginMs'],
    ['a margin of 30 years', { safetyMarginMs: 1e12 }, 'options.safetyMarginMs'],
    ['a NaN margin', { safetyMarginMs: Number.NaN }, 'options.safetyMarginMs'],
    ['a Redis timeout of 0', { redisTimeoutMs: 0 }, 'options.redisTimeoutMs'],
    ['an infinite Redis timeout', { redisTimeoutMs: Number.POSITIVE_INFINITY }, 'options.redisTimeoutMs'],
    ['a Redis timeout of 12 days', { redisTimeoutMs: 1e9 }, 'options.redisTimeoutMs'],
    ['zero replicas', { fallbackReplicas: 0 }, 'options.fallbackReplicas'],
    ['1.5 replicas', { fallbackReplicas: 1.5 }, 'options.fallbackReplicas'],
  ];
  it.each(refused)('refuses %s with a RangeError naming the option and showing the value', (_, options, name) => {
    expect(() => new FairGovernor(options)).toThrow(RangeError);
    expect(() => new FairGovernor(options)).toThrow(name);
    const value = Object.values(options)[0] as unknown;
    const shown: unknown = typeof value === 'object' ? Object.values(value as object)[0] : value;
    expect(() => new FairGovernor(options)).toThrow(`received ${String(shown)}`);
  });

  const wrongType: [string, unknown, string][] = [
    ['an empty appId', { appId: '' }, 'options.appId'],
    ['a redis that is not a client', { redis: {} }, 'options.redis'],
    ['a clock that is not a function', { now: 5 }, 'options.now'],
    ['a store without take()', { store: {} }, 'options.store'],
    ['a sequence store without next()', { sequences: {} }, 'options.sequences'],
    ['limits that are not an object', { limits: 5 }, 'options.limits'],
  ];
  it.each(wrongType)('refuses %s with a TypeError naming the option', (_, options, name) => {
    expect(() => new FairGovernor(options as FairGovernorOptions)).toThrow(TypeError);
    expect(() => new FairGovernor(options as FairGovernorOptions)).toThrow(name);
  });

  it('accepts the bounds themselves: one call a minute, a 10 s margin, a 60 s Redis timeout', () => {
    const governor = new FairGovernor({
      limits: { apiQps: 1 / 60, apiQpm: 1, cardQps: 1 / 60, messageQps: 1 / 60 },
      safetyMarginMs: 10_000,
      redisTimeoutMs: 60_000,
      redis: redisLike,
    });
    expect(governor.limits).toEqual({ apiQps: 1 / 60, apiQpm: 1, cardQps: 1 / 60, messageQps: 1 / 60 });
  });

  it('the stores refuse what the governor refuses', () => {
    expect(() => new MemoryBudgetStore(resolveLimits(), { marginMs: 1e12 })).toThrow('options.marginMs');
    expect(() => new MemoryBudgetStore({ apiQps: 50, apiQpm: 1000, cardQps: 1e-9 })).toThrow('limits.cardQps');
    expect(() => new RedisSequenceStore(redisLike, { timeoutMs: 0 })).toThrow('options.timeoutMs');
    expect(() => new RedisSequenceStore({} as never)).toThrow(TypeError);
  });

  it('with redis it hands out sequences from Redis; without, in this process; an explicit store or sequences wins', () => {
    expect(new FairGovernor({ redis: redisLike }).sequences).toBeInstanceOf(RedisSequenceStore);
    expect(new FairGovernor().sequences).not.toBeInstanceOf(RedisSequenceStore);
    const sequences = { next: () => Promise.resolve(1) };
    expect(new FairGovernor({ redis: redisLike, sequences }).sequences).toBe(sequences);
  });
});

describe('no wait handed to a timer beyond 2^31-1 ms', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  /** Every delay given to setTimeout from now on. */
  function timerDelays(): number[] {
    const delays: number[] = [];
    const original = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      return original(callback, ms);
    }));
    return delays;
  }

  it('the slowest limits with the largest margin: the second write to a card waits its 11 minutes, on a handful of timers', async () => {
    const governor = new FairGovernor({ limits: { apiQps: 1000, apiQpm: 100_000, cardQps: 1 / 60 }, safetyMarginMs: 10_000, now: () => Date.now() });
    const start = Date.now();
    await governor.acquire({ api: CONTENT, cardId: 'card_a' });
    const delays = timerDelays();
    let grantedAt: number | undefined;
    void governor.acquire({ api: CONTENT, cardId: 'card_a' }).then(() => (grantedAt = Date.now()));
    await vi.advanceTimersByTimeAsync(660_000 - 1);
    expect(grantedAt).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(grantedAt).toBe(start + 660_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(MAX_TIMER_MS);
    // Slept, not spun: one timer for the wait (a spinning pump would set one a millisecond).
    expect(delays.length).toBeLessThan(10);
  });

  it('a pause longer than a timer holds (a broken header) is cut to the longest timer, and the pump sleeps instead of spinning', async () => {
    const governor = new FairGovernor({ now: () => Date.now() });
    const delays = timerDelays();
    governor.pause(CONTENT, 1e15);
    let granted = false;
    void governor.acquire({ api: CONTENT, cardId: 'card_a' }).then(() => (granted = true));
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(granted).toBe(false);
    expect(delays.length).toBeGreaterThan(0);
    expect(delays.length).toBeLessThan(10);
    expect(Math.max(...delays)).toBeLessThanOrEqual(MAX_TIMER_MS);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
    expect(granted).toBe(true);
  });

  it('a pause of NaN or a negative length holds nothing', async () => {
    const governor = new FairGovernor({ now: () => Date.now() });
    governor.pause(CONTENT, Number.NaN);
    governor.pause(CONTENT, -5000);
    let granted = false;
    void governor.acquire({ api: CONTENT, cardId: 'card_a' }).then(() => (granted = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toBe(true);
    expect(governor.stats().apis[CONTENT]?.rateLimited).toBe(2);
  });

  it('delay() longer than a timer holds sleeps all of it, in pieces a timer holds', async () => {
    const delays = timerDelays();
    let done = false;
    void delay(MAX_TIMER_MS + 5000).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 4999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect(delays).toEqual([MAX_TIMER_MS, 5000]);
  });
});
