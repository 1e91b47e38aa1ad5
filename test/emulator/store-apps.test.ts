/**
 * Store (ISV) apps (issue 14; reference §25): the platform pushes an app_ticket to the app's HTTP event URL, the
 * app trades it for an app_access_token and that for one tenant token per tenant it is installed in; every
 * limit of the gateway is kept per (API, app, tenant); cards and messages belong to the (app, tenant) that made
 * them; events carry the tenant of their chat. Raw HTTP over loopback, and a raw receiver for the pushes, so each
 * test states what goes over the wire.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../src/emulator/index.js';
import { type ApiResponse, api, createCard, putContent, streamingCard, tenantToken } from '../support/emulator-http.js';
import { waitFor } from '../support/session.js';

const AUTH = '/open-apis/auth/v3';
const MESSAGES = '/open-apis/im/v1/messages';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const STORE = { appId: 'cli_store', appSecret: 's_store', type: 'store' as const, tenantKeys: ['tk_a', 'tk_b'] };
const STORE_CREDENTIALS = { app_id: STORE.appId, app_secret: STORE.appSecret };

interface Push {
  headers: IncomingHttpHeaders;
  /** The raw body, as sent. */
  raw: string;
  /** The event, decrypted when the receiver has the Encrypt Key. */
  event: Record<string, unknown> & { event?: Record<string, unknown>; header?: Record<string, unknown> };
}

function decrypt(key: string, encrypted: string): string {
  const data = Buffer.from(encrypted, 'base64');
  const decipher = createDecipheriv('aes-256-cbc', createHash('sha256').update(key).digest(), data.subarray(0, 16));
  return Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]).toString('utf8');
}

/** A bot's event URL that records every push and answers 200. */
async function startReceiver(encryptKey?: string) {
  const pushes: Push[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const parsed = JSON.parse(raw) as Record<string, unknown>;
      const event = (typeof parsed.encrypt === 'string' && encryptKey ? JSON.parse(decrypt(encryptKey, parsed.encrypt)) : parsed) as Push['event'];
      pushes.push({ headers: req.headers, raw, event });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook/event`;
  const ofType = (type: string) => pushes.filter((push) => push.event.event?.type === type || push.event.header?.event_type === type);
  return {
    url,
    pushes,
    ofType,
    /** The n-th push of `type` (1-based), once it arrived. */
    async nth(type: string, n = 1): Promise<Push> {
      await waitFor(() => ofType(type).length >= n, `push ${n} of ${type}`);
      return ofType(type)[n - 1]!;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

function post(emulator: Emulator, path: string, body: unknown, token?: string): Promise<ApiResponse> {
  return api(emulator, 'POST', path, { body, ...(token === undefined ? {} : { token }) });
}

const resend = (emulator: Emulator, appId = STORE.appId, appSecret = STORE.appSecret) => post(emulator, `${AUTH}/app_ticket/resend`, { app_id: appId, app_secret: appSecret });
const appAccessToken = (emulator: Emulator, ticket: string, appId = STORE.appId, appSecret = STORE.appSecret) =>
  post(emulator, `${AUTH}/app_access_token`, { app_id: appId, app_secret: appSecret, app_ticket: ticket });
const storeTenantToken = (emulator: Emulator, appToken: string, tenantKey: string) => post(emulator, `${AUTH}/tenant_access_token`, { app_access_token: appToken, tenant_key: tenantKey });

/** The ticket of the n-th app_ticket push. */
async function ticketOf(receiver: Receiver, n = 1): Promise<string> {
  return (await receiver.nth('app_ticket', n)).event.event!.app_ticket as string;
}

/** The whole flow: resend, the pushed ticket, the app token, then a tenant token for each tenant asked. */
async function storeTokens(emulator: Emulator, receiver: Receiver, ...tenantKeys: string[]): Promise<Record<string, string>> {
  const before = receiver.ofType('app_ticket').length;
  expect((await resend(emulator)).body.code).toBe(0);
  const ticket = await ticketOf(receiver, before + 1);
  const appToken = (await appAccessToken(emulator, ticket)).body.app_access_token as string;
  const tokens: Record<string, string> = {};
  for (const tenantKey of tenantKeys) {
    const res = await storeTenantToken(emulator, appToken, tenantKey);
    if (res.body.code !== 0) throw new Error(`tenant token for ${tenantKey}: ${JSON.stringify(res.body)}`);
    tokens[tenantKey] = res.body.tenant_access_token as string;
  }
  return tokens;
}

const SIMPLE_CARD = JSON.stringify({ schema: '2.0', body: { elements: [{ tag: 'markdown', element_id: 'md', content: 'hi' }] } });
const createRaw = (emulator: Emulator, token: string) => post(emulator, '/open-apis/cardkit/v1/cards', { type: 'card_json', data: SIMPLE_CARD }, token);

describe('store apps', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });
  /** A receiver, and an emulator whose store app pushes there (plus the default custom app `cli_x`). */
  async function setUp(options: EmulatorOptions = {}, app: Record<string, unknown> = {}): Promise<{ emulator: Emulator; receiver: Receiver }> {
    const receiver = await startReceiver(app.encryptKey as string | undefined);
    cleanups.push(receiver.close);
    const emulator = await startEmulator({ apps: [{ appId: 'cli_x', appSecret: 's_x' }, { ...STORE, eventUrl: receiver.url, ...app }], ...options });
    cleanups.push(() => emulator.close());
    return { emulator, receiver };
  }

  describe('tokens (reference §25.1, §25.2)', () => {
    it('the token flow: resend pushes an app_ticket (v1) to the event URL, app_access_token trades it for an a- token, tenant_access_token trades that and a tenant_key for a t- token; fields at the top level', async () => {
      const { emulator, receiver } = await setUp();

      const resent = await resend(emulator);
      expect(resent.status).toBe(200);
      expect(resent.body).toEqual({ code: 0, msg: 'ok' });
      const push = await receiver.nth('app_ticket');
      expect(push.event).toEqual({
        ts: expect.stringMatching(/^\d{10}\.\d+$/) as unknown,
        uuid: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown,
        token: 'v_cli_store',
        type: 'event_callback',
        event: { app_id: 'cli_store', app_ticket: expect.any(String) as unknown, type: 'app_ticket' },
      });

      const appToken = await appAccessToken(emulator, push.event.event!.app_ticket as string);
      expect(appToken.status).toBe(200);
      expect(appToken.body).toEqual({ code: 0, msg: 'ok', app_access_token: expect.stringMatching(/^a-\S+$/) as unknown, expire: 7200 });

      const forA = await storeTenantToken(emulator, appToken.body.app_access_token as string, 'tk_a');
      const forB = await storeTenantToken(emulator, appToken.body.app_access_token as string, 'tk_b');
      expect(forA.body).toEqual({ code: 0, msg: 'ok', tenant_access_token: expect.stringMatching(/^t-\S+$/) as unknown, expire: 7200 });
      expect(forB.body.tenant_access_token).toMatch(/^t-/);
      expect(forB.body.tenant_access_token).not.toBe(forA.body.tenant_access_token);

      const cardA = await createCard(emulator, forA.body.tenant_access_token as string);
      const cardB = await createCard(emulator, forB.body.tenant_access_token as string);
      expect(emulator.card(cardA)).toMatchObject({ app_id: 'cli_store', tenant_key: 'tk_a' });
      expect(emulator.card(cardB)).toMatchObject({ app_id: 'cli_store', tenant_key: 'tk_b' });
      expect(Object.keys(emulator.stats().endpoints)).toEqual(
        expect.arrayContaining(['auth.appTicket.resend', 'auth.appAccessToken.create', 'auth.tenantAccessToken.create']) as unknown,
      );
    });

    it('tokens follow the 2 h / 30 min rule: the same token with 30 min or more left, a new one inside the last 30 min, the old one valid until it expires', async () => {
      const { emulator, receiver } = await setUp();
      const first = (await storeTokens(emulator, receiver, 'tk_a')).tk_a!;
      const ticket = await ticketOf(receiver);
      const appToken = (await appAccessToken(emulator, ticket)).body.app_access_token as string;

      emulator.clock.advance(HOUR);
      const again = await appAccessToken(emulator, ticket);
      expect(again.body.app_access_token).toBe(appToken);
      expect(again.body.expire).toBeGreaterThanOrEqual(3599);
      expect(again.body.expire).toBeLessThanOrEqual(3600);
      const sameTenant = await storeTenantToken(emulator, appToken, 'tk_a');
      expect(sameTenant.body.tenant_access_token).toBe(first);

      emulator.clock.advance(31 * MINUTE);
      const renewedApp = await appAccessToken(emulator, ticket);
      expect(renewedApp.body.app_access_token).toMatch(/^a-/);
      expect(renewedApp.body.app_access_token).not.toBe(appToken);
      expect(renewedApp.body.expire).toBe(7200);
      const renewed = await storeTenantToken(emulator, renewedApp.body.app_access_token as string, 'tk_a');
      expect(renewed.body.tenant_access_token).not.toBe(first);
      // Both old and new work until the old one expires.
      expect((await createRaw(emulator, first)).body.code).toBe(0);
      expect((await createRaw(emulator, renewed.body.tenant_access_token as string)).body.code).toBe(0);
      expect((await storeTenantToken(emulator, appToken, 'tk_b')).body.code).toBe(0);

      emulator.clock.advance(30 * MINUTE);
      expect((await createRaw(emulator, first)).body.code).toBe(99991663);
      expect((await storeTenantToken(emulator, appToken, 'tk_a')).body.code).toBe(99991664);
      expect((await createRaw(emulator, renewed.body.tenant_access_token as string)).body.code).toBe(0);
    });

    it('a ticket is accepted for 3 hours; an expired or unknown ticket gets 10012, and a fresh one works', async () => {
      const { emulator, receiver } = await setUp();
      expect((await resend(emulator)).body.code).toBe(0);
      const ticket = await ticketOf(receiver);
      emulator.clock.advance(3 * HOUR - 1000);
      expect((await appAccessToken(emulator, ticket)).body.code).toBe(0);
      emulator.clock.advance(1000);
      const expired = await appAccessToken(emulator, ticket);
      expect([expired.status, expired.body.code]).toEqual([400, 10012]);
      expect(expired.body.app_access_token).toBeUndefined();
      expect(expired.body.error).toMatchObject({ log_id: expect.any(String) as unknown });
      expect((await appAccessToken(emulator, 'never-pushed')).body.code).toBe(10012);
      // Another store app's ticket is not this app's.
      emulator.registerApp({ appId: 'cli_store2', appSecret: 's_store2', type: 'store' });
      const other = await emulator.pushAppTicket('cli_store2');
      expect(other.delivery.state).toBe('unsubscribed');
      expect((await appAccessToken(emulator, other.ticket)).body.code).toBe(10012);
      expect((await appAccessToken(emulator, other.ticket, 'cli_store2', 's_store2')).body.code).toBe(0);
      const fresh = await api(emulator, 'POST', '/_emulator/apps/cli_store/app_ticket');
      expect(fresh.body).toMatchObject({ app_id: 'cli_store', app_ticket: expect.any(String) as unknown, delivery: { state: 'delivered' } });
      expect((await appAccessToken(emulator, fresh.body.app_ticket as string)).body.code).toBe(0);
      expect((await post(emulator, `${AUTH}/app_access_token`, STORE_CREDENTIALS)).body.code).toBe(10003);
    });

    it('a ticket is pushed every hour on the emulator clock, only while the app has an event URL, encrypted and signed when it has an Encrypt Key', async () => {
      const encryptKey = 'store encrypt key';
      const { emulator, receiver } = await setUp({}, { encryptKey });
      expect(receiver.pushes).toHaveLength(0);
      emulator.clock.advance(HOUR);
      const push = await receiver.nth('app_ticket');
      const body = JSON.parse(push.raw) as Record<string, unknown>;
      expect(Object.keys(body)).toEqual(['encrypt']);
      const { 'x-lark-request-timestamp': timestamp, 'x-lark-request-nonce': nonce, 'x-lark-signature': signature } = push.headers;
      expect(signature).toBe(createHash('sha256').update(`${String(timestamp)}${String(nonce)}${encryptKey}${push.raw}`).digest('hex'));
      expect(push.event).toMatchObject({ type: 'event_callback', event: { type: 'app_ticket', app_id: 'cli_store' } });
      expect((await appAccessToken(emulator, push.event.event!.app_ticket as string)).body.code).toBe(0);

      emulator.clock.advance(HOUR);
      const second = await receiver.nth('app_ticket', 2);
      expect(second.event.event!.app_ticket).not.toBe(push.event.event!.app_ticket);

      await emulator.subscribe('cli_store', { url: null });
      emulator.clock.advance(2 * HOUR);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(receiver.ofType('app_ticket')).toHaveLength(2);
      expect(emulator.deliveries().filter((d) => d.eventType === 'app_ticket')).toHaveLength(2);
    });

    it('app_ticket/resend for a custom app gets 10016; a wrong secret 10015, an unknown app or a missing field 10003', async () => {
      const { emulator } = await setUp();
      const custom = await resend(emulator, 'cli_x', 's_x');
      expect([custom.status, custom.body.code]).toEqual([400, 10016]);
      expect((await resend(emulator, 'cli_store', 'wrong')).body.code).toBe(10015);
      expect((await resend(emulator, 'cli_nobody', 's')).body.code).toBe(10003);
      expect((await post(emulator, `${AUTH}/app_ticket/resend`, { app_id: 'cli_store' })).body.code).toBe(10003);
      expect(emulator.deliveries()).toEqual([]);
    });

    it('a custom app: app_access_token/internal answers its tenant token in both fields; the store endpoints refuse it and the internal ones refuse a store app (10003)', async () => {
      const { emulator } = await setUp();
      const internal = await post(emulator, `${AUTH}/app_access_token/internal`, { app_id: 'cli_x', app_secret: 's_x' });
      expect(internal.body).toEqual({
        code: 0,
        msg: 'ok',
        app_access_token: expect.stringMatching(/^t-/) as unknown,
        expire: 7200,
        tenant_access_token: internal.body.app_access_token,
      });
      expect(internal.body.tenant_access_token).toBe(await tenantToken(emulator));
      expect((await createRaw(emulator, internal.body.tenant_access_token as string)).body.code).toBe(0);
      expect(emulator.cards()[0]).toMatchObject({ app_id: 'cli_x', tenant_key: 'emulator_tenant' });

      expect((await appAccessToken(emulator, 'x', 'cli_x', 's_x')).body.code).toBe(10003);
      expect((await storeTenantToken(emulator, internal.body.app_access_token as string, 'emulator_tenant')).body.code).toBe(10003);
      expect((await post(emulator, `${AUTH}/tenant_access_token/internal`, STORE_CREDENTIALS)).body.code).toBe(10003);
      expect((await post(emulator, `${AUTH}/app_access_token/internal`, STORE_CREDENTIALS)).body.code).toBe(10003);
    });

    it('tenant_access_token: a tenant the app is not installed in gets 10013, an unknown or revoked app_access_token 99991664, and the app token used as a tenant token 99991671', async () => {
      const { emulator, receiver } = await setUp();
      expect((await resend(emulator)).body.code).toBe(0);
      const appToken = (await appAccessToken(emulator, await ticketOf(receiver))).body.app_access_token as string;
      const notInstalled = await storeTenantToken(emulator, appToken, 'tk_other');
      expect([notInstalled.status, notInstalled.body.code]).toEqual([400, 10013]);
      expect((await storeTenantToken(emulator, appToken, 'emulator_tenant')).body.code).toBe(10013);
      expect((await storeTenantToken(emulator, 'a-unknown', 'tk_a')).body.code).toBe(99991664);
      expect((await post(emulator, `${AUTH}/tenant_access_token`, { app_access_token: appToken })).body.code).toBe(10003);

      const asTenantToken = await createRaw(emulator, appToken);
      expect([asTenantToken.status, asTenantToken.body.code]).toEqual([400, 99991671]);

      expect(emulator.revokeTokens({ token: appToken })).toBe(1);
      expect((await storeTenantToken(emulator, appToken, 'tk_a')).body.code).toBe(99991664);
    });

    it('store apps cannot use the long connection: discovery answers 403 (the SDK does not retry it)', async () => {
      const { emulator } = await setUp();
      const res = await post(emulator, '/callback/ws/endpoint', { AppID: 'cli_store', AppSecret: 's_store' });
      expect(res.body).toMatchObject({ code: 403, data: {} });
      expect((await post(emulator, '/callback/ws/endpoint', { AppID: 'cli_x', AppSecret: 's_x' })).body.code).toBe(0);
    });
  });

  describe('per tenant (reference §25.3, §25.4)', () => {
    it('rate limits are kept per (API, app, tenant): tenant A over its budget gets 99991400, tenant B of the same app and the custom app keep theirs, and stats show each tenant apart', async () => {
      const { emulator, receiver } = await setUp({ limits: { apiQps: 3 } });
      const tokens = await storeTokens(emulator, receiver, 'tk_a', 'tk_b');
      const custom = await tenantToken(emulator);

      for (let i = 0; i < 3; i++) expect((await createRaw(emulator, tokens.tk_a!)).body.code).toBe(0);
      const over = await createRaw(emulator, tokens.tk_a!);
      expect([over.status, over.body.code]).toEqual([429, 99991400]);
      expect(over.headers.get('x-ogw-ratelimit-limit')).toBe('3');
      for (let i = 0; i < 3; i++) expect((await createRaw(emulator, tokens.tk_b!)).body.code).toBe(0);
      for (let i = 0; i < 3; i++) expect((await createRaw(emulator, custom)).body.code).toBe(0);
      expect((await createRaw(emulator, tokens.tk_b!)).body.code).toBe(99991400);

      const { tenants } = emulator.stats();
      expect(tenants.cli_store).toEqual({
        tk_a: { accepted: 3, rejected: { '99991400': 1 }, endpoints: { 'cardkit.card.create': { accepted: 3, rejected: 1 } } },
        tk_b: { accepted: 3, rejected: { '99991400': 1 }, endpoints: { 'cardkit.card.create': { accepted: 3, rejected: 1 } } },
      });
      expect(tenants.cli_x).toEqual({ emulator_tenant: { accepted: 3, rejected: {}, endpoints: { 'cardkit.card.create': { accepted: 3, rejected: 0 } } } });
      expect((await api(emulator, 'GET', '/_emulator/stats')).body.tenants).toEqual(tenants);
    });

    it('three tenants of one store app, 50 cards each, on a budget of 50 per API per minute: each tenant uses its own budget, zero rejections; the 51st of one tenant is refused', async () => {
      const tenantKeys = ['tk_a', 'tk_b', 'tk_c'];
      const { emulator, receiver } = await setUp({ limits: { apiQpm: 50 } }, { tenantKeys });
      const tokens = await storeTokens(emulator, receiver, ...tenantKeys);

      const created = await Promise.all(tenantKeys.flatMap((tenantKey) => Array.from({ length: 50 }, () => createRaw(emulator, tokens[tenantKey]!))));
      expect(created.map((res) => res.body.code)).toEqual(Array(150).fill(0));
      const { rejected, tenants } = emulator.stats();
      expect(rejected).toEqual({});
      for (const tenantKey of tenantKeys) {
        expect(tenants.cli_store?.[tenantKey]).toEqual({ accepted: 50, rejected: {}, endpoints: { 'cardkit.card.create': { accepted: 50, rejected: 0 } } });
        expect(emulator.cards().filter((card) => card.tenant_key === tenantKey)).toHaveLength(50);
      }
      expect((await createRaw(emulator, tokens.tk_b!)).body.code).toBe(99991400);
      expect(emulator.stats().tenants.cli_store?.tk_b?.rejected).toEqual({ '99991400': 1 });
    });

    it('the per-card and per-chat limits stay per card and per chat, whichever tenant writes', async () => {
      const { emulator, receiver } = await setUp({ limits: { chatSendQps: 2 } });
      const tokens = await storeTokens(emulator, receiver, 'tk_a', 'tk_b');
      const send = (token: string) => post(emulator, `${MESSAGES}?receive_id_type=chat_id`, { receive_id: 'oc_shared_elsewhere', msg_type: 'text', content: '{"text":"hi"}' }, token);
      expect((await send(tokens.tk_a!)).body.code).toBe(0);
      expect((await send(tokens.tk_b!)).body.code).toBe(0);
      expect((await send(tokens.tk_a!)).body.code).toBe(230020);
    });

    it('a card belongs to the app and tenant that created it: the same store app acting in another tenant gets 300311, also when sending it as a message (230099, ErrCode 300311)', async () => {
      const { emulator, receiver } = await setUp();
      const tokens = await storeTokens(emulator, receiver, 'tk_a', 'tk_b');
      const cardId = await createCard(emulator, tokens.tk_a!, streamingCard());

      const fromB = await putContent(emulator, tokens.tk_b!, cardId, 1, 'from B');
      expect([fromB.status, fromB.body.code]).toEqual([400, 300311]);
      const custom = await putContent(emulator, await tenantToken(emulator), cardId, 1, 'from cli_x');
      expect(custom.body.code).toBe(300311);
      const sentByB = await post(emulator, `${MESSAGES}?receive_id_type=chat_id`, { receive_id: 'oc_b', msg_type: 'interactive', content: JSON.stringify({ type: 'card', data: { card_id: cardId } }) }, tokens.tk_b);
      expect(sentByB.body.code).toBe(230099);
      expect(sentByB.body.msg).toContain('ErrCode: 300311');

      expect(emulator.card(cardId)).toMatchObject({ tenant_key: 'tk_a', sequence: 0 });
      expect((await putContent(emulator, tokens.tk_a!, cardId, 1, 'from A')).body.code).toBe(0);
    });

    it('a message belongs to its tenant: another tenant gets 230027 on patch, 230026 on recall, 230002 on reply and on sending into a chat of the other tenant', async () => {
      const { emulator, receiver } = await setUp({ users: [{ userId: 'u_a', name: 'Ana', tenantKey: 'tk_a' }] });
      const tokens = await storeTokens(emulator, receiver, 'tk_a', 'tk_b');
      const chatA = emulator.chats().find((chat) => chat.type === 'p2p' && chat.userIds[0] === 'u_a')!;
      expect(chatA).toMatchObject({ appId: 'cli_store', tenantKey: 'tk_a' });
      const card = JSON.stringify({ schema: '2.0', body: { elements: [{ tag: 'markdown', content: 'A' }] } });
      const sent = await post(emulator, `${MESSAGES}?receive_id_type=chat_id`, { receive_id: chatA.chatId, msg_type: 'interactive', content: card }, tokens.tk_a);
      expect(sent.body.code).toBe(0);
      const messageId = (sent.body.data as { message_id: string; sender: { tenant_key: string } }).message_id;
      expect((sent.body.data as { sender: { tenant_key: string } }).sender.tenant_key).toBe('tk_a');
      expect(emulator.message(messageId)).toMatchObject({ app_id: 'cli_store', tenant_key: 'tk_a' });

      const patched = await api(emulator, 'PATCH', `${MESSAGES}/${messageId}`, { token: tokens.tk_b!, body: { content: card } });
      expect([patched.status, patched.body.code]).toEqual([400, 230027]);
      const replied = await post(emulator, `${MESSAGES}/${messageId}/reply`, { msg_type: 'text', content: '{"text":"B"}' }, tokens.tk_b);
      expect(replied.body.code).toBe(230002);
      const intoA = await post(emulator, `${MESSAGES}?receive_id_type=chat_id`, { receive_id: chatA.chatId, msg_type: 'text', content: '{"text":"B"}' }, tokens.tk_b);
      expect(intoA.body.code).toBe(230002);
      const recalled = await api(emulator, 'DELETE', `${MESSAGES}/${messageId}`, { token: tokens.tk_b! });
      expect(recalled.body.code).toBe(230026);
      expect(emulator.message(messageId)).toMatchObject({ deleted: false, updated: false });

      expect((await api(emulator, 'PATCH', `${MESSAGES}/${messageId}`, { token: tokens.tk_a!, body: { content: card } })).body.code).toBe(0);
      expect((await api(emulator, 'DELETE', `${MESSAGES}/${messageId}`, { token: tokens.tk_a! })).body.code).toBe(0);
    });
  });

  describe('tenants and events (reference §22.5, §25.3)', () => {
    it('installing a store app in a new tenant pushes the v1 app_open event and opens that tenant to its tokens', async () => {
      const { emulator, receiver } = await setUp({ users: [{ userId: 'u_c', name: 'Cai', tenantKey: 'tk_c' }] });
      expect((await resend(emulator)).body.code).toBe(0);
      const appToken = (await appAccessToken(emulator, await ticketOf(receiver))).body.app_access_token as string;
      expect((await storeTenantToken(emulator, appToken, 'tk_c')).body.code).toBe(10013);
      expect(emulator.chats().some((chat) => chat.appId === 'cli_store' && chat.tenantKey === 'tk_c')).toBe(false);

      const installed = await api(emulator, 'POST', '/_emulator/apps/cli_store/tenants', { body: { tenant_key: 'tk_c' } });
      expect(installed.status).toBe(200);
      expect(installed.body).toMatchObject({ app_id: 'cli_store', tenant_key: 'tk_c', delivery: { eventType: 'app_open', state: 'delivered' } });
      const push = await receiver.nth('app_open');
      expect(push.event).toEqual({
        ts: expect.any(String) as unknown,
        uuid: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown,
        token: 'v_cli_store',
        type: 'event_callback',
        event: { app_id: 'cli_store', tenant_key: 'tk_c', type: 'app_open', applicants: [], installer: { open_id: expect.stringMatching(/^ou_/) as unknown } },
      });

      const forC = await storeTenantToken(emulator, appToken, 'tk_c');
      expect(forC.body.code).toBe(0);
      expect(emulator.chats().find((chat) => chat.appId === 'cli_store' && chat.tenantKey === 'tk_c')?.userIds).toEqual(['u_c']);

      expect((await api(emulator, 'POST', '/_emulator/apps/cli_store/tenants', { body: { tenant_key: 'tk_c' } })).status).toBe(400);
      expect((await api(emulator, 'POST', '/_emulator/apps/cli_x/tenants', { body: { tenant_key: 'tk_c' } })).status).toBe(400);
      await expect(emulator.installApp('cli_store', 'bad key!')).rejects.toThrow(TypeError);
      const viaHandle = await emulator.installApp('cli_store', 'tk_d');
      expect(viaHandle.envelope).toMatchObject({ event: { type: 'app_open', tenant_key: 'tk_d' } });
    });

    it('events to a store app carry the tenant_key of the chat: each tenant has its own users and chats, and the bot is only in the chats of its tenants', async () => {
      const { emulator, receiver } = await setUp({
        users: [
          { userId: 'u_a', name: 'Ana', tenantKey: 'tk_a' },
          { userId: 'u_b', name: 'Bo', tenantKey: 'tk_b' },
        ],
        groups: [{ chatId: 'oc_team_b', name: 'Team B', tenantKey: 'tk_b' }],
      });
      const chats = emulator.chats();
      const p2pA = chats.find((chat) => chat.appId === 'cli_store' && chat.userIds[0] === 'u_a')!;
      expect(p2pA.tenantKey).toBe('tk_a');
      expect(chats.find((chat) => chat.chatId === 'oc_team_b')).toMatchObject({ tenantKey: 'tk_b', userIds: ['u_b'] });
      // The default user is in the default tenant, where only the custom app is.
      expect(chats.some((chat) => chat.appId === 'cli_store' && chat.userIds[0] === 'u_you')).toBe(false);
      expect(chats.some((chat) => chat.appId === 'cli_x' && chat.userIds[0] === 'u_a')).toBe(false);

      await emulator.postMessage(p2pA.chatId, { text: 'from A' });
      const fromA = await receiver.nth('im.message.receive_v1');
      expect(fromA.event.header).toMatchObject({ app_id: 'cli_store', tenant_key: 'tk_a', event_type: 'im.message.receive_v1' });
      expect(fromA.event.event).toMatchObject({ sender: { tenant_key: 'tk_a' }, message: { chat_id: p2pA.chatId } });

      const posted = await api(emulator, 'POST', '/_emulator/chats/oc_team_b/messages', { body: { text: 'from B' } });
      expect(posted.status).toBe(200);
      expect(posted.body.deliveries).toEqual([expect.objectContaining({ appId: 'cli_store' })]);
      const fromB = await receiver.nth('im.message.receive_v1', 2);
      expect(fromB.event.header).toMatchObject({ tenant_key: 'tk_b' });
      expect(emulator.message(posted.body.message_id as string)).toMatchObject({ tenant_key: 'tk_b' });

      // A group of a tenant takes only that tenant's users.
      const mixed = await api(emulator, 'POST', '/_emulator/chats', { body: { chat_id: 'oc_mixed', name: 'Mixed', tenant_key: 'tk_b', user_ids: ['u_a'] } });
      expect(mixed.status).toBe(400);
      const added = await api(emulator, 'POST', '/_emulator/users', { body: { user_id: 'u_b2', name: 'Bea', tenant_key: 'tk_b' } });
      expect(added.status).toBe(200);
      expect(emulator.users().find((user) => user.userId === 'u_b2')).toEqual({ userId: 'u_b2', name: 'Bea', tenantKey: 'tk_b' });
    });

    it('a click on a card a store app sent in one tenant reaches it with that tenant_key', async () => {
      const { emulator, receiver } = await setUp({ users: [{ userId: 'u_b', name: 'Bo', tenantKey: 'tk_b' }] });
      const tokens = await storeTokens(emulator, receiver, 'tk_b');
      const chat = emulator.chats().find((c) => c.appId === 'cli_store')!;
      const card = JSON.stringify({ schema: '2.0', body: { elements: [{ tag: 'button', text: { tag: 'plain_text', content: 'Go' }, value: { go: 1 } }] } });
      const sent = await post(emulator, `${MESSAGES}?receive_id_type=chat_id`, { receive_id: chat.chatId, msg_type: 'interactive', content: card }, tokens.tk_b);
      await emulator.clickCard((sent.body.data as { message_id: string }).message_id, { action: { tag: 'button', value: { go: 1 } } });
      const click = await receiver.nth('card.action.trigger');
      expect(click.event.header).toMatchObject({ tenant_key: 'tk_b' });
      expect(click.event.event).toMatchObject({ operator: { tenant_key: 'tk_b' } });
    });
  });
});

