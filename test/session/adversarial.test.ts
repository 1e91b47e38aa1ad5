/**
 * Adversarial review of the session core: each test states a rule the README (or the reference) makes,
 * sets up the emulator so the rule is at stake, and checks what the emulator recorded.
 */
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, type FeishuClient, SessionDeadlineError } from '../../src/index.js';
import { clientFor } from '../support/client.js';
import { elementText, useEmulator } from '../support/emulator-http.js';
import { FAST_RETRY, cardLog, record, sleep, waitFor } from '../support/session.js';

const CONTENT = 'cardkit.cardElement.content';
const REOPEN = 'cardkit.card.batchUpdate';

describe('adversarial', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  const newClient = (): FeishuClient => clientFor(emulator).client;

  it('Text can be emptied: setText("") while a content write waits to be retried empties the element, it does not send content ""', async () => {
    const session = await CardSession.start(newClient(), { retry: { ...FAST_RETRY, baseDelayMs: 200 } });
    const events = record(session);
    session.append('hello');
    await waitFor(() => events.flush.length === 1, 'the first write');
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 300120, count: 1 });
    // The user empties the element while the next write is between attempts.
    let emptied = false;
    session.once('retry', () => {
      session.setText('');
      emptied = true;
    });
    session.append(' world');
    await waitFor(() => emptied, 'the retry of the second write');
    await sleep(500); // the retry has gone out (backoff 100..200 ms)

    const result = await session.finish();

    expect(events.error).toEqual([]);
    expect(result.text).toBe('');
    expect(elementText(emulator, session.cardId!)).toBe('');
    expect(cardLog(emulator, session.cardId!).map((e) => e.code)).not.toContain(10002);
  });

  it('retry.maxThrottledMs bounds how long a write keeps getting rate-limit answers, not the transient retries before the first one', async () => {
    const session = await CardSession.start(newClient(), { retry: { baseDelayMs: 300, maxDelayMs: 2000, maxThrottledMs: 400 } });
    const events = record(session);
    // Three transient failures (backoffs of at least 150 + 300 + 600 ms), then a single rate-limit answer
    // that says "come back now".
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 300120, count: 3 });
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 99991400, count: 1, headers: { 'x-ogw-ratelimit-reset': '0' } });
    session.append('answer');

    const outcome = await session.finish().then(
      (result) => result,
      (error: unknown) => error,
    );

    expect(outcome).not.toBeInstanceOf(SessionDeadlineError);
    expect(events.error).toEqual([]);
    expect(elementText(emulator, session.cardId!)).toBe('answer');
  });

  it('retry.maxThrottledMs is kept: a rate-limit answer asking for a wait past it ends the session then, not after the wait', async () => {
    const session = await CardSession.start(newClient(), { retry: { ...FAST_RETRY, maxThrottledMs: 300 } });
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 99991400, count: 2, headers: { 'x-ogw-ratelimit-reset': '3' } });
    session.append('answer');
    const started = performance.now();

    const error = await session.finish().then(
      () => new Error('expected the session to fail'),
      (reason: unknown) => reason,
    );
    const elapsed = performance.now() - started;

    expect(error).toBeInstanceOf(SessionDeadlineError);
    // The deadline is 300 ms; the session waited the full 3 s the platform asked for before giving up.
    expect(elapsed).toBeLessThan(1500);
    expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
  });

  it('No card is left streaming after a fatal error, even when an error listener throws', async () => {
    const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
    session.on('error', () => {
      throw new Error('a bug in the caller’s error listener');
    });
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 10002, count: 1 });
    session.append('text');

    await session.finish().catch(() => undefined);
    await sleep(200);

    expect(session.state).toBe('failed');
    expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
  });

  it('the streaming window is measured from the first attempt of a re-open, so a re-open whose answer was lost still re-opens before the platform closes', async () => {
    const session = await CardSession.start(newClient(), { clock: emulator.clock, retry: FAST_RETRY });
    const events = record(session);
    session.append('Before the tool call. ');
    await waitFor(() => events.flush.length === 1, 'the first write');

    // The scheduled re-open applies but its answer is lost; the repeat goes out two minutes later
    // (request timeouts and backoffs), and finds it applied (200770).
    emulator.faults.add({ kind: 'lose_response', endpoint: REOPEN, count: 1 });
    session.on('retry', (event) => {
      if (event.api === REOPEN) emulator.clock.advance(120_000);
    });
    emulator.clock.advance(520_000); // the re-open is due 90 s before the 10-minute window closes
    await waitFor(() => events.reopen.length === 1, 'the scheduled re-open');
    const reopenedAt = emulator.clock.now() - 120_000; // when the platform re-opened streaming

    // A long tool call: 9 minutes 50 s after the platform re-opened streaming, still 10 s before it closes.
    emulator.clock.advance(reopenedAt + 590_000 - emulator.clock.now());
    await sleep(300);
    emulator.clock.advance(15_000); // past the platform's window
    await sleep(300);
    session.append('After it.');
    await session.finish();

    const log = cardLog(emulator, session.cardId!);
    expect(elementText(emulator, session.cardId!)).toBe('Before the tool call. After it.');
    expect(log.map((e) => e.code)).not.toContain(200850);
    expect(events.reopen.every((r) => r.reason === 'scheduled')).toBe(true);
  });
});
