/**
 * `FlushEvent.lagMs` (issue 13): how long the platform lacked the text a write carried, from the oldest
 * change it did not have (an append or a setText) to the platform accepting the write. Measured on the
 * emulator with a known latency, against the times the test itself appended.
 */
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, type FlushEvent } from '../../src/session/index.js';
import { clientFor } from '../support/client.js';
import { useEmulator } from '../support/emulator-http.js';
import { sleep, waitFor } from '../support/session.js';

/** Each flush with the time the test saw it. */
function flushes(session: CardSession): { event: FlushEvent; at: number }[] {
  const seen: { event: FlushEvent; at: number }[] = [];
  session.on('flush', (event) => seen.push({ event, at: performance.now() }));
  return seen;
}

describe('FlushEvent.lagMs', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));

  it.each([
    { transport: 'cardkit' as const, endpoint: 'cardkit.cardElement.content' as const },
    { transport: 'message' as const, endpoint: 'im.message.patch' as const },
  ])('$transport: from the oldest append the platform lacked, not from when the write left, nor from an append already written', async ({ transport, endpoint }) => {
    const session = await CardSession.start(clientFor(emulator).client, { to: { chat_id: 'oc_a' }, transport });
    const seen = flushes(session);
    emulator.faults.add({ kind: 'latency', endpoint, latencyMs: 200 });
    // Past the card's spacing after the start's writes: the first write leaves at once.
    await sleep(300);
    const firstAt = performance.now();
    session.append('first ');
    // While the first write is on its way (200 ms), two more deltas: the second write carries both.
    await sleep(80);
    const secondAt = performance.now();
    session.append('second ');
    await sleep(30);
    session.append('third');
    await waitFor(() => seen.length >= 2, 'two writes', 5000);
    const [one, two] = seen;
    expect(one!.event.length).toBe('first '.length);
    expect(two!.event.length).toBe('first second third'.length);
    // The platform lacked 'first ' from its append until the first write landed (200 ms of latency at least).
    expect(one!.event.lagMs).toBeGreaterThanOrEqual(200);
    expect(Math.abs(one!.event.lagMs - (one!.at - firstAt))).toBeLessThan(10);
    // The second write's lag runs from 'second ' (not 'first ', which had landed; not 'third', which is newer).
    expect(Math.abs(two!.event.lagMs - (two!.at - secondAt))).toBeLessThan(10);
    expect(two!.event.lagMs).toBeGreaterThanOrEqual(200 + 90);
    await session.finish();
  });

  it('includes the time a write waited for its turn: a card is written at most 10 times a second', async () => {
    const session = await CardSession.start(clientFor(emulator).client, { to: { chat_id: 'oc_a' } });
    const seen = flushes(session);
    session.append('a');
    await waitFor(() => seen.length === 1, 'the first write');
    // At once after a write: the next one waits for the card's spacing (110 ms from the last write's answer).
    const appendedAt = performance.now();
    session.append('b');
    await waitFor(() => seen.length === 2, 'the second write');
    expect(seen[1]!.event.lagMs).toBeGreaterThanOrEqual(90);
    expect(Math.abs(seen[1]!.event.lagMs - (seen[1]!.at - appendedAt))).toBeLessThan(10);
    await session.finish();
  });

  it('a setText is a change like an append: the time the card was up to date does not count', async () => {
    const session = await CardSession.start(clientFor(emulator).client, {});
    const seen = flushes(session);
    emulator.faults.add({ kind: 'latency', endpoint: 'cardkit.cardElement.content', latencyMs: 100 });
    session.setText('a snapshot');
    await waitFor(() => seen.length === 1, 'the first write');
    await sleep(300);
    const changedAt = performance.now();
    session.setText('a snapshot, longer');
    await waitFor(() => seen.length === 2, 'the second write');
    // Measured from the second snapshot: the 300 ms the card was up to date do not count.
    expect(seen[1]!.event.lagMs).toBeGreaterThanOrEqual(100);
    expect(Math.abs(seen[1]!.event.lagMs - (seen[1]!.at - changedAt))).toBeLessThan(10);
    await session.finish();
  });
});
