/**
 * IM message delete (recall), `DELETE /open-apis/im/v1/messages/:message_id` (reference §26): a bot recalls only
 * its own messages; a recalled message answers reply with 230011 and patch with 230011 (or 230110, an option).
 */
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { ENDPOINTS } from '../../src/emulator/index.js';
import { api, createCard, putContent, tenantToken, useEmulator } from '../support/emulator-http.js';

const MESSAGES = '/open-apis/im/v1/messages';
const CARD = JSON.stringify({ schema: '2.0', body: { elements: [{ tag: 'markdown', element_id: 'md', content: 'hi' }] } });

const APPS = [
  { appId: 'cli_a', appSecret: 's_a' },
  { appId: 'cli_b', appSecret: 's_b' },
];

describe('IM message delete', () => {
  let emulator: Emulator;
  let token: string;
  const fixture = useEmulator((started) => ({ emulator, token } = started), { apps: APPS });

  async function send(content = CARD, as = token): Promise<string> {
    const res = await api(emulator, 'POST', `${MESSAGES}?receive_id_type=chat_id`, {
      token: as,
      body: { receive_id: 'oc_chat', msg_type: 'interactive', content },
    });
    expect(res.body.code).toBe(0);
    return (res.body.data as { message_id: string }).message_id;
  }

  const remove = (messageId: string, as = token) => api(emulator, 'DELETE', `${MESSAGES}/${messageId}`, { token: as });

  it('a bot recalls a message it sent: {"code":0,"msg":"success","data":{}}, and the message is marked deleted', async () => {
    const messageId = await send();
    const before = emulator.clock.now();
    const res = await remove(messageId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ code: 0, msg: 'success', data: {} });
    const snapshot = emulator.message(messageId);
    expect(snapshot?.deleted).toBe(true);
    expect(snapshot?.deleted_at).toBeGreaterThanOrEqual(before);
    expect(emulator.stats().endpoints['im.message.delete']).toEqual({ accepted: 1, rejected: 0 });
  });

  it("a bot cannot recall another app's message: 230026, and the message stays", async () => {
    const messageId = await send();
    const other = await tenantToken(emulator, 'cli_b', 's_b');
    const res = await remove(messageId, other);
    expect([res.status, res.body.code]).toEqual([400, 230026]);
    expect(emulator.message(messageId)?.deleted).toBe(false);
  });

  it('recalling a message twice gets 230110 the second time', async () => {
    const messageId = await send();
    expect((await remove(messageId)).body.code).toBe(0);
    const again = await remove(messageId);
    expect([again.status, again.body.code]).toEqual([400, 230110]);
  });

  it('recalling an unknown message gets 230001', async () => {
    const res = await remove('om_unknown');
    expect([res.status, res.body.code]).toEqual([400, 230001]);
  });

  it('a reply to a recalled message gets 230011 and sends nothing', async () => {
    const messageId = await send();
    await remove(messageId);
    const res = await api(emulator, 'POST', `${MESSAGES}/${messageId}/reply`, { token, body: { msg_type: 'interactive', content: CARD } });
    expect([res.status, res.body.code]).toEqual([400, 230011]);
    expect(emulator.messages()).toHaveLength(1);
  });

  it('a patch of a recalled message gets 230011 by default and leaves the content', async () => {
    const messageId = await send();
    await remove(messageId);
    const res = await api(emulator, 'PATCH', `${MESSAGES}/${messageId}`, { token, body: { content: CARD.replace('hi', 'new') } });
    expect([res.status, res.body.code]).toEqual([400, 230011]);
    expect(emulator.message(messageId)).toMatchObject({ content: CARD, updated: false });
  });

  it('recalledPatchCode 230110 makes a patch of a recalled message answer "deleted" instead', async () => {
    await fixture.restart({ apps: APPS, recalledPatchCode: 230110 });
    const messageId = await send();
    await remove(messageId);
    const res = await api(emulator, 'PATCH', `${MESSAGES}/${messageId}`, { token, body: { content: CARD } });
    expect([res.status, res.body.code]).toEqual([400, 230110]);
  });

  it('the card entity a recalled message carried still takes CardKit writes (the platform documents nothing else)', async () => {
    const cardId = await createCard(emulator, token);
    const messageId = await send(JSON.stringify({ type: 'card', data: { card_id: cardId } }));
    expect((await remove(messageId)).body.code).toBe(0);
    expect((await putContent(emulator, token, cardId, 1, 'still streaming')).body.code).toBe(0);
    expect(emulator.card(cardId)?.message_id).toBe(messageId);
  });

  it('the endpoint is named im.message.delete for faults and logs', async () => {
    expect(ENDPOINTS).toContain('im.message.delete');
    const messageId = await send();
    emulator.faults.add({ kind: 'fail', endpoint: 'im.message.delete', code: 230110 });
    expect((await remove(messageId)).body.code).toBe(230110);
    expect(emulator.message(messageId)?.deleted).toBe(false);
  });

  it('the send answer of a recalled message reports deleted: true when its uuid is repeated within the hour', async () => {
    const body = { receive_id: 'oc_chat', msg_type: 'interactive', content: CARD, uuid: 'once' };
    const first = await api(emulator, 'POST', `${MESSAGES}?receive_id_type=chat_id`, { token, body });
    const messageId = (first.body.data as { message_id: string }).message_id;
    await remove(messageId);
    const again = await api(emulator, 'POST', `${MESSAGES}?receive_id_type=chat_id`, { token, body });
    expect(again.body.data).toMatchObject({ message_id: messageId, deleted: true });
  });
});
