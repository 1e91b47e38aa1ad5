/**
 * An adversarial review of the message-card transport (seed 004, reference §11.3, §16, §17): each test
 * states one promise of README "Two transports: CardKit entities and message cards" and tries to break it
 * against the emulator, through the public API only. The client is wired to see every IM patch as it
 * leaves (what it carried, how many were in flight to one message at once).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator, EmulatorApp, MessageSnapshot } from '../../src/emulator/index.js';
import {
  CardSession,
  type FallbackEvent,
  FairGovernor,
  FeishuApiError,
  FeishuClient,
  type RetryEvent,
  type RolloverEvent,
  type StartOptions,
  defaultGovernor,
} from '../../src/index.js';
import { countTables } from '../../src/session/markdown-cut.js';
import { api, tenantToken, useEmulator } from '../support/emulator-http.js';
import { answerWithTables, chunks, markdownElementsOf, rebuild } from '../support/long-answers.js';
import { busiestWindow } from '../support/windows.js';
import { FAST_RETRY, INTERRUPTED, REASONING_CARD, paced, record, seeded, sleep, waitFor } from '../support/session.js';

const PATCH = 'im.message.patch';
const KB30 = 30 * 1024;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = 'node_modules/.bin/tsx';

/**
 * Runs `script` (TypeScript, through tsx, from the repository root) in a child process, in the background.
 * `outcome` is what it printed, or 'hung' when it had not exited `graceMs` after printing `armed` (or after
 * 20 s in all); it is then killed. `armed`: whether it got as far as printing `armed`. For a scenario that may starve its event loop, which no test inside this
 * process could survive.
 */
function runIsolated(script: string, armed: string, graceMs: number): { outcome: Promise<string>; armed: Promise<boolean>; stop: () => void } {
  const child = spawn(TSX, ['--eval', script], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let output = '';
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const timers = [setTimeout(stop, 20_000)];
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (output.includes(armed) && timers.length === 1) timers.push(setTimeout(stop, graceMs));
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const outcome = new Promise<string>((resolve) => {
    child.once('exit', (_code, signal) => {
      timers.forEach(clearTimeout);
      resolve(signal === 'SIGKILL' ? 'hung' : output.replace(armed, '').trim());
    });
  });
  return { outcome, armed: outcome.then(() => output.includes(armed)), stop };
}

/**
 * A message session whose continuation message (past 30 KB) cannot be sent (230002, after 300 ms), with
 * finish() called while that send is on its way. Prints how finish() settled.
 */
const FINISH_DURING_FAILED_ROLLOVER = `void (async () => {
  const { startEmulator } = await import('./src/emulator/index.ts');
  const { CardSession, FeishuClient } = await import('./src/index.ts');
  const emulator = await startEmulator({});
  const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain: emulator.url });
  const session = await CardSession.start(client, { transport: 'message', to: { chat_id: 'oc_stuck' }, retry: { baseDelayMs: 20, maxDelayMs: 200 } });
  emulator.faults.add({ kind: 'fail', endpoint: 'im.message.create', code: 230002 });
  emulator.faults.add({ kind: 'latency', endpoint: 'im.message.create', latencyMs: 300, count: 1 });
  let answer = '';
  for (let i = 0; answer.length < 45000; i++) answer += 'Line ' + i + ' of a long answer.\\n\\n';
  session.append(answer);
  await new Promise((resolve) => setTimeout(resolve, 100));
  console.log('finishing');
  const outcome = await session.finish().then(() => 'resolved', (error) => 'rejected ' + error.code);
  console.log('finish ' + outcome);
  await emulator.close();
  process.exit(0);
})();`;

/** The same on CardKit: the continuation card cannot be created (a 5xx that never clears). */
const FINISH_DURING_FAILED_CARDKIT_ROLLOVER = FINISH_DURING_FAILED_ROLLOVER.replace("transport: 'message', ", '')
  .replace("endpoint: 'im.message.create', code: 230002", "endpoint: 'cardkit.card.create', code: 300305, count: 5")
  .replace("endpoint: 'im.message.create', latencyMs", "endpoint: 'cardkit.card.create', latencyMs");

interface SentPatch {
  messageId: string;
  card: Record<string, unknown>;
}

interface Wired {
  client: FeishuClient;
  /** Every IM patch the client sent, in the order it left, with the card it carried. */
  sent: SentPatch[];
  /** The most IM patches to one message the client had in flight at once, per message. */
  maxInFlight: Map<string, number>;
}

/** A client of `app` whose fetch watches IM patches. */
function wiredClient(emulator: Emulator, options: { app?: EmulatorApp; timeoutMs?: number } = {}): Wired {
  const app = options.app ?? { appId: 'cli_x', appSecret: 's_x' };
  const sent: SentPatch[] = [];
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const client = new FeishuClient({
    appId: app.appId,
    appSecret: app.appSecret,
    domain: emulator.url,
    now: () => emulator.clock.now(),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    fetch: async (input, init) => {
      const match = /^\/open-apis\/im\/v1\/messages\/([^/]+)$/.exec(new URL(input).pathname);
      if (init.method !== 'PATCH' || !match) return fetch(input, init);
      const messageId = decodeURIComponent(match[1]!);
      const body = JSON.parse(init.body as string) as { content: string };
      sent.push({ messageId, card: JSON.parse(body.content) as Record<string, unknown> });
      const now = (inFlight.get(messageId) ?? 0) + 1;
      inFlight.set(messageId, now);
      maxInFlight.set(messageId, Math.max(maxInFlight.get(messageId) ?? 0, now));
      try {
        return await fetch(input, init);
      } finally {
        inFlight.set(messageId, inFlight.get(messageId)! - 1);
      }
    },
  });
  return { client, sent, maxInFlight };
}

function cardOf(message: MessageSnapshot): Record<string, unknown> {
  return JSON.parse(message.content) as Record<string, unknown>;
}

function bodyOf(card: Record<string, unknown>): unknown {
  return card.schema === '2.0' ? card.body : card.elements;
}

/** The joined text of a streamed element and the elements it continued in, on a card. */
function textOn(card: Record<string, unknown>, elementId = 'answer'): string {
  return markdownElementsOf(bodyOf(card))
    .filter(({ id }) => id === elementId || new RegExp(`^${elementId}_\\d+$`).test(id))
    .map(({ text }) => text)
    .join('');
}

function messageText(emulator: Emulator, messageId: string, elementId = 'answer'): string {
  return textOn(cardOf(emulator.message(messageId)!), elementId);
}

function accepted(message: MessageSnapshot): number[] {
  return message.log.filter((e) => e.endpoint === PATCH && e.code === 0).map((e) => e.time);
}

/** The most accepted patches to the message in any one second of emulated time. */
function busiestSecond(message: MessageSnapshot): number {
  return busiestWindow(accepted(message), 1000);
}

function patchCodes(message: MessageSnapshot): number[] {
  return message.log.filter((e) => e.endpoint === PATCH).map((e) => e.code);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('message transport, adversarially', () => {
  let emulator: Emulator;
  const NO_CARDKIT: EmulatorApp = { appId: 'cli_im', appSecret: 'secret-of-the-im-only-app-0123456789', scopes: ['im:message'] };
  const NO_IM: EmulatorApp = { appId: 'cli_ck', appSecret: 's_ck', scopes: ['cardkit:card:write'] };
  const SECRET_APP: EmulatorApp = { appId: 'cli_secret', appSecret: 'app-secret-that-must-never-leak-9f8e7d6c' };
  useEmulator((started) => ({ emulator } = started), { apps: [{ appId: 'cli_x', appSecret: 's_x' }, NO_CARDKIT, NO_IM, SECRET_APP] });

  const start = (client: FeishuClient, options: StartOptions = {}) =>
    CardSession.start(client, { transport: 'message', to: { chat_id: 'oc_adv' }, title: 'Answer', retry: FAST_RETRY, ...options });

  describe('one write in flight, coalesced, 5 patches a second', () => {
    it('never has two patches to one message in flight, even when every patch is slow', async () => {
      const wired = wiredClient(emulator);
      emulator.faults.add({ kind: 'latency', endpoint: PATCH, latencyMs: 50, latencyMaxMs: 250 });
      const session = await start(wired.client);
      const pieces = Array.from({ length: 400 }, (_, i) => `w${i} `);
      const random = seeded(400);
      for (const piece of pieces) {
        session.append(piece);
        if (random() < 0.2) await sleep(3);
      }
      await session.finish();
      const id = session.messageId!;
      expect(messageText(emulator, id)).toBe(pieces.join(''));
      expect(wired.maxInFlight.get(id)).toBe(1);
      // Coalesced: a handful of patches carried 400 deltas.
      expect(wired.sent.length).toBeLessThan(40);
      expect(busiestSecond(emulator.message(id)!)).toBeLessThanOrEqual(5);
    });

    it('every patch carries everything appended before it left: the texts the patches carry only grow', async () => {
      const wired = wiredClient(emulator);
      const session = await start(wired.client);
      let answer = '';
      for (let i = 0; i < 60; i++) {
        const piece = `${i}, `;
        answer += piece;
        session.append(piece);
        await sleep(6);
      }
      await session.finish();
      const texts = wired.sent.map((p) => textOn(p.card));
      for (let i = 1; i < texts.length; i++) expect(texts[i]!.startsWith(texts[i - 1]!)).toBe(true);
      expect(texts.at(-1)).toBe(answer);
      // The last patch is the close: it sets the summary.
      expect((wired.sent.at(-1)!.card.config as { summary?: unknown }).summary).toBeDefined();
    });

    it('at most 5 accepted patches a second per message, and never a 230020 from the emulator, under retried faults', async () => {
      const wired = wiredClient(emulator);
      const session = await start(wired.client);
      emulator.faults.add({ kind: 'lose_response', endpoint: PATCH, count: 3 });
      emulator.faults.add({ kind: 'fail', endpoint: PATCH, code: 1500, httpStatus: 500, count: 2 });
      emulator.faults.add({ kind: 'drop', endpoint: PATCH, count: 2 });
      const answer = 'tick '.repeat(250);
      await session.pipe(paced(answer.match(/.{1,5}/g)!, 2));
      const message = emulator.message(session.messageId!)!;
      expect(messageText(emulator, message.message_id)).toBe(answer);
      expect(busiestSecond(message)).toBeLessThanOrEqual(5);
      expect(patchCodes(message).filter((code) => code !== 0)).toEqual([]);
      expect(wired.maxInFlight.get(message.message_id)).toBe(1);
    });
  });

  describe('faults on the patches', () => {
    it('every transient fault kind at once (5xx, 2200, 230049, drop, lost answer, 230020, 429, expired token) is retried; the text is exact', async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client);
      const events = record(session);
      session.append('head ');
      await sleep(250);
      for (const fault of [
        { kind: 'fail', code: 1500, httpStatus: 500 },
        { kind: 'fail', code: 2200, httpStatus: 500 },
        { kind: 'fail', code: 230049 },
        { kind: 'drop' },
        { kind: 'lose_response' },
        { kind: 'fail', code: 230020 },
        { kind: 'fail', code: 99991400, httpStatus: 429, headers: { 'x-ogw-ratelimit-reset': '0' } },
        { kind: 'fail', code: 99991663 },
        { kind: 'fail', code: 99991663 },
      ] as const) {
        emulator.faults.add({ ...fault, endpoint: PATCH });
      }
      let expected = 'head ';
      for (let i = 0; i < 40; i++) {
        session.append(`p${i} `);
        expected += `p${i} `;
        await sleep(5);
      }
      const result = await session.finish();
      expect(messageText(emulator, session.messageId!)).toBe(expected);
      expect(result.text).toBe(expected);
      expect(events.error).toEqual([]);
      expect(events.retry.length).toBeGreaterThanOrEqual(8);
      expect(emulator.faults.list()).toEqual([]);
    });

    it('a rate limit is waited out as long as the platform asks, without using up attempts', async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client, { retry: { ...FAST_RETRY, maxAttempts: 2 } });
      session.append('before the limit');
      await sleep(250);
      emulator.faults.add({ kind: 'fail', endpoint: PATCH, code: 230020, count: 4 });
      session.append(', after it');
      const result = await session.finish();
      expect(result.text).toBe('before the limit, after it');
      expect(messageText(emulator, session.messageId!)).toBe('before the limit, after it');
    });

    it('finish resolves only once the last patch landed: the message holds the final card then, and nothing reaches it afterwards', async () => {
      const { client } = wiredClient(emulator);
      emulator.faults.add({ kind: 'latency', endpoint: PATCH, latencyMs: 150, latencyMaxMs: 300 });
      const session = await start(client);
      session.append('slow ');
      await sleep(50);
      session.append('patches');
      await session.finish({ summary: 'the summary' });
      const message = emulator.message(session.messageId!)!;
      expect(textOn(cardOf(message))).toBe('slow patches');
      expect((cardOf(message).config as { summary: unknown }).summary).toEqual({ content: 'the summary' });
      const logged = message.log.length;
      await sleep(400);
      expect(emulator.message(session.messageId!)!.log.length).toBe(logged);
    });

    it('a patch the client gives up on (timeout) is retried with everything appended since; the final card is exact', async () => {
      // The emulator never applies a request whose client left during injected latency, so this cannot show a
      // late, stale patch landing after the close (IM patch has no sequence to refuse it): see the report.
      const { client } = wiredClient(emulator, { timeoutMs: 200 });
      const session = await start(client);
      const events = record(session);
      emulator.faults.add({ kind: 'latency', endpoint: PATCH, latencyMs: 700, count: 1 });
      session.append('first words');
      await sleep(300);
      session.append(', and the rest of the answer');
      await session.finish({ summary: 'done' });
      expect(events.retry.map((r) => r.error.name)).toContain('FeishuTimeoutError');
      await sleep(500);
      const card = cardOf(emulator.message(session.messageId!)!);
      expect(textOn(card)).toBe('first words, and the rest of the answer');
      expect((card.config as { summary?: unknown }).summary).toEqual({ content: 'done' });
    });
  });

  describe('exact text, any Unicode', () => {
    it('a surrogate pair split across deltas is never sent in halves, and lands whole', async () => {
      const wired = wiredClient(emulator);
      const session = await start(wired.client);
      session.append('smile \uD83D');
      await sleep(300); // a patch goes out while the pair is half there
      session.append('\uDE00 and \uD83D\uDC4D\uD83C');
      await sleep(300);
      session.append('\uDFFD done');
      await session.finish();
      expect(messageText(emulator, session.messageId!)).toBe('smile 😀 and 👍🏽 done');
      for (const { card } of wired.sent) {
        const text = textOn(card);
        expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text), JSON.stringify(text)).toBe(false);
      }
      expect(wired.sent.length).toBeGreaterThanOrEqual(3);
    });

    it('a half pair left dangling at finish is dropped, never written', async () => {
      const wired = wiredClient(emulator);
      const session = await start(wired.client);
      session.append('cut \uD83D');
      const result = await session.finish();
      expect(messageText(emulator, session.messageId!)).toBe('cut ');
      expect(result.text).toBe('cut ');
    });

    it('any well-formed Unicode (controls, quotes, backslashes, RTL, ZWJ, astral), cut at any UTF-16 index: the message holds it byte for byte', async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 9 }), async (answer, max) => {
          const session = await start(wiredClient(emulator).client);
          for (const piece of chunks(answer, max, seeded(max + answer.length))) session.append(piece);
          const result = await session.finish();
          const joined = result.cards.map((c) => messageText(emulator, c.messageId!)).join('');
          expect(Buffer.from(joined)).toEqual(Buffer.from(answer));
        }),
        { numRuns: 5 },
      );
      const special = '\u0000\u0001"\\\n\t\r\u2028\u2029 \u202Eabc\u202C 👩‍👩‍👧‍👦 e\u0301 𝔘𝔫𝔦 \uFEFF </script> ${x} `';
      const session = await start(wiredClient(emulator).client);
      for (const unit of special) session.append(unit); // astral characters arrive whole here …
      for (let i = 0; i < special.length; i++) session.append(special[i]!); // … and in halves here
      await session.finish();
      expect(messageText(emulator, session.messageId!)).toBe(special + special);
    });
  });

  describe('abort and finish', () => {
    it('abort while the source is silent and a patch is stuck in latency settles, with the interrupted mark', async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client);
      async function* silent() {
        yield 'said something';
        await new Promise(() => undefined);
      }
      const piping = session.pipe(silent());
      await sleep(250);
      emulator.faults.add({ kind: 'latency', endpoint: PATCH, latencyMs: 400 });
      session.append(' more');
      await sleep(50);
      const result = await session.abort(new Error('stop'));
      await expect(piping).resolves.toEqual(result);
      expect(result).toMatchObject({ aborted: true, text: 'said something more' + INTERRUPTED });
      expect(messageText(emulator, session.messageId!)).toBe('said something more' + INTERRUPTED);
    });

    it('abort during a rate-limit pause settles once the pause is over; finish afterwards returns the same result', async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client);
      session.append('x');
      await sleep(250);
      emulator.faults.add({ kind: 'fail', endpoint: PATCH, code: 99991400, httpStatus: 429, count: 1, headers: { 'x-ogw-ratelimit-reset': '1' } });
      session.append('y');
      await sleep(100);
      const aborting = session.abort('user');
      const result = await aborting;
      await expect(session.finish()).resolves.toBe(result);
      expect(messageText(emulator, session.messageId!)).toBe('xy' + INTERRUPTED);
      expect(result.abortReason).toBe('user');
    });

    it('the caller’s signal aborting mid-answer ends the message card interrupted', async () => {
      const { client } = wiredClient(emulator);
      const controller = new AbortController();
      const session = await start(client, { signal: controller.signal });
      const piping = session.pipe(paced(Array.from({ length: 200 }, () => 'z'), 5));
      await sleep(200);
      controller.abort(new Error('shutdown'));
      const result = await piping;
      expect(result.aborted).toBe(true);
      expect(messageText(emulator, session.messageId!)).toBe(result.text);
      expect(result.text.endsWith(INTERRUPTED)).toBe(true);
    });
  });

  describe('rollover', () => {
    // Started before these tests, in its own process, so that its wait overlaps them.
    let stuckRollover: ReturnType<typeof runIsolated>;
    let stuckCardKitRollover: ReturnType<typeof runIsolated>;
    beforeAll(() => {
      stuckRollover = runIsolated(FINISH_DURING_FAILED_ROLLOVER, 'finishing', 3000);
      stuckCardKitRollover = runIsolated(FINISH_DURING_FAILED_CARDKIT_ROLLOVER, 'finishing', 3000);
    });
    afterAll(() => {
      stuckRollover.stop();
      stuckCardKitRollover.stop();
    });

    it('past 4 tables and past 30 KB at once, continuation messages in order, replies to the same message, each within 30 KB', async () => {
      const { client } = wiredClient(emulator);
      const parent = await start(client);
      await parent.finish();
      let answer = answerWithTables(9);
      for (let i = 0; answer.length < 75_000; i++) answer += `\n\nParagraph ${i}: 很长的回答 with "quotes" and \\ backslashes.`;
      answer += answerWithTables(6);
      const session = await start(client, { to: { reply_to: parent.messageId! } });
      const rollovers: RolloverEvent[] = [];
      session.on('rollover', (e) => rollovers.push(e));
      for (const piece of chunks(answer, 3000, seeded(5))) session.append(piece);
      const result = await session.finish();
      const messages = result.cards.map((c) => emulator.message(c.messageId!)!);
      expect(messages.length).toBeGreaterThanOrEqual(3);
      expect(messages.map((m) => m.parent_id)).toEqual(messages.map(() => parent.messageId));
      expect(messages.map((m) => m.created_at)).toEqual([...messages.map((m) => m.created_at)].sort((a, b) => a - b));
      expect(rollovers.filter((r) => r.kind === 'card').map((r) => r.to)).toEqual(result.cards.slice(1).map((c) => c.messageId));
      for (const message of messages) {
        expect(Buffer.byteLength(message.content)).toBeLessThanOrEqual(KB30);
        for (const { text } of markdownElementsOf(bodyOf(cardOf(message)))) expect(countTables(text)).toBeLessThanOrEqual(4);
        expect(busiestSecond(message)).toBeLessThanOrEqual(5);
      }
      expect(rebuild(messages.map((m) => messageText(emulator, m.message_id)), answer)).toBe(answer);
      expect(emulator.stats().rejected).toEqual({});
    });

    it('a continuation message whose send loses its answer is sent once, and the session goes on in it', async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client, { to: { chat_id: 'oc_lost' } });
      emulator.faults.add({ kind: 'lose_response', endpoint: 'im.message.create', count: 2 });
      let answer = '';
      for (let i = 0; answer.length < 45_000; i++) answer += `Line ${i} of a long answer.\n\n`;
      for (const piece of chunks(answer, 4000, seeded(9))) session.append(piece);
      const result = await session.finish();
      const inChat = emulator.messages().filter((m) => m.chat_id === 'oc_lost');
      expect(inChat.map((m) => m.message_id)).toEqual(result.cards.map((c) => c.messageId));
      expect(rebuild(result.cards.map((c) => messageText(emulator, c.messageId!)), answer)).toBe(answer);
    });

    it('one giant table and one giant code block, past 30 KB: the header and the fence are repeated, every message within 30 KB', async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client);
      const table = '| key | value |\n| --- | --- |\n' + Array.from({ length: 1400 }, (_, i) => `| row ${i} | 值 ${i} |\n`).join('');
      const code = '```ts\n' + Array.from({ length: 1400 }, (_, i) => `const v${i} = "${i}";\n`).join('') + '```\n';
      const answer = `Intro.\n\n${table}\n${code}\nOutro.`;
      for (const piece of chunks(answer, 5000, seeded(21))) session.append(piece);
      const result = await session.finish();
      const messages = result.cards.map((c) => emulator.message(c.messageId!)!);
      expect(messages.length).toBeGreaterThanOrEqual(3);
      for (const message of messages) expect(Buffer.byteLength(message.content)).toBeLessThanOrEqual(KB30);
      expect(rebuild(messages.map((m) => messageText(emulator, m.message_id)), answer)).toBe(answer);
      expect(emulator.stats().rejected).toEqual({});
    });

    it('a continuation element never takes the id of an element already on the card', async () => {
      const { client } = wiredClient(emulator);
      const card = {
        schema: '2.0',
        body: { elements: [{ tag: 'markdown', element_id: 'answer', content: '' }, { tag: 'markdown', element_id: 'answer_2', content: 'static' }] },
      };
      const session = await start(client, { card });
      const answer = answerWithTables(6);
      session.append(answer);
      await session.finish();
      const elements = markdownElementsOf(cardOf(emulator.message(session.messageId!)!).body);
      expect(elements.map((e) => e.id)).toEqual(['answer', 'answer_3', 'answer_2']);
      expect(elements[2]!.text).toBe('static');
      expect(elements[0]!.text + elements[1]!.text).toBe(answer);
    });

    it('abort while the continuation message is being sent ends the answer interrupted on the continuation', async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client, { to: { chat_id: 'oc_abort_roll' } });
      emulator.faults.add({ kind: 'latency', endpoint: 'im.message.create', latencyMs: 300, count: 1 });
      let answer = '';
      for (let i = 0; answer.length < 40_000; i++) answer += `Sentence ${i} of the answer.\n\n`;
      session.append(answer);
      await sleep(100);
      const result = await session.abort('stop');
      expect(result.aborted).toBe(true);
      expect(result.cards).toHaveLength(2);
      expect(rebuild(result.cards.map((c) => messageText(emulator, c.messageId!)), answer + INTERRUPTED)).toBe(answer + INTERRUPTED);
    });

    it('the isolated scenario below gets as far as calling finish() during the failing rollover', async () => {
      expect(await stuckRollover.armed).toBe(true);
    }, 25_000);

    it('finish() while a continuation message fails to be sent settles (rejects with the send’s error)', async () => {
      // Run in a child process (started in beforeAll): the ending loops on microtasks only, starving the event loop.
      expect(await stuckRollover.outcome).toBe('finish rejected 230002');
    }, 15_000);

    it('on CardKit too: finish() while the continuation card cannot be created settles with the create error', async () => {
      expect(await stuckCardKitRollover.outcome).toBe('finish rejected 300305');
    }, 25_000);

    it('with a reasoning element beside it, an answer that outgrows the card rolls over: every message within 30 KB, both texts whole', async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client, { card: REASONING_CARD, extraElementIds: ['thinking'] });
      const thinking = 'Short reasoning. '.repeat(20);
      let answer = '';
      for (let i = 0; answer.length < 40_000; i++) answer += `Answer sentence ${i}.\n\n`;
      session.append(thinking, 'thinking');
      for (const piece of chunks(answer, 2000, seeded(4))) session.append(piece);
      const result = await session.finish();
      expect(result.cards.length).toBeGreaterThanOrEqual(2);
      const cards = result.cards.map((c) => cardOf(emulator.message(c.messageId!)!));
      for (const card of cards) expect(Buffer.byteLength(JSON.stringify(card))).toBeLessThanOrEqual(KB30);
      expect(cards.map((card) => textOn(card, 'thinking')).join('')).toBe(thinking);
      expect(rebuild(cards.map((card) => textOn(card)), answer)).toBe(answer);
      expect(emulator.stats().rejected).toEqual({});
    });

    it('a reasoning element that outgrows the card rolls the message over: the answer is not blamed, no patch is over 30 KB', async () => {
      // Long reasoning (an o1 / R1 style model) arriving in large pieces, before any answer text.
      const { client } = wiredClient(emulator);
      const session = await start(client, { card: REASONING_CARD, extraElementIds: ['thinking'] });
      let thinking = '';
      for (let i = 0; thinking.length < 40_000; i++) thinking += `thought ${i}. `;
      for (const piece of chunks(thinking, 2000, seeded(4))) session.append(piece, 'thinking');
      const result = await session.finish();
      const messages = result.cards.map((c) => emulator.message(c.messageId!)!);
      expect(messages.length).toBeGreaterThanOrEqual(2);
      for (const message of messages) expect(patchCodes(message).filter((code) => code !== 0)).toEqual([]);
      expect(messages.map((m) => textOn(cardOf(m), 'thinking')).join('')).toBe(thinking);
    });
  });

  describe('setText snapshots', () => {
    it('growing snapshots (an accumulating source) land exactly, also past 30 KB', async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client);
      let answer = '';
      for (let i = 0; answer.length < 50_000; i++) {
        answer += `Snapshot sentence ${i}; 句子 ${i}.\n\n`;
        if (i % 40 === 0) {
          session.setText(answer);
          await sleep(1);
        }
      }
      session.setText(answer);
      const result = await session.finish();
      expect(result.cards.length).toBeGreaterThanOrEqual(2);
      expect(rebuild(result.cards.map((c) => messageText(emulator, c.messageId!)), answer)).toBe(answer);
    });

    it("setText('') empties the message card's element", async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client);
      session.append('text that will be withdrawn');
      await sleep(300);
      session.setText('');
      const result = await session.finish();
      expect(result.text).toBe('');
      expect(messageText(emulator, session.messageId!)).toBe('');
    });

    it('a huge snapshot without a single break (emoji, escapes) lands whole over several messages, each within 30 KB, no pair split', async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client);
      const huge = '😀'.repeat(12_000) + '"\\\u0001'.repeat(6_000);
      session.setText(huge);
      const result = await session.finish();
      expect(result.cards.length).toBeGreaterThanOrEqual(4);
      const texts = result.cards.map((c) => messageText(emulator, c.messageId!));
      for (const c of result.cards) expect(Buffer.byteLength(emulator.message(c.messageId!)!.content)).toBeLessThanOrEqual(KB30);
      expect(rebuild(texts, huge)).toBe(huge);
      expect(emulator.stats().rejected).toEqual({});
    });

    it("setText('') after the text continued past 4 tables empties the message card", async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client);
      session.append(answerWithTables(6));
      await waitFor(() => markdownElementsOf(bodyOf(cardOf(emulator.message(session.messageId!)!))).length > 1, 'the continuation element');
      session.setText('');
      const result = await session.finish();
      expect(result.text).toBe('');
      expect(messageText(emulator, session.messageId!)).toBe('');
    });

    it('a shorter snapshot after the text continued past 4 tables replaces it on the message card', async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client);
      session.setText(answerWithTables(6));
      await waitFor(() => markdownElementsOf(bodyOf(cardOf(emulator.message(session.messageId!)!))).length > 1, 'the continuation element');
      session.setText('A short, corrected answer.');
      const result = await session.finish();
      expect(result.text).toBe('A short, corrected answer.');
      expect(messageText(emulator, session.messageId!)).toBe('A short, corrected answer.');
    });
  });

  describe('many message sessions, one governor', () => {
    async function streamMany(count: number, clientFor: (i: number) => FeishuClient, governor?: FairGovernor) {
      const sessions = await Promise.all(
        Array.from({ length: count }, (_, i) => start(clientFor(i), { to: { chat_id: `oc_many_${i}` }, ...(governor ? { governor } : {}) })),
      );
      const answers = sessions.map((_, i) => Array.from({ length: 50 }, (_, j) => `s${i}w${j} `));
      await Promise.all(sessions.map((session, i) => session.pipe(paced(answers[i]!, 20))));
      const messages = sessions.map((s) => emulator.message(s.messageId!)!);
      messages.forEach((message, i) => expect(messageText(emulator, message.message_id)).toBe(answers[i]!.join('')));
      for (const message of messages) expect(busiestSecond(message)).toBeLessThanOrEqual(5);
      const all = messages.flatMap(accepted);
      expect(all.length).toBeGreaterThan(45);
      expect(busiestWindow(all, 1000)).toBeLessThanOrEqual(50);
      expect(emulator.stats().rejected).toEqual({});
    }

    it('14 sessions under one FairGovernor: never above 5/s per message nor 50/s for IM patch', async () => {
      const governor = new FairGovernor();
      const { client } = wiredClient(emulator);
      await streamMany(14, () => client, governor);
    });

    it('14 sessions of one client under defaultGovernor: never above 5/s per message nor 50/s for IM patch', async () => {
      const { client } = wiredClient(emulator);
      expect(defaultGovernor(client)).toBe(defaultGovernor(client));
      await streamMany(14, () => client);
    });
  });

  describe('patchElement', () => {
    const CARD = {
      schema: '2.0',
      config: { update_multi: true },
      body: { elements: [{ tag: 'markdown', element_id: 'answer', content: '', text_size: 'normal' }, { tag: 'markdown', element_id: 'status', content: 'working' }] },
    };

    it('patches land in order with the text: each patch carries every delta appended before it was asked for', async () => {
      const wired = wiredClient(emulator);
      const session = await start(wired.client, { card: CARD });
      session.append('one ');
      const first = session.patchElement('status', { content: 'ignored', text_align: 'left' });
      session.append('two ');
      const second = session.patchElement('status', { text_align: 'center' });
      session.append('three');
      await Promise.all([first, second]);
      await session.finish();
      const withLeft = wired.sent.findIndex((p) => JSON.stringify(p.card).includes('"text_align":"left"'));
      const withCenter = wired.sent.findIndex((p) => JSON.stringify(p.card).includes('"text_align":"center"'));
      expect(withLeft).toBeGreaterThanOrEqual(0);
      expect(withCenter).toBeGreaterThan(withLeft);
      expect(textOn(wired.sent[withLeft]!.card).startsWith('one ')).toBe(true);
      expect(textOn(wired.sent[withCenter]!.card).startsWith('one two ')).toBe(true);
      const final = cardOf(emulator.message(session.messageId!)!);
      expect(textOn(final)).toBe('one two three');
      expect(JSON.stringify(final)).toContain('"text_align":"center"');
    });

    it('a patchElement the platform refuses leaves the card as it was: the session goes on and finishes', async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client, { card: CARD });
      session.append('fine so far');
      const refused = await rejection(session.patchElement('status', { text_align: 'x'.repeat(40_000) }));
      expect(refused).toBeInstanceOf(Error); // today: FeishuApiError 230025, the card is over 30 KB
      session.append(', and after');
      const result = await session.finish();
      expect(result.text).toBe('fine so far, and after');
      expect(messageText(emulator, session.messageId!)).toBe('fine so far, and after');
    });
  });

  describe('sending the message card', () => {
    it('a send that loses its answer: one message, and the session knows its id', async () => {
      const { client } = wiredClient(emulator);
      emulator.faults.add({ kind: 'lose_response', endpoint: 'im.message.create', count: 2 });
      const session = await start(client, { to: { chat_id: 'oc_once' } });
      const inChat = emulator.messages().filter((m) => m.chat_id === 'oc_once');
      expect(inChat).toHaveLength(1);
      expect(session.messageId).toBe(inChat[0]!.message_id);
      session.append('landed');
      await session.finish();
      expect(messageText(emulator, inChat[0]!.message_id)).toBe('landed');
    });

    it('a send abandoned on a client timeout that lands late is not sent twice', async () => {
      const { client } = wiredClient(emulator, { timeoutMs: 250 });
      emulator.faults.add({ kind: 'latency', endpoint: 'im.message.create', latencyMs: 450, count: 1 });
      const session = await start(client, { to: { chat_id: 'oc_late' } });
      session.append('one message only');
      await session.finish();
      await sleep(450);
      const inChat = emulator.messages().filter((m) => m.chat_id === 'oc_late');
      expect(inChat.map((m) => m.message_id)).toEqual([session.messageId]);
      expect(messageText(emulator, session.messageId!)).toBe('one message only');
    });

    it('a reply that loses its answer, is dropped and fails with 5xx: one reply', async () => {
      const { client } = wiredClient(emulator);
      const parent = await start(client);
      await parent.finish();
      emulator.faults.add({ kind: 'fail', endpoint: 'im.message.reply', code: 1500, httpStatus: 500 });
      emulator.faults.add({ kind: 'drop', endpoint: 'im.message.reply' });
      emulator.faults.add({ kind: 'lose_response', endpoint: 'im.message.reply' });
      const session = await start(client, { to: { reply_to: parent.messageId! } });
      const replies = emulator.messages().filter((m) => m.parent_id === parent.messageId);
      expect(replies.map((m) => m.message_id)).toEqual([session.messageId]);
    });

    it('a send refused for good rejects start, sends nothing, and the error is the platform’s', async () => {
      const { client } = wiredClient(emulator);
      emulator.faults.add({ kind: 'fail', endpoint: 'im.message.create', code: 230002 });
      const error = await rejection(start(client, { to: { chat_id: 'oc_not_in' } }));
      expect(error).toMatchObject({ code: 230002, endpoint: 'im.message.create' });
      expect(emulator.messages()).toEqual([]);
    });

    it('a send rate-limited (230020 per chat) is waited out', async () => {
      const { client } = wiredClient(emulator);
      emulator.faults.add({ kind: 'fail', endpoint: 'im.message.create', code: 230020, count: 3 });
      const session = await start(client, { to: { chat_id: 'oc_busy' } });
      session.append('after the wait');
      await session.finish();
      expect(messageText(emulator, session.messageId!)).toBe('after the wait');
    });
  });

  describe('the on listeners option', () => {
    it('on.retry hears the retries of the message send inside start()', async () => {
      const { client } = wiredClient(emulator);
      emulator.faults.add({ kind: 'fail', endpoint: 'im.message.create', code: 1500, httpStatus: 500, count: 2 });
      const retries: RetryEvent[] = [];
      const session = await start(client, { on: { retry: (e) => retries.push(e) } });
      await session.finish();
      expect(retries.map((r) => r.api)).toEqual(['im.message.create', 'im.message.create']);
    });

    it('listeners given through on hear flush, retry and finish; one that throws breaks nothing', async () => {
      const { client } = wiredClient(emulator);
      const seen: string[] = [];
      const warnings: Error[] = [];
      const onWarning = (w: Error) => warnings.push(w);
      process.on('warning', onWarning);
      try {
        const session = await start(client, {
          on: {
            flush: (e) => {
              seen.push(`flush:${e.via}`);
              throw new Error('listener bug');
            },
            retry: (e) => seen.push(`retry:${e.api}`),
            finish: (r) => seen.push(`finish:${r.transport}`),
          },
        });
        session.append('a');
        await sleep(250);
        emulator.faults.add({ kind: 'fail', endpoint: PATCH, code: 1500, httpStatus: 500 });
        session.append('b');
        const result = await session.finish();
        expect(result.text).toBe('ab');
        expect(messageText(emulator, session.messageId!)).toBe('ab');
        expect(seen).toContain('flush:message');
        expect(seen).toContain(`retry:${PATCH}`);
        expect(seen.at(-1)).toBe('finish:message');
        await sleep(10);
        expect(warnings.some((w) => w.name === 'SessionListenerError' || w.message === 'listener bug')).toBe(true);
      } finally {
        process.off('warning', onWarning);
      }
    });
  });

  describe('fallback', () => {
    it('a signal aborted from the fallback listener stops start: nothing is sent, the reason is thrown', async () => {
      const { client } = wiredClient(emulator, { app: NO_CARDKIT });
      const controller = new AbortController();
      const reason = new Error('gone away');
      const error = await rejection(
        CardSession.start(client, {
          to: { chat_id: 'oc_fb' },
          signal: controller.signal,
          on: { fallback: () => controller.abort(reason) },
        }),
      );
      expect(error).toBe(reason);
      expect(emulator.messages()).toEqual([]);
      expect(emulator.cards()).toEqual([]);
    });

    it('a signal aborted while the fallback send is in flight settles start with the reason', async () => {
      const { client } = wiredClient(emulator, { app: NO_CARDKIT });
      emulator.faults.add({ kind: 'latency', endpoint: 'im.message.create', latencyMs: 400, count: 1 });
      const controller = new AbortController();
      const fallbacks: FallbackEvent[] = [];
      const starting = CardSession.start(client, { to: { chat_id: 'oc_fb2' }, signal: controller.signal, on: { fallback: (e) => fallbacks.push(e) } });
      await sleep(150);
      controller.abort(new Error('stop starting'));
      const error = await rejection(starting);
      expect((error as Error).message).toBe('stop starting');
      expect(fallbacks).toHaveLength(1);
    });

    it('a signal aborted after a fallback start aborts the message session', async () => {
      const { client } = wiredClient(emulator, { app: NO_CARDKIT });
      const controller = new AbortController();
      const session = await CardSession.start(client, { to: { chat_id: 'oc_fb3' }, signal: controller.signal, retry: FAST_RETRY });
      expect(session.transport).toBe('message');
      session.append('partial');
      controller.abort('bye');
      const result = await session.finish();
      expect(result).toMatchObject({ aborted: true, abortReason: 'bye', transport: 'message' });
      expect(messageText(emulator, session.messageId!)).toBe('partial' + INTERRUPTED);
    });

    it('a permission refusal of the send (not of CardKit) is no reason to fall back, nor to remember CardKit as refused', async () => {
      // The app may create cards but not send messages: CardKit was not refused.
      const { client } = wiredClient(emulator, { app: NO_IM });
      const fallbacks: FallbackEvent[] = [];
      const error = await rejection(CardSession.start(client, { to: { chat_id: 'oc_fb4' }, on: { fallback: (e) => fallbacks.push(e) } }));
      expect(error).toMatchObject({ code: 99991672, endpoint: 'im.message.create' });
      expect(fallbacks).toEqual([]);
    });
  });

  describe('secrets', () => {
    it('neither the app secret nor a tenant token appears in any error a message session raises, nor in its cause chain', async () => {
      const { client } = wiredClient(emulator, { app: SECRET_APP });
      const token = await tenantToken(emulator, SECRET_APP.appId, SECRET_APP.appSecret);
      const leak = `bad request from ${SECRET_APP.appSecret} with Bearer ${token}`;
      const session = await start(client);
      const events = record(session);
      session.append('x');
      await sleep(250);
      emulator.faults.add({ kind: 'fail', endpoint: PATCH, code: 1500, httpStatus: 500, msg: leak });
      emulator.faults.add({ kind: 'fail', endpoint: PATCH, code: 230001, msg: leak });
      session.append('y');
      const error = await rejection(session.finish());
      expect(error).toBeInstanceOf(FeishuApiError);
      const seen = [error, ...events.error, ...events.retry.map((r) => r.error)];
      for (const e of seen) {
        const shown = inspect(e, { depth: 10, showHidden: true }) + JSON.stringify(e) + String((e as Error).stack);
        expect(shown).not.toContain(SECRET_APP.appSecret);
        expect(shown).not.toContain(token);
      }
      emulator.faults.add({ kind: 'fail', endpoint: 'im.message.create', code: 230002, msg: leak });
      const sendError = await rejection(start(client));
      const shown = inspect(sendError, { depth: 10, showHidden: true }) + String((sendError as Error).stack);
      expect(shown).toContain('[redacted]');
      expect(shown).not.toContain(SECRET_APP.appSecret);
      expect(shown).not.toContain(token);
    });
  });

  describe('Card JSON 1.0', () => {
    const V1 = {
      config: { wide_screen_mode: true },
      header: { title: { tag: 'plain_text', content: 'v1' }, template: 'blue' },
      elements: [{ tag: 'markdown', element_id: 'answer', content: '' }, { tag: 'hr' }, { tag: 'markdown', content: 'footer' }],
    };

    it('a 1.0 card keeps its config, goes on past 4 tables in elements at the top, and past 30 KB in 1.0 continuation messages', async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client, { card: V1 });
      let answer = answerWithTables(7);
      for (let i = 0; answer.length < 40_000; i++) answer += `\n\nOne-oh paragraph ${i}.`;
      for (const piece of chunks(answer, 1500, seeded(10))) session.append(piece);
      const result = await session.finish();
      expect(result.cards.length).toBeGreaterThanOrEqual(2);
      const cards = result.cards.map((c) => cardOf(emulator.message(c.messageId!)!));
      for (const card of cards) {
        expect(card.schema).toBeUndefined();
        expect(card.body).toBeUndefined();
        expect(card.config).toMatchObject({ wide_screen_mode: true, update_multi: true });
        const elements = card.elements as { tag: string; content?: string }[];
        expect(elements.at(-1)).toEqual({ tag: 'markdown', content: 'footer' });
        for (const { text } of markdownElementsOf(elements)) expect(countTables(text)).toBeLessThanOrEqual(4);
        expect(Buffer.byteLength(JSON.stringify(card))).toBeLessThanOrEqual(KB30);
      }
      expect(markdownElementsOf(cards[0]!.elements).map((e) => e.id)).toEqual(['answer', 'answer_2']);
      expect((cards[0]!.elements as { tag: string; element_id?: string }[]).map((e) => e.element_id ?? e.tag)).toEqual(['answer', 'answer_2', 'hr', 'markdown']);
      expect((cards[1]!.header as { title: { content: string } }).title.content).toBe('v1 (continued)');
      expect(rebuild(result.cards.map((c) => messageText(emulator, c.messageId!)), answer)).toBe(answer);
      expect(emulator.stats().rejected).toEqual({});
    });

    it('a 1.0 card sent without config is made shared, and its summary set by the last patch', async () => {
      const { client } = wiredClient(emulator);
      const session = await start(client, { card: { elements: [{ tag: 'markdown', element_id: 'answer', content: '' }] } });
      expect(cardOf(emulator.message(session.messageId!)!).config).toEqual({ update_multi: true });
      session.append('1.0 text');
      await session.finish();
      expect(cardOf(emulator.message(session.messageId!)!).config).toEqual({ update_multi: true, summary: { content: '1.0 text' } });
    });
  });

  it('a recalled message fails the session at once, and the close does not retry against it forever', async () => {
    const { client } = wiredClient(emulator);
    const session = await start(client);
    session.append('a');
    await sleep(250);
    await api(emulator, 'DELETE', `/open-apis/im/v1/messages/${session.messageId!}`, { token: await tenantToken(emulator) });
    session.append('b');
    const began = performance.now();
    const error = await rejection(session.finish());
    expect((error as FeishuApiError).code).toBe(230011);
    expect(performance.now() - began).toBeLessThan(2000);
    expect(patchCodes(emulator.message(session.messageId!)!).filter((c) => c === 230011).length).toBeLessThanOrEqual(2);
  });

  it('an answer of nothing: finish closes the message card empty, nothing refused', async () => {
    const { client } = wiredClient(emulator);
    const session = await start(client);
    const result = await session.finish();
    expect(result).toMatchObject({ text: '', transport: 'message', cardId: null, sequence: 0, aborted: false });
    expect(messageText(emulator, session.messageId!)).toBe('');
    expect(emulator.stats().rejected).toEqual({});
  });
});
