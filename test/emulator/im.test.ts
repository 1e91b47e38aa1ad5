import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { type ApiResponse, api, createCard, tenantToken } from '../support/emulator-http.js';

const MESSAGES = '/open-apis/im/v1/messages';
const DAY = 24 * 60 * 60_000;

/** Card JSON 2.0, shared by default. */
function card2(text: string, config: Record<string, unknown> = {}): string {
  return JSON.stringify({ schema: '2.0', config, body: { elements: [{ tag: 'markdown', element_id: 'md', content: text }] } });
}

/** Card JSON 1.0: shared only with `config.update_multi: true`. */
function card1(text: string, config: Record<string, unknown> = {}): string {
  return JSON.stringify({ config, elements: [{ tag: 'markdown', content: text }] });
}

function entity(cardId: string): string {
  return JSON.stringify({ type: 'card', data: { card_id: cardId } });
}

const TEMPLATE = JSON.stringify({ type: 'template', data: { template_id: 'AAq1', template_version_name: '1.0.0', template_variable: {} } });

interface SendOptions {
  receiveId?: string;
  receiveIdType?: string;
  uuid?: string;
}

function send(emulator: Emulator, token: string, content: string, options: SendOptions = {}): Promise<ApiResponse> {
  const { receiveId = 'oc_chat', receiveIdType = 'chat_id', uuid } = options;
  return api(emulator, 'POST', `${MESSAGES}?receive_id_type=${receiveIdType}`, {
    token,
    body: { receive_id: receiveId, msg_type: 'interactive', content, ...(uuid === undefined ? {} : { uuid }) },
  });
}

function reply(emulator: Emulator, token: string, parentId: string, content: string, extra: Record<string, unknown> = {}): Promise<ApiResponse> {
  return api(emulator, 'POST', `${MESSAGES}/${parentId}/reply`, { token, body: { msg_type: 'interactive', content, ...extra } });
}

function patch(emulator: Emulator, token: string, messageId: string, content: string): Promise<ApiResponse> {
  return api(emulator, 'PATCH', `${MESSAGES}/${messageId}`, { token, body: { content } });
}

interface MessageData {
  message_id: string;
  root_id: string;
  parent_id: string;
  thread_id: string;
  chat_id: string;
  msg_type: string;
  body: { content: string };
}

function data(res: ApiResponse): MessageData {
  expect(res.body.code).toBe(0);
  return res.body.data as unknown as MessageData;
}

/** The `ErrCode: N` sub-code a 230099 carries in its msg. */
function subCode(res: ApiResponse): number | undefined {
  const match = /ErrCode: (\d+)/.exec(res.body.msg);
  return match ? Number(match[1]) : undefined;
}

describe('IM messages with cards', () => {
  let emulator: Emulator;
  let token: string;
  let otherApp: string;
  beforeEach(async () => {
    emulator = await startEmulator({
      apps: [
        { appId: 'cli_a', appSecret: 's_a' },
        { appId: 'cli_b', appSecret: 's_b' },
      ],
    });
    token = await tenantToken(emulator, 'cli_a', 's_a');
    otherApp = await tenantToken(emulator, 'cli_b', 's_b');
  });
  afterEach(() => emulator.close());

  describe('send', () => {
    it.each(['chat_id', 'open_id', 'union_id', 'user_id', 'email'])(
      'sending a card entity with receive_id_type %s binds the card to the new message',
      async (receiveIdType) => {
        const cardId = await createCard(emulator, token);
        const content = entity(cardId);
        const res = await send(emulator, token, content, { receiveId: 'someone_1', receiveIdType });
        expect(res.status).toBe(200);
        const message = data(res);
        expect(message.message_id).toMatch(/^om_/);
        expect(message).toMatchObject({ msg_type: 'interactive', body: { content } });
        expect(message.chat_id).toMatch(receiveIdType === 'chat_id' ? /^someone_1$/ : /^oc_/);
        expect(emulator.card(cardId)?.message_id).toBe(message.message_id);
        expect(emulator.message(message.message_id)).toMatchObject({
          card_id: cardId,
          receive_id: 'someone_1',
          receive_id_type: receiveIdType,
          app_id: 'cli_a',
        });
      },
    );

    it('a card entity can be sent only once: the second send gets 230099 with ErrCode: 200780', async () => {
      const cardId = await createCard(emulator, token);
      const first = data(await send(emulator, token, entity(cardId)));
      const again = await send(emulator, token, entity(cardId), { receiveId: 'oc_other' });
      expect([again.status, again.body.code, subCode(again)]).toEqual([400, 230099, 200780]);
      const asReply = await reply(emulator, token, first.message_id, entity(cardId));
      expect([asReply.body.code, subCode(asReply)]).toEqual([230099, 200780]);
      expect(emulator.messages()).toHaveLength(1);
      expect(emulator.card(cardId)?.message_id).toBe(first.message_id);
    });

    it("sending another app's card entity or an unknown card_id gets 230099 and sends nothing", async () => {
      const foreign = await createCard(emulator, otherApp);
      const stolen = await send(emulator, token, entity(foreign));
      expect([stolen.status, stolen.body.code]).toEqual([400, 230099]);
      const unknown = await send(emulator, token, entity('7000000000000000000'));
      expect([unknown.status, unknown.body.code]).toEqual([400, 230099]);
      expect(emulator.messages()).toHaveLength(0);
      expect(emulator.card(foreign)?.message_id).toBeNull();
    });

    it('an invalid or missing receive_id_type gets 230001', async () => {
      const bad = await send(emulator, token, card2('hi'), { receiveIdType: 'phone' });
      expect([bad.status, bad.body.code]).toEqual([400, 230001]);
      const missing = await api(emulator, 'POST', MESSAGES, {
        token,
        body: { receive_id: 'oc_chat', msg_type: 'interactive', content: card2('hi') },
      });
      expect([missing.status, missing.body.code]).toEqual([400, 230001]);
      expect(emulator.messages()).toHaveLength(0);
    });

    it('inline card JSON (2.0 or 1.0) is accepted and stored as sent, without creating a card entity', async () => {
      for (const content of [card2('two'), card1('one')]) {
        const message = data(await send(emulator, token, content));
        expect(emulator.message(message.message_id)).toMatchObject({ content, card_id: null, msg_type: 'interactive' });
      }
      expect(emulator.messages()).toHaveLength(2);
      expect(emulator.cards()).toHaveLength(0);
    });

    it('an inline card over 30 KB gets 230025', async () => {
      const res = await send(emulator, token, card2('x'.repeat(31 * 1024)));
      expect([res.status, res.body.code]).toEqual([400, 230025]);
      expect(emulator.messages()).toHaveLength(0);
    });

    it('a 2.0 inline card with more than 200 elements gets 230099 with ErrCode: 11310', async () => {
      const elements = Array.from({ length: 201 }, (_, i) => ({ tag: 'markdown', content: `line ${i}` }));
      const res = await send(emulator, token, JSON.stringify({ schema: '2.0', body: { elements } }));
      expect([res.status, res.body.code, subCode(res)]).toEqual([400, 230099, 11310]);
      expect(emulator.messages()).toHaveLength(0);
    });

    it('template card content gets 230099', async () => {
      const res = await send(emulator, token, TEMPLATE);
      expect([res.status, res.body.code]).toEqual([400, 230099]);
      expect(emulator.messages()).toHaveLength(0);
    });
  });

  describe('uuid', () => {
    it('the same uuid within an hour answers the original message and sends nothing new; after an hour it sends again', async () => {
      const first = data(await send(emulator, token, card2('hi'), { uuid: 'turn-1' }));
      emulator.clock.advance(59 * 60_000);
      const repeat = data(await send(emulator, token, card2('hi'), { uuid: 'turn-1' }));
      expect(repeat.message_id).toBe(first.message_id);
      expect(emulator.messages()).toHaveLength(1);
      emulator.clock.advance(2 * 60_000);
      const fresh = await tenantToken(emulator, 'cli_a', 's_a');
      const later = data(await send(emulator, fresh, card2('hi'), { uuid: 'turn-1' }));
      expect(later.message_id).not.toBe(first.message_id);
      expect(emulator.messages()).toHaveLength(2);
    });

    it('retrying a card-entity send with the same uuid answers the original message instead of 200780', async () => {
      const cardId = await createCard(emulator, token);
      const first = data(await send(emulator, token, entity(cardId), { uuid: 'send-card-1' }));
      const retry = data(await send(emulator, token, entity(cardId), { uuid: 'send-card-1' }));
      expect(retry.message_id).toBe(first.message_id);
      expect(emulator.messages()).toHaveLength(1);
      expect(emulator.card(cardId)?.message_id).toBe(first.message_id);
    });
  });

  describe('reply', () => {
    it('a reply sets parent_id to the message replied to and root_id to the start of the conversation', async () => {
      const root = data(await send(emulator, token, card2('q')));
      const first = data(await reply(emulator, token, root.message_id, card2('a1')));
      expect(first).toMatchObject({ parent_id: root.message_id, root_id: root.message_id, chat_id: 'oc_chat', thread_id: '' });
      const second = data(await reply(emulator, token, first.message_id, card2('a2')));
      expect(second).toMatchObject({ parent_id: first.message_id, root_id: root.message_id });
      expect(emulator.message(second.message_id)).toMatchObject({ parent_id: first.message_id, root_id: root.message_id });
    });

    it('a reply can carry a card entity, which binds the card to the reply', async () => {
      const root = data(await send(emulator, token, card2('q')));
      const cardId = await createCard(emulator, token);
      const answer = data(await reply(emulator, token, root.message_id, entity(cardId)));
      expect(answer.parent_id).toBe(root.message_id);
      expect(emulator.card(cardId)?.message_id).toBe(answer.message_id);
      expect(emulator.message(answer.message_id)?.card_id).toBe(cardId);
    });

    it('reply_in_thread puts the reply in a thread (thread_id set)', async () => {
      const root = data(await send(emulator, token, card2('q')));
      const threaded = data(await reply(emulator, token, root.message_id, card2('a'), { reply_in_thread: true }));
      expect(threaded.thread_id).not.toBe('');
      expect(emulator.message(threaded.message_id)?.thread_id).toBe(threaded.thread_id);
    });

    it('a reply to an unknown message gets 230001', async () => {
      const res = await reply(emulator, token, 'om_unknown', card2('a'));
      expect([res.status, res.body.code]).toEqual([400, 230001]);
      expect(emulator.messages()).toHaveLength(0);
    });
  });

  describe('patch', () => {
    it('PATCH replaces the content of a shared inline card message and marks it updated', async () => {
      const sent = data(await send(emulator, token, card2('v1')));
      const res = await patch(emulator, token, sent.message_id, card2('v2'));
      expect([res.status, res.body.code]).toEqual([200, 0]);
      expect(emulator.message(sent.message_id)).toMatchObject({ content: card2('v2'), updated: true });
      const v1 = data(await send(emulator, token, card1('old', { update_multi: true })));
      expect((await patch(emulator, token, v1.message_id, card1('new', { update_multi: true }))).body.code).toBe(0);
      expect(emulator.message(v1.message_id)?.content).toBe(card1('new', { update_multi: true }));
    });

    it('PATCH needs update_multi true before and after: a 1.0 card without it gets 230001', async () => {
      const notShared = data(await send(emulator, token, card1('old')));
      const before = await patch(emulator, token, notShared.message_id, card1('new', { update_multi: true }));
      expect([before.status, before.body.code]).toEqual([400, 230001]);
      const shared = data(await send(emulator, token, card1('old', { update_multi: true })));
      const after = await patch(emulator, token, shared.message_id, card1('new'));
      expect([after.status, after.body.code]).toEqual([400, 230001]);
      const optedOut = await patch(emulator, token, shared.message_id, card2('new', { update_multi: false }));
      expect(optedOut.body.code).toBe(230001);
      expect(emulator.message(notShared.message_id)).toMatchObject({ content: card1('old'), updated: false });
      expect(emulator.message(shared.message_id)).toMatchObject({ content: card1('old', { update_multi: true }), updated: false });
    });

    it('PATCH of a message sent more than 14 days ago gets 230031', async () => {
      const sent = data(await send(emulator, token, card2('v1')));
      emulator.clock.advance(14 * DAY + 60_000);
      const fresh = await tenantToken(emulator, 'cli_a', 's_a');
      const res = await patch(emulator, fresh, sent.message_id, card2('v2'));
      expect([res.status, res.body.code]).toEqual([400, 230031]);
      expect(emulator.message(sent.message_id)?.content).toBe(card2('v1'));
    });

    it('PATCH with a card over 30 KB gets 230025', async () => {
      const sent = data(await send(emulator, token, card2('v1')));
      const res = await patch(emulator, token, sent.message_id, card2('x'.repeat(31 * 1024)));
      expect([res.status, res.body.code]).toEqual([400, 230025]);
      expect(emulator.message(sent.message_id)).toMatchObject({ content: card2('v1'), updated: false });
    });

    it('PATCH of a message that shows a card entity gets 230001 (update it through CardKit)', async () => {
      const cardId = await createCard(emulator, token);
      const sent = data(await send(emulator, token, entity(cardId)));
      const res = await patch(emulator, token, sent.message_id, card2('v2'));
      expect([res.status, res.body.code]).toEqual([400, 230001]);
      expect(emulator.message(sent.message_id)).toMatchObject({ content: entity(cardId), updated: false });
    });

    it('PATCH by an app that did not send the message gets 230027', async () => {
      const sent = data(await send(emulator, token, card2('v1')));
      const res = await patch(emulator, otherApp, sent.message_id, card2('v2'));
      expect([res.status, res.body.code]).toEqual([400, 230027]);
      expect(emulator.message(sent.message_id)).toMatchObject({ content: card2('v1'), updated: false });
    });

    it('PATCH of an unknown message gets 230001', async () => {
      const res = await patch(emulator, token, 'om_unknown', card2('v2'));
      expect([res.status, res.body.code]).toEqual([400, 230001]);
    });

    it('PATCH with template card content gets 230099', async () => {
      const sent = data(await send(emulator, token, card2('v1')));
      const res = await patch(emulator, token, sent.message_id, TEMPLATE);
      expect([res.status, res.body.code]).toEqual([400, 230099]);
      expect(emulator.message(sent.message_id)).toMatchObject({ content: card2('v1'), updated: false });
    });
  });
});
