/**
 * Components Card JSON 2.0 dropped (reference §27.1, seed 004's 200861): the v1 `action` module and the `note`
 * component are refused with 200861 "unsupported tag X" and the ErrPath where they sit, on CardKit writes and as
 * a 230099 sub-code on IM.
 */
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { type ApiResponse, api, createCard, streamingCard, useEmulator } from '../support/emulator-http.js';

const CARDS = '/open-apis/cardkit/v1/cards';
const MESSAGES = '/open-apis/im/v1/messages';
const V2_ONLY = 'ErrMsg: cards of schema V2 no longer support this capability';

const ACTION = { tag: 'action', actions: [{ tag: 'button', text: { tag: 'plain_text', content: 'Go' } }] };
const NOTE = { tag: 'note', elements: [{ tag: 'plain_text', content: 'a note' }] };

function cardWith(...elements: unknown[]): Record<string, unknown> {
  return { schema: '2.0', body: { elements: [{ tag: 'markdown', element_id: 'md', content: 'hi' }, ...elements] } };
}

function ext(path: string, tag: string): string {
  return `ErrCode: 200861; ErrPath: ${path}; ${V2_ONLY}; ErrorValue: unsupported tag ${tag}; `;
}

describe('components Card JSON 2.0 dropped', () => {
  let emulator: Emulator;
  let token: string;
  useEmulator((started) => ({ emulator, token } = started));

  const create = (json: unknown) => api(emulator, 'POST', CARDS, { token, body: { type: 'card_json', data: JSON.stringify(json) } });

  function expect200861(res: ApiResponse, path: string, tag: string): void {
    expect([res.status, res.body.code]).toEqual([400, 200861]);
    expect(res.body.msg).toBe(`Failed to generate card content, ext=${ext(path, tag)}`);
  }

  it('CardKit create with the v1 action module gets 200861 "unsupported tag action" at its ErrPath', async () => {
    expect200861(await create(cardWith(ACTION)), 'ROOT -> body -> elements -> [1](tag: action)', 'action');
    expect(emulator.cards()).toHaveLength(0);
  });

  it('a note nested in a container is found where it sits, and the write changes nothing', async () => {
    const cardId = await createCard(emulator, token);
    const res = await api(emulator, 'POST', `${CARDS}/${cardId}/elements`, {
      token,
      body: { type: 'append', target_element_id: 'panel', elements: JSON.stringify([{ tag: 'markdown', content: 'x' }, NOTE]), sequence: 1 },
    });
    expect200861(res, 'ROOT -> body -> elements -> [3](tag: collapsible_panel) -> elements -> [1](tag: note)', 'note');
    expect(emulator.card(cardId)?.card).toMatchObject({ body: streamingCard().body as object });
    expect(emulator.card(cardId)?.sequence).toBe(0);
  });

  it('every CardKit write that adds a dropped component is refused: update, batch_update, element update', async () => {
    const cardId = await createCard(emulator, token);
    const path = `${CARDS}/${cardId}`;
    const writes: [string, string, Record<string, unknown>][] = [
      ['PUT', path, { card: { type: 'card_json', data: JSON.stringify(cardWith(NOTE)) } }],
      ['POST', `${path}/batch_update`, { actions: JSON.stringify([{ action: 'add_elements', params: { type: 'append', elements: [ACTION] } }]) }],
      ['PUT', `${path}/elements/stop_btn`, { element: JSON.stringify({ ...ACTION, element_id: 'stop_btn' }) }],
    ];
    for (const [i, [method, url, body]] of writes.entries()) {
      const res = await api(emulator, method, url, { token, body: { ...body, sequence: i + 1 } });
      expect([method, url, res.body.code]).toEqual([method, url, 200861]);
    }
  });

  it('IM send, reply and patch of a 2.0 inline card with a dropped component get 230099 carrying ErrCode 200861', async () => {
    const content = (json: unknown) => JSON.stringify(json);
    const sendRes = await api(emulator, 'POST', `${MESSAGES}?receive_id_type=chat_id`, {
      token,
      body: { receive_id: 'oc_chat', msg_type: 'interactive', content: content(cardWith(NOTE)) },
    });
    expect([sendRes.status, sendRes.body.code]).toEqual([400, 230099]);
    expect(sendRes.body.msg).toBe(`Failed to create card content, ext=${ext('ROOT -> body -> elements -> [1](tag: note)', 'note')}`);

    const sent = await api(emulator, 'POST', `${MESSAGES}?receive_id_type=chat_id`, {
      token,
      body: { receive_id: 'oc_chat', msg_type: 'interactive', content: content(cardWith()) },
    });
    const messageId = (sent.body.data as { message_id: string }).message_id;
    const replyRes = await api(emulator, 'POST', `${MESSAGES}/${messageId}/reply`, { token, body: { msg_type: 'interactive', content: content(cardWith(ACTION)) } });
    const patchRes = await api(emulator, 'PATCH', `${MESSAGES}/${messageId}`, { token, body: { content: content(cardWith(ACTION)) } });
    for (const res of [replyRes, patchRes]) {
      expect([res.status, res.body.code]).toEqual([400, 230099]);
      expect(res.body.msg).toContain(ext('ROOT -> body -> elements -> [1](tag: action)', 'action'));
    }
  });

  it('Card JSON 1.0 inline cards may still use action and note', async () => {
    const v1 = { config: { update_multi: true }, elements: [{ tag: 'markdown', content: 'hi' }, ACTION, NOTE] };
    const res = await api(emulator, 'POST', `${MESSAGES}?receive_id_type=chat_id`, {
      token,
      body: { receive_id: 'oc_chat', msg_type: 'interactive', content: JSON.stringify(v1) },
    });
    expect(res.body.code).toBe(0);
  });
});
