/**
 * Spill (issue 14) against the emulator: when the content API's budget makes cards wait, their text writes go
 * through element patches, full element updates and batch_update (each with a budget of its own) in order, one write in flight per card,
 * sequences increasing; the cards end exact and the platform refuses nothing. Below the budget every text write
 * goes through the content API (it drives the typewriter).
 */
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, FairGovernor, type FlushEvent } from '../../src/index.js';
import { clientFor } from '../support/client.js';
import { elementText, useEmulator } from '../support/emulator-http.js';
import { paced, sleep } from '../support/session.js';

const LIMITS = { apiQps: 5, apiQpm: 1000, cardQps: 10 };
const TEXT_APIS = ['cardkit.cardElement.content', 'cardkit.cardElement.patch', 'cardkit.cardElement.update', 'cardkit.card.batchUpdate'];

function pieces(i: number, count = 30): string[] {
  return Array.from({ length: count }, (_, k) => `${i}·${k} 卡片 😀 `);
}

async function streamAll(emulator: Emulator, count: number, spill: boolean, gapMs: number, deltas = 30) {
  const { client } = clientFor(emulator);
  const governor = new FairGovernor({ limits: LIMITS, spill });
  const flushes: FlushEvent[] = [];
  const sessions = await Promise.all(Array.from({ length: count }, (_, i) => CardSession.start(client, { governor, to: { chat_id: `oc_${i}` } })));
  const results = await Promise.all(
    sessions.map((session, i) => {
      session.on('flush', (event) => flushes.push(event));
      return session.pipe(paced(pieces(i, deltas), gapMs));
    }),
  );
  return { results, flushes };
}

describe('spill', () => {
  let emulator: Emulator;
  useEmulator((s) => ({ emulator } = s), { limits: LIMITS });

  it('30 answers on a content budget of 5 a second: text writes spill to element patches, element updates and batch_update, every card exact, nothing refused', async () => {
    const { results, flushes } = await streamAll(emulator, 30, true, 60);
    expect(emulator.stats().rejected).toEqual({});
    for (const [i, result] of results.entries()) {
      expect(result.text).toBe(pieces(i).join(''));
      expect(elementText(emulator, result.cardId!)).toBe(pieces(i).join(''));
      const card = emulator.card(result.cardId!)!;
      expect(card.streaming_mode).toBe(false);
      // One write in flight per card, whatever API each took; sequences strictly increase in arrival order.
      expect(card.max_in_flight).toBe(1);
      const sequences = card.log.filter((entry) => entry.code === 0 && entry.sequence !== null).map((entry) => entry.sequence!);
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
      expect(new Set(sequences).size).toBe(sequences.length);
    }
    const via = (kind: FlushEvent['via']) => flushes.filter((event) => event.via === kind).length;
    for (const kind of ['content', 'patch', 'update', 'batch'] as const) expect(via(kind), kind).toBeGreaterThan(0);
    const endpoints = emulator.stats().endpoints;
    for (const api of TEXT_APIS) expect(endpoints[api]?.accepted ?? 0, api).toBeGreaterThan(0);
    // Each element update replaced the answer element with its declaration and the text: still a markdown element.
    expect(endpoints['cardkit.cardElement.update']?.accepted).toBe(via('update'));
  }, 60_000);

  it('spill: false keeps every text write on the content API (and nothing is refused either)', async () => {
    const { flushes } = await streamAll(emulator, 30, false, 60);
    expect(emulator.stats().rejected).toEqual({});
    expect(flushes.filter((event) => event.via !== 'content')).toEqual([]);
  }, 90_000);

  it('an attached card (its declaration unknown) spills through patches and batch_update, never a full element update', async () => {
    const { client } = clientFor(emulator);
    const governor = new FairGovernor({ limits: LIMITS });
    const flushes: FlushEvent[] = [];
    const sessions: CardSession[] = [];
    // Cards created elsewhere (by hand here, inside the emulator's 5 calls a second), then attached.
    for (let i = 0; i < 20; i++) {
      const { card_id: cardId } = await client.cardkit.v1.card.create({
        data: { schema: '2.0', config: { streaming_mode: true }, body: { elements: [{ tag: 'markdown', element_id: 'answer', content: '' }] } },
      });
      const session = CardSession.attach(client, { cardId, governor });
      session.on('flush', (event) => flushes.push(event));
      sessions.push(session);
      await sleep(260);
    }
    const results = await Promise.all(sessions.map((session, i) => session.pipe(paced(pieces(i), 60))));
    expect(emulator.stats().rejected).toEqual({});
    for (const [i, result] of results.entries()) expect(elementText(emulator, result.cardId!)).toBe(pieces(i).join(''));
    expect(flushes.filter((event) => event.via === 'patch' || event.via === 'batch').length).toBeGreaterThan(0);
    expect(flushes.filter((event) => event.via === 'update')).toEqual([]);
    expect(emulator.stats().endpoints['cardkit.cardElement.update']?.accepted ?? 0).toBe(0);
  }, 60_000);

  it('below the budget nothing spills: every text write goes through the content API', async () => {
    // Two answers at a delta every 600 ms: about 3.3 text writes a second, on a budget of 5.
    const { results, flushes } = await streamAll(emulator, 2, true, 600, 15);
    expect(results.every((result, i) => result.text === pieces(i, 15).join(''))).toBe(true);
    expect(flushes.length).toBeGreaterThan(20);
    expect(flushes.filter((event) => event.via !== 'content')).toEqual([]);
  }, 60_000);
});
