/**
 * `CardSession` when the platform misbehaves, against the emulator over loopback: the streaming
 * window (scheduled and reactive re-opens, re-open impossible), lost and dropped requests, timeouts,
 * sequence conflicts, interaction locks, 5xx, rate limits, fatal codes, aborts at random points, the
 * per-card budget and non-idempotent replays. Each test checks the card as the emulator recorded it.
 */
import { describe, expect, it } from 'vitest';
import { FeishuApiError, FeishuClient, FeishuNetworkError, FeishuTimeoutError } from '../../src/client/index.js';
import type { Emulator, WriteLogEntry } from '../../src/emulator/index.js';
import { CardSession, type SessionResult, SessionStateError } from '../../src/session/index.js';
import { clientFor } from '../support/client.js';
import { elementText, patchSettings, useEmulator } from '../support/emulator-http.js';
import { FAST_RETRY, INTERRUPTED, cardLog, paced, record, seeded, sleep, waitFor } from '../support/session.js';

const CONTENT = 'cardkit.cardElement.content';
const PATCH = 'cardkit.cardElement.patch';
const SETTINGS = 'cardkit.card.settings';
/** Streaming mode is opened and re-opened through batch_update's partial_update_setting; closed through settings. */
const REOPEN = 'cardkit.card.batchUpdate';
const WINDOW_MS = 600_000;

/** A card with the answer and a second markdown element to patch. */
const CARD_WITH_NOTE = {
  schema: '2.0',
  config: { update_multi: true },
  body: {
    elements: [
      { tag: 'markdown', element_id: 'answer', content: '' },
      { tag: 'markdown', element_id: 'note', content: 'no sources yet' },
    ],
  },
};

function codes(log: WriteLogEntry[], endpoint?: string): number[] {
  return log.filter((e) => endpoint === undefined || e.endpoint === endpoint).map((e) => e.code);
}

/** Every attempt that reached the card carried a sequence higher than the attempt before: none reused. */
function expectSequencesStrictlyIncreasing(log: WriteLogEntry[]): void {
  const sequences = log.map((e) => e.sequence ?? Number.NaN);
  for (let i = 1; i < sequences.length; i++) expect(sequences[i]).toBeGreaterThan(sequences[i - 1]!);
}

/** Awaits a promise expected to reject, and returns the reason. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => new Error(`expected a rejection, got ${JSON.stringify(value)}`),
    (reason: unknown) => reason,
  );
}

function pieces(count: number, word = 'word'): string[] {
  return Array.from({ length: count }, (_, i) => `${word}${i} `);
}

describe('CardSession recovery', () => {
  describe('streaming window on a clock running 60x (10 minutes = 10 s)', () => {
    let emulator: Emulator;
    useEmulator((started) => ({ emulator } = started), { clockSpeed: 60 });

    it('re-opens streaming mode on schedule before the platform closes it, mid-stream, and the final text is exact', { timeout: 40_000 }, async () => {
      const session = await CardSession.start(clientFor(emulator).client, {
        to: { chat_id: 'oc_team' },
        clock: emulator.clock,
        retry: FAST_RETRY,
      });
      const events = record(session);
      const createdAt = emulator.card(session.cardId!)!.created_at;
      // 30 pieces, 400 ms apart: 12 s real, 12 minutes on the card's clock.
      const text = pieces(30);
      const result = await session.pipe(paced(text, 400));

      const log = cardLog(emulator, session.cardId!);
      expect(elementText(emulator, session.cardId!)).toBe(text.join(''));
      expect(result.text).toBe(text.join(''));
      expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
      expect(events.reopen.length).toBeGreaterThanOrEqual(1);
      expect(events.reopen.every((r) => r.reason === 'scheduled')).toBe(true);
      const reopenIndex = log.findIndex((e) => e.endpoint === REOPEN && e.code === 0 && e.sequence === events.reopen[0]!.sequence);
      expect(reopenIndex).toBeGreaterThan(0);
      // The stream really crossed the first window, and streaming mode never timed out.
      expect(log[reopenIndex]!.time).toBeLessThan(createdAt + WINDOW_MS);
      expect(log.some((e) => e.endpoint === CONTENT && e.code === 0 && e.time > createdAt + WINDOW_MS)).toBe(true);
      expect(codes(log)).not.toContain(200850);
      expect(codes(log)).not.toContain(300309);
      expect(result.reopens).toBe(events.reopen.length);
    });
  });

  describe('on the platform clock', () => {
    let emulator: Emulator;
    let token: string;
    useEmulator((started) => ({ emulator, token } = started));
    const newClient = (): FeishuClient => clientFor(emulator).client;

    describe('streaming window', () => {
      it('re-opens streaming mode while idle (no text for longer than the window), so later text lands without 200850', async () => {
        const session = await CardSession.start(newClient(), { clock: emulator.clock, retry: FAST_RETRY });
        const events = record(session);
        session.append('Let me call the weather tool. ');
        await waitFor(() => events.flush.length === 1, 'the first write');
        // A tool call of 12 minutes, in steps the session's watchdog (which looks at least every second) can follow.
        emulator.clock.advance(400_000);
        await sleep(1200);
        expect(events.reopen).toEqual([]);
        emulator.clock.advance(130_000);
        await waitFor(() => events.reopen.length === 1, 'a scheduled re-open', 5000);
        emulator.clock.advance(190_000);
        expect(emulator.card(session.cardId!)?.streaming_mode).toBe(true);
        session.append('It is sunny.');
        await session.finish();

        const log = cardLog(emulator, session.cardId!);
        expect(elementText(emulator, session.cardId!)).toBe('Let me call the weather tool. It is sunny.');
        expect(events.reopen).toEqual([{ reason: 'scheduled', sequence: expect.any(Number) as number }]);
        expect(codes(log)).not.toContain(200850);
        expect(codes(log)).not.toContain(300309);
        expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
      });

      it('after 200850 re-opens streaming mode and resends the full text with a new sequence', async () => {
        // The session's clock is Date.now: it cannot know the platform's clock jumped 10 minutes.
        const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
        const events = record(session);
        session.append('Before the gap. ');
        await waitFor(() => events.flush.length === 1, 'the first write');
        emulator.clock.advance(WINDOW_MS);
        session.append('After the gap.');
        const result = await session.finish();

        const log = cardLog(emulator, session.cardId!);
        const expired = log.findIndex((e) => e.code === 200850);
        expect(expired).toBeGreaterThan(0);
        expect(log[expired + 1]).toMatchObject({ endpoint: REOPEN, code: 0 });
        expect(log[expired + 2]).toMatchObject({ endpoint: CONTENT, code: 0 });
        expect(log[expired + 2]!.sequence).toBeGreaterThan(log[expired + 1]!.sequence!);
        expect(log[expired + 1]!.sequence).toBeGreaterThan(log[expired]!.sequence!);
        expect(events.reopen).toEqual([{ reason: 'expired', sequence: log[expired + 1]!.sequence }]);
        // The resend carries the whole text, not the part that failed.
        const resend = events.flush.find((f) => f.sequence === log[expired + 2]!.sequence);
        expect(resend).toMatchObject({ via: 'content', length: 'Before the gap. After the gap.'.length });
        expect(codes(log)).not.toContain(300309);
        expect(elementText(emulator, session.cardId!)).toBe('Before the gap. After the gap.');
        expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
        expect(result.reopens).toBe(1);
      });

      it('after 300309 (streaming closed by someone else) re-opens and resends the full text', async () => {
        const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
        const events = record(session);
        session.append('First half, ');
        await waitFor(() => events.flush.length === 1, 'the first write');
        const closed = await patchSettings(emulator, token, session.cardId!, session.sequence + 1, { config: { streaming_mode: false } });
        expect(closed.body.code).toBe(0);
        session.append('second half.');
        await session.finish();

        const log = cardLog(emulator, session.cardId!);
        expect(codes(log, CONTENT)).toContain(300309);
        expect(events.reopen.map((r) => r.reason)).toEqual(['expired']);
        expect(codes(log, CONTENT).filter((c) => c === 300309)).toHaveLength(1);
        expect(elementText(emulator, session.cardId!)).toBe('First half, second half.');
        expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
      });

      it('when streaming cannot be re-opened, the final text lands through an element patch, with no blind retry loop', async () => {
        const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
        const events = record(session);
        session.append('Before');
        await waitFor(() => events.flush.length === 1, 'the first write');
        emulator.clock.advance(WINDOW_MS);
        emulator.faults.add({ kind: 'fail', endpoint: SETTINGS, code: 300122, count: 5 });
        emulator.faults.add({ kind: 'fail', endpoint: REOPEN, code: 300122, count: 5 });
        session.append(' and after the window.');
        // Closing through settings fails too, so the card is ended by a full update with streaming off.
        const result = await session.finish();
        expect(result.text).toBe('Before and after the window.');

        const log = cardLog(emulator, session.cardId!);
        expect(elementText(emulator, session.cardId!)).toBe('Before and after the window.');
        expect(events.flush.at(-1)).toMatchObject({ via: 'patch', length: 'Before and after the window.'.length });
        expect(log.filter((e) => e.endpoint === PATCH && e.code === 0)).toHaveLength(1);
        // One 200850, no 300309 storm, and settings tried a bounded number of times: the fault (5) was never used up.
        expect(codes(log, CONTENT)).toEqual([0, 200850]);
        const settings = emulator.stats().endpoints[SETTINGS]!;
        expect(settings.accepted).toBe(0);
        expect(settings.rejected).toBeLessThan(5);
        expect(emulator.faults.list()[1]?.remaining).toBeGreaterThan(0);
        expect(emulator.faults.list()[0]?.remaining).toBeGreaterThan(0);
        expect(log.filter((e) => e.endpoint === 'cardkit.card.update' && e.code === 0)).toHaveLength(1);
        expect(emulator.card(session.cardId!)).toMatchObject({ streaming_mode: false, summary: 'Before and after the window.' });
      });
    });

    describe('transient failures', () => {
      it.each([
        { kind: 'lose_response' as const, what: 'lost responses (the write applied, the answer never came)' },
        { kind: 'drop' as const, what: 'dropped connections (the write never applied)' },
      ])('$what are retried with new sequences; the text is exact', async ({ kind }) => {
        const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
        const events = record(session);
        emulator.faults.add({ kind, endpoint: CONTENT, count: 3 });
        const text = pieces(12);
        const result = await session.pipe(paced(text, 20));

        const log = cardLog(emulator, session.cardId!);
        expect(elementText(emulator, session.cardId!)).toBe(text.join(''));
        expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
        expect(result.retries).toBe(events.retry.length);
        expect(events.retry.filter((r) => r.api === CONTENT)).toHaveLength(3);
        expect(events.retry.every((r) => r.error instanceof FeishuNetworkError)).toBe(true);
        expect(codes(log)).not.toContain(300317);
        expectSequencesStrictlyIncreasing(log);
        expect(emulator.card(session.cardId!)?.max_in_flight).toBe(1);
      });

      it('a write that times out is retried and the text is exact', async () => {
        const client = new FeishuClient({
          appId: 'cli_x',
          appSecret: 's_x',
          domain: emulator.url,
          timeoutMs: 250,
          now: () => emulator.clock.now(),
        });
        const session = await CardSession.start(client, { retry: FAST_RETRY });
        const events = record(session);
        emulator.faults.add({ kind: 'latency', endpoint: CONTENT, latencyMs: 600, count: 1 });
        session.append('Slow ');
        session.append('server.');
        await session.finish();
        await sleep(500);

        expect(events.retry.some((r) => r.error instanceof FeishuTimeoutError)).toBe(true);
        expect(elementText(emulator, session.cardId!)).toBe('Slow server.');
        expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
      });

      it.each([
        { code: 1500, httpStatus: 500 },
        { code: 2200, httpStatus: 500 },
        { code: 300120, httpStatus: 400 },
      ])('a burst of $code (HTTP $httpStatus) on content is retried; the text is exact', async ({ code, httpStatus }) => {
        const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
        const events = record(session);
        emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code, httpStatus, count: 3 });
        const text = pieces(8);
        const result = await session.pipe(paced(text, 10));

        expect(emulator.stats().rejected[String(code)]).toBe(3);
        expect(events.retry.filter((r) => r.error instanceof FeishuApiError && r.error.code === code)).toHaveLength(3);
        expect(result.retries).toBe(3);
        expect(events.error).toEqual([]);
        expect(elementText(emulator, session.cardId!)).toBe(text.join(''));
        expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
      });

      it('a 5xx on the closing settings call is retried: the card still closes', async () => {
        const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
        emulator.faults.add({ kind: 'fail', endpoint: SETTINGS, code: 1500, httpStatus: 500, count: 2 });
        session.append('Done.');
        const result = await session.finish();
        expect(result.retries).toBe(2);
        expect(emulator.card(session.cardId!)).toMatchObject({ streaming_mode: false, summary: 'Done.' });
      });

      it('200810 (card in a callback interaction) is retried until the lock ends; the text is exact', async () => {
        // Default backoff (200 ms doubling): the 1.5 s lock ends well within the 8 attempts.
        const session = await CardSession.start(newClient());
        const events = record(session);
        session.append('Before the click. ');
        await waitFor(() => events.flush.length === 1, 'the first write');
        expect(emulator.lockCard(session.cardId!, 1500)).toBe(true);
        session.append('After the click.');
        await session.finish();

        const log = cardLog(emulator, session.cardId!);
        expect(codes(log)).toContain(200810);
        const lastLocked = log.findLastIndex((e) => e.code === 200810);
        expect(log.slice(lastLocked + 1).every((e) => e.code === 0)).toBe(true);
        expect(events.error).toEqual([]);
        expect(elementText(emulator, session.cardId!)).toBe('Before the click. After the click.');
        expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
      });

      it('a rate limit (99991400) waits for the x-ogw-ratelimit-reset the platform names, then lands the text', async () => {
        const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
        const events = record(session);
        const limitedAt: number[] = [];
        session.on('retry', () => limitedAt.push(emulator.clock.now()));
        emulator.faults.add({
          kind: 'fail',
          code: 99991400,
          headers: { 'x-ogw-ratelimit-reset': '1' },
          endpoint: CONTENT,
          count: 1,
        });
        session.append('Throttled text.');
        await session.finish();

        expect(events.retry).toHaveLength(1);
        expect(events.retry[0]).toMatchObject({ api: CONTENT, delayMs: 1000 });
        expect((events.retry[0]!.error as FeishuApiError).code).toBe(99991400);
        const next = cardLog(emulator, session.cardId!).find((e) => e.endpoint === CONTENT)!;
        expect(next.time - limitedAt[0]!).toBeGreaterThanOrEqual(950);
        expect(elementText(emulator, session.cardId!)).toBe('Throttled text.');
        expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
      });
    });

    describe('sequence', () => {
      it('after 300317 (another writer moved the sequence on) moves past the server\'s sequence and finishes exact', async () => {
        const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
        const events = record(session);
        const text = pieces(16);
        const piped = session.pipe(paced(text, 40));
        await waitFor(() => events.flush.length >= 2, 'two writes');
        const outOfBand = await patchSettings(emulator, token, session.cardId!, 5000, { config: { streaming_mode: true } });
        expect(outOfBand.body.code).toBe(0);
        const result = await piped;

        const log = cardLog(emulator, session.cardId!);
        expect(codes(log)).toContain(300317);
        expect(result.sequence).toBeGreaterThan(5000);
        expect(result.sequence).toBe(emulator.card(session.cardId!)?.sequence);
        expect(events.error).toEqual([]);
        expect(elementText(emulator, session.cardId!)).toBe(text.join(''));
        expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
      });
    });

    describe('fatal errors', () => {
      async function expectFatal(session: CardSession, events: ReturnType<typeof record>, code: number): Promise<void> {
        const error = await rejection(session.finish());
        expect(error).toBeInstanceOf(FeishuApiError);
        expect((error as FeishuApiError).code).toBe(code);
        await sleep(300);
        expect(events.error).toHaveLength(1);
        expect((events.error[0] as FeishuApiError).code).toBe(code);
        expect(events.finish).toEqual([]);
        expect(session.state).toBe('failed');
        expect(() => session.append('more')).toThrow(SessionStateError);
        await expect(session.finish()).rejects.toBeInstanceOf(FeishuApiError);
      }

      it('200740 (card gone) stops the session: finish() rejects with it, `error` fires once, nothing more is written', async () => {
        const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
        const events = record(session);
        emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 200740, count: 1 });
        session.append('Never lands');
        await expectFatal(session, events, 200740);
        expect(cardLog(emulator, session.cardId!)).toEqual([]);
      });

      it('200750 (card older than 14 days) stops the session: finish() rejects with it, `error` fires once', async () => {
        const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
        const events = record(session);
        emulator.clock.advance(14 * 24 * 60 * 60_000 + 60_000);
        session.append('Too late');
        await expectFatal(session, events, 200750);
        expect(codes(cardLog(emulator, session.cardId!))).not.toContain(0);
      });

      it('300311 (a card of another app) stops the session: finish() rejects with it, `error` fires once', async () => {
        const owner = newClient();
        const { card_id: cardId } = await owner.cardkit.v1.card.create({
          data: { schema: '2.0', config: { streaming_mode: true }, body: { elements: [{ tag: 'markdown', element_id: 'answer', content: '' }] } },
        });
        emulator.registerApp({ appId: 'cli_other', appSecret: 's_other' });
        const stranger = clientFor(emulator, { appId: 'cli_other', appSecret: 's_other' }).client;
        const session = CardSession.attach(stranger, { cardId, retry: FAST_RETRY });
        const events = record(session);
        session.append('Not mine');
        await expectFatal(session, events, 300311);
        expect(elementText(emulator, cardId)).toBe('');
        expect(codes(cardLog(emulator, cardId))).not.toContain(0);
      });

      it('10002 stops the session: finish() rejects with it, `error` fires once, and the card is not left streaming', async () => {
        const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
        const events = record(session);
        emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 10002, count: 1 });
        session.append('Bad request');
        await expectFatal(session, events, 10002);
        expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
        expect(emulator.stats().endpoints[CONTENT]).toEqual({ accepted: 0, rejected: 1 });
      });

      it('a fatal error mid-stream: pipe() rejects with it and the card is not left streaming', async () => {
        const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
        const events = record(session);
        const text = pieces(20);
        const piped = session.pipe(paced(text, 20));
        await waitFor(() => events.flush.length >= 1, 'the first write');
        emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 10002, count: 50 });
        const error = await rejection(piped);
        expect((error as FeishuApiError).code).toBe(10002);
        await waitFor(() => emulator.card(session.cardId!)?.streaming_mode === false, 'the card to be closed', 3000);
        expect(events.error).toHaveLength(1);
        expect(session.state).toBe('failed');
      });
    });

    describe('abort at random points', () => {
      it.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: the card ends closed with the appended prefix and the interrupted marker', async (seed) => {
        const random = seeded(seed);
        emulator.faults.add({ kind: 'latency', endpoint: '*', latencyMs: 0, latencyMaxMs: 40 });
        const controller = new AbortController();
        const viaSignal = random() < 0.5;
        const session = await CardSession.start(newClient(), { retry: FAST_RETRY, signal: controller.signal });
        const events = record(session);
        const deltas = Array.from({ length: 6 + Math.floor(random() * 14) }, (_, i) => `d${i}${'é😀'.repeat(i % 3)} `);
        const abortAfter = Math.floor(random() * (deltas.length + 1));
        for (let i = 0; i < abortAfter; i++) {
          session.append(deltas[i]!);
          await sleep(Math.floor(random() * 30));
        }
        await sleep(Math.floor(random() * 120));
        let result: SessionResult;
        if (viaSignal) {
          controller.abort(new Error('stop'));
          await waitFor(() => events.finish.length === 1, 'the aborted session to finish');
          result = events.finish[0]!;
        } else {
          result = await session.abort(new Error('stop'));
        }
        const expected = `${deltas.slice(0, abortAfter).join('')}${INTERRUPTED}`;
        expect(result).toMatchObject({ aborted: true, text: expected });
        expect(elementText(emulator, session.cardId!)).toBe(expected);
        expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
        expect(emulator.card(session.cardId!)?.max_in_flight).toBe(1);
        expect(events.error).toEqual([]);
      });
    });

    describe('per-card budget', () => {
      it('at most one write in flight and never more than 10 writes per second on the card; deltas coalesce', async () => {
        emulator.faults.add({ kind: 'latency', endpoint: '*', latencyMs: 5, latencyMaxMs: 40 });
        const session = await CardSession.start(newClient(), { card: CARD_WITH_NOTE, retry: FAST_RETRY });
        const events = record(session);
        const deltas = pieces(150, 't');
        const patches: Promise<void>[] = [];
        for (let i = 0; i < deltas.length; i++) {
          session.append(deltas[i]!);
          if (i === 50 || i === 100) patches.push(session.patchElement('note', { content: `Sources: ${i}` }));
          await sleep(10);
        }
        await Promise.all(patches);
        await session.finish();

        const log = cardLog(emulator, session.cardId!);
        const accepted = log.filter((e) => e.code === 0);
        for (const entry of accepted) {
          const inWindow = accepted.filter((e) => e.time >= entry.time && e.time < entry.time + 1000);
          expect(inWindow.length).toBeLessThanOrEqual(10);
        }
        expect(codes(log)).not.toContain(230020);
        expect(codes(log)).not.toContain(300317);
        expect(emulator.card(session.cardId!)?.max_in_flight).toBe(1);
        // Coalescing: far fewer writes than deltas, each carrying everything appended so far.
        expect(events.flush.length).toBeLessThan(deltas.length / 3);
        const lengths = events.flush.filter((f) => f.elementId === 'answer').map((f) => f.length);
        expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
        expect(elementText(emulator, session.cardId!)).toBe(deltas.join(''));
        expect(elementText(emulator, session.cardId!, 'note')).toBe('Sources: 100');
      });
    });

    describe('non-idempotent replay', () => {
      it('a patch whose answer was lost is replayed with the same uuid; the 200770 is taken as applied and it applies once', async () => {
        const session = await CardSession.start(newClient(), { card: CARD_WITH_NOTE, retry: FAST_RETRY });
        const events = record(session);
        session.append('Answer');
        emulator.faults.add({ kind: 'lose_response', endpoint: PATCH, count: 1 });
        await session.patchElement('note', { content: 'Sources: 3' });
        await session.finish();

        const patches = cardLog(emulator, session.cardId!).filter((e) => e.endpoint === PATCH);
        expect(patches.map((e) => e.code)).toEqual([0, 200770]);
        expect(patches[0]!.uuid).toMatch(/\S/);
        expect(patches[1]!.uuid).toBe(patches[0]!.uuid);
        expect(patches[1]!.sequence).toBeGreaterThan(patches[0]!.sequence!);
        expect(events.retry.filter((r) => r.api === PATCH)).toHaveLength(1);
        expect(events.error).toEqual([]);
        expect(elementText(emulator, session.cardId!, 'note')).toBe('Sources: 3');
        expect(elementText(emulator, session.cardId!)).toBe('Answer');
      });

      it('a closing settings call whose answer was lost is replayed with the same uuid and taken as applied', async () => {
        const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
        session.append('Closed once.');
        emulator.faults.add({ kind: 'lose_response', endpoint: SETTINGS, count: 1 });
        const result = await session.finish();
        const settings = cardLog(emulator, session.cardId!).filter((e) => e.endpoint === SETTINGS);
        expect(settings.map((e) => e.code)).toEqual([0, 200770]);
        expect(settings[1]!.uuid).toBe(settings[0]!.uuid);
        expect(result.retries).toBe(1);
        expect(emulator.card(session.cardId!)).toMatchObject({ streaming_mode: false, summary: 'Closed once.' });
      });
    });
  });
});
