/**
 * A bot runs for weeks and writes to millions of cards: what the governor and its in-process stores
 * keep per card stays bounded whether or not each session calls `forget(cardId)` when it ends, and
 * `forget` drops what was kept for the card. Checked on the sizes the governor and stores report.
 */
import { describe, expect, it } from 'vitest';
import { FairGovernor, MemoryBudgetStore, MemorySequenceStore, resolveLimits } from '../../src/governor/index.js';

const CONTENT = 'cardkit.cardElement.content';
const SETTINGS = 'cardkit.card.settings';
const CARDS = 100_000;

/** Limits out of the way, except Feishu's per-card 10/s (110 ms apart with the margin), which the clock below keeps. */
const LIMITS = resolveLimits({ apiQps: 1_000_000, apiQpm: 1_000_000_000, cardQps: 10 });

function harness() {
  let clock = 0;
  const now = () => clock;
  const store = new MemoryBudgetStore(LIMITS, { now });
  const sequences = new MemorySequenceStore();
  const governor = new FairGovernor({ limits: LIMITS, store, sequences, now });
  /** One finished conversation, as a session makes it: create the card, write its text, close it. */
  const conversation = async (cardId: string) => {
    await governor.acquire({ api: 'cardkit.card.create', priority: 'urgent' });
    for (const api of [CONTENT, SETTINGS]) {
      clock += 1;
      await governor.acquire({ api, cardId });
      await sequences.next(cardId, 0);
      clock += 110; // the card's spacing
    }
  };
  return { governor, store, sequences, conversation };
}

describe('per-card state stays bounded', () => {
  it(`after ${CARDS.toLocaleString('en')} cards whose sessions never call forget: counters for at most 1,000 cards, spacing only for cards inside it, sequences for at most 10,000`, async () => {
    const { governor, store, sequences, conversation } = harness();
    const sizes: number[][] = [];
    for (let i = 0; i < CARDS; i++) {
      await conversation(`card_${i}`);
      if ((i + 1) % 10_000 === 0) {
        const { tracked, cards } = governor.stats();
        sizes.push([tracked.counters, Object.keys(cards).length, tracked.spacing, store.trackedCards, sequences.trackedCards, tracked.windows]);
      }
    }
    for (const [counters, cards, spacing, storeCards, sequenceCards, windows] of sizes) {
      expect(counters).toBeLessThanOrEqual(1000);
      expect(cards).toBe(counters);
      expect(spacing).toBeLessThanOrEqual(2048);
      expect(windows).toBeLessThanOrEqual(2048);
      expect(storeCards).toBeLessThanOrEqual(2048);
      expect(sequenceCards).toBeLessThanOrEqual(10_000);
    }
    // Flat: the bounded maps hold as many cards after 100,000 as after 10,000 (the swept ones vary with when a sweep ran).
    expect([sizes.at(-1)![0], sizes.at(-1)![4]]).toEqual([sizes[0]![0], sizes[0]![4]]);
    // The counters kept are the most recent cards'.
    const { cards } = governor.stats();
    expect(cards[`card_${CARDS - 1}`]).toMatchObject({ writes: 2 });
    expect(cards.card_0).toBeUndefined();
    expect(governor.stats().apis[CONTENT]?.writes).toBe(CARDS);
  }, 60_000);

  it('forget(cardId) drops the card from the counters and the sequence store; a spacing still running is kept until it passes', async () => {
    const { governor, store, sequences } = harness();
    await governor.acquire({ api: CONTENT, cardId: 'card_a' });
    expect(await governor.sequences.next('card_a', 0)).toBe(1);
    expect(await governor.sequences.next('card_a', 0)).toBe(2);
    expect(governor.stats().cards.card_a).toMatchObject({ writes: 1 });

    governor.forget('card_a');
    expect(governor.stats().cards.card_a).toBeUndefined();
    expect(governor.stats().tracked.counters).toBe(0);
    expect(sequences.trackedCards).toBe(0);
    // The card's own session, had it kept writing, passes its last sequence as the floor.
    expect(await governor.sequences.next('card_a', 2)).toBe(3);
    // The clock has not moved: card_a is inside its spacing, which still holds its next write.
    expect(governor.stats().tracked.spacing).toBe(1);
    expect(store.trackedCards).toBe(1);
  });

  it('forget(cardId) after the spacing has passed leaves nothing for the card', async () => {
    let clock = 0;
    const now = () => clock;
    const store = new MemoryBudgetStore(LIMITS, { now });
    const governor = new FairGovernor({ limits: LIMITS, store, now });
    await governor.acquire({ api: CONTENT, cardId: 'card_a' });
    clock += 200;
    governor.forget('card_a');
    expect(governor.stats().tracked).toEqual({ counters: 0, spacing: 0, windows: 0 });
    expect(store.trackedCards).toBe(0);
  });

  it('a card pushed out of the sequence store by 10,000 more recent ones still gets sequences above its floor', async () => {
    const sequences = new MemorySequenceStore({ maxCards: 3 });
    for (let i = 0; i < 5; i++) await sequences.next('card_old', 0);
    for (const id of ['card_1', 'card_2', 'card_3']) await sequences.next(id, 0);
    expect(sequences.trackedCards).toBe(3);
    expect(await sequences.next('card_old', 5)).toBe(6);
  });
});
