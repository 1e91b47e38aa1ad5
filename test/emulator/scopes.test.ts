/**
 * App scopes (reference §0, §10, §17; seed 004): an app registered with `scopes` may call only the APIs whose
 * page lists one of them; anything else answers 99991672 (HTTP 400) right after the token check. An app
 * registered without `scopes` has every scope.
 */
import { describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import {
  type ApiResponse,
  api,
  contentPath,
  createCard,
  elementText,
  putContent,
  settingsPath,
  streamingCard,
  tenantToken,
  useEmulator,
} from '../support/emulator-http.js';

const CARDS = '/open-apis/cardkit/v1/cards';
const MESSAGES = '/open-apis/im/v1/messages';
const INLINE_CARD = JSON.stringify({ schema: '2.0', body: { elements: [{ tag: 'markdown', element_id: 'md', content: 'hi' }] } });
const STREAMING_CARD = JSON.stringify(streamingCard());

const APPS = [
  /** Every scope: no `scopes` given. */
  { appId: 'cli_full', appSecret: 's_full' },
  /** An IM bot without CardKit permission. */
  { appId: 'cli_im', appSecret: 's_im', scopes: ['im:message'] },
];

function expectMissingScope(res: ApiResponse, scopes: string[]): void {
  const list = `[${scopes.join(', ')}]`;
  expect([res.status, res.body.code]).toEqual([400, 99991672]);
  expect(res.body.msg).toContain(`Access denied. One of the following scopes is required: ${list}.`);
  expect(res.body.msg).toContain(`应用尚未开通所需的应用身份权限：${list}`);
  expect(res.body.error).toMatchObject({
    log_id: res.headers.get('x-tt-logid'),
    permission_violations: scopes.map((subject) => ({ type: 'action_scope_required', subject })),
  });
  expect(res.body.data).toBeUndefined();
}

describe('app scopes', () => {
  let emulator: Emulator;
  /** A token of `cli_full`, registered without scopes (tests re-register it with some). */
  let full: string;
  useEmulator((started) => ({ emulator, token: full } = started), { apps: APPS });

  const imToken = () => tenantToken(emulator, 'cli_im', 's_im');

  function send(token: string, content = INLINE_CARD): Promise<ApiResponse> {
    return api(emulator, 'POST', `${MESSAGES}?receive_id_type=chat_id`, {
      token,
      body: { receive_id: 'oc_chat', msg_type: 'interactive', content },
    });
  }

  const patch = (token: string, messageId: string, content = INLINE_CARD) =>
    api(emulator, 'PATCH', `${MESSAGES}/${messageId}`, { token, body: { content } });

  it('an app without cardkit:card:write gets 99991672 on card create, and no card is made', async () => {
    const res = await api(emulator, 'POST', CARDS, { token: await imToken(), body: { type: 'card_json', data: STREAMING_CARD } });
    expectMissingScope(res, ['cardkit:card:write']);
    expect(res.body.msg).toContain('https://open.feishu.cn/app/cli_im/auth?q=cardkit:card:write');
    expect(emulator.cards()).toEqual([]);
    expect(emulator.stats().endpoints['cardkit.card.create']).toEqual({ accepted: 0, rejected: 1 });
    expect(emulator.stats().rejected).toEqual({ '99991672': 1 });
  });

  it('an app without cardkit:card:write gets 99991672 on a content write, before the card is looked at, and nothing is logged', async () => {
    const cardId = await createCard(emulator, full);
    // The same app loses its CardKit scope: the token it holds keeps working, under the new scopes.
    emulator.registerApp({ appId: 'cli_full', appSecret: 's_full', scopes: ['im:message'] });
    expectMissingScope(await putContent(emulator, full, cardId, 1, 'text'), ['cardkit:card:write']);
    expect(elementText(emulator, cardId)).toBe('');
    expect(emulator.card(cardId)?.sequence).toBe(0);
    expect(emulator.card(cardId)?.log.map((entry) => entry.endpoint)).toEqual(['cardkit.card.create']);
    // Checked before the handler: an unknown card and a missing sequence are not reported either.
    expectMissingScope(await putContent(emulator, await imToken(), 'no_such_card', 1, 'x'), ['cardkit:card:write']);
    expectMissingScope(await api(emulator, 'PUT', contentPath(cardId), { token: full, body: {} }), ['cardkit:card:write']);
  });

  it('every CardKit write endpoint needs cardkit:card:write', async () => {
    const cardId = await createCard(emulator, full);
    const token = await imToken();
    const element = `${CARDS}/${cardId}/elements/answer`;
    const calls: Array<[string, string, unknown]> = [
      ['POST', CARDS, { type: 'card_json', data: STREAMING_CARD }],
      ['PUT', `${CARDS}/${cardId}`, { card: { type: 'card_json', data: STREAMING_CARD }, sequence: 1 }],
      ['PATCH', settingsPath(cardId), { settings: JSON.stringify({ config: { streaming_mode: false } }), sequence: 1 }],
      ['POST', `${CARDS}/${cardId}/batch_update`, { actions: '[]', sequence: 1 }],
      ['POST', `${CARDS}/${cardId}/elements`, { type: 'append', elements: '[]', sequence: 1 }],
      ['PUT', element, { element: '{}', sequence: 1 }],
      ['PATCH', element, { partial_element: '{}', sequence: 1 }],
      ['PUT', `${element}/content`, { content: 'x', sequence: 1 }],
      ['DELETE', element, { sequence: 1 }],
    ];
    for (const [method, path, body] of calls) {
      expectMissingScope(await api(emulator, method, path, { token, body }), ['cardkit:card:write']);
    }
    expect(emulator.card(cardId)?.log).toHaveLength(1);
    expect(emulator.stats().rejected).toEqual({ '99991672': calls.length });
  });

  it('id_convert needs cardkit:card:read; cardkit:card:write alone does not do', async () => {
    const messageId = ((await send(full)).body.data as { message_id: string }).message_id;
    emulator.registerApp({ appId: 'cli_full', appSecret: 's_full', scopes: ['cardkit:card:write', 'im:message'] });
    const refused = await api(emulator, 'POST', `${CARDS}/id_convert`, { token: full, body: { message_id: messageId } });
    expectMissingScope(refused, ['cardkit:card:read']);
    expect(emulator.message(messageId)?.card_id).toBeNull();

    emulator.registerApp({ appId: 'cli_full', appSecret: 's_full', scopes: ['cardkit:card:read', 'im:message'] });
    const converted = await api(emulator, 'POST', `${CARDS}/id_convert`, { token: full, body: { message_id: messageId } });
    expect(converted.body.code).toBe(0);
  });

  it('an app without CardKit scopes can still send, reply to, patch and recall inline-card messages', async () => {
    const token = await imToken();
    const sent = await send(token);
    expect(sent.body.code).toBe(0);
    const messageId = (sent.body.data as { message_id: string }).message_id;
    const updated = JSON.stringify({ schema: '2.0', body: { elements: [{ tag: 'markdown', content: 'updated' }] } });
    expect((await patch(token, messageId, updated)).body).toMatchObject({ code: 0, msg: 'ok' });
    expect(emulator.message(messageId)?.content).toBe(updated);
    const replied = await api(emulator, 'POST', `${MESSAGES}/${messageId}/reply`, {
      token,
      body: { msg_type: 'interactive', content: INLINE_CARD },
    });
    expect(replied.body.code).toBe(0);
    expect((await api(emulator, 'DELETE', `${MESSAGES}/${messageId}`, { token })).body.code).toBe(0);
  });

  it('an app with no IM scope gets 99991672 on send, reply, patch and recall, naming any of the scopes each page accepts', async () => {
    const messageId = ((await send(full)).body.data as { message_id: string }).message_id;
    emulator.registerApp({ appId: 'cli_full', appSecret: 's_full', scopes: ['cardkit:card:write'] });
    const send3 = ['im:message', 'im:message:send_as_bot', 'im:message:send'];
    expectMissingScope(await send(full), send3);
    const reply = await api(emulator, 'POST', `${MESSAGES}/${messageId}/reply`, { token: full, body: { msg_type: 'interactive', content: INLINE_CARD } });
    expectMissingScope(reply, send3);
    expectMissingScope(await patch(full, messageId), ['im:message', 'im:message:send_as_bot', 'im:message:update']);
    expectMissingScope(await api(emulator, 'DELETE', `${MESSAGES}/${messageId}`, { token: full }), ['im:message', 'im:message:recall', 'im:message:send_as_bot']);
    expect(emulator.messages()).toHaveLength(1);
    expect(emulator.message(messageId)?.deleted).toBe(false);
  });

  it('any one of the scopes a page lists is enough: im:message:send_as_bot sends and patches, im:message:update only patches', async () => {
    emulator.registerApp({ appId: 'cli_full', appSecret: 's_full', scopes: ['im:message:send_as_bot'] });
    const sent = await send(full);
    expect(sent.body.code).toBe(0);
    const messageId = (sent.body.data as { message_id: string }).message_id;
    expect((await patch(full, messageId)).body.code).toBe(0);

    emulator.registerApp({ appId: 'cli_full', appSecret: 's_full', scopes: ['im:message:update', 'im:message:recall'] });
    expect((await send(full)).body.code).toBe(99991672);
    expect((await patch(full, messageId)).body.code).toBe(0);
    expect((await api(emulator, 'DELETE', `${MESSAGES}/${messageId}`, { token: full })).body.code).toBe(0);
  });

  it('an app with scopes: [] still gets a token, then 99991672 on every API', async () => {
    emulator.registerApp({ appId: 'cli_none', appSecret: 's_none', scopes: [] });
    const token = await tenantToken(emulator, 'cli_none', 's_none');
    expect((await send(token)).body.code).toBe(99991672);
    expect((await api(emulator, 'POST', CARDS, { token, body: { type: 'card_json', data: STREAMING_CARD } })).body.code).toBe(99991672);
  });

  it('the token is checked first: a bad token gets 99991663, not 99991672', async () => {
    const res = await api(emulator, 'POST', CARDS, { token: 't-bogus', body: { type: 'card_json', data: STREAMING_CARD } });
    expect(res.body.code).toBe(99991663);
  });

  it('the scope is checked before the request body: an invalid send gets 99991672, not 230001', async () => {
    emulator.registerApp({ appId: 'cli_full', appSecret: 's_full', scopes: ['cardkit:card:write'] });
    const res = await api(emulator, 'POST', `${MESSAGES}?receive_id_type=bogus`, { token: full, body: {} });
    expect(res.body.code).toBe(99991672);
  });

  it('apps without scopes are unaffected: card create, content write, send and patch all succeed', async () => {
    const cardId = await createCard(emulator, full);
    expect((await putContent(emulator, full, cardId, 1, 'hello')).body.code).toBe(0);
    const sent = await send(full);
    expect(sent.body.code).toBe(0);
    expect((await patch(full, (sent.body.data as { message_id: string }).message_id)).body.code).toBe(0);
    expect(emulator.stats().rejected).toEqual({});
  });

  it('POST /_emulator/apps takes scopes too', async () => {
    const res = await fetch(`${emulator.url}/_emulator/apps`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ app_id: 'cli_http', app_secret: 's_http', scopes: ['im:message'] }),
    });
    expect(res.status).toBe(200);
    const token = await tenantToken(emulator, 'cli_http', 's_http');
    expect((await send(token)).body.code).toBe(0);
    expect((await api(emulator, 'POST', CARDS, { token, body: { type: 'card_json', data: STREAMING_CARD } })).body.code).toBe(99991672);

    const bad = await fetch(`${emulator.url}/_emulator/apps`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ app_id: 'cli_bad', app_secret: 's', scopes: 'im:message' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/scopes/);
  });
});

describe('app scopes: option validation', () => {
  it.each([
    ['a string', 'im:message'],
    ['an empty scope', ['im:message', '']],
    ['a number', [1]],
  ])('options.apps scopes that are %s are refused with a TypeError naming options.apps', async (_name, scopes) => {
    const apps = [{ appId: 'cli_a', appSecret: 's_a', scopes: scopes as string[] }];
    await expect(startEmulator({ apps })).rejects.toThrow(/options\.apps: scopes/);
  });

  it('registerApp refuses scopes that are not an array of strings, and keeps the app as it was', async () => {
    const emulator = await startEmulator({ apps: [{ appId: 'cli_a', appSecret: 's_a' }] });
    try {
      expect(() => emulator.registerApp({ appId: 'cli_a', appSecret: 's_a', scopes: 'x' as unknown as string[] })).toThrow(TypeError);
      const token = await tenantToken(emulator, 'cli_a', 's_a');
      expect((await api(emulator, 'POST', CARDS, { token, body: { type: 'card_json', data: STREAMING_CARD } })).body.code).toBe(0);
    } finally {
      await emulator.close();
    }
  });
});
