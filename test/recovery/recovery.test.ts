/**
 * Cards of a replica that stopped (issue 13), in one process: a `CardRecovery` records its client's open
 * cards in a journal with a lease it renews; another recovery sharing the journal closes the cards whose
 * lease ran out (text as last written, the interrupted marker after it, streaming off, summary set), and
 * never a card whose session closed it. Every card is checked on the emulator.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, type FeishuClient } from '../../src/index.js';
import { CardRecovery, MemoryJournal, type RecoveredCard } from '../../src/recovery/index.js';
import { clientFor } from '../support/client.js';
import { elementText, useEmulator } from '../support/emulator-http.js';
import { sleep, waitFor } from '../support/session.js';

const LEASE = 600;
const recoveries: CardRecovery[] = [];
const sessions: CardSession[] = [];

/** Stops the recoveries and ends the sessions a test left open (before the emulator closes). */
async function cleanUp(): Promise<void> {
  await Promise.all(recoveries.splice(0).map((recovery) => recovery.stop()));
  await Promise.all(sessions.splice(0).map((session) => session.abort().catch(() => undefined)));
}

function recoveryOf(client: FeishuClient, journal: MemoryJournal, options: { leaseMs?: number; marker?: string } = {}): CardRecovery {
  const recovery = new CardRecovery(client, { journal, leaseMs: options.leaseMs ?? LEASE, ...(options.marker === undefined ? {} : { marker: options.marker }) });
  recoveries.push(recovery);
  return recovery;
}

/** The element ids of a card's body, in order (top level). */
function outline(emulator: Emulator, cardId: string): string[] {
  const body = emulator.card(cardId)!.card.body as { elements: { element_id?: string }[] };
  return body.elements.map((element) => element.element_id ?? '?');
}

async function started(client: FeishuClient, count: number, text: (i: number) => string): Promise<CardSession[]> {
  const opened = await Promise.all(Array.from({ length: count }, (_, i) => CardSession.start(client, { to: { chat_id: `oc_${i}` } })));
  sessions.push(...opened);
  opened.forEach((session, i) => session.append(text(i)));
  return opened;
}

describe('CardRecovery with the in-process journal', () => {
  let emulator: Emulator;
  useEmulator((s) => ({ emulator } = s));
  afterEach(cleanUp);

  it('records each open card with a lease, renews it, and removes it once the session closed the card', async () => {
    const journal = new MemoryJournal();
    const { client } = clientFor(emulator);
    const recovery = recoveryOf(client, journal);
    expect(await recovery.start()).toEqual([]);
    const [one, two] = await started(client, 2, (i) => `answer ${i} `.repeat(20));
    await waitFor(() => journal.entries().length === 2, 'two cards recorded');
    expect(journal.entries().map((entry) => entry.cardId).sort()).toEqual([one!.cardId, two!.cardId].sort());
    expect(journal.entries()[0]).toMatchObject({ appId: 'cli_x', elementId: 'answer', replica: recovery.replica });
    // Renewed: still recorded (and not claimable) long after the first lease would have run out.
    await sleep(LEASE * 2);
    expect((await journal.claimExpired('cli_x', 10)).entries).toEqual([]);
    expect(journal.entries()[0]!.summary).toMatch(/^answer \d answer/);
    await one!.finish();
    await waitFor(() => journal.entries().length === 1, 'the finished card removed');
    expect(journal.entries()[0]!.cardId).toBe(two!.cardId);
  });

  it('a replica that stops renewing: another closes its cards once the lease ran out, text as last written, marker, streaming off, summary', async () => {
    const journal = new MemoryJournal();
    const crashed = clientFor(emulator).client;
    const survivor = clientFor(emulator).client;
    const before = recoveryOf(crashed, journal);
    await before.start();
    const opened = await started(crashed, 5, (i) => `Answer ${i}, streamed before the crash.`);
    await waitFor(() => opened.every((s) => elementText(emulator, s.cardId!)?.endsWith('crash.')) && journal.entries().length === 5, 'texts landed');
    const written = opened.map((s) => elementText(emulator, s.cardId!));
    // The replica "crashes": it neither renews nor writes any more (its sessions are left as they are).
    await before.stop();
    const after = recoveryOf(survivor, journal);
    const recovered: RecoveredCard[] = [];
    after.on('recovered', (card) => recovered.push(card));
    const stoppedAt = performance.now();
    expect(await after.start()).toEqual([]); // the leases have not run out yet
    await waitFor(() => recovered.length === 5, 'five cards recovered', LEASE * 4);
    const tookMs = performance.now() - stoppedAt;
    expect(tookMs).toBeLessThan(LEASE + 500);
    for (const [i, session] of opened.entries()) {
      const card = emulator.card(session.cardId!)!;
      expect(card.streaming_mode, `card ${i}`).toBe(false);
      expect(card.summary).toBe(`Answer ${i}, streamed before the crash.`);
      expect(elementText(emulator, session.cardId!)).toBe(written[i]);
      expect(outline(emulator, session.cardId!)).toEqual(['answer', 'recovered_marker']);
      expect(elementText(emulator, session.cardId!, 'recovered_marker')).toBe('_(interrupted)_');
    }
    expect(recovered.every((card) => card.outcome === 'closed' && card.marked && card.replica === before.replica)).toBe(true);
    expect(journal.entries()).toEqual([]);
    expect(emulator.stats().rejected).toEqual({});
  });

  it('the marker goes after the element holding the end of the answer (past 4 tables), and a card without text gets the marker as summary', async () => {
    const journal = new MemoryJournal();
    const crashed = clientFor(emulator).client;
    const before = recoveryOf(crashed, journal);
    await before.start();
    const table = (n: number) => `\n\n| table | ${n} |\n|---|---|\n| cell | ${n} |\n`;
    const [tables, empty] = await Promise.all([CardSession.start(crashed, { to: { chat_id: 'oc_t' } }), CardSession.start(crashed, { to: { chat_id: 'oc_e' } })]);
    sessions.push(tables, empty);
    tables.append(Array.from({ length: 6 }, (_, n) => `Part ${n}.${table(n)}`).join(''));
    await waitFor(() => journal.entries().some((entry) => entry.cardId === tables.cardId && entry.elementId !== 'answer'), 'the continuation element recorded');
    await sleep(300); // the continuation's text lands
    await before.stop();
    const after = recoveryOf(clientFor(emulator).client, journal);
    await after.start();
    await waitFor(() => !emulator.card(tables.cardId!)!.streaming_mode && !emulator.card(empty.cardId!)!.streaming_mode, 'both closed', LEASE * 4);
    const ids = outline(emulator, tables.cardId!);
    expect(ids.at(-1)).toBe('recovered_marker');
    expect(ids.length).toBe(3); // answer, its continuation, the marker
    expect(emulator.card(empty.cardId!)!.summary).toBe('(interrupted)');
    expect(emulator.stats().rejected).toEqual({});
  });

  it('a card whose session ended is never touched; a card that is gone (past 14 days) is reported gone', async () => {
    const journal = new MemoryJournal();
    const crashed = clientFor(emulator).client;
    const before = recoveryOf(crashed, journal);
    await before.start();
    const [finished, gone, plain] = await started(crashed, 3, (i) => `text ${i}`);
    await waitFor(() => journal.entries().length === 3, 'recorded');
    await finished!.finish(); // removed from the journal before the replica stops
    await waitFor(() => journal.entries().length === 2, 'removed');
    await before.stop();
    emulator.clock.advance(15 * 24 * 3600 * 1000); // every card of the emulator expires: 14 days
    const after = recoveryOf(clientFor(emulator).client, journal);
    const recovered: RecoveredCard[] = [];
    after.on('recovered', (card) => recovered.push(card));
    await after.start();
    await waitFor(() => recovered.length === 2, 'two reported', LEASE * 4);
    expect(recovered.map((card) => card.outcome)).toEqual(['gone', 'gone']);
    expect(recovered.map((card) => card.cardId).sort()).toEqual([gone!.cardId, plain!.cardId].sort());
  });
});
