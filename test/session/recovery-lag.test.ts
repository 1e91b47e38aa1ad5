/**
 * Recovery lag (issue 14): a text write carries the whole text, so after a transient failure its next
 * attempt goes at the card's next slot (the governor's spacing, 110 ms for a card and 220 ms for a
 * message with Feishu's limits), carrying the latest text; the backoff starts only from the card's fourth
 * failure in a row, counted across its writes; a rate limit's reset is still waited out exactly, and
 * writes that do not carry the text keep their backoff.
 *
 * The emulator answers injected failures before handling them, so they are not in a card's log: each
 * test records every request on the wire (the client's `fetch`, on the emulator's clock) besides reading
 * the log. Backoffs are made long (`baseDelayMs` 1000: at least 500 ms) where a test tells a next slot
 * from a backoff.
 */
import { describe, expect, it } from 'vitest';
import type { Emulator, MessageSnapshot, WriteLogEntry } from '../../src/emulator/index.js';
import { CardSession, FeishuApiError, FeishuClient } from '../../src/index.js';
import { NEXT_SLOT_RETRIES } from '../../src/session/retry.js';
import { elementText, useEmulator } from '../support/emulator-http.js';
import { cardLog, paced, record, sleep, waitFor } from '../support/session.js';

const CONTENT = 'cardkit.cardElement.content';
const SETTINGS = 'cardkit.card.settings';
const ELEMENT_PATCH = 'cardkit.cardElement.patch';
const MESSAGE_PATCH = 'im.message.patch';
/** With Feishu's limits (10 writes a second to a card, 5 patches to a message) and the governor's 100 ms margin. */
const CARD_SLOT_MS = 110;
const MESSAGE_SLOT_MS = 220;
/** A loaded machine's timers run late, never early: the slack allowed above a slot. */
const LATE_MS = 290;
/**
 * Allowed below a slot: it runs from the failed attempt's permit, a little before its request left. An attempt
 * sent again at once, without waiting for the slot, would come within a few ms.
 */
const EARLY_MS = 30;
/** Backoffs of at least 500 ms: a next slot (110-220 ms) cannot be mistaken for one. */
const LONG_BACKOFF = { baseDelayMs: 1000, maxDelayMs: 8000 } as const;
const SERVER_ERROR = { kind: 'fail', code: 1500, httpStatus: 500 } as const;

/** One request as it went over the wire, timed on the emulator's clock. */
interface Attempt {
  method: string;
  path: string;
  body: Record<string, unknown>;
  sentAt: number;
  answeredAt: number;
  /** HTTP status; 0 when the connection was dropped. */
  status: number;
}

/** A client of the emulator's first app that records every API request it sends (token requests aside). */
function wiredClient(emulator: Emulator): { client: FeishuClient; attempts: Attempt[] } {
  const attempts: Attempt[] = [];
  const client = new FeishuClient({
    appId: 'cli_x',
    appSecret: 's_x',
    domain: emulator.url,
    now: () => emulator.clock.now(),
    fetch: async (input, init) => {
      const path = new URL(input).pathname;
      const sentAt = emulator.clock.now();
      const attempt: Attempt = {
        method: init.method ?? 'GET',
        path,
        body: typeof init.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : {},
        sentAt,
        answeredAt: sentAt,
        status: 0,
      };
      if (!path.startsWith('/open-apis/auth/')) attempts.push(attempt);
      try {
        const response = await fetch(input, init);
        attempt.status = response.status;
        return response;
      } finally {
        attempt.answeredAt = emulator.clock.now();
      }
    },
  });
  return { client, attempts };
}

const isContent = (a: Attempt) => a.method === 'PUT' && a.path.endsWith('/content');
const isElementPatch = (a: Attempt) => a.method === 'PATCH' && /\/elements\/[^/]+$/.test(a.path);
const isSettings = (a: Attempt) => a.path.endsWith('/settings');
const isMessagePatch = (a: Attempt) => a.method === 'PATCH' && a.path.startsWith('/open-apis/im/v1/messages/');
const failed = (a: Attempt) => a.status !== 200;

/** For each failed attempt of `attempts` (one write path, in order), ms from it to the attempt after it. */
function gapsAfterFailures(attempts: Attempt[]): number[] {
  const gaps: number[] = [];
  attempts.forEach((attempt, i) => {
    const next = attempts[i + 1];
    if (failed(attempt) && next) gaps.push(next.sentAt - attempt.sentAt);
  });
  return gaps;
}

function expectSequencesStrictlyIncreasing(log: WriteLogEntry[]): void {
  const sequences = log.map((e) => e.sequence ?? Number.NaN);
  for (let i = 1; i < sequences.length; i++) expect(sequences[i]).toBeGreaterThan(sequences[i - 1]!);
}

function words(count: number, word = 'w'): string[] {
  return Array.from({ length: count }, (_, i) => `${word}${i} `);
}

/** The text of the message card's `answer` element, wherever it is nested. */
function messageText(message: MessageSnapshot): string | undefined {
  let text: string | undefined;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const json = node as Record<string, unknown>;
      if (json.element_id === 'answer' && typeof json.content === 'string') text = json.content;
      Object.values(json).forEach(visit);
    }
  };
  visit(JSON.parse(message.content));
  return text;
}

describe('recovery lag', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));

  it('three 5xx answers in a row on a streaming card: each retry goes at the card’s next slot, carries the latest text, and the text ends exact', async () => {
    const { client, attempts } = wiredClient(emulator);
    const session = await CardSession.start(client, { retry: LONG_BACKOFF });
    const events = record(session);
    const pieces = words(80);
    const piping = session.pipe(paced(pieces, 15));
    await waitFor(() => events.flush.length >= 2, 'two writes');
    emulator.faults.add({ ...SERVER_ERROR, endpoint: CONTENT, count: 3 });
    const result = await piping;

    const content = attempts.filter(isContent);
    const failures = content.filter(failed);
    expect(failures.map((a) => a.status)).toEqual([500, 500, 500]);
    const gaps = gapsAfterFailures(content);
    expect(gaps).toHaveLength(3);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(CARD_SLOT_MS - EARLY_MS); // the card's spacing is kept
      expect(gap).toBeLessThan(CARD_SLOT_MS + LATE_MS); // no backoff (at least 500 ms here)
    }
    // Each attempt after a failure read the text anew: it carries what arrived meanwhile, never an older text.
    const texts = content.map((a) => a.body.content as string);
    content.forEach((attempt, i) => {
      expect(pieces.join('').startsWith(texts[i]!)).toBe(true);
      if (failed(attempt)) expect(texts[i + 1]!.length).toBeGreaterThan(texts[i]!.length);
    });
    const log = cardLog(emulator, session.cardId!);
    expectSequencesStrictlyIncreasing(log);
    expect(log.every((e) => e.code === 0)).toBe(true);
    // The attempt that ended the failures is in the card's log, as sent.
    const recovered = content[content.indexOf(failures.at(-1)!) + 1]!;
    expect(log.find((e) => e.sequence === recovered.body.sequence)).toMatchObject({ endpoint: CONTENT, code: 0, content_length: texts[content.indexOf(recovered)]!.length });
    expect(emulator.stats().rejected).toEqual({ '1500': 3 });
    expect(events.retry.map((r) => r.delayMs)).toEqual([0, 0, 0]);
    expect(result.retries).toBe(3);
    expect(events.error).toEqual([]);
    expect(elementText(emulator, session.cardId!)).toBe(pieces.join(''));
    expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
  });

  it(`failures that go on back off, growing from the card’s ${NEXT_SLOT_RETRIES + 1}th in a row`, async () => {
    // The defaults: 200 ms doubling. Six 5xx in a row: three next slots, then 400-800, 800-1600, 1600-3200 ms.
    const { client, attempts } = wiredClient(emulator);
    const session = await CardSession.start(client);
    const events = record(session);
    session.append('before. ');
    await waitFor(() => events.flush.length === 1, 'the first write');
    emulator.faults.add({ ...SERVER_ERROR, endpoint: CONTENT, count: 6 });
    session.append('after.');
    await session.finish();

    const gaps = gapsAfterFailures(attempts.filter(isContent));
    expect(gaps).toHaveLength(6);
    for (const gap of gaps.slice(0, 3)) expect(gap).toBeLessThan(CARD_SLOT_MS + LATE_MS);
    // Each wait in the upper half of its doubling ceiling: the ranges do not overlap, so the waits grow.
    expect(gaps[3]).toBeGreaterThanOrEqual(400);
    expect(gaps[3]).toBeLessThan(800 + LATE_MS);
    expect(gaps[4]).toBeGreaterThanOrEqual(800);
    expect(gaps[4]).toBeLessThan(1600 + LATE_MS);
    expect(gaps[5]).toBeGreaterThanOrEqual(1600);
    expect(emulator.stats().rejected).toEqual({ '1500': 6 });
    expectSequencesStrictlyIncreasing(cardLog(emulator, session.cardId!));
    expect(elementText(emulator, session.cardId!)).toBe('before. after.');
  });

  it('a failure of the card’s next write after failures of the one before is a repeat: it backs off', async () => {
    const { client, attempts } = wiredClient(emulator);
    const session = await CardSession.start(client);
    const events = record(session);
    session.append('first. ');
    await waitFor(() => events.flush.length === 1, 'the first write');
    emulator.faults.add({ ...SERVER_ERROR, endpoint: CONTENT, count: NEXT_SLOT_RETRIES });
    emulator.faults.add({ ...SERVER_ERROR, endpoint: ELEMENT_PATCH, count: 1 });
    // Once the content write has failed three times, the text is emptied: that write is dropped before its next
    // attempt (content needs 1+ characters), and the next write, an element patch, fails too: the card's 4th in a row.
    session.on('retry', (event) => {
      if (event.api === CONTENT && event.attempt === NEXT_SLOT_RETRIES) session.setText('');
    });
    session.append('second.');
    await waitFor(() => attempts.some((a) => isElementPatch(a) && a.status === 200), 'the patch that empties the element');
    session.append('third.');
    await session.finish();

    const content = attempts.filter(isContent);
    expect(content.filter(failed)).toHaveLength(NEXT_SLOT_RETRIES);
    const patches = attempts.filter(isElementPatch);
    expect(patches.map((a) => a.status)).toEqual([500, 200]);
    expect(patches.map((a) => a.body.partial_element)).toEqual(['{"content":""}', '{"content":""}']); // sent as a JSON string
    // The patch's first failure is the card's 4th in a row: the backoff of a 4th failure (400-800 ms), not the next slot.
    expect(patches[1]!.sentAt - patches[0]!.sentAt).toBeGreaterThanOrEqual(400);
    expect(emulator.stats().rejected).toEqual({ '1500': NEXT_SLOT_RETRIES + 1 });
    expectSequencesStrictlyIncreasing(cardLog(emulator, session.cardId!));
    expect(elementText(emulator, session.cardId!)).toBe('third.');
  });

  it('a 429 with x-ogw-ratelimit-reset is waited out exactly, also right after a 5xx that went at the next slot', async () => {
    const { client, attempts } = wiredClient(emulator);
    const session = await CardSession.start(client, { retry: LONG_BACKOFF });
    const events = record(session);
    session.append('before. ');
    await waitFor(() => events.flush.length === 1, 'the first write');
    emulator.faults.add({ ...SERVER_ERROR, endpoint: CONTENT, count: 1 });
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 99991400, httpStatus: 429, count: 1, headers: { 'x-ogw-ratelimit-reset': '1' } });
    session.append('after.');
    await session.finish();

    const content = attempts.filter(isContent);
    const [serverError, limited, accepted] = content.slice(1);
    expect([serverError!.status, limited!.status, accepted!.status]).toEqual([500, 429, 200]);
    expect(limited!.sentAt - serverError!.sentAt).toBeLessThan(CARD_SLOT_MS + LATE_MS);
    // The platform said 1 s: not a next slot, and not shortened; counted from its answer.
    const waited = accepted!.sentAt - limited!.answeredAt;
    expect(waited).toBeGreaterThanOrEqual(998); // timers may round a millisecond down
    expect(waited).toBeLessThan(1000 + LATE_MS);
    const log = cardLog(emulator, session.cardId!);
    expect(log.find((e) => e.sequence === accepted!.body.sequence)?.time).toBeGreaterThanOrEqual(limited!.answeredAt + 998);
    expect(emulator.stats().rejected).toEqual({ '1500': 1, '99991400': 1 });
    expect(elementText(emulator, session.cardId!)).toBe('before. after.');
  });

  it('a dropped connection is retried at the card’s next slot', async () => {
    const { client, attempts } = wiredClient(emulator);
    const session = await CardSession.start(client, { retry: LONG_BACKOFF });
    const events = record(session);
    session.append('before. ');
    await waitFor(() => events.flush.length === 1, 'the first write');
    emulator.faults.add({ kind: 'drop', endpoint: CONTENT, count: 1 });
    session.append('after.');
    await session.finish();

    const content = attempts.filter(isContent);
    expect(content.map((a) => a.status)).toEqual([200, 0, 200]);
    const [gap] = gapsAfterFailures(content);
    expect(gap).toBeGreaterThanOrEqual(CARD_SLOT_MS - EARLY_MS);
    expect(gap).toBeLessThan(CARD_SLOT_MS + LATE_MS);
    expect(events.retry).toHaveLength(1);
    expectSequencesStrictlyIncreasing(cardLog(emulator, session.cardId!));
    expect(elementText(emulator, session.cardId!)).toBe('before. after.');
  });

  it('a message card’s patches: three 5xx in a row are retried at the message’s next slots with the latest card', async () => {
    const { client, attempts } = wiredClient(emulator);
    const session = await CardSession.start(client, { transport: 'message', to: { chat_id: 'oc_team' }, retry: LONG_BACKOFF });
    const events = record(session);
    const pieces = words(60);
    const piping = session.pipe(paced(pieces, 20));
    await waitFor(() => events.flush.length >= 2, 'two patches');
    emulator.faults.add({ ...SERVER_ERROR, endpoint: MESSAGE_PATCH, count: 3 });
    await piping;

    const patches = attempts.filter(isMessagePatch);
    expect(patches.filter(failed)).toHaveLength(3);
    const gaps = gapsAfterFailures(patches);
    expect(gaps).toHaveLength(3);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(MESSAGE_SLOT_MS - EARLY_MS);
      expect(gap).toBeLessThan(MESSAGE_SLOT_MS + LATE_MS);
    }
    const cards = patches.map((a) => a.body.content as string);
    patches.forEach((attempt, i) => {
      if (failed(attempt)) expect(cards[i + 1]!.length).toBeGreaterThan(cards[i]!.length);
    });
    const message = emulator.message(session.messageId!)!;
    expect(message.log.filter((e) => e.endpoint === MESSAGE_PATCH).every((e) => e.code === 0)).toBe(true);
    expect(emulator.stats().rejected).toEqual({ '1500': 3 });
    expect(events.error).toEqual([]);
    expect(messageText(message)).toBe(pieces.join(''));
  });

  it('a write that does not carry the text (the closing settings call) keeps its backoff', async () => {
    const { client, attempts } = wiredClient(emulator);
    const session = await CardSession.start(client, { retry: LONG_BACKOFF });
    emulator.faults.add({ ...SERVER_ERROR, endpoint: SETTINGS, count: 1 });
    session.append('done.');
    await session.finish();

    const settings = attempts.filter(isSettings);
    expect(settings.map((a) => a.status)).toEqual([500, 200]);
    expect(settings[1]!.sentAt - settings[0]!.sentAt).toBeGreaterThanOrEqual(500);
    expect(emulator.card(session.cardId!)).toMatchObject({ streaming_mode: false });
  });

  it('retry.maxAttempts still bounds one text write: the card’s failures past it end the session, and the card is closed', async () => {
    const { client, attempts } = wiredClient(emulator);
    const session = await CardSession.start(client, { retry: { maxAttempts: 5, baseDelayMs: 20, maxDelayMs: 100 } });
    emulator.faults.add({ ...SERVER_ERROR, endpoint: CONTENT, count: 20 });
    session.append('never lands.');
    const error = await session.finish().then(
      () => new Error('expected the session to fail'),
      (reason: unknown) => reason,
    );
    await sleep(100);

    expect(error).toBeInstanceOf(FeishuApiError);
    expect((error as FeishuApiError).code).toBe(1500);
    expect(attempts.filter(isContent)).toHaveLength(5);
    expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
  });
});
