/**
 * The message-card transport (seed 004, reference §11.3): the card is sent inline in an interactive
 * message and streamed by patching the whole card through IM, at most 5 patches a second per message,
 * with the guarantees of the CardKit path: coalescing, retries, rollover, an exact final text, abort
 * and finish. And the automatic fallback when CardKit refuses to create a card for lack of permission.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Emulator, MessageSnapshot } from '../../src/emulator/index.js';
import { CardSession, type FallbackEvent, FeishuApiError, type FeishuClient, type RolloverEvent } from '../../src/index.js';
import { countTables } from '../../src/session/markdown-cut.js';
import { clientFor } from '../support/client.js';
import { api, tenantToken, useEmulator } from '../support/emulator-http.js';
import { NOTE, answerWithTables, chunks, markdownBlock, markdownElementsOf, rebuild } from '../support/long-answers.js';
import { FAST_RETRY, INTERRUPTED, REASONING_CARD, paced, record, seeded, sleep, waitFor } from '../support/session.js';

const PATCH = 'im.message.patch';

/** The card a message shows now. */
function cardOf(message: MessageSnapshot): Record<string, unknown> {
  return JSON.parse(message.content) as Record<string, unknown>;
}

/** The joined text of a streamed element and the elements it continued in, on a message card. */
function messageText(emulator: Emulator, messageId: string, elementId = 'answer'): string {
  const card = cardOf(emulator.message(messageId)!);
  return markdownElementsOf(card.schema === '2.0' ? card.body : card.elements)
    .filter(({ id }) => id === elementId || new RegExp(`^${elementId}_\\d+$`).test(id))
    .map(({ text }) => text)
    .join('');
}

/** The most accepted patches to one message inside any one second of emulated time. */
function busiestSecond(message: MessageSnapshot): number {
  const times = message.log.filter((e) => e.endpoint === PATCH && e.code === 0).map((e) => e.time);
  let most = 0;
  for (let i = 0; i < times.length; i++) most = Math.max(most, times.filter((t) => t >= times[i]! && t < times[i]! + 1000).length);
  return most;
}

function patches(message: MessageSnapshot, code?: number) {
  return message.log.filter((e) => e.endpoint === PATCH && (code === undefined || e.code === code));
}

describe('the message-card transport', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  const newClient = (): FeishuClient => clientFor(emulator).client;
  const start = (options: Parameters<typeof CardSession.start>[1] = {}) =>
    CardSession.start(newClient(), { transport: 'message', to: { chat_id: 'oc_team' }, title: 'Answer', retry: FAST_RETRY, ...options });

  describe('lifecycle', () => {
    it('sends an interactive message with the card inline, shared and without streaming mode, and creates no card entity', async () => {
      const session = await start();
      const message = emulator.message(session.messageId!)!;
      expect(message.msg_type).toBe('interactive');
      expect(message.chat_id).toBe('oc_team');
      const card = cardOf(message);
      expect(card.schema).toBe('2.0');
      expect(card.config).toEqual({ update_multi: true });
      expect(card.header).toEqual({ title: { tag: 'plain_text', content: 'Answer' } });
      expect(session.transport).toBe('message');
      expect(session.cardId).toBeNull();
      expect(emulator.cards()).toEqual([]);
      await session.finish();
    });

    it('streams every delta into the message; the final card holds exactly the answer and the summary', async () => {
      const session = await start();
      const events = record(session);
      const answer = '流式**消息卡片**: the whole card is replaced on each patch. 😀 Done.';
      const result = await session.pipe(paced(Array.from(answer), 5));
      const message = emulator.message(session.messageId!)!;
      expect(messageText(emulator, message.message_id)).toBe(answer);
      expect((cardOf(message).config as { summary: unknown }).summary).toEqual({ content: answer.slice(0, 50) + '…' });
      expect(result).toMatchObject({ transport: 'message', cardId: null, messageId: message.message_id, text: answer, sequence: 0, retries: 0, reopens: 0, aborted: false });
      expect(result.cards).toEqual([{ cardId: null, messageId: message.message_id }]);
      // Every accepted patch is a write; deltas were coalesced into far fewer patches than characters.
      expect(result.writes).toBe(patches(message, 0).length);
      expect(result.writes).toBeLessThan(answer.length / 2);
      expect(events.flush.every((e) => e.via === 'message' && e.sequence === 0)).toBe(true);
      expect(events.finish).toEqual([result]);
      expect(emulator.stats().rejected).toEqual({});
    });

    it('a fast model is coalesced to at most 5 patches a second on the message, none refused', async () => {
      const session = await start();
      const answer = 'token '.repeat(1500);
      await session.pipe(paced(answer.match(/.{1,6}/g)!, 1));
      const message = emulator.message(session.messageId!)!;
      expect(messageText(emulator, message.message_id)).toBe(answer);
      expect(patches(message).length).toBeGreaterThan(3);
      expect(busiestSecond(message)).toBeLessThanOrEqual(5);
      expect(patches(message).filter((e) => e.code !== 0)).toEqual([]);
    });

    it('a reasoning element and the answer travel in the same patches, each exact', async () => {
      const session = await start({ card: REASONING_CARD, extraElementIds: ['thinking'] });
      for (let i = 0; i < 50; i++) {
        session.append(`thought ${i}. `, 'thinking');
        session.append(`word${i} `);
        await sleep(2);
      }
      await session.finish();
      const id = session.messageId!;
      expect(messageText(emulator, id, 'thinking')).toBe(Array.from({ length: 50 }, (_, i) => `thought ${i}. `).join(''));
      expect(messageText(emulator, id)).toBe(Array.from({ length: 50 }, (_, i) => `word${i} `).join(''));
      expect(busiestSecond(emulator.message(id)!)).toBeLessThanOrEqual(5);
    });

    it('a flush event names every text a patch carried, also one that arrived while the patch waited; the last one has the final length', async () => {
      const session = await start({ card: REASONING_CARD, extraElementIds: ['thinking'] });
      const events = record(session);
      session.append('one');
      await waitFor(() => events.flush.length > 0, 'the first patch');
      session.append(' two'); // waits about 220 ms for the message's next slot
      await sleep(50);
      session.append('a thought', 'thinking');
      await waitFor(() => events.flush.some((e) => e.elementId === 'thinking'), 'a flush of the thinking text', 2000);
      expect(messageText(emulator, session.messageId!, 'thinking')).toBe('a thought');
      session.append(' three');
      await session.finish();
      expect(events.flush.filter((e) => e.elementId === 'answer').at(-1)!.length).toBe('one two three'.length);
    });

    it('replies to a message, in its thread when asked', async () => {
      const parent = await start();
      await parent.finish();
      const session = await start({ to: { reply_to: parent.messageId!, in_thread: true } });
      session.append('a reply');
      await session.finish();
      const message = emulator.message(session.messageId!)!;
      expect(message.parent_id).toBe(parent.messageId);
      expect(message.thread_id).not.toBeNull();
      expect(messageText(emulator, message.message_id)).toBe('a reply');
    });

    it('patchElement changes a property in order with the text', async () => {
      const card = { schema: '2.0', body: { elements: [{ tag: 'markdown', element_id: 'answer', content: '', text_size: 'normal' }] } };
      const session = await start({ card });
      session.append('before ');
      await session.patchElement('answer', { text_size: 'heading' });
      session.append('after');
      await session.finish();
      const element = markdownElementsOf(cardOf(emulator.message(session.messageId!)!).body);
      expect(element).toEqual([{ id: 'answer', text: 'before after' }]);
      expect((cardOf(emulator.message(session.messageId!)!).body as { elements: { text_size: string }[] }).elements[0]!.text_size).toBe('heading');
      await expect(start().then((s) => s.patchElement('nope', { x: 1 }))).rejects.toThrow(/no element with element_id nope/);
    });

    it('takes a Card JSON 1.0 card (no schema, elements at the top)', async () => {
      const card = { header: { title: { tag: 'plain_text', content: 'v1' } }, elements: [{ tag: 'markdown', element_id: 'answer', content: '' }] };
      const session = await start({ card });
      session.append('hello from a 1.0 card');
      await session.finish();
      const sent = cardOf(emulator.message(session.messageId!)!);
      expect(sent.config).toEqual({ update_multi: true, summary: { content: 'hello from a 1.0 card' } });
      expect(messageText(emulator, session.messageId!)).toBe('hello from a 1.0 card');
    });

    it('refuses what cannot work, before sending anything', async () => {
      const client = newClient();
      await expect(CardSession.start(client, { transport: 'message' })).rejects.toThrow(/options\.to is required with transport 'message'/);
      await expect(CardSession.start(client, { transport: 'mail' as never, to: { chat_id: 'oc_x' } })).rejects.toThrow(TypeError);
      await expect(CardSession.start(client, { card: { elements: [] } })).rejects.toThrow(/schema must be "2.0"/);
      const unshared = { config: { update_multi: false }, elements: [{ tag: 'markdown', element_id: 'answer', content: '' }] };
      await expect(CardSession.start(client, { transport: 'message', to: { chat_id: 'oc_x' }, card: unshared })).rejects.toThrow(/update_multi/);
      await expect(CardSession.start(client, { messageFallback: 'yes' as never })).rejects.toThrow(/messageFallback must be a boolean/);
      await expect(CardSession.start(client, { on: { flsh: () => undefined } as never })).rejects.toThrow(/options\.on\.flsh is not a session event/);
      expect(emulator.messages()).toEqual([]);
    });
  });

  describe('recovery', () => {
    it.each([
      ['a 5xx', { kind: 'fail', code: 1500, httpStatus: 500, count: 3 }],
      ['dropped connections', { kind: 'drop', count: 3 }],
      ['lost answers (the patch applied)', { kind: 'lose_response', count: 3 }],
      ['230020 rate-limit answers', { kind: 'fail', code: 230020, count: 4 }],
      ['99991400 with HTTP 429', { kind: 'fail', code: 99991400, httpStatus: 429, count: 2, headers: { 'x-ogw-ratelimit-reset': '1' } }],
      ['an expired token', { kind: 'fail', code: 99991663, count: 2 }],
    ] as const)('%s on the patches: retried, the final text exact', async (_name, fault) => {
      const session = await start();
      const events = record(session);
      session.append('first part, ');
      await sleep(300);
      emulator.faults.add({ ...fault, endpoint: PATCH });
      for (let i = 0; i < 20; i++) {
        session.append(`piece ${i}, `);
        await sleep(10);
      }
      session.append('the end.');
      const result = await session.finish();
      const expected = 'first part, ' + Array.from({ length: 20 }, (_, i) => `piece ${i}, `).join('') + 'the end.';
      expect(messageText(emulator, session.messageId!)).toBe(expected);
      expect(result.text).toBe(expected);
      expect(events.retry.length).toBeGreaterThan(0);
      expect(events.error).toEqual([]);
    });

    it('a message recalled mid-answer ends the session with 230011 at once; nothing hangs', async () => {
      const session = await start();
      const events = record(session);
      session.append('some text');
      await sleep(300);
      const recalled = await api(emulator, 'DELETE', `/open-apis/im/v1/messages/${session.messageId!}`, { token: await tenantToken(emulator) });
      expect(recalled.body.code).toBe(0);
      session.append(' more text');
      const error = await session.finish().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(FeishuApiError);
      expect((error as FeishuApiError).code).toBe(230011);
      expect(session.state).toBe('failed');
      expect(events.error).toHaveLength(1);
      expect(patches(emulator.message(session.messageId!)!, 230011).length).toBeGreaterThan(0);
    });

    it('abort keeps what arrived and marks the card interrupted; also while the model is silent', async () => {
      const session = await start();
      async function* silentAfterOne() {
        yield 'partial answer';
        await new Promise(() => undefined); // the model never speaks again
      }
      const piping = session.pipe(silentAfterOne());
      await sleep(300);
      const result = await session.abort(new Error('user pressed stop'));
      await expect(piping).resolves.toEqual(result);
      expect(result.aborted).toBe(true);
      expect(messageText(emulator, session.messageId!)).toBe('partial answer' + INTERRUPTED);
    });
  });

  describe('rollover', () => {
    it('12 tables: the message card holds three markdown elements of at most 4 tables each, joined exactly the answer', async () => {
      const answer = answerWithTables(12);
      const session = await start();
      const rollovers: RolloverEvent[] = [];
      session.on('rollover', (e) => rollovers.push(e));
      for (const piece of chunks(answer, 40, seeded(12))) session.append(piece);
      await session.finish();
      const elements = markdownElementsOf(cardOf(emulator.message(session.messageId!)!).body);
      expect(elements.map((e) => e.id)).toEqual(['answer', 'answer_2', 'answer_3']);
      for (const { text } of elements) expect(countTables(text)).toBeLessThanOrEqual(4);
      expect(elements.map((e) => e.text).join('')).toBe(answer);
      expect(rollovers.map((r) => [r.kind, r.from, r.to, r.cardId])).toEqual([
        ['element', 'answer', 'answer_2', null],
        ['element', 'answer_2', 'answer_3', null],
      ]);
      expect(emulator.stats().rejected).toEqual({});
    });

    it('an answer of 70 KB goes on in continuation messages sent in order, each within 30 KB, joined exactly the answer', async () => {
      let answer = '';
      for (let i = 0; answer.length < 70_000; i++) answer += `Paragraph ${i}: a long answer over message cards. 消息卡片。\n\n`;
      const session = await start({ to: { chat_id: 'oc_long' } });
      for (const piece of chunks(answer, 5000, seeded(7))) session.append(piece);
      const result = await session.finish();
      expect(result.cards.length).toBeGreaterThanOrEqual(3);
      expect(result.cards.every((c) => c.cardId === null && c.messageId !== null)).toBe(true);
      const messages = result.cards.map((c) => emulator.message(c.messageId!)!);
      expect(messages.map((m) => m.chat_id)).toEqual(messages.map(() => 'oc_long'));
      expect(messages.map((m) => m.created_at)).toEqual([...messages.map((m) => m.created_at)].sort((a, b) => a - b));
      for (const message of messages) {
        expect(Buffer.byteLength(message.content)).toBeLessThanOrEqual(30 * 1024);
        expect(busiestSecond(message)).toBeLessThanOrEqual(5);
      }
      expect(((cardOf(messages[1]!).header as { title: { content: string } }).title.content)).toBe('Answer (continued)');
      expect(messageText(emulator, messages[0]!.message_id).endsWith(NOTE)).toBe(true);
      expect(rebuild(messages.map((m) => messageText(emulator, m.message_id)), answer)).toBe(answer);
      expect(emulator.stats().rejected).toEqual({});
    }, 60_000);
  });

  it('1,000 tiny tables: no message card holds more than 200 elements, joined exactly the answer', async () => {
    const answer = '| a |\n| - |\n\n'.repeat(1000) + 'end';
    const session = await start();
    for (const piece of chunks(answer, 300, seeded(3))) session.append(piece);
    const result = await session.finish();
    const messages = result.cards.map((c) => emulator.message(c.messageId!)!);
    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) {
      const elements = markdownElementsOf(cardOf(message).body);
      expect(elements.length).toBeLessThanOrEqual(200);
      for (const { text } of elements) expect(countTables(text)).toBeLessThanOrEqual(4);
    }
    expect(rebuild(messages.map((m) => messageText(emulator, m.message_id)), answer)).toBe(answer);
    expect(emulator.stats().rejected).toEqual({});
  });

  it('any markdown, cut into any deltas: the message cards joined are exactly the answer, each within 30 KB and 4 tables per element', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(markdownBlock, { minLength: 5, maxLength: 120 }), fc.integer({ min: 1, max: 3000 }), async (blocks, max) => {
        const answer = blocks.join('');
        const session = await start();
        for (const piece of chunks(answer, max, seeded(max))) session.append(piece);
        const result = await session.finish();
        const messages = result.cards.map((c) => emulator.message(c.messageId!)!);
        expect(rebuild(messages.map((m) => messageText(emulator, m.message_id)), answer)).toBe(answer);
        for (const message of messages) {
          expect(Buffer.byteLength(message.content)).toBeLessThanOrEqual(30 * 1024);
          for (const { text } of markdownElementsOf(cardOf(message).body)) expect(countTables(text)).toBeLessThanOrEqual(4);
        }
      }),
      { numRuns: 8 },
    );
    expect(emulator.stats().rejected).toEqual({});
  }, 120_000);
});

describe('falling back to message cards when CardKit is refused', () => {
  let emulator: Emulator;
  const noCardKit = { appId: 'cli_im', appSecret: 's_im', scopes: ['im:message'] };
  useEmulator((started) => ({ emulator } = started), { apps: [{ appId: 'cli_x', appSecret: 's_x' }, noCardKit] });

  it('an app without cardkit:card:write streams through a message card by itself, and says so', async () => {
    const client = clientFor(emulator, noCardKit).client;
    const fallbacks: FallbackEvent[] = [];
    const session = await CardSession.start(client, { to: { chat_id: 'oc_team' }, on: { fallback: (e) => fallbacks.push(e) } });
    expect(session.transport).toBe('message');
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]).toMatchObject({ from: 'cardkit', to: 'message', remembered: false });
    expect((fallbacks[0]!.error as FeishuApiError).code).toBe(99991672);
    const result = await session.pipe(paced(['fell ', 'back ', 'fine'], 20));
    expect(result.transport).toBe('message');
    expect(messageText(emulator, session.messageId!)).toBe('fell back fine');
    expect(emulator.cards()).toEqual([]);

    // The next session of the client remembers the refusal: no second create call.
    const again: FallbackEvent[] = [];
    const next = await CardSession.start(client, { to: { chat_id: 'oc_team' }, on: { fallback: (e) => again.push(e) } });
    expect(again[0]).toMatchObject({ remembered: true });
    await next.finish();
    expect(emulator.stats().rejected).toEqual({ '99991672': 1 });
  });

  it('with messageFallback: false, or without a recipient, the refusal is the caller’s', async () => {
    const client = clientFor(emulator, noCardKit).client;
    const refused = await CardSession.start(client, { to: { chat_id: 'oc_team' }, messageFallback: false }).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(FeishuApiError);
    expect(refused).toMatchObject({ code: 99991672, category: 'permission', endpoint: 'cardkit.card.create' });
    await expect(CardSession.start(client)).rejects.toMatchObject({ code: 99991672 });
    expect(emulator.messages()).toEqual([]);
  });

  it('an app with CardKit never falls back', async () => {
    const fallbacks: FallbackEvent[] = [];
    const session = await CardSession.start(clientFor(emulator).client, { to: { chat_id: 'oc_team' }, on: { fallback: (e) => fallbacks.push(e) } });
    expect(session.transport).toBe('cardkit');
    await session.finish();
    expect(fallbacks).toEqual([]);
  });
});
