import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type Emulator, type EmulatorOptions, startEmulator } from '../../src/emulator/index.js';
import { type ApiResponse, api, createCard, patchSettings, putContent, tenantToken } from '../support/emulator-http.js';

const CARDS = '/open-apis/cardkit/v1/cards';
const MESSAGES = '/open-apis/im/v1/messages';
const SIMPLE_CARD = JSON.stringify({ schema: '2.0', body: { elements: [{ tag: 'markdown', element_id: 'md', content: 'hi' }] } });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function createRaw(emulator: Emulator, token: string): Promise<ApiResponse> {
  return api(emulator, 'POST', CARDS, { token, body: { type: 'card_json', data: SIMPLE_CARD } });
}

function send(emulator: Emulator, token: string, receiveId: string, receiveIdType = 'chat_id'): Promise<ApiResponse> {
  return api(emulator, 'POST', `${MESSAGES}?receive_id_type=${receiveIdType}`, {
    token,
    body: { receive_id: receiveId, msg_type: 'interactive', content: SIMPLE_CARD },
  });
}

function reply(emulator: Emulator, token: string, messageId: string): Promise<ApiResponse> {
  return api(emulator, 'POST', `${MESSAGES}/${messageId}/reply`, {
    token,
    body: { msg_type: 'interactive', content: SIMPLE_CARD },
  });
}

function patchMessage(emulator: Emulator, token: string, messageId: string, text: string): Promise<ApiResponse> {
  const card = { schema: '2.0', body: { elements: [{ tag: 'markdown', element_id: 'md', content: text }] } };
  return api(emulator, 'PATCH', `${MESSAGES}/${messageId}`, { token, body: { content: JSON.stringify(card) } });
}

function messageId(res: ApiResponse): string {
  return (res.body.data as { message_id: string }).message_id;
}

/** The status, code and rate-limit headers of a throttled answer. */
function throttle(res: ApiResponse) {
  return {
    status: res.status,
    code: res.body.code,
    limit: res.headers.get('x-ogw-ratelimit-limit'),
    reset: res.headers.get('x-ogw-ratelimit-reset'),
  };
}

describe('rate limits', () => {
  let emulator: Emulator | undefined;
  let token: string;
  async function start(options: EmulatorOptions = {}): Promise<Emulator> {
    emulator = await startEmulator(options);
    token = await tenantToken(emulator, options.apps?.[0]?.appId, options.apps?.[0]?.appSecret);
    return emulator;
  }
  afterEach(async () => {
    await emulator?.close();
    emulator = undefined;
  });

  it("the default limits are Feishu's: 50/s and 1000/min per API, 10/s per card, 5/s per message patch, 5/s per chat", async () => {
    const feishu = { apiQps: 50, apiQpm: 1000, cardQps: 10, messagePatchQps: 5, chatSendQps: 5 };
    expect(DEFAULT_LIMITS).toEqual(feishu);
    const em = await start();
    expect(em.options.limits).toEqual(feishu);
    expect(em.options.cardRateLimitCode).toBe(230020);
    await em.close();
    const tightened = await start({ limits: { apiQps: 3 } });
    expect(tightened.options.limits).toEqual({ ...feishu, apiQps: 3 });
  });

  it('per app per API: calls over apiQps in one second get HTTP 429, 99991400 and x-ogw-ratelimit headers', async () => {
    const em = await start({ limits: { apiQps: 3 } });
    for (let i = 0; i < 3; i++) expect((await createRaw(em, token)).body.code).toBe(0);
    const res = throttle(await createRaw(em, token));
    expect(res).toMatchObject({ status: 429, code: 99991400, limit: '3' });
    expect(res.reset).toMatch(/^\d+$/);
    expect(Number(res.reset)).toBeGreaterThanOrEqual(1);
    expect(em.cards()).toHaveLength(3);
    expect(em.stats().rejected).toEqual({ '99991400': 1 });
  });

  it('per app per API: calls over apiQpm in one minute are throttled the same way, naming the minute cap', async () => {
    const em = await start({ limits: { apiQpm: 4 } });
    for (let i = 0; i < 4; i++) expect((await createRaw(em, token)).body.code).toBe(0);
    const res = throttle(await createRaw(em, token));
    expect(res).toMatchObject({ status: 429, code: 99991400, limit: '4' });
    expect(res.reset).toMatch(/^\d+$/);
    // The minute window blocks, so the reset is beyond the one-second window and within the minute.
    expect(Number(res.reset)).toBeGreaterThan(1);
    expect(Number(res.reset)).toBeLessThanOrEqual(60);
    expect(em.cards()).toHaveLength(4);
  });

  it('limits are per API: exhausting the content API does not block settings on the same card', async () => {
    const em = await start({ limits: { apiQps: 2 } });
    const cardId = await createCard(em, token);
    expect((await putContent(em, token, cardId, 1, 'a')).body.code).toBe(0);
    expect((await putContent(em, token, cardId, 2, 'ab')).body.code).toBe(0);
    expect(throttle(await putContent(em, token, cardId, 3, 'abc'))).toMatchObject({ status: 429, code: 99991400 });
    expect((await patchSettings(em, token, cardId, 3, { config: { summary: { content: 's' } } })).body.code).toBe(0);
    const card = em.card(cardId)!;
    expect(card.sequence).toBe(3);
    // The throttled call never reached the card.
    expect(card.log.map((entry) => entry.code)).toEqual([0, 0, 0, 0]);
  });

  it('limits are per app: a second app is unaffected when the first is throttled', async () => {
    const apps = [
      { appId: 'cli_a', appSecret: 's_a' },
      { appId: 'cli_b', appSecret: 's_b' },
    ];
    const em = await start({ apps, limits: { apiQps: 2 } });
    const other = await tenantToken(em, 'cli_b', 's_b');
    for (let i = 0; i < 2; i++) expect((await createRaw(em, token)).body.code).toBe(0);
    expect((await createRaw(em, token)).body.code).toBe(99991400);
    expect((await createRaw(em, other)).body.code).toBe(0);
    expect(em.cards().map((c) => c.app_id).sort()).toEqual(['cli_a', 'cli_a', 'cli_b']);
  });

  it('a rejected call is not counted: once the accepted calls leave the window, calls pass again', async () => {
    const em = await start({ limits: { apiQps: 2 } });
    for (let i = 0; i < 2; i++) expect((await createRaw(em, token)).body.code).toBe(0);
    await sleep(600);
    for (let i = 0; i < 3; i++) expect((await createRaw(em, token)).body.code).toBe(99991400);
    await sleep(550);
    // Only the two accepted calls were counted, and they are now over a second old.
    for (let i = 0; i < 2; i++) expect((await createRaw(em, token)).body.code).toBe(0);
    expect((await createRaw(em, token)).body.code).toBe(99991400);
    expect(em.cards()).toHaveLength(4);
    expect(em.stats().rejected['99991400']).toBe(4);
  });

  it('waiting the x-ogw-ratelimit-reset seconds it names lets the call through', async () => {
    const em = await start({ limits: { apiQps: 2 } });
    for (let i = 0; i < 2; i++) expect((await createRaw(em, token)).body.code).toBe(0);
    const rejected = await createRaw(em, token);
    expect(rejected.status).toBe(429);
    await sleep(Number(rejected.headers.get('x-ogw-ratelimit-reset')) * 1000 + 50);
    expect((await createRaw(em, token)).body.code).toBe(0);
    expect(em.cards()).toHaveLength(3);
  });

  it('per card: more than cardQps writes in one second across CardKit endpoints get 230020 by default', async () => {
    const em = await start({ limits: { cardQps: 3 } });
    const cardId = await createCard(em, token);
    const otherCard = await createCard(em, token);
    expect((await putContent(em, token, cardId, 1, 'a')).body.code).toBe(0);
    expect((await patchSettings(em, token, cardId, 2, { config: { summary: { content: 's' } } })).body.code).toBe(0);
    expect((await putContent(em, token, cardId, 3, 'ab')).body.code).toBe(0);
    const res = await putContent(em, token, cardId, 4, 'abc');
    expect([res.status, res.body.code]).toEqual([400, 230020]);
    const card = em.card(cardId)!;
    expect(card.sequence).toBe(3);
    expect(card.log.at(-1)).toMatchObject({ sequence: 4, code: 230020 });
    expect((await putContent(em, token, otherCard, 1, 'x')).body.code).toBe(0);
  });

  it('per card: with cardRateLimitCode 99991400 the limit answers HTTP 429 with the gateway headers', async () => {
    const em = await start({ limits: { cardQps: 2 }, cardRateLimitCode: 99991400 });
    const cardId = await createCard(em, token);
    expect((await putContent(em, token, cardId, 1, 'a')).body.code).toBe(0);
    expect((await putContent(em, token, cardId, 2, 'ab')).body.code).toBe(0);
    const res = throttle(await putContent(em, token, cardId, 3, 'abc'));
    expect(res).toMatchObject({ status: 429, code: 99991400, limit: '2' });
    expect(Number(res.reset)).toBeGreaterThanOrEqual(1);
    expect(em.card(cardId)?.sequence).toBe(2);
  });

  it('IM patch: more than 5 patches per second on one message get 230020; another message is unaffected', async () => {
    const em = await start();
    const first = messageId(await send(em, token, 'oc_chat'));
    const second = messageId(await send(em, token, 'oc_chat'));
    for (let i = 1; i <= 5; i++) expect((await patchMessage(em, token, first, `v${i}`)).body.code).toBe(0);
    const res = await patchMessage(em, token, first, 'v6');
    expect([res.status, res.body.code]).toEqual([400, 230020]);
    expect(em.message(first)?.content).toContain('v5');
    expect((await patchMessage(em, token, second, 'w1')).body.code).toBe(0);
  });

  it.each(['chat_id', 'open_id'])('IM send: more than 5 messages per second to one %s get 230020; another is unaffected', async (type) => {
    const em = await start();
    for (let i = 0; i < 5; i++) expect((await send(em, token, 'target_1', type)).body.code).toBe(0);
    const res = await send(em, token, 'target_1', type);
    expect([res.status, res.body.code]).toEqual([400, 230020]);
    expect((await send(em, token, 'target_2', type)).body.code).toBe(0);
    expect(em.messages().filter((m) => m.receive_id === 'target_1')).toHaveLength(5);
  });

  it('IM send: replies count toward the same per-chat limit as sends', async () => {
    const em = await start();
    const parent = messageId(await send(em, token, 'oc_chat'));
    for (let i = 0; i < 2; i++) expect((await send(em, token, 'oc_chat')).body.code).toBe(0);
    for (let i = 0; i < 2; i++) expect((await reply(em, token, parent)).body.code).toBe(0);
    expect((await send(em, token, 'oc_chat')).body.code).toBe(230020);
    expect((await reply(em, token, parent)).body.code).toBe(230020);
    expect(em.messages()).toHaveLength(5);
  });

  it('IM send: a reply to a user counts toward the same 5/s per user as sends to that user', async () => {
    const em = await start();
    const parent = messageId(await send(em, token, 'ou_user', 'open_id'));
    for (let i = 0; i < 3; i++) expect((await send(em, token, 'ou_user', 'open_id')).body.code).toBe(0);
    expect((await reply(em, token, parent)).body.code).toBe(0);
    expect((await send(em, token, 'ou_user', 'open_id')).body.code).toBe(230020);
    expect(em.messages()).toHaveLength(5);
  });
});
