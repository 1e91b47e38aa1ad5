/**
 * The official Node SDK's store-app (ISV) flow against the emulator, unchanged but for `domain` (reference §25.5):
 * the client asks for a ticket at start-up (`app_ticket/resend`), the bot's `EventDispatcher` caches the
 * `app_ticket` the emulator pushes to its HTTP URL (encrypted with the app's Encrypt Key), and each call made
 * `withTenantKey(…)` gets that tenant's token (`app_access_token`, then `tenant_access_token`) and acts in it.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as lark from '@larksuiteoapi/node-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { streamingCard } from '../support/emulator-http.js';
import { waitFor } from '../support/session.js';

const STORE = { appId: 'cli_store_sdk', appSecret: 's_store_sdk', encryptKey: 'isv encrypt key', type: 'store' as const, tenantKeys: ['tk_a', 'tk_b'] };

/** What the SDK logged at warn level or above; kept instead of printed. */
const logged: unknown[][] = [];
const quietLogger: lark.Logger = {
  error: (...msg: unknown[]) => void logged.push(msg),
  warn: (...msg: unknown[]) => void logged.push(msg),
  info: () => undefined,
  debug: () => undefined,
  trace: () => undefined,
};

/** The bot's webhook, as the SDK's README builds it; `cache` is where its built-in app_ticket handler keeps the ticket. */
async function startBot(cache: lark.Cache): Promise<{ url: string; close: () => Promise<void> }> {
  const dispatcher = new lark.EventDispatcher({ encryptKey: STORE.encryptKey, cache, logger: quietLogger, loggerLevel: lark.LoggerLevel.warn });
  const handle = lark.adaptDefault('/webhook/event', dispatcher, { autoChallenge: true });
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook/event`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the official SDK as a store app', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
    logged.length = 0;
  });

  it('an ISV client gets its ticket through its EventDispatcher, a tenant token per tenant with withTenantKey, and sends a card message in that tenant', async () => {
    const emulator: Emulator = await startEmulator({ apps: [STORE], users: [{ userId: 'u_a', name: 'Ana', tenantKey: 'tk_a' }] });
    cleanups.push(() => emulator.close());
    // One cache for the dispatcher and the client, so the ticket the one receives is the one the other sends.
    const cache = new lark.DefaultCache();
    const bot = await startBot(cache);
    cleanups.push(bot.close);
    await emulator.subscribe(STORE.appId, { url: bot.url });

    // Created with no ticket cached, the client asks for one (app_ticket/resend); it arrives at the bot's URL.
    const client = new lark.Client({
      appId: STORE.appId,
      appSecret: STORE.appSecret,
      appType: lark.AppType.ISV,
      domain: emulator.url,
      cache,
      logger: quietLogger,
      loggerLevel: lark.LoggerLevel.warn,
    });
    await waitFor(() => emulator.deliveries().some((d) => d.eventType === 'app_ticket' && d.state === 'delivered'), 'the app_ticket pushed to the bot');
    expect(emulator.stats().endpoints['auth.appTicket.resend']).toEqual({ accepted: 1, rejected: 0 });

    const chat = emulator.chats().find((c) => c.appId === STORE.appId && c.tenantKey === 'tk_a')!;
    const created = await client.cardkit.v1.card.create({ data: { type: 'card_json', data: JSON.stringify(streamingCard()) } }, lark.withTenantKey('tk_a'));
    expect(created.code).toBe(0);
    const cardId = created.data!.card_id;
    const sent = await client.im.message.create(
      {
        params: { receive_id_type: 'chat_id' },
        data: { receive_id: chat.chatId, msg_type: 'interactive', content: JSON.stringify({ type: 'card', data: { card_id: cardId } }) },
      },
      lark.withTenantKey('tk_a'),
    );
    expect(sent.code).toBe(0);
    expect(sent.data?.sender?.tenant_key).toBe('tk_a');
    expect(emulator.card(cardId)).toMatchObject({ app_id: STORE.appId, tenant_key: 'tk_a', message_id: sent.data!.message_id });
    expect(emulator.message(sent.data!.message_id!)).toMatchObject({ tenant_key: 'tk_a', chat_id: chat.chatId });

    // Another tenant: the SDK mints that tenant's token (a new app_access_token first, as it does for each).
    const inB = await client.cardkit.v1.card.create({ data: { type: 'card_json', data: JSON.stringify(streamingCard()) } }, lark.withTenantKey('tk_b'));
    expect(inB.code).toBe(0);
    expect(emulator.card(inB.data!.card_id)).toMatchObject({ tenant_key: 'tk_b' });
    // Nothing went wrong so far: the SDK logged no error or warning.
    expect(logged).toEqual([]);
    // tk_b's token cannot write to tk_a's card (the SDK logs that failure and rejects).
    const crossed = await client.cardkit.v1.cardElement
      .content({ path: { card_id: cardId, element_id: 'answer' }, data: { content: 'from B', sequence: 1 } }, lark.withTenantKey('tk_b'))
      .catch((error: { response?: { data?: { code?: number } } }) => error.response?.data);
    expect(crossed?.code).toBe(300311);

    const { endpoints, tenants } = emulator.stats();
    expect(endpoints['auth.appAccessToken.create']).toEqual({ accepted: 2, rejected: 0 });
    expect(endpoints['auth.tenantAccessToken.create']).toEqual({ accepted: 2, rejected: 0 });
    expect(tenants[STORE.appId]?.tk_a?.endpoints).toEqual({ 'cardkit.card.create': { accepted: 1, rejected: 0 }, 'im.message.create': { accepted: 1, rejected: 0 } });
    expect(tenants[STORE.appId]?.tk_b?.endpoints).toEqual({ 'cardkit.card.create': { accepted: 1, rejected: 0 }, 'cardkit.cardElement.content': { accepted: 0, rejected: 1 } });
  });

  it('before the ticket has arrived the SDK sends the call without a token (99991661) and asks for a ticket again; the next call works', async () => {
    const emulator: Emulator = await startEmulator({ apps: [STORE] });
    cleanups.push(() => emulator.close());
    const cache = new lark.DefaultCache();
    // The client starts before the bot has a URL: its start-up resend pushes a ticket nobody receives.
    const client = new lark.Client({ appId: STORE.appId, appSecret: STORE.appSecret, appType: lark.AppType.ISV, domain: emulator.url, cache, logger: quietLogger });
    await waitFor(() => emulator.deliveries().some((d) => d.eventType === 'app_ticket'), 'the first app_ticket push');
    expect(emulator.deliveries()[0]).toMatchObject({ eventType: 'app_ticket', state: 'unsubscribed' });
    const bot = await startBot(cache);
    cleanups.push(bot.close);
    await emulator.subscribe(STORE.appId, { url: bot.url });

    const early = await client.cardkit.v1.card
      .create({ data: { type: 'card_json', data: JSON.stringify(streamingCard()) } }, lark.withTenantKey('tk_a'))
      .catch((error: { response?: { data?: { code?: number } } }) => error.response?.data);
    expect(early?.code).toBe(99991661);
    await waitFor(() => emulator.deliveries().some((d) => d.eventType === 'app_ticket' && d.state === 'delivered'), 'the resent app_ticket');
    const later = await client.cardkit.v1.card.create({ data: { type: 'card_json', data: JSON.stringify(streamingCard()) } }, lark.withTenantKey('tk_a'));
    expect(later.code).toBe(0);
  });
});
