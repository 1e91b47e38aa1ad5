/**
 * `CardSession` from start to finish against the emulator over loopback: where the card is sent,
 * which card is created, text in, exact text out, the closing settings call, events, ordering with
 * element patches, abort, bad input and attaching to a card created elsewhere.
 */
import { describe, expect, it } from 'vitest';
import { type FeishuClient, cardEntityContent } from '../../src/client/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, SessionStateError } from '../../src/session/index.js';
import { clientFor } from '../support/client.js';
import { elementText, useEmulator } from '../support/emulator-http.js';
import { FAST_RETRY, INTERRUPTED, cardLog, paced, record, waitFor } from '../support/session.js';

/** A caller's own Card JSON 2.0: header, a collapsible reasoning panel, the answer and a note. */
function ownCard(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: '2.0',
    config: { update_multi: true },
    header: { title: { tag: 'plain_text', content: 'Own card' } },
    body: {
      elements: [
        {
          tag: 'collapsible_panel',
          element_id: 'panel',
          expanded: false,
          header: { title: { tag: 'markdown', content: 'Reasoning' } },
          elements: [{ tag: 'markdown', element_id: 'reasoning', content: '' }],
        },
        { tag: 'markdown', element_id: 'answer', content: '' },
        { tag: 'markdown', element_id: 'note', content: 'no sources yet' },
      ],
    },
    ...overrides,
  };
}

function withElements(elements: unknown[]): Record<string, unknown> {
  return ownCard({ body: { elements } });
}

/** Code-point-safe expectation of the default summary: first 50 characters, `…` when cut. */
function expectedSummary(answer: string): string {
  const chars = Array.from(answer);
  return chars.length > 50 ? `${chars.slice(0, 50).join('')}…` : answer;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('CardSession lifecycle', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  const newClient = (): FeishuClient => clientFor(emulator).client;

  describe('start: where the card goes', () => {
    it('to { chat_id } sends the card entity into that chat and binds the message to the card', async () => {
      const session = await CardSession.start(newClient(), { to: { chat_id: 'oc_team' } });
      expect(session.messageId).toMatch(/\S/);
      const message = emulator.message(session.messageId!);
      expect(message).toMatchObject({ card_id: session.cardId, chat_id: 'oc_team', receive_id_type: 'chat_id', msg_type: 'interactive' });
      expect(emulator.card(session.cardId!)).toMatchObject({ message_id: session.messageId, streaming_mode: true });
      expect(emulator.messages()).toHaveLength(1);
      await session.finish();
    });

    it('to { open_id } sends the card to that user', async () => {
      const session = await CardSession.start(newClient(), { to: { open_id: 'ou_alice' } });
      const message = emulator.message(session.messageId!);
      expect(message).toMatchObject({ card_id: session.cardId, receive_id: 'ou_alice', receive_id_type: 'open_id' });
      expect(emulator.card(session.cardId!)?.message_id).toBe(session.messageId);
      await session.finish();
    });

    it.each([
      { inThread: true, label: 'in a thread' },
      { inThread: false, label: 'inline' },
    ])('to { reply_to, in_thread: $inThread } replies to the message $label', async ({ inThread }) => {
      const client = newClient();
      const question = await client.im.v1.message.create({
        receive_id_type: 'chat_id',
        receive_id: 'oc_team',
        msg_type: 'text',
        content: { text: 'what is the weather?' },
      });
      const session = await CardSession.start(client, { to: { reply_to: question.message_id, in_thread: inThread } });
      const reply = emulator.message(session.messageId!);
      expect(reply).toMatchObject({ card_id: session.cardId, parent_id: question.message_id, chat_id: 'oc_team' });
      if (inThread) expect(reply?.thread_id).toMatch(/\S/);
      else expect(reply?.thread_id).toBeNull();
      expect(emulator.card(session.cardId!)?.message_id).toBe(session.messageId);
      await session.finish();
    });

    it('without `to` creates the card only: no message is sent and messageId is null', async () => {
      const session = await CardSession.start(newClient());
      expect(session.messageId).toBeNull();
      expect(emulator.messages()).toEqual([]);
      expect(emulator.card(session.cardId!)).toMatchObject({ message_id: null, streaming_mode: true });
      session.append('hello');
      const result = await session.finish();
      expect(result.messageId).toBeNull();
      expect(elementText(emulator, session.cardId!)).toBe('hello');
    });

    it('title goes into the default card header', async () => {
      const session = await CardSession.start(newClient(), { title: 'Weather in Paris' });
      const card = emulator.card(session.cardId!)!.card as { header?: { title?: { content?: string } } };
      expect(card.header?.title?.content).toBe('Weather in Paris');
      await session.finish();
    });
  });

  describe('start: own Card JSON 2.0', () => {
    it('streams into the answer and a reasoning panel named in extraElementIds', async () => {
      const session = await CardSession.start(newClient(), { card: ownCard(), extraElementIds: ['reasoning'] });
      const created = emulator.card(session.cardId!)!;
      expect(created.streaming_mode).toBe(true);
      expect((created.card as { header: { title: { content: string } } }).header.title.content).toBe('Own card');
      session.append('Looking up ', 'reasoning');
      session.append('the forecast.', 'reasoning');
      session.append('It will be sunny.');
      const result = await session.finish();
      expect(elementText(emulator, session.cardId!, 'reasoning')).toBe('Looking up the forecast.');
      expect(elementText(emulator, session.cardId!, 'answer')).toBe('It will be sunny.');
      expect(elementText(emulator, session.cardId!, 'note')).toBe('no sources yet');
      expect(result.texts).toEqual({ answer: 'It will be sunny.', reasoning: 'Looking up the forecast.' });
      expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
    });

    it('streams into a plain_text element of its own card', async () => {
      const card = withElements([{ tag: 'div', element_id: 'box', text: { tag: 'plain_text', element_id: 'answer', content: '' } }]);
      const session = await CardSession.start(newClient(), { card });
      session.append('plain ');
      session.append('text');
      await session.finish();
      expect(elementText(emulator, session.cardId!)).toBe('plain text');
      expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
    });

    it('pipe() routes reasoning deltas of chat chunks to reasoningElementId', async () => {
      const session = await CardSession.start(newClient(), { card: ownCard(), extraElementIds: ['reasoning'] });
      const chunks = [
        { choices: [{ delta: { reasoning_content: 'Think ' } }] },
        { choices: [{ delta: { reasoning_content: 'hard.' } }] },
        { choices: [{ delta: { content: 'Answer: 42' } }] },
        { choices: [{ delta: {} }] },
      ];
      const result = await session.pipe(paced(chunks, 0), { reasoningElementId: 'reasoning' });
      expect(result.texts).toEqual({ answer: 'Answer: 42', reasoning: 'Think hard.' });
      expect(elementText(emulator, session.cardId!, 'reasoning')).toBe('Think hard.');
      expect(elementText(emulator, session.cardId!)).toBe('Answer: 42');
    });

    const answer = { tag: 'markdown', element_id: 'answer', content: '' };
    it.each([
      { rule: 'schema must be 2.0', card: ownCard({ schema: '1.0' }), error: TypeError },
      { rule: 'schema must be given', card: (({ schema: _schema, ...rest }) => rest)(ownCard()), error: TypeError },
      { rule: 'the streamed element must exist', card: withElements([{ tag: 'markdown', element_id: 'other', content: '' }]), error: TypeError },
      {
        rule: 'the streamed element must be markdown or plain_text (not a button)',
        card: withElements([{ tag: 'button', element_id: 'answer', text: { tag: 'plain_text', content: 'Go' } }]),
        error: TypeError,
      },
      { rule: 'config.update_multi must not be false', card: ownCard({ config: { update_multi: false } }), error: TypeError },
      { rule: 'element ids must be unique', card: withElements([answer, { ...answer }]), error: TypeError },
      { rule: 'element ids must be well formed', card: withElements([answer, { tag: 'markdown', element_id: '9bad-id', content: '' }]), error: TypeError },
      {
        rule: 'the card must fit in 30 KB',
        card: withElements([answer, { tag: 'markdown', element_id: 'big', content: 'x'.repeat(31 * 1024) }]),
        error: RangeError,
      },
      {
        rule: 'the card must leave at least 4 KB for the streamed text (a continuation card would be as full)',
        card: withElements([answer, { tag: 'markdown', element_id: 'big', content: 'x'.repeat(27 * 1024) }]),
        error: RangeError,
      },
      {
        rule: 'at most 200 elements',
        card: withElements([answer, ...Array.from({ length: 200 }, () => ({ tag: 'markdown', content: 'a' }))]),
        error: RangeError,
      },
    ])('own card is checked before creation: $rule', async ({ card, error }) => {
      await expect(CardSession.start(newClient(), { card, to: { chat_id: 'oc_team' } })).rejects.toThrow(error);
      expect(emulator.cards()).toEqual([]);
      expect(emulator.messages()).toEqual([]);
      expect(emulator.stats().endpoints['cardkit.card.create']).toBeUndefined();
    });

    it('extraElementIds that the card lacks are rejected before creation', async () => {
      await expect(CardSession.start(newClient(), { card: ownCard(), extraElementIds: ['missing'] })).rejects.toThrow(TypeError);
      await expect(CardSession.start(newClient(), { extraElementIds: ['reasoning'] })).rejects.toThrow(TypeError);
      expect(emulator.cards()).toEqual([]);
    });
  });

  describe('text in', () => {
    it('append() deltas land as their exact concatenation', async () => {
      const session = await CardSession.start(newClient(), { to: { chat_id: 'oc_team' } });
      const deltas = ['Hel', 'lo', ', ', 'wor', 'ld', ' 👋🏽', '\n\n', '| a | b |\n|---|---|\n| 1 | 2 |', '  '];
      for (const delta of deltas) session.append(delta);
      expect(session.text).toBe(deltas.join(''));
      const result = await session.finish();
      expect(result.text).toBe(deltas.join(''));
      expect(elementText(emulator, session.cardId!)).toBe(deltas.join(''));
    });

    it('setText() replaces the text with a full snapshot', async () => {
      const session = await CardSession.start(newClient());
      session.append('draft that will be replaced');
      session.setText('The cat');
      session.setText('The cat sat on the mat.');
      await session.finish();
      expect(elementText(emulator, session.cardId!)).toBe('The cat sat on the mat.');
    });

    it('pipe() of an async generator of strings lands the exact text and finishes the card', async () => {
      const session = await CardSession.start(newClient(), { to: { chat_id: 'oc_team' } });
      const pieces = Array.from({ length: 30 }, (_, i) => `token${i} `);
      const result = await session.pipe(paced(pieces, 5));
      expect(result.text).toBe(pieces.join(''));
      expect(elementText(emulator, session.cardId!)).toBe(pieces.join(''));
      expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
      expect(session.state).toBe('finished');
    });

    it('pipe({ finish: false }) leaves the session open for more text', async () => {
      const session = await CardSession.start(newClient());
      await expect(session.pipe(paced(['one ', 'two '], 0), { finish: false })).resolves.toBeUndefined();
      expect(session.state).toBe('open');
      session.append('three');
      await session.finish();
      expect(elementText(emulator, session.cardId!)).toBe('one two three');
    });
  });

  describe('finish', () => {
    it('flushes the exact final text, closes streaming mode and sets the summary in one settings call', async () => {
      const session = await CardSession.start(newClient(), { to: { chat_id: 'oc_team' } });
      const answer = 'Sunny, 24 °C, light wind from the south-west, no rain expected before the weekend.';
      session.append(answer.slice(0, 20));
      session.append(answer.slice(20));
      await session.finish();
      const card = emulator.card(session.cardId!)!;
      expect(elementText(emulator, session.cardId!)).toBe(answer);
      expect(card.streaming_mode).toBe(false);
      expect(card.summary).toBe(expectedSummary(answer));
      expect(card.summary).toBe(`${answer.slice(0, 50)}…`);
      const settings = card.log.filter((e) => e.endpoint === 'cardkit.card.settings');
      expect(settings).toHaveLength(1);
      expect(settings[0]?.code).toBe(0);
      expect(card.log.at(-1)?.endpoint).toBe('cardkit.card.settings');
    });

    it('the summary keeps an emoji at the 50-character cut whole', async () => {
      const session = await CardSession.start(newClient());
      // UTF-16 units 49 and 50 are the two halves of 😀: a cut by code units would split it.
      const answer = `${'a'.repeat(49)}😀 and the rest of a long answer`;
      session.append(answer);
      await session.finish();
      const summary = emulator.card(session.cardId!)!.summary!;
      expect(summary).toBe(`${'a'.repeat(49)}😀…`);
      expect(summary).not.toMatch(LONE_SURROGATE);
    });

    it('a short answer is its own summary, and a custom summary wins', async () => {
      const short = await CardSession.start(newClient());
      short.append('Yes.');
      await short.finish();
      expect(emulator.card(short.cardId!)?.summary).toBe('Yes.');

      const custom = await CardSession.start(newClient());
      custom.append('A long answer about many things that goes on and on for quite a while.');
      await custom.finish({ summary: 'Forecast: sunny' });
      expect(emulator.card(custom.cardId!)).toMatchObject({ summary: 'Forecast: sunny', streaming_mode: false });
    });

    it('resolves with card id, message id, final text, sequence, writes, retries and reopens matching the emulator', async () => {
      const session = await CardSession.start(newClient(), { to: { chat_id: 'oc_team' } });
      const result = await session.pipe(paced(['alpha ', 'beta ', 'gamma'], 30));
      const card = emulator.card(session.cardId!)!;
      expect(result).toEqual({
        transport: 'cardkit',
        cardId: session.cardId,
        messageId: card.message_id,
        cards: [{ cardId: session.cardId, messageId: card.message_id }],
        text: 'alpha beta gamma',
        texts: { answer: 'alpha beta gamma' },
        sequence: card.sequence,
        // Every accepted write to the card: the one that opened streaming mode, the text, the close.
        writes: card.log.filter((e) => e.endpoint !== 'cardkit.card.create' && e.code === 0).length,
        retries: 0,
        reopens: 0,
        aborted: false,
        steps: [],
        finishReason: undefined,
        unhandled: {},
      });
      expect(result.messageId).toBe(session.messageId);
      expect(session.sequence).toBe(card.sequence);
    });

    it('finishing twice returns the same result and closes the card once', async () => {
      const session = await CardSession.start(newClient());
      session.append('once');
      const first = session.finish();
      const second = session.finish();
      const [a, b] = await Promise.all([first, second]);
      expect(b).toBe(a);
      await expect(session.finish()).resolves.toBe(a);
      const settings = cardLog(emulator, session.cardId!).filter((e) => e.endpoint === 'cardkit.card.settings');
      expect(settings).toHaveLength(1);
    });

    it('emits `flush` per accepted write with increasing sequences, and `finish` once', async () => {
      const session = await CardSession.start(newClient());
      const events = record(session);
      const result = await session.pipe(paced(['a', 'b', 'c', 'd', 'e', 'f'], 60));
      const contentWrites = cardLog(emulator, session.cardId!).filter((e) => e.endpoint === 'cardkit.cardElement.content');
      expect(events.flush.length).toBeGreaterThan(1);
      expect(events.flush.map((f) => f.sequence)).toEqual(contentWrites.filter((e) => e.code === 0).map((e) => e.sequence));
      for (let i = 1; i < events.flush.length; i++) {
        expect(events.flush[i]!.sequence).toBeGreaterThan(events.flush[i - 1]!.sequence);
        expect(events.flush[i]!.length).toBeGreaterThanOrEqual(events.flush[i - 1]!.length);
      }
      expect(events.flush.at(-1)).toMatchObject({ elementId: 'answer', length: 6, via: 'content' });
      expect(events.finish).toEqual([result]);
    });
  });

  describe('order', () => {
    it('a patch requested after append(x) lands after the content write carrying x', async () => {
      const session = await CardSession.start(newClient(), { card: ownCard() });
      const events = record(session);
      session.append('a');
      await session.patchElement('note', { content: 'Sources: 3' });
      // The patch resolved, so the text appended before it is already on the card.
      expect(elementText(emulator, session.cardId!)).toBe('a');
      session.append('b');
      await session.finish();

      const log = cardLog(emulator, session.cardId!);
      const patchIndex = log.findIndex((e) => e.endpoint === 'cardkit.cardElement.patch');
      const carryingA = events.flush.find((f) => f.elementId === 'answer' && f.length >= 1)!;
      const contentIndex = log.findIndex((e) => e.endpoint === 'cardkit.cardElement.content' && e.sequence === carryingA.sequence);
      expect(contentIndex).toBeGreaterThanOrEqual(0);
      expect(patchIndex).toBeGreaterThan(contentIndex);
      expect(log[patchIndex]!.sequence).toBeGreaterThan(carryingA.sequence);
      expect(elementText(emulator, session.cardId!, 'note')).toBe('Sources: 3');
      expect(elementText(emulator, session.cardId!)).toBe('ab');
      // One queue: every write arrived with a higher sequence than the one before, none refused.
      const sequences = log.map((e) => e.sequence!);
      expect(sequences).toEqual([...sequences].sort((x, y) => x - y));
      expect(new Set(sequences).size).toBe(sequences.length);
      expect(log.every((e) => e.code === 0)).toBe(true);
    });

    it('a patch requested right after append(x), with more text appended at once, still lands after a write carrying x', async () => {
      const session = await CardSession.start(newClient(), { card: ownCard() });
      const events = record(session);
      session.append('a');
      const patched = session.patchElement('note', { content: 'Sources: 1' });
      session.append('b');
      await patched;
      await session.finish();
      const patch = cardLog(emulator, session.cardId!).find((e) => e.endpoint === 'cardkit.cardElement.patch')!;
      const before = events.flush.filter((f) => f.elementId === 'answer' && f.sequence < patch.sequence!);
      expect(before.length).toBeGreaterThanOrEqual(1);
      expect(before[0]!.length).toBeGreaterThanOrEqual(1);
      expect(elementText(emulator, session.cardId!)).toBe('ab');
    });
  });

  describe('abort', () => {
    it('abort() flushes what arrived, marks the card interrupted, closes streaming mode and resolves', async () => {
      const session = await CardSession.start(newClient(), { to: { chat_id: 'oc_team' } });
      session.append('Partial answer');
      const result = await session.abort(new Error('user pressed stop'));
      expect(result).toMatchObject({ aborted: true, text: `Partial answer${INTERRUPTED}` });
      expect(elementText(emulator, session.cardId!)).toBe(`Partial answer${INTERRUPTED}`);
      expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
      expect(session.state).toBe('aborted');
      await expect(session.finish()).resolves.toBe(result);
    });

    it('aborting the start option `signal` aborts the session the same way', async () => {
      const controller = new AbortController();
      const session = await CardSession.start(newClient(), { signal: controller.signal });
      const events = record(session);
      session.append('Half of');
      session.append(' it');
      controller.abort(new Error('request cancelled'));
      await waitFor(() => events.finish.length > 0, 'the finish event');
      expect(events.finish[0]?.aborted).toBe(true);
      expect(elementText(emulator, session.cardId!)).toBe(`Half of it${INTERRUPTED}`);
      expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
      expect(() => session.append('late')).toThrow(SessionStateError);
    });

    it('a signal aborted before start creates nothing', async () => {
      const controller = new AbortController();
      controller.abort(new Error('too late'));
      await expect(CardSession.start(newClient(), { signal: controller.signal })).rejects.toThrow('too late');
      expect(emulator.cards()).toEqual([]);
    });

    it('a source that throws mid-stream: the text so far and the marker land, the card closes, pipe rejects with that error', async () => {
      const session = await CardSession.start(newClient(), { to: { chat_id: 'oc_team' } });
      const failure = new Error('model connection reset');
      const piped = session.pipe(paced(['first part, ', 'second part'], 10, failure));
      await expect(piped).rejects.toBe(failure);
      expect(elementText(emulator, session.cardId!)).toBe(`first part, second part${INTERRUPTED}`);
      expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
      expect(session.state).toBe('aborted');
    });
  });

  describe('bad input', () => {
    it('is a typed error at the call, and nothing accepted is lost', async () => {
      const session = await CardSession.start(newClient());
      session.append('kept ');
      expect(() => session.append(42 as unknown as string)).toThrow(TypeError);
      expect(() => session.append(null as unknown as string)).toThrow(TypeError);
      expect(() => session.setText({ text: 'x' } as unknown as string)).toThrow(TypeError);
      expect(() => session.append('x', 'unknown_el')).toThrow(TypeError);
      expect(() => session.append('x', 'bad id!')).toThrow(TypeError);
      await expect(session.patchElement('bad id!', { content: 'x' })).rejects.toThrow(TypeError);
      await expect(session.patchElement('note', null as unknown as Record<string, unknown>)).rejects.toThrow(TypeError);
      session.append('text');
      expect(session.state).toBe('open');
      const result = await session.finish();
      expect(result.text).toBe('kept text');
      expect(elementText(emulator, session.cardId!)).toBe('kept text');

      let stateError: unknown;
      try {
        session.append('after the end');
      } catch (error) {
        stateError = error;
      }
      expect(stateError).toBeInstanceOf(SessionStateError);
      expect((stateError as SessionStateError).state).toBe('finished');
      expect(() => session.setText('after the end')).toThrow(SessionStateError);
      await expect(session.patchElement('answer', { content: 'x' })).rejects.toThrow(SessionStateError);
      expect(elementText(emulator, session.cardId!)).toBe('kept text');
      await expect(session.finish()).resolves.toBe(result);
    });

    it('pipe() of something that is not a source is a TypeError at the call; the session stays open', async () => {
      const session = await CardSession.start(newClient());
      session.append('kept');
      await expect(session.pipe(42 as unknown as AsyncIterable<string>, { finish: false })).rejects.toThrow(TypeError);
      expect(session.state).toBe('open');
      session.append(' and more');
      await session.finish();
      expect(elementText(emulator, session.cardId!)).toBe('kept and more');
    });

    it('bad options are rejected before anything is created', async () => {
      const client = newClient();
      await expect(CardSession.start(client, { to: { chat_id: '' } })).rejects.toThrow(TypeError);
      await expect(CardSession.start(client, { to: { chat_id: 'oc_a', open_id: 'ou_b' } as never })).rejects.toThrow(TypeError);
      await expect(CardSession.start(client, { elementId: 'bad id' })).rejects.toThrow(TypeError);
      await expect(CardSession.start({} as FeishuClient)).rejects.toThrow(TypeError);
      expect(emulator.cards()).toEqual([]);
    });
  });

  describe('attach', () => {
    /** A streaming card created, sent and written to through raw client calls, as another service would. */
    async function cardFromElsewhere(client: FeishuClient, lastSequence: number): Promise<{ cardId: string; messageId: string }> {
      const { card_id: cardId } = await client.cardkit.v1.card.create({
        data: {
          schema: '2.0',
          config: { streaming_mode: true },
          body: { elements: [{ tag: 'markdown', element_id: 'answer', content: '' }] },
        },
      });
      const message = await client.im.v1.message.create({ receive_id_type: 'chat_id', receive_id: 'oc_team', content: cardEntityContent(cardId) });
      for (const sequence of [1, 2, lastSequence]) {
        await client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: 'answer', content: `written elsewhere ${sequence}`, sequence });
      }
      return { cardId, messageId: message.message_id };
    }

    it('with the last sequence given, continues the card without conflicts and closes it', async () => {
      const client = newClient();
      const { cardId, messageId } = await cardFromElsewhere(client, 3);
      const session = CardSession.attach(client, { cardId, messageId, sequence: 3, retry: FAST_RETRY });
      expect(session.messageId).toBe(messageId);
      session.append('Continued ');
      session.append('here.');
      const result = await session.finish();
      expect(elementText(emulator, cardId)).toBe('Continued here.');
      expect(emulator.card(cardId)).toMatchObject({ streaming_mode: false, sequence: result.sequence, message_id: messageId });
      expect(cardLog(emulator, cardId).filter((e) => e.code === 300317)).toEqual([]);
      expect(result).toMatchObject({ cardId, messageId, text: 'Continued here.' });
    });

    it('with the sequence unknown, moves past the card\'s sequence after 300317 and finishes exact', async () => {
      const client = newClient();
      const { cardId } = await cardFromElsewhere(client, 1000);
      const session = CardSession.attach(client, { cardId, retry: FAST_RETRY });
      const events = record(session);
      session.append('Recovered text');
      const result = await session.finish();
      const log = cardLog(emulator, cardId);
      expect(log.some((e) => e.code === 300317)).toBe(true);
      expect(elementText(emulator, cardId)).toBe('Recovered text');
      expect(emulator.card(cardId)?.streaming_mode).toBe(false);
      expect(result.sequence).toBe(emulator.card(cardId)?.sequence);
      expect(result.sequence).toBeGreaterThan(1000);
      expect(events.error).toEqual([]);
    });

    it('needs a card id and a valid sequence, checked at the call', () => {
      const client = newClient();
      expect(() => CardSession.attach(client, { cardId: '' })).toThrow(TypeError);
      expect(() => CardSession.attach(client, { cardId: 'c_1', sequence: -1 })).toThrow(RangeError);
      expect(() => CardSession.attach(client, { cardId: 'c_1', sequence: 1.5 })).toThrow(RangeError);
    });
  });
});
