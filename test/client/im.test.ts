import { describe, expect, it } from 'vitest';
import { type Message, type ReceiveIdType, cardEntityContent, isAlreadySent } from '../../src/client/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { type TestClient, clientFor, expectApiError } from '../support/client.js';
import { streamingCard, useEmulator } from '../support/emulator-http.js';

const CHAT = 'oc_chat';

/** An inline Card JSON 2.0 card (shared by default). */
function inlineCard(text: string): Record<string, unknown> {
  return { schema: '2.0', body: { elements: [{ tag: 'markdown', element_id: 'md', content: text }] } };
}

describe('FeishuClient IM message endpoints against the emulator', () => {
  let emulator: Emulator;
  let tc: TestClient;
  const fixture = useEmulator((started) => {
    emulator = started.emulator;
    tc = clientFor(emulator);
  });

  const messages = () => tc.client.im.v1.message;

  async function newCard(): Promise<string> {
    return (await tc.client.cardkit.v1.card.create({ data: streamingCard() })).card_id;
  }

  function sendTo(content: Record<string, unknown> | string, extra: { receive_id?: string; uuid?: string } = {}): Promise<Message> {
    return messages().create({ receive_id_type: 'chat_id', receive_id: CHAT, content, ...extra });
  }

  describe('message.create', () => {
    it.each<ReceiveIdType>(['chat_id', 'open_id', 'union_id', 'user_id', 'email'])(
      'sends a card entity with cardEntityContent to receive_id_type %s and binds the card to the message',
      async (receiveIdType) => {
        const cardId = await newCard();
        const message = await messages().create({ receive_id_type: receiveIdType, receive_id: 'someone_1', content: cardEntityContent(cardId) });
        expect(message.message_id).toMatch(/^om_/);
        expect(message).toMatchObject({ msg_type: 'interactive', body: { content: JSON.stringify({ type: 'card', data: { card_id: cardId } }) } });
        expect(message.chat_id).toMatch(receiveIdType === 'chat_id' ? /^someone_1$/ : /^oc_/);
        expect(emulator.message(message.message_id)).toMatchObject({
          card_id: cardId,
          receive_id: 'someone_1',
          receive_id_type: receiveIdType,
          msg_type: 'interactive',
          app_id: 'cli_x',
        });
        expect(emulator.card(cardId)?.message_id).toBe(message.message_id);
        expect(emulator.stats().endpoints['im.message.create']).toEqual({ accepted: 1, rejected: 0 });
      },
    );

    it('sends an inline card object serialized as JSON, without creating a card entity', async () => {
      const card = inlineCard('inline');
      const message = await sendTo(card);
      expect(emulator.message(message.message_id)).toMatchObject({ content: JSON.stringify(card), card_id: null, msg_type: 'interactive', chat_id: CHAT });
      expect(message.body.content).toBe(JSON.stringify(card));
      expect(emulator.cards()).toEqual([]);
    });

    it('sends an inline card given as a JSON string as it is', async () => {
      const content = JSON.stringify(inlineCard('as a string'), null, 1);
      const message = await sendTo(content);
      expect(emulator.message(message.message_id)?.content).toBe(content);
    });

    it('the same uuid within the hour answers the original message and sends nothing new', async () => {
      const first = await sendTo(inlineCard('hi'), { uuid: 'turn-1' });
      const repeat = await sendTo(inlineCard('hi'), { uuid: 'turn-1' });
      expect(repeat.message_id).toBe(first.message_id);
      expect(emulator.messages()).toHaveLength(1);
      expect(emulator.message(first.message_id)?.uuid).toBe('turn-1');
      const other = await sendTo(inlineCard('hi'), { uuid: 'turn-2' });
      expect(other.message_id).not.toBe(first.message_id);
      expect(emulator.messages()).toHaveLength(2);
    });

    it('retrying a card-entity send with the same uuid answers the original message instead of failing', async () => {
      const cardId = await newCard();
      const first = await sendTo(cardEntityContent(cardId), { uuid: 'send-card-1' });
      const retry = await sendTo(cardEntityContent(cardId), { uuid: 'send-card-1' });
      expect(retry.message_id).toBe(first.message_id);
      expect(emulator.messages()).toHaveLength(1);
      expect(emulator.card(cardId)?.message_id).toBe(first.message_id);
    });

    it('a card entity can be sent only once: the second send is 230099 carrying ErrCode 200780, fatal', async () => {
      const cardId = await newCard();
      const first = await sendTo(cardEntityContent(cardId));
      const error = await expectApiError(tc, sendTo(cardEntityContent(cardId), { receive_id: 'oc_other' }), {
        code: 230099,
        category: 'fatal',
        endpoint: 'im.message.create',
      });
      expect(error.msg).toContain('200780');
      expect(isAlreadySent(error)).toBe(true);
      expect(error.retryable).toBe(false);
      expect(emulator.messages()).toHaveLength(1);
      expect(emulator.card(cardId)?.message_id).toBe(first.message_id);
    });
  });

  describe('message.reply', () => {
    it('replies in a thread: parent and root are the message replied to, and a thread is opened', async () => {
      const root = await sendTo(inlineCard('question'));
      const answer = await messages().reply({ message_id: root.message_id, content: inlineCard('answer'), reply_in_thread: true });
      expect(answer).toMatchObject({ parent_id: root.message_id, root_id: root.message_id, chat_id: CHAT, msg_type: 'interactive' });
      expect(answer.thread_id).toMatch(/^omt_/);
      expect(emulator.message(answer.message_id)).toMatchObject({
        parent_id: root.message_id,
        root_id: root.message_id,
        thread_id: answer.thread_id,
        content: JSON.stringify(inlineCard('answer')),
      });
      expect(emulator.stats().endpoints['im.message.reply']).toEqual({ accepted: 1, rejected: 0 });
    });

    it('replies outside a thread when reply_in_thread is false', async () => {
      const root = await sendTo(inlineCard('question'));
      const answer = await messages().reply({ message_id: root.message_id, content: inlineCard('answer'), reply_in_thread: false });
      expect(answer).toMatchObject({ parent_id: root.message_id, thread_id: '' });
      expect(emulator.message(answer.message_id)?.thread_id).toBeNull();
    });

    it('a reply can carry a card entity, which binds the card to the reply', async () => {
      const root = await sendTo(inlineCard('question'));
      const cardId = await newCard();
      const answer = await messages().reply({ message_id: root.message_id, content: cardEntityContent(cardId), reply_in_thread: true, uuid: 'reply-1' });
      expect(emulator.card(cardId)?.message_id).toBe(answer.message_id);
      expect(emulator.message(answer.message_id)).toMatchObject({ card_id: cardId, uuid: 'reply-1', parent_id: root.message_id });
    });

    it('a reply to an unknown message is 230001 (fatal)', async () => {
      await expectApiError(tc, messages().reply({ message_id: 'om_unknown', content: inlineCard('x') }), {
        code: 230001,
        category: 'fatal',
        endpoint: 'im.message.reply',
      });
      expect(emulator.messages()).toEqual([]);
    });
  });

  describe('message.patch', () => {
    it('replaces the content of a sent inline card and marks the message updated', async () => {
      const sent = await sendTo(inlineCard('v1'));
      await expect(messages().patch({ message_id: sent.message_id, content: inlineCard('v2') })).resolves.toEqual({});
      expect(emulator.message(sent.message_id)).toMatchObject({ content: JSON.stringify(inlineCard('v2')), updated: true });
      expect(emulator.stats().endpoints['im.message.patch']).toEqual({ accepted: 1, rejected: 0 });
    });

    it('patches with string content as it is', async () => {
      const sent = await sendTo(inlineCard('v1'));
      const content = JSON.stringify(inlineCard('v2'), null, 2);
      await messages().patch({ message_id: sent.message_id, content });
      expect(emulator.message(sent.message_id)?.content).toBe(content);
    });

    it('patching an unknown message is 230001 (fatal)', async () => {
      await expectApiError(tc, messages().patch({ message_id: 'om_unknown', content: inlineCard('x') }), {
        code: 230001,
        category: 'fatal',
        endpoint: 'im.message.patch',
      });
    });
  });

  describe('frequency limit', () => {
    it('a send over the per-chat limit is 230020, rate_limited and retryable, with the reset the emulator named', async () => {
      await fixture.restart({ limits: { chatSendQps: 1 } });
      await sendTo(inlineCard('first'), { receive_id: 'oc_a' });
      await sendTo(inlineCard('other chat'), { receive_id: 'oc_b' });
      const error = await expectApiError(tc, sendTo(inlineCard('second'), { receive_id: 'oc_a' }), {
        code: 230020,
        category: 'rate_limited',
        endpoint: 'im.message.create',
      });
      expect(error.retryable).toBe(true);
      expect(error.retryAfterMs).toBe(1000);
      expect(emulator.messages().map((m) => m.chat_id)).toEqual(['oc_a', 'oc_b']);
    });
  });
});
