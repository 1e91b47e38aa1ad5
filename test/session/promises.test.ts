/**
 * Regression tests for the promises the README makes about a session, each named after the rule it
 * checks, each through the emulator: nothing appended is lost, no card is left streaming, and every
 * call settles.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import type {
  FeishuClient} from '../../src/index.js';
import {
  CardSession,
  SequenceExhaustedError,
  SessionDeadlineError,
  SessionStateError,
  type StreamSource,
} from '../../src/index.js';
import { clientFor } from '../support/client.js';
import { elementText, useEmulator } from '../support/emulator-http.js';
import { FAST_RETRY, INTERRUPTED, cardLog, paced, record, sleep, waitFor } from '../support/session.js';

const CONTENT = 'cardkit.cardElement.content';
const SETTINGS = 'cardkit.card.settings';
const CREATE = 'cardkit.card.create';

/** An async iterable that yields `pieces`, then stays silent (a model in a long tool call) until released. */
function silentAfter(pieces: string[]) {
  const calls = { return: 0 };
  let index = 0;
  let release: (() => void) | undefined;
  const source: AsyncIterable<string> = {
    [Symbol.asyncIterator]: () => ({
      next: () =>
        index < pieces.length
          ? Promise.resolve({ done: false, value: pieces[index++]! })
          : new Promise<IteratorResult<string>>((resolve) => {
              release = () => resolve({ done: true, value: undefined });
            }),
      return: () => {
        calls.return++;
        release?.();
        return Promise.resolve({ done: true, value: undefined });
      },
    }),
  };
  return { source, calls };
}

describe('session promises', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  const newClient = (): FeishuClient => clientFor(emulator).client;

  describe('rate limits are waited out, never counted as failures', () => {
    it('a run of 99991400 answers longer than retry.maxAttempts still lands the exact text', async () => {
      const session = await CardSession.start(newClient(), { retry: { ...FAST_RETRY, maxAttempts: 3 } });
      const events = record(session);
      emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 99991400, count: 10, headers: { 'x-ogw-ratelimit-reset': '0' } });
      session.append('Throttled, ');
      session.append('not failed.');
      const result = await session.finish();
      expect(result.text).toBe('Throttled, not failed.');
      expect(elementText(emulator, session.cardId!)).toBe('Throttled, not failed.');
      expect(emulator.faults.list()).toEqual([]); // all ten were answered
      expect(events.retry.filter((r) => r.api === CONTENT)).toHaveLength(10);
      expect(events.error).toEqual([]);
    });

    it('a session throttled past retry.maxThrottledMs stops with a SessionDeadlineError and the card is closed', async () => {
      const session = await CardSession.start(newClient(), { retry: { ...FAST_RETRY, maxThrottledMs: 300 } });
      emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 99991400, count: 1000, headers: { 'x-ogw-ratelimit-reset': '0' } });
      session.append('Never lands.');
      const error = await session.finish().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionDeadlineError);
      expect((error as SessionDeadlineError).kind).toBe('deadline');
      expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
    });
  });

  it('token rejections in a row are refreshed and retried, not fatal', async () => {
    const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 99991663, count: 4 });
    session.append('Still authorised.');
    const result = await session.finish();
    expect(result.text).toBe('Still authorised.');
    expect(elementText(emulator, session.cardId!)).toBe('Still authorised.');
  });

  describe('pipe() settles after abort while the source is silent, and releases the source', () => {
    it('abort(): the pipe resolves with the aborted result and the iterator is returned', async () => {
      const session = await CardSession.start(newClient());
      const { source, calls } = silentAfter(['Let me call a tool']);
      const piping = session.pipe(source);
      await waitFor(() => session.text === 'Let me call a tool', 'the first piece');
      const aborted = await session.abort(new Error('user pressed stop'));
      const piped = await piping;
      expect(piped).toBe(aborted);
      expect(piped).toMatchObject({ aborted: true, text: `Let me call a tool${INTERRUPTED}` });
      expect((piped.abortReason as Error).message).toBe('user pressed stop');
      expect(calls.return).toBe(1);
      expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
    });

    it("the session's signal: the pipe settles and a ReadableStream source is cancelled", async () => {
      const controller = new AbortController();
      const session = await CardSession.start(newClient(), { signal: controller.signal });
      let cancelled: unknown;
      const source = new ReadableStream<string>({
        start(c) {
          c.enqueue('Thinking');
        },
        cancel(reason) {
          cancelled = reason ?? 'cancelled';
        },
      });
      const piping = session.pipe(source);
      await waitFor(() => session.text === 'Thinking', 'the first chunk');
      controller.abort(new Error('shutdown'));
      const result = await piping;
      expect(result.aborted).toBe(true);
      expect(cancelled).toBeDefined();
      expect(elementText(emulator, session.cardId!)).toBe(`Thinking${INTERRUPTED}`);
    });

    it("a source carrying an AbortController (an openai stream) has its request aborted", async () => {
      const session = await CardSession.start(newClient());
      const { source } = silentAfter(['partial']);
      const stream = Object.assign(source, { controller: new AbortController() });
      const piping = session.pipe(stream);
      await waitFor(() => session.text === 'partial', 'the first piece');
      await session.abort();
      await piping;
      expect(stream.controller.signal.aborted).toBe(true);
    });
  });

  describe('one source at a time; finish() waits for it', () => {
    it('a second pipe() while one runs is refused with a SessionStateError, and the first loses nothing', async () => {
      const session = await CardSession.start(newClient());
      const first = session.pipe(paced(['one ', 'two ', 'three'], 20));
      await expect(session.pipe(paced(['intruder'], 0))).rejects.toBeInstanceOf(SessionStateError);
      const result = await first;
      expect(result.text).toBe('one two three');
      expect(elementText(emulator, session.cardId!)).toBe('one two three');
    });

    it('finish() during pipe() waits for the source to end: every piece lands', async () => {
      const session = await CardSession.start(newClient());
      const piping = session.pipe(paced(['alpha ', 'beta ', 'gamma ', 'delta'], 30), { finish: false });
      await waitFor(() => session.text.length > 0, 'the first piece');
      const finished = await session.finish();
      await piping;
      expect(finished.text).toBe('alpha beta gamma delta');
      expect(elementText(emulator, session.cardId!)).toBe('alpha beta gamma delta');
      expect(() => session.append('late')).toThrow(SessionStateError);
    });

    it('a source failing while finish() waits for it ends the card interrupted, with everything that arrived', async () => {
      const session = await CardSession.start(newClient());
      const piping = session.pipe(paced(['kept ', 'too'], 20, new Error('model crashed')), { finish: false });
      await waitFor(() => session.text.length > 0, 'the first piece');
      const finishing = session.finish();
      await expect(piping).rejects.toThrow('model crashed');
      const result = await finishing;
      expect(result).toMatchObject({ aborted: true, text: `kept too${INTERRUPTED}` });
      expect(elementText(emulator, session.cardId!)).toBe(`kept too${INTERRUPTED}`);
    });
  });

  describe('no orphan card: start() validates first and closes what it created when a later step fails', () => {
    it.each([
      ['a non-boolean in_thread', { reply_to: 'om_x', in_thread: 'yes' }],
      ['in_thread without reply_to', { chat_id: 'oc_x', in_thread: true }],
      ['a blank receive id', { chat_id: '  ' }],
    ])('%s is a TypeError before any card is created', async (_, to) => {
      await expect(CardSession.start(newClient(), { to: to as never })).rejects.toBeInstanceOf(TypeError);
      expect(emulator.cards()).toEqual([]);
    });

    it('an unknown reply_to: start() rejects with the platform error and the card it created is not streaming', async () => {
      const error = await CardSession.start(newClient(), { to: { reply_to: 'om_unknown' } }).catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'api' });
      const cards = emulator.cards();
      expect(cards).toHaveLength(1);
      expect(cards[0]!.streaming_mode).toBe(false);
    });

    it('a lost answer to create: the orphan entity was created with streaming off, the session card ends closed', async () => {
      emulator.faults.add({ kind: 'lose_response', endpoint: CREATE, count: 1 });
      const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
      session.append('after a lost create');
      await session.finish();
      const cards = emulator.cards();
      expect(cards).toHaveLength(2);
      expect(cards.filter((card) => card.streaming_mode)).toEqual([]);
    });

    it('a signal aborted while the card is being sent: start() rejects with its reason and the card is closed', async () => {
      const controller = new AbortController();
      emulator.faults.add({ kind: 'latency', endpoint: 'im.message.create', latencyMs: 300 });
      const starting = CardSession.start(newClient(), { to: { chat_id: 'oc_team' }, signal: controller.signal });
      await waitFor(() => emulator.cards().length === 1, 'the card to be created');
      controller.abort(new Error('user left'));
      await expect(starting).rejects.toThrow('user left');
      expect(emulator.cards()[0]!.streaming_mode).toBe(false);
    });
  });

  it('a scheduled re-open that fails is not the end of streaming: after the window closes, a write re-opens it and the text still streams', async () => {
    const session = await CardSession.start(newClient(), { clock: emulator.clock, retry: FAST_RETRY });
    const events = record(session);
    session.append('Before. ');
    await waitFor(() => events.flush.length === 1, 'the first write');
    // 300122 "failed to update card configuration" is final for that request.
    emulator.faults.add({ kind: 'fail', endpoint: 'cardkit.card.batchUpdate', code: 300122, count: 1 });
    emulator.clock.advance(520_000); // past the re-open margin: the scheduled re-open runs and fails
    await waitFor(() => emulator.faults.list().length === 0, 'the scheduled re-open to fail');
    emulator.clock.advance(90_000); // the platform closes streaming mode
    session.append('After.');
    const result = await session.finish();
    expect(result.text).toBe('Before. After.');
    expect(elementText(emulator, session.cardId!)).toBe('Before. After.');
    expect(events.reopen).toEqual([expect.objectContaining({ reason: 'expired' })]);
    expect(events.flush.at(-1)).toMatchObject({ via: 'content' });
  });

  it('once() listeners fire once, off() removes what on() added, and a listener that throws never breaks a write', async () => {
    const session = await CardSession.start(newClient());
    let once = 0;
    let removed = 0;
    let all = 0;
    const count = () => removed++;
    session.once('flush', () => once++);
    session.on('flush', count);
    session.off('flush', count);
    session.on('flush', () => {
      all++;
      throw new Error('a bug in the caller’s flush listener');
    });
    session.append('one');
    await waitFor(() => all === 1, 'the first write');
    session.append(' two');
    await waitFor(() => all === 2, 'the second write');
    expect({ once, removed }).toEqual({ once: 1, removed: 0 });
    await expect(session.finish()).resolves.toMatchObject({ text: 'one two' });
    expect(elementText(emulator, session.cardId!)).toBe('one two');
  });

  it("setText('') empties the element on the card", async () => {
    const session = await CardSession.start(newClient());
    session.append('draft answer');
    await waitFor(() => elementText(emulator, session.cardId!) === 'draft answer', 'the draft to land');
    session.setText('');
    const result = await session.finish();
    expect(result.text).toBe('');
    expect(elementText(emulator, session.cardId!)).toBe('');
  });

  it('finish() settles only after the close landed: a fatal error rejects once the card is closed', async () => {
    const session = await CardSession.start(newClient());
    emulator.faults.add({ kind: 'latency', endpoint: SETTINGS, latencyMs: 200 });
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 10002, count: 1 });
    session.append('refused');
    const error = await session.finish().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'api', code: 10002 });
    // The close was slowed down by 200 ms; it has landed by the time finish() rejected.
    expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
  });

  it('abort between the two halves of a surrogate pair never writes half a character', async () => {
    const session = await CardSession.start(newClient());
    session.append('smile \uD83D');
    const result = await session.abort();
    expect(result.text).toBe(`smile ${INTERRUPTED}`);
    expect(elementText(emulator, session.cardId!)).toBe(`smile ${INTERRUPTED}`);
    for (const entry of cardLog(emulator, session.cardId!)) expect(entry.code).toBe(0);
  });

  it('finish(null) finishes like finish()', async () => {
    const session = await CardSession.start(newClient());
    session.append('null options');
    await expect(session.finish(null)).resolves.toMatchObject({ text: 'null options' });
  });

  it.each(['', 'not a card', '../7000', 'x'.repeat(65), 42])('attach() refuses the card id %j at the call', (cardId) => {
    expect(() => CardSession.attach(newClient(), { cardId: cardId as string })).toThrow(TypeError);
  });

  it('at the top of the int32 range the last sequence is kept for closing the card', async () => {
    const raw = newClient();
    const { card_id: cardId } = await raw.cardkit.v1.card.create({
      data: { schema: '2.0', config: { streaming_mode: true }, body: { elements: [{ tag: 'markdown', element_id: 'answer', content: '' }] } },
    });
    const session = CardSession.attach(raw, { cardId, sequence: 2_147_483_645 });
    const events = record(session);
    session.append('last ');
    await waitFor(() => events.flush.length === 1, 'the write at 2147483646');
    session.append('words');
    const error = await session.finish().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SequenceExhaustedError);
    const card = emulator.card(cardId)!;
    expect(card.streaming_mode).toBe(false);
    expect(card.sequence).toBe(2_147_483_647);
    expect(elementText(emulator, cardId)).toBe('last ');
  });

  describe('a long-lived signal given to every session (a process-wide shutdown)', () => {
    it('holds one listener however many sessions run at once, and nothing of them once they end', async () => {
      const shutdown = new AbortController();
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on('warning', onWarning);
      try {
        const client = newClient();
        const sessions = await Promise.all(Array.from({ length: 15 }, () => CardSession.start(client, { signal: shutdown.signal })));
        expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
        await Promise.all(sessions.map((session, i) => (session.append(`answer ${i}`), session.finish())));
        await sleep(0);
        expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
        expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1); // ours, shared, holding no session
      } finally {
        process.off('warning', onWarning);
      }
    });

    it('aborting it aborts every session that follows it, each card ends interrupted', async () => {
      const shutdown = new AbortController();
      const client = newClient();
      const sessions = await Promise.all(Array.from({ length: 3 }, () => CardSession.start(client, { signal: shutdown.signal })));
      sessions.forEach((session, i) => session.append(`partial ${i}`));
      const ended = Promise.all(sessions.map((session) => new Promise((resolve) => session.once('finish', resolve))));
      shutdown.abort(new Error('shutting down'));
      await ended;
      for (const [i, session] of sessions.entries()) {
        expect(session.state).toBe('aborted');
        expect(elementText(emulator, session.cardId!)).toBe(`partial ${i}${INTERRUPTED}`);
      }
    });
  });

  it('a pipe() of a source that is not iterable is refused without touching the session', async () => {
    const session = await CardSession.start(newClient());
    await expect(session.pipe(42 as unknown as StreamSource)).rejects.toBeInstanceOf(TypeError);
    session.append('still open');
    await sleep(0);
    await expect(session.finish()).resolves.toMatchObject({ text: 'still open' });
  });
});
