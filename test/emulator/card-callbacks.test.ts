/**
 * Card callbacks (issue 12): a user clicks a button of a card an app sent, the app's server (the official
 * SDK's `CardActionHandler`, or `EventDispatcher` with `card.action.trigger`) gets the callback unchanged,
 * plain or encrypted; while it has not answered the card is "in interaction" and CardKit writes get 200810;
 * its answer is applied: a toast comes back to the user, a raw card replaces the card.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as lark from '@larksuiteoapi/node-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { api, createCard, putContent, streamingCard, tenantToken } from '../support/emulator-http.js';

const APP = { appId: 'cli_a1b2c3d4e5f60718', appSecret: 'secret_x' };
const STOP = { tag: 'button', name: 'stop', value: { action: 'stop' } };

type Handler = (data: Record<string, unknown>) => Promise<unknown>;

/** The bot's callback endpoint, through the SDK: `CardActionHandler`, or `EventDispatcher` registering `card.action.trigger`. */
async function startBot(handler: Handler, options: { encryptKey?: string; via?: 'card-handler' | 'dispatcher' } = {}): Promise<{ url: string; server: Server }> {
  const common = { ...(options.encryptKey ? { encryptKey: options.encryptKey } : {}), loggerLevel: lark.LoggerLevel.fatal };
  const dispatcher =
    options.via === 'dispatcher'
      ? new lark.EventDispatcher(common).register({ 'card.action.trigger': (data: unknown) => handler(data as Record<string, unknown>) } as never)
      : new lark.CardActionHandler(common, (data: unknown) => handler(data as Record<string, unknown>));
  const handle = lark.adaptDefault('/card', dispatcher, { autoChallenge: true });
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/card`, server };
}

describe('card callbacks', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });
  const setUp = async (app: Record<string, unknown> = {}) => {
    const emulator = await startEmulator({ apps: [{ ...APP, ...app }] });
    cleanups.push(() => emulator.close());
    const token = await tenantToken(emulator, APP.appId, APP.appSecret);
    const chat = emulator.chats().find((c) => c.type === 'p2p')!;
    return { emulator, token, chat };
  };
  const bot = async (handler: Handler, options: Parameters<typeof startBot>[1] = {}) => {
    const started = await startBot(handler, options);
    cleanups.push(() => new Promise<void>((resolve) => started.server.close(() => resolve())));
    return started.url;
  };
  /** A card entity with a Stop button, sent to the chat; resolves with its ids. */
  const sendEntity = async (emulator: Emulator, token: string, chatId: string) => {
    const card = streamingCard();
    const cardId = await createCard(emulator, token, card);
    const sent = await api(emulator, 'POST', '/open-apis/im/v1/messages?receive_id_type=chat_id', {
      token,
      body: { receive_id: chatId, msg_type: 'interactive', content: JSON.stringify({ type: 'card', data: { card_id: cardId } }) },
    });
    return { cardId, messageId: (sent.body.data as { message_id: string }).message_id };
  };

  for (const via of ['card-handler', 'dispatcher'] as const) {
    it(`the SDK's ${via === 'card-handler' ? 'CardActionHandler' : 'EventDispatcher'} gets card.action.trigger; writes get 200810 until it answers; its toast comes back`, async () => {
      const { emulator, token, chat } = await setUp();
      const { cardId, messageId } = await sendEntity(emulator, token, chat.chatId);
      const seen: Record<string, unknown>[] = [];
      const during: number[] = [];
      const url = await bot(async (data) => {
        seen.push(data);
        during.push((await putContent(emulator, token, cardId, 5, 'written while the user waits')).body.code);
        return { toast: { type: 'info', content: 'Stopped' } };
      }, { via });
      await emulator.subscribe(APP.appId, { url, verify: false });
      const result = await emulator.clickCard(messageId, { action: STOP });
      expect(result.toast).toEqual({ type: 'info', content: 'Stopped' });
      expect(result.delivery).toMatchObject({ state: 'delivered', callback: true, eventType: 'card.action.trigger' });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({
        event_type: 'card.action.trigger',
        app_id: APP.appId,
        action: STOP,
        host: 'im_message',
        context: { open_message_id: messageId, open_chat_id: chat.chatId },
        operator: { user_id: 'u_you', open_id: expect.stringMatching(/^ou_/) as unknown },
        token: expect.stringMatching(/^c-/) as unknown,
      });
      expect(during).toEqual([200810]);
      // Answered: the card takes writes again.
      expect((await putContent(emulator, token, cardId, 6, 'after the callback')).body.code).toBe(0);
    });
  }

  it('encrypted and signed with the Encrypt Key, to a callback URL of its own; a raw card in the answer replaces an inline message card', async () => {
    const { emulator, token, chat } = await setUp({ encryptKey: 'cb-key' });
    const inline = { schema: '2.0', body: { elements: [{ tag: 'button', element_id: 'stop', text: { tag: 'plain_text', content: 'Stop' }, behaviors: [{ type: 'callback', value: { action: 'stop' } }] }] } };
    const sent = await api(emulator, 'POST', '/open-apis/im/v1/messages?receive_id_type=chat_id', {
      token,
      body: { receive_id: chat.chatId, msg_type: 'interactive', content: JSON.stringify(inline) },
    });
    const messageId = (sent.body.data as { message_id: string }).message_id;
    const stopped = { schema: '2.0', body: { elements: [{ tag: 'markdown', content: 'Stopped.' }] } };
    const callbackUrl = await bot(() => Promise.resolve({ toast: { type: 'success', content: 'ok' }, card: { type: 'raw', data: stopped } }), { encryptKey: 'cb-key' });
    await emulator.subscribe(APP.appId, { url: null, callbackUrl, verify: false });
    const result = await emulator.clickCard(messageId, { action: STOP });
    expect(result).toMatchObject({ toast: { type: 'success', content: 'ok' }, cardUpdated: true });
    expect(JSON.parse(emulator.message(messageId)!.content)).toEqual(stopped);
  });

  it('an app that cannot be reached: the click gets no toast, the card takes writes again at once, and the callback is never pushed again', async () => {
    const { emulator, token, chat } = await setUp();
    const { cardId, messageId } = await sendEntity(emulator, token, chat.chatId);
    await emulator.subscribe(APP.appId, { url: 'http://127.0.0.1:9/nothing-listens-here', verify: false });
    const result = await emulator.clickCard(messageId, { action: STOP });
    expect(result.delivery).toMatchObject({ state: 'failed', attempts: [{ status: null }] });
    expect(result.toast).toBeNull();
    expect((await putContent(emulator, token, cardId, 5, 'x')).body.code).toBe(0);
    emulator.clock.advance(60 * 60_000);
    expect(emulator.deliveries().find((d) => d.eventId === result.delivery.eventId)!.attempts).toHaveLength(1);
  });

  it('bad clicks are refused: an unknown message, a user message, an action without a tag (TypeError; 400 over HTTP)', async () => {
    const { emulator, chat } = await setUp();
    const userMessage = await emulator.postMessage(chat.chatId, { text: 'hi' });
    await expect(emulator.clickCard('om_nope', { action: STOP })).rejects.toThrow(TypeError);
    await expect(emulator.clickCard(userMessage.messageId, { action: STOP })).rejects.toThrow(/not a card an app sent/);
    await expect(emulator.clickCard(userMessage.messageId, { action: {} as never })).rejects.toThrow(TypeError);
    const http = await api(emulator, 'POST', '/_emulator/messages/om_nope/actions', { body: { action: STOP } });
    expect(http.status).toBe(400);
  });
});
