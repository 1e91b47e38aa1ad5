/**
 * FairGovernor under contention, on a fake clock: who gets the next slot when every card wants one.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type BudgetStore,
  FairGovernor,
  type FairGovernorOptions,
  MemoryBudgetStore,
  type TakeRequest,
  resolveLimits,
} from '../../src/governor/index.js';

const CONTENT = 'cardkit.cardElement.content';
const SETTINGS = 'cardkit.card.settings';

function governor(options: FairGovernorOptions = {}) {
  return new FairGovernor({ safetyMarginMs: 0, now: () => Date.now(), ...options });
}

/** A card that always has text waiting: it asks again as soon as it is granted, `times` times. */
async function streamer(g: FairGovernor, cardId: string, times: number, granted: string[]): Promise<void> {
  for (let i = 0; i < times; i++) {
    await g.acquire({ api: CONTENT, cardId });
    granted.push(cardId);
  }
}

describe('FairGovernor fairness', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('takes cards in turn when the API budget binds: every card with pending text gets an equal share', async () => {
    const g = governor({ limits: { apiQps: 3, apiQpm: 100_000, cardQps: 100 } });
    const granted: string[] = [];
    const cards = ['card_a', 'card_b', 'card_c', 'card_d', 'card_e', 'card_f'];
    const all = cards.map((id) => streamer(g, id, 10, granted));
    await vi.advanceTimersByTimeAsync(10_000);
    const firstHalf = granted.slice(0, 30);
    for (const id of cards) expect(firstHalf.filter((c) => c === id).length).toBe(5);
    await vi.advanceTimersByTimeAsync(30_000);
    await Promise.all(all);
  });

  it('one long answer cannot starve a card that starts later: the newcomer is served within one turn', async () => {
    const g = governor({ limits: { apiQps: 2, apiQpm: 100_000, cardQps: 100 } });
    const granted: string[] = [];
    const long = [streamer(g, 'card_long_1', 40, granted), streamer(g, 'card_long_2', 40, granted)];
    await vi.advanceTimersByTimeAsync(3000);
    const before = granted.length;
    const late = streamer(g, 'card_late', 1, granted);
    await vi.advanceTimersByTimeAsync(2500);
    // Three cards share two slots a second; one turn is three slots: the newcomer is among them.
    expect(granted.slice(before, before + 3)).toContain('card_late');
    await late;
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all(long);
  });

  it('serves urgent writes (finishing a card, creating one) before older normal writes', async () => {
    const g = governor({ limits: { apiQps: 1, apiQpm: 100_000, cardQps: 100 } });
    const order: string[] = [];
    await g.acquire({ api: SETTINGS, cardId: 'card_x' });
    const normal = ['card_a', 'card_b'].map((id) => g.acquire({ api: SETTINGS, cardId: id }).then(() => order.push(id)));
    await vi.advanceTimersByTimeAsync(10);
    const urgent = g.acquire({ api: SETTINGS, cardId: 'card_u', priority: 'urgent' }).then(() => order.push('card_u'));
    await vi.advanceTimersByTimeAsync(5000);
    await Promise.all([...normal, urgent]);
    expect(order).toEqual(['card_u', 'card_a', 'card_b']);
  });

  it('counts writes, waits and time waited per API and per card, and 429s reported through pause()', async () => {
    const g = governor({ limits: { apiQps: 1, apiQpm: 100_000, cardQps: 100 } });
    await g.acquire({ api: CONTENT, cardId: 'card_a' });
    const second = g.acquire({ api: CONTENT, cardId: 'card_b' });
    await vi.advanceTimersByTimeAsync(1000);
    await second;
    g.pause(CONTENT, 50);
    const stats = g.stats();
    expect(stats.apis[CONTENT]).toEqual({ writes: 2, waits: 1, waitedMs: 1000, rateLimited: 1 });
    expect(stats.cards.card_a).toEqual({ writes: 1, waits: 0, waitedMs: 0, rateLimited: 0 });
    expect(stats.cards.card_b).toMatchObject({ writes: 1, waits: 1, waitedMs: 1000 });
    expect(stats.waiting[CONTENT]).toBe(0);
    expect(stats.fallback).toBe(false);
  });

  it('says when a budget is exhausted (once per episode) and when an API is paused', async () => {
    const g = governor({ limits: { apiQps: 1, apiQpm: 100_000, cardQps: 100 } });
    const exhausted = vi.fn();
    const paused = vi.fn();
    g.on('exhausted', exhausted);
    g.on('paused', paused);
    const all = ['a', 'b', 'c'].map((id) => g.acquire({ api: CONTENT, cardId: `card_${id}` }));
    await vi.advanceTimersByTimeAsync(3000);
    await Promise.all(all);
    expect(exhausted).toHaveBeenCalledTimes(1);
    expect(exhausted.mock.calls[0]![0]).toMatchObject({ api: CONTENT, waiting: 2 });
    g.pause(CONTENT, 2000);
    expect(paused).toHaveBeenCalledWith({ api: CONTENT, ms: 2000 });
  });
});

/** A store that fails while `down` is set, and otherwise counts in memory. */
class FlakyStore implements BudgetStore {
  down = false;
  calls = 0;
  readonly #inner = new MemoryBudgetStore(resolveLimits({ apiQps: 100, apiQpm: 100_000 }), { marginMs: 0, now: () => Date.now() });

  take(request: TakeRequest) {
    this.calls++;
    return this.down ? Promise.reject(new Error('connection refused')) : this.#inner.take(request);
  }

  pause(api: string, ms: number) {
    return this.down ? Promise.reject(new Error('connection refused')) : this.#inner.pause(api, ms);
  }
}

describe('FairGovernor when its store fails', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('falls back to a conservative local share, says so once, never blocks, and returns to the store when it answers', async () => {
    const store = new FlakyStore();
    const g = governor({ store, limits: { apiQps: 10, apiQpm: 100_000, cardQps: 100 }, fallbackReplicas: 2 });
    const fallback = vi.fn();
    const restored = vi.fn();
    g.on('fallback', fallback);
    g.on('restored', restored);
    store.down = true;
    const start = Date.now();
    const grants: number[] = [];
    const all = Array.from({ length: 12 }, (_, i) => g.acquire({ api: CONTENT, cardId: `card_${i}` }).then(() => grants.push(Date.now())));
    await vi.advanceTimersByTimeAsync(3000);
    await Promise.all(all);
    expect(fallback).toHaveBeenCalledTimes(1);
    expect((fallback.mock.calls[0]![0] as { error: unknown }).error).toBeInstanceOf(Error);
    expect(g.stats().fallback).toBe(true);
    // The local share is apiQps / fallbackReplicas = 5 per second.
    expect(grants.filter((t) => t < start + 1000).length).toBeLessThanOrEqual(5);
    expect(grants.filter((t) => t < start + 1000).length).toBeGreaterThanOrEqual(4);

    store.down = false;
    await vi.advanceTimersByTimeAsync(5000);
    const callsBefore = store.calls;
    await g.acquire({ api: CONTENT, cardId: 'card_after' });
    expect(restored).toHaveBeenCalledTimes(1);
    expect(store.calls).toBeGreaterThan(callsBefore);
    expect(g.stats().fallback).toBe(false);
  });
});
