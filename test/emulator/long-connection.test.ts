/**
 * The long connection of the official SDK's `WSClient` (issue 12): it discovers its socket at
 * `/callback/ws/endpoint`, connects, pings, and gets the app's events and card callbacks over the socket
 * as the SDK's dispatcher reads them; its acks settle the deliveries, a callback's answer (a toast) comes
 * back through the ack. Wrong credentials are reported by the SDK's `onError`.
 */
import * as lark from '@larksuiteoapi/node-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { api } from '../support/emulator-http.js';
import { waitFor } from '../support/session.js';

const APP = { appId: 'cli_0123456789abcdef', appSecret: 'ws_secret' };

describe("the SDK's long connection", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function connect(emulator: Emulator, handlers: Record<string, (data: unknown) => Promise<unknown>>, appSecret = APP.appSecret) {
    const errors: Error[] = [];
    const dispatcher = new lark.EventDispatcher({ loggerLevel: lark.LoggerLevel.fatal }).register(handlers);
    const client = new lark.WSClient({ appId: APP.appId, appSecret, domain: emulator.url, loggerLevel: lark.LoggerLevel.fatal, onError: (error) => errors.push(error) });
    cleanups.push(() => client.close({ force: true }));
    void client.start({ eventDispatcher: dispatcher });
    return { errors };
  }

  it('events and card callbacks reach the EventDispatcher over the socket, and are acked; the toast comes back through the ack', async () => {
    const emulator = await startEmulator({ apps: [APP] });
    cleanups.push(() => emulator.close());
    const received: Record<string, unknown>[] = [];
    connect(emulator, {
      'im.message.receive_v1': (data) => {
        received.push(data as Record<string, unknown>);
        return Promise.resolve();
      },
      'card.action.trigger': () => Promise.resolve({ toast: { type: 'success', content: 'via the socket' } }),
    });
    await waitFor(() => emulator.longConnections(APP.appId) === 1, 'the WSClient to connect');

    const chat = emulator.chats().find((c) => c.type === 'p2p')!;
    const posted = await emulator.postMessage(chat.chatId, { text: '长连接 hello' });
    expect(posted.deliveries).toMatchObject([{ state: 'delivered', attempts: [{ status: 200 }] }]);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ event_type: 'im.message.receive_v1', message: { message_id: posted.messageId, content: JSON.stringify({ text: '长连接 hello' }) } });

    // A card the bot sent, clicked: card.action.trigger goes over the socket too.
    const token = (await api(emulator, 'POST', '/open-apis/auth/v3/tenant_access_token/internal', { body: { app_id: APP.appId, app_secret: APP.appSecret } })).body.tenant_access_token as string;
    const card = { schema: '2.0', body: { elements: [{ tag: 'button', element_id: 'b', text: { tag: 'plain_text', content: 'Go' } }] } };
    const sent = await api(emulator, 'POST', '/open-apis/im/v1/messages?receive_id_type=chat_id', { token, body: { receive_id: chat.chatId, msg_type: 'interactive', content: JSON.stringify(card) } });
    const click = await emulator.clickCard((sent.body.data as { message_id: string }).message_id, { action: { tag: 'button', value: { go: 1 } } });
    expect(click.toast).toEqual({ type: 'success', content: 'via the socket' });
  });

  it('a handler that throws is acked 500: the delivery failed and is pushed again later, over the socket, with the same event_id', async () => {
    const emulator = await startEmulator({ apps: [APP] });
    cleanups.push(() => emulator.close());
    const seen: string[] = [];
    connect(emulator, {
      'im.message.receive_v1': (data) => {
        seen.push((data as { event_id: string }).event_id);
        return seen.length === 1 ? Promise.reject(new Error('handler failed once')) : Promise.resolve();
      },
    });
    await waitFor(() => emulator.longConnections(APP.appId) === 1, 'the WSClient to connect');
    const posted = await emulator.postMessage(emulator.chats().find((c) => c.type === 'p2p')!.chatId, { text: 'again' });
    expect(posted.deliveries).toMatchObject([{ state: 'pending', attempts: [{ status: 500 }] }]);
    emulator.clock.advance(15_000);
    const delivery = () => emulator.deliveries().find((d) => d.eventId === posted.deliveries[0]!.eventId)!;
    await waitFor(() => delivery().state === 'delivered', 'the redelivery');
    expect(seen).toEqual([posted.deliveries[0]!.eventId, posted.deliveries[0]!.eventId]);
  });

  it('wrong credentials: discovery answers an error the SDK reports through onError, and no socket is opened', async () => {
    const emulator = await startEmulator({ apps: [APP] });
    cleanups.push(() => emulator.close());
    const { errors } = connect(emulator, {}, 'wrong-secret');
    await waitFor(() => errors.length > 0, 'onError');
    expect(errors[0]!.message).toMatch(/code=1000040351/);
    expect(emulator.longConnections(APP.appId)).toBe(0);
  });
});
