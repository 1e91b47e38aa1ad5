/**
 * Adversarial review of crash recovery (issue 13) at scale: 1,000 cards of a crashed replica expire at once.
 * The recovery claims them in batches, closes every one (one batch_update each), and its governor keeps the
 * app's limits: the emulator enforces them (a write past them is refused with 99991400) and the arrival times
 * are checked too. The app here is on a higher level than the default (150 a second, 6,000 a minute per API,
 * the governor told so through `limits`): at Feishu's default 1,000 a minute the governor spreads 1,000 closes
 * over a minute (about 17 a second after the first burst), too long for this file.
 */
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { FairGovernor } from '../../src/governor/index.js';
import { type CardJournal, CardRecovery, type JournalEntry, MemoryJournal, RECOVERED_MARKER_ID, type RecoveredCard } from '../../src/recovery/index.js';
import { clientFor } from '../support/client.js';
import { createCard, elementText, streamingCard, useEmulator } from '../support/emulator-http.js';
import { sleep } from '../support/session.js';

const COUNT = 1000;
const LIMITS = { apiQps: 150, apiQpm: 6000 };

class CountingJournal implements CardJournal {
  readonly inner = new MemoryJournal();
  readonly claims: { limit: number; got: number }[] = [];
  put(entry: JournalEntry, leaseMs: number): Promise<void> {
    return this.inner.put(entry, leaseMs);
  }
  renew(appId: string, cardIds: readonly string[], leaseMs: number): Promise<readonly string[] | void> {
    return this.inner.renew(appId, cardIds, leaseMs);
  }
  remove(appId: string, cardId: string): Promise<void> {
    return this.inner.remove(appId, cardId);
  }
  async claimExpired(appId: string, limit: number) {
    const claimed = await this.inner.claimExpired(appId, limit);
    this.claims.push({ limit, got: claimed.entries.length });
    return claimed;
  }
}

/** The most events of `times` (sorted) in any window of `windowMs`. */
function busiest(times: number[], windowMs: number): number {
  let most = 0;
  for (let start = 0, end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

describe('adversarial: 1,000 expired cards', () => {
  let emulator: Emulator;
  let token: string;
  useEmulator((s) => ({ emulator, token } = s), { limits: LIMITS });

  it('claimed in batches of at most 100, every card closed once with the marker, the app limits kept (nothing refused, no 99991400)', async () => {
    // The cards a crashed replica left: each with some text streamed, each recorded with an expired lease.
    const journal = new CountingJournal();
    const cards: string[] = [];
    const card = (i: number) => streamingCard({ body: { elements: [{ tag: 'markdown', element_id: 'answer', content: `Answer ${i}.` }] } });
    for (let i = 0; i < COUNT; i += 100) {
      cards.push(...(await Promise.all(Array.from({ length: Math.min(100, COUNT - i) }, (_, k) => createCard(emulator, token, card(i + k))))));
      await sleep(1050); // at most 100 in any second: within the emulator's limits
    }
    for (const [i, cardId] of cards.entries()) {
      await journal.put({ appId: 'cli_x', cardId, elementId: 'answer', summary: `Answer ${i}.`, sequence: 1, replica: 'dead' }, 1);
    }
    await sleep(5);
    const crashedAt = emulator.clock.now();
    const recovery = new CardRecovery(clientFor(emulator).client, { journal, leaseMs: 30_000, governor: new FairGovernor({ limits: LIMITS }) });
    const recovered: RecoveredCard[] = [];
    const errors: Error[] = [];
    recovery.on('recovered', (card) => recovered.push(card));
    recovery.on('error', (error) => errors.push(error));
    const started = performance.now();
    try {
      const closed = await recovery.start();
      const tookMs = performance.now() - started;
      expect(closed).toHaveLength(COUNT);
      expect(errors).toEqual([]);
      expect(new Set(recovered.map((card) => card.cardId)).size).toBe(COUNT);
      expect(recovered.every((card) => card.outcome === 'closed' && card.marked)).toBe(true);
      expect(journal.claims.every((claim) => claim.limit <= 100 && claim.got <= claim.limit)).toBe(true);
      expect(journal.claims.length).toBeGreaterThanOrEqual(COUNT / 100);
      const times: number[] = [];
      for (const [i, cardId] of cards.entries()) {
        const card = emulator.card(cardId)!;
        const closes = card.log.filter((entry) => entry.endpoint === 'cardkit.card.batchUpdate' && entry.time >= crashedAt);
        expect(closes.map((entry) => entry.code)).toEqual([0]);
        times.push(closes[0]!.time);
        expect(card.streaming_mode).toBe(false);
        expect(card.summary).toBe(`Answer ${i}.`);
        expect(elementText(emulator, cardId)).toBe(`Answer ${i}.`);
        expect(elementText(emulator, cardId, RECOVERED_MARKER_ID)).toBe('_(interrupted)_');
      }
      times.sort((a, b) => a - b);
      expect(busiest(times, 1000)).toBeLessThanOrEqual(LIMITS.apiQps);
      expect(tookMs).toBeGreaterThan(((COUNT - LIMITS.apiQps) / LIMITS.apiQps) * 1000 - 1000); // paced
      expect(emulator.stats().rejected).toEqual({});
    } finally {
      await recovery.stop();
    }
  }, 55_000);
});
