/**
 * Spill (issue 14) on a fake clock: a write whose API's budget is spent for a while goes through one of its
 * request's alternatives when that API has budget and no write of its own waiting; every API's limits and every
 * card's spacing still hold, and below the budget nothing spills.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FairGovernor, type FairGovernorOptions } from '../../src/governor/index.js';
import { grantHarness, through } from '../support/governor-grants.js';
import { busiestWindow } from '../support/windows.js';

const CONTENT = 'cardkit.cardElement.content';
const PATCH = 'cardkit.cardElement.patch';
const BATCH = 'cardkit.card.batchUpdate';

const harness = (options: FairGovernorOptions) => grantHarness({ ...options }, 10);

describe('FairGovernor spill', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_700_000_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('a card write waiting on a spent content budget goes through an alternative with budget; every limit still holds', async () => {
    const limits = { apiQps: 4, apiQpm: 1000, cardQps: 10 };
    const { grants, acquire, drain } = harness({ limits, safetyMarginMs: 0, spill: true });
    // 40 cards, three text writes each, all at once.
    const writes = Array.from({ length: 40 }, (_, card) => Array.from({ length: 3 }, () => acquire({ api: CONTENT, cardId: `c${card}`, alternatives: [PATCH, BATCH] }))).flat();
    await drain();
    await Promise.all(writes);
    expect(grants).toHaveLength(120);
    expect(through(grants, PATCH).length).toBeGreaterThan(0);
    expect(through(grants, BATCH).length).toBeGreaterThan(0);
    for (const api of [CONTENT, PATCH, BATCH]) expect(busiestWindow(through(grants, api).map((g) => g.at), 1000), api).toBeLessThanOrEqual(limits.apiQps);
    // A card's writes, whatever API each took, keep the card's spacing (10 a second).
    for (let card = 0; card < 40; card++) expect(busiestWindow(grants.filter((g) => g.cardId === `c${card}`).map((g) => g.at), 1000)).toBeLessThanOrEqual(10);
    // Three APIs' budgets: the 120 writes took about a third of the time one API alone needs (120 / 4 = 30 s).
    const took = Math.max(...grants.map((g) => g.at)) - Math.min(...grants.map((g) => g.at));
    expect(took).toBeLessThan(12_000);
  });

  it('spill is on by default; spill: false keeps every write on its own API', async () => {
    expect(new FairGovernor().spill).toBe(true);
    const { governor, grants, acquire, drain } = harness({ limits: { apiQps: 4 }, safetyMarginMs: 0, spill: false });
    expect(governor.spill).toBe(false);
    const writes = Array.from({ length: 20 }, (_, card) => acquire({ api: CONTENT, cardId: `c${card}`, alternatives: [PATCH] }));
    await drain();
    await Promise.all(writes);
    expect(through(grants, CONTENT)).toHaveLength(20);
    expect(() => new FairGovernor({ spill: 'yes' as never })).toThrow(TypeError);
  });

  it('never ahead of the alternative API\'s own writes, and not while the content budget has room', async () => {
    const { grants, acquire, drain } = harness({ limits: { apiQps: 2 }, safetyMarginMs: 0, spill: true });
    // The patch API has writes of its own waiting: nothing spills onto it.
    const own = Array.from({ length: 6 }, (_, i) => acquire({ api: PATCH, cardId: `p${i}` }));
    const spilling = Array.from({ length: 6 }, (_, i) => acquire({ api: CONTENT, cardId: `c${i}`, alternatives: [PATCH] }));
    await drain();
    await Promise.all([...own, ...spilling]);
    const ownTimes = grants.filter((g) => g.asked === PATCH).map((g) => g.at);
    const spilledTimes = grants.filter((g) => g.asked === CONTENT && g.api === PATCH).map((g) => g.at);
    for (const at of spilledTimes) expect(at).toBeGreaterThanOrEqual(Math.max(...ownTimes));
    // An API the platform paused (a rate-limit answer) neither spills nor is spilled onto until the pause is over.
    grants.length = 0;
    await vi.advanceTimersByTimeAsync(2000);
    const { governor: paused, grants: pausedGrants, acquire: acquirePaused, drain: drainPaused } = harness({ limits: { apiQps: 2 }, safetyMarginMs: 0, spill: true });
    paused.pause(PATCH, 5000);
    const held = Array.from({ length: 6 }, (_, i) => acquirePaused({ api: CONTENT, cardId: `h${i}`, alternatives: [PATCH] }));
    await drainPaused();
    await Promise.all(held);
    expect(through(pausedGrants, PATCH)).toEqual([]);
    // Below the budget: a write every 600 ms on a 2-a-second budget never waits long enough to spill.
    grants.length = 0;
    await vi.advanceTimersByTimeAsync(2000); // the windows of the writes above have passed
    for (let i = 0; i < 10; i++) {
      const write = acquire({ api: CONTENT, cardId: `slow${i}`, alternatives: [PATCH] });
      await vi.advanceTimersByTimeAsync(600);
      await write;
    }
    expect(through(grants, PATCH)).toEqual([]);
  });
});
