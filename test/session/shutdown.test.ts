/**
 * Shutdown (issue 13): `shutdown({ deadlineMs })` refuses new sessions, lets the running answers finish
 * until the deadline, aborts the rest with the interrupted marker, and resolves once every card is closed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, type FeishuClient, SessionStateError, resumeSessions, shutdown } from '../../src/index.js';
import { clientFor } from '../support/client.js';
import { elementText, useEmulator } from '../support/emulator-http.js';
import { INTERRUPTED, paced } from '../support/session.js';

describe('shutdown()', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  afterEach(() => resumeSessions());

  it('100 sessions mid-stream, a 2 s deadline: the short answers finish exact, the long ones end interrupted, every card closed', async () => {
    const client: FeishuClient = clientFor(emulator).client;
    const sessions = await Promise.all(Array.from({ length: 100 }, (_, i) => CardSession.start(client, { to: { chat_id: `oc_${i}` } })));
    const short = (i: number) => i % 3 === 0;
    const texts = sessions.map((_, i) => (short(i) ? ['Short ', 'answer ', `${i}.`] : Array.from({ length: 400 }, (_, k) => `piece ${k} `)));
    const pipes = sessions.map((session, i) => session.pipe(paced(texts[i]!, short(i) ? 20 : 50)).catch((error: unknown) => error));

    const result = await shutdown({ deadlineMs: 2000, reason: 'deploy' });
    const outcomes = await Promise.all(pipes);
    expect(result.finished + result.aborted).toBe(100);
    expect(result.failed).toBe(0);
    // Every card is closed: the answers that ended by themselves exact, the others cut with the marker.
    let exact = 0;
    for (const [i, session] of sessions.entries()) {
      expect(emulator.card(session.cardId!)!.streaming_mode, `card ${i} closed`).toBe(false);
      const text = elementText(emulator, session.cardId!)!;
      const whole = texts[i]!.join('');
      if (text === whole) {
        exact++;
        continue;
      }
      expect(text.endsWith(INTERRUPTED), `card ${i}: ${text.slice(-40)}`).toBe(true);
      expect(whole.startsWith(text.slice(0, -INTERRUPTED.length))).toBe(true);
      expect(outcomes[i]).toMatchObject({ aborted: true, abortReason: 'deploy' });
    }
    expect(exact).toBe(result.finished);
    // The short answers (34) had the time to end; the long ones (20 s of deltas) did not.
    expect(result.finished).toBeGreaterThanOrEqual(30);
    expect(result.aborted).toBeGreaterThanOrEqual(66);
    expect(emulator.stats().rejected).toEqual({});
  }, 60_000);

  it('refuses new sessions while shutting down (SessionStateError, nothing created); idle sessions are aborted at the deadline', async () => {
    const client = clientFor(emulator).client;
    const idle = await CardSession.start(client, { to: { chat_id: 'oc_idle' } });
    idle.append('half an answer');
    const closing = shutdown({ deadlineMs: 100 });
    const created = emulator.cards().length;
    await expect(CardSession.start(client, { to: { chat_id: 'oc_new' } })).rejects.toThrow(SessionStateError);
    expect(emulator.cards().length).toBe(created);
    expect(await closing).toEqual({ finished: 0, aborted: 1, failed: 0 });
    expect(idle.state).toBe('aborted');
    expect(elementText(emulator, idle.cardId!)).toBe(`half an answer${INTERRUPTED}`);
    await expect(shutdown({ deadlineMs: -1 })).rejects.toThrow(RangeError);
  });

  it('shutdown({ client }) closes that client’s sessions only; the others go on', async () => {
    const first = clientFor(emulator).client;
    const second = clientFor(emulator).client;
    const a = await CardSession.start(first, { to: { chat_id: 'oc_a' } });
    const b = await CardSession.start(second, { to: { chat_id: 'oc_b' } });
    expect(await shutdown({ client: first, deadlineMs: 0 })).toEqual({ finished: 0, aborted: 1, failed: 0 });
    expect(a.state).toBe('aborted');
    expect(b.state).toBe('open');
    await expect(CardSession.start(first, {})).rejects.toThrow(SessionStateError);
    await b.pipe(paced(['still ', 'here'], 0));
    expect(elementText(emulator, b.cardId!)).toBe('still here');
    resumeSessions(first);
  });
});
