/**
 * IM parameter errors (seed 004's error table, reference §11): missing or ill-typed fields, malformed JSON and a
 * `uuid` over 50 characters answer IM's 230001 on send, reply and patch, never CardKit's 10002. A patch that
 * succeeds answers exactly as seed 004 shows.
 */
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { type ApiResponse, api, useEmulator } from '../support/emulator-http.js';

const MESSAGES = '/open-apis/im/v1/messages';
const SEND = `${MESSAGES}?receive_id_type=chat_id`;
const CARD = JSON.stringify({ schema: '2.0', body: { elements: [{ tag: 'markdown', content: 'hi' }] } });

function expect230001(res: ApiResponse, label: string): void {
  expect([label, res.status, res.body.code]).toEqual([label, 400, 230001]);
}

describe('IM parameter errors', () => {
  let emulator: Emulator;
  let token: string;
  useEmulator((started) => ({ emulator, token } = started));

  const validSend = { receive_id: 'oc_chat', msg_type: 'interactive', content: CARD };

  async function sentMessageId(): Promise<string> {
    const res = await api(emulator, 'POST', SEND, { token, body: validSend });
    expect(res.body.code).toBe(0);
    return (res.body.data as { message_id: string }).message_id;
  }

  it('send: a missing or ill-typed receive_id, msg_type or content gets 230001', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['no receive_id', { msg_type: 'interactive', content: CARD }],
      ['numeric receive_id', { ...validSend, receive_id: 42 }],
      ['no msg_type', { receive_id: 'oc_chat', content: CARD }],
      ['unknown msg_type', { ...validSend, msg_type: 'card' }],
      ['no content', { receive_id: 'oc_chat', msg_type: 'interactive' }],
      ['content as an object', { ...validSend, content: { schema: '2.0' } }],
      ['uuid as a number', { ...validSend, uuid: 7 }],
    ];
    for (const [label, body] of cases) expect230001(await api(emulator, 'POST', SEND, { token, body }), label);
    expect(emulator.messages()).toHaveLength(0);
  });

  it('send and reply: a uuid over 50 characters gets 230001; 50 characters are accepted', async () => {
    expect230001(await api(emulator, 'POST', SEND, { token, body: { ...validSend, uuid: 'u'.repeat(51) } }), 'send 51');
    expect((await api(emulator, 'POST', SEND, { token, body: { ...validSend, uuid: '界'.repeat(50) } })).body.code).toBe(0);
    const parent = await sentMessageId();
    const reply = (uuid: string) => api(emulator, 'POST', `${MESSAGES}/${parent}/reply`, { token, body: { msg_type: 'interactive', content: CARD, uuid } });
    expect230001(await reply('r'.repeat(51)), 'reply 51');
    expect((await reply('r'.repeat(50))).body.code).toBe(0);
  });

  it('send, reply and patch: a request body that is not JSON gets 230001', async () => {
    const parent = await sentMessageId();
    expect230001(await api(emulator, 'POST', SEND, { token, rawBody: '{"receive_id":' }), 'send');
    expect230001(await api(emulator, 'POST', `${MESSAGES}/${parent}/reply`, { token, rawBody: 'not json' }), 'reply');
    expect230001(await api(emulator, 'PATCH', `${MESSAGES}/${parent}`, { token, rawBody: '[1,' }), 'patch');
  });

  it('reply: missing content or msg_type, or a non-boolean reply_in_thread, gets 230001', async () => {
    const parent = await sentMessageId();
    const path = `${MESSAGES}/${parent}/reply`;
    const cases: [string, Record<string, unknown>][] = [
      ['no content', { msg_type: 'interactive' }],
      ['no msg_type', { content: CARD }],
      ['reply_in_thread as a string', { msg_type: 'interactive', content: CARD, reply_in_thread: 'yes' }],
    ];
    for (const [label, body] of cases) expect230001(await api(emulator, 'POST', path, { token, body }), label);
  });

  it('patch: a missing or ill-typed content gets 230001', async () => {
    const messageId = await sentMessageId();
    const path = `${MESSAGES}/${messageId}`;
    expect230001(await api(emulator, 'PATCH', path, { token, body: {} }), 'no content');
    expect230001(await api(emulator, 'PATCH', path, { token, body: { content: 1 } }), 'numeric content');
    expect230001(await api(emulator, 'PATCH', path, { token, body: { content: 'not json' } }), 'content not JSON');
  });

  it('CardKit parameter errors stay 10002', async () => {
    const res = await api(emulator, 'POST', '/open-apis/cardkit/v1/cards', { token, body: { type: 'card_json' } });
    expect([res.status, res.body.code]).toEqual([400, 10002]);
  });
});

describe('IM patch success', () => {
  let emulator: Emulator;
  let token: string;
  useEmulator((started) => ({ emulator, token } = started));

  it('a successful patch answers exactly {"code":0,"data":{},"msg":"ok"} (seed 004)', async () => {
    const sent = await api(emulator, 'POST', SEND, { token, body: { receive_id: 'oc_chat', msg_type: 'interactive', content: CARD } });
    const messageId = (sent.body.data as { message_id: string }).message_id;
    const response = await fetch(`${emulator.url}${MESSAGES}/${messageId}`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ content: CARD }),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"code":0,"data":{},"msg":"ok"}');
  });
});
