/**
 * Inbound messages and HTTP event subscription (issue 12): a user writes in a chat through the emulator,
 * and the bot's own HTTP server, built with the official SDK (`EventDispatcher` + `adaptDefault`), gets the
 * `im.message.receive_v1` event unchanged: plain, and encrypted and signed with the app's Encrypt Key. The
 * URL passes the `url_verification` challenge first; a push that fails is pushed again on Feishu's
 * schedule, with the same event_id; the user's message can be replied to.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as lark from '@larksuiteoapi/node-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, REDELIVERY_DELAYS_MS, type UserMessageInput, startEmulator } from '../../src/emulator/index.js';
import { FeishuClient } from '../../src/index.js';
import { api } from '../support/emulator-http.js';
import { waitFor } from '../support/session.js';

type Received = Record<string, unknown> & { event_id: string; message: Record<string, unknown>; sender: Record<string, unknown> };

const APP = { appId: 'cli_a1b2c3d4e5f60718', appSecret: 'secret_x' };
const PATH = '/webhook/event';

/** A bot's webhook as the SDK's README builds it; `answer` can make it fail before the SDK sees the request. */
async function startBot(options: { encryptKey?: string; autoChallenge?: boolean; answer?: () => number | undefined } = {}) {
  const received: Received[] = [];
  const dispatcher = new lark.EventDispatcher({ ...(options.encryptKey ? { encryptKey: options.encryptKey } : {}), loggerLevel: lark.LoggerLevel.fatal }).register({
    'im.message.receive_v1': (data) => {
      received.push(data as unknown as Received);
      return Promise.resolve();
    },
  });
  const handle = lark.adaptDefault(PATH, dispatcher, { autoChallenge: options.autoChallenge ?? true });
  const server: Server = createServer((req, res) => {
    const status = options.answer?.();
    if (status !== undefined) {
      res.writeHead(status).end('down');
      return;
    }
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${PATH}`;
  return { received, url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('a user writes, the bot receives it (HTTP event subscription)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });
  const emulatorWith = async (app: Record<string, unknown> = {}): Promise<Emulator> => {
    const emulator = await startEmulator({ apps: [{ ...APP, ...app }] });
    cleanups.push(() => emulator.close());
    return emulator;
  };
  const bot = async (options: Parameters<typeof startBot>[0] = {}) => {
    const started = await startBot(options);
    cleanups.push(started.close);
    return started;
  };
  const p2p = (emulator: Emulator) => emulator.chats().find((chat) => chat.type === 'p2p' && chat.appId === APP.appId)!;

  it('the tenant has a default user, a p2p chat with each bot and a group', async () => {
    const emulator = await emulatorWith();
    expect(emulator.users()).toEqual([{ userId: 'u_you', name: 'You', tenantKey: 'emulator_tenant' }]);
    const chats = emulator.chats();
    expect(chats.map(({ type, appId, userIds }) => ({ type, appId, userIds }))).toEqual([
      { type: 'group', appId: null, userIds: ['u_you'] },
      { type: 'p2p', appId: APP.appId, userIds: ['u_you'] },
    ]);
    expect(chats.every((chat) => /^oc_[0-9a-f]{32}$/.test(chat.chatId))).toBe(true);
  });

  it('more users and groups through options and the control API; a message in a group reaches the bot from its writer', async () => {
    const emulator = await startEmulator({
      apps: [APP],
      users: [{ userId: 'u_ana', name: 'Ana' }],
      groups: [{ chatId: 'oc_team', name: 'Team', userIds: ['u_you', 'u_ana'] }],
    });
    cleanups.push(() => emulator.close());
    expect(emulator.users().map((u) => u.userId)).toEqual(['u_you', 'u_ana']);
    expect(emulator.chats().filter((c) => c.type === 'p2p').map((c) => c.userIds)).toEqual([['u_you'], ['u_ana']]);
    const added = await api(emulator, 'POST', '/_emulator/users', { body: { user_id: 'u_bo', name: 'Bo' } });
    expect(added.status).toBe(200);
    const group = await api(emulator, 'POST', '/_emulator/chats', { body: { chat_id: 'oc_pair', name: 'Pair', user_ids: ['u_ana', 'u_bo'] } });
    expect(group.body).toMatchObject({ chatId: 'oc_pair', type: 'group', userIds: ['u_ana', 'u_bo'] });
    expect((await api(emulator, 'POST', '/_emulator/users', { body: { user_id: 'u_bo', name: 'Again' } })).status).toBe(400);
    expect((await api(emulator, 'POST', '/_emulator/chats', { body: { chat_id: 'oc_x', name: 'X', user_ids: ['u_nobody'] } })).status).toBe(400);
    expect(() => emulator.addGroup({ chatId: 'not-a-chat', name: 'bad' })).toThrow(TypeError);

    const { received, url } = await bot();
    await emulator.subscribe(APP.appId, { url });
    await emulator.postMessage('oc_team', { text: 'hi team', userId: 'u_ana' });
    expect(received[0]).toMatchObject({ sender: { sender_id: { user_id: 'u_ana' } }, message: { chat_id: 'oc_team', chat_type: 'group' } });
    await expect(emulator.postMessage('oc_pair', { text: 'not a member', userId: 'u_you' })).rejects.toThrow(/not in chat/);
    await expect(startEmulator({ users: [{ userId: 'bad id', name: 'x' }] })).rejects.toThrow(TypeError);
  });

  it('plain: the SDK dispatcher gets im.message.receive_v1 with the message, its chat and the sender as the app sees them', async () => {
    const emulator = await emulatorWith();
    const { received, url } = await bot();
    await emulator.subscribe(APP.appId, { url });
    const chat = p2p(emulator);
    const posted = await emulator.postMessage(chat.chatId, { text: '你好, bot 👋' });
    expect(posted.deliveries).toMatchObject([{ state: 'delivered', eventType: 'im.message.receive_v1', attempts: [{ status: 200 }] }]);
    expect(received).toHaveLength(1);
    const event = received[0]!;
    expect(event).toMatchObject({ schema: '2.0', event_type: 'im.message.receive_v1', app_id: APP.appId, token: `v_${APP.appId}`, event_id: posted.deliveries[0]!.eventId });
    expect(event.message).toMatchObject({ message_id: posted.messageId, chat_id: chat.chatId, chat_type: 'p2p', message_type: 'text', content: JSON.stringify({ text: '你好, bot 👋' }) });
    expect(event.sender).toMatchObject({ sender_type: 'user', sender_id: { user_id: 'u_you', open_id: expect.stringMatching(/^ou_[0-9a-f]{32}$/) as unknown } });
    expect(emulator.message(posted.messageId)).toMatchObject({ app_id: '', sender_user_id: 'u_you', chat_id: chat.chatId });
  });

  it('encrypted and signed with the Encrypt Key: the dispatcher (which checks the signature) gets it; one with another key does not', async () => {
    const emulator = await emulatorWith({ encryptKey: 'my-encrypt-key' });
    const good = await bot({ encryptKey: 'my-encrypt-key' });
    await emulator.subscribe(APP.appId, { url: good.url });
    const first = await emulator.postMessage(p2p(emulator).chatId, { text: 'secret hello' });
    expect(good.received.map((e) => e.message.content)).toEqual([JSON.stringify({ text: 'secret hello' })]);
    expect(first.deliveries[0]!.state).toBe('delivered');

    const wrong = await bot({ encryptKey: 'another-key', autoChallenge: false });
    await emulator.subscribe(APP.appId, { url: wrong.url, verify: false });
    await emulator.postMessage(p2p(emulator).chatId, { text: 'not for you' });
    expect(wrong.received).toEqual([]);
  });

  it('the url_verification challenge: a URL that does not answer it is refused (also over HTTP, 400), one that does is set', async () => {
    const emulator = await emulatorWith({ encryptKey: 'k' });
    const silent = await bot({ encryptKey: 'k', autoChallenge: false });
    await expect(emulator.subscribe(APP.appId, { url: silent.url })).rejects.toThrow(/url_verification challenge/);
    const refused = await api(emulator, 'PUT', `/_emulator/apps/${APP.appId}/events`, { body: { url: silent.url } });
    expect(refused.status).toBe(400);
    const answering = await bot({ encryptKey: 'k' });
    const set = await api(emulator, 'PUT', `/_emulator/apps/${APP.appId}/events`, { body: { url: answering.url } });
    expect(set.status).toBe(200);
    await emulator.postMessage(p2p(emulator).chatId, { text: 'after the challenge' });
    expect(answering.received).toHaveLength(1);
  });

  it('a failed push is pushed again 15 s, 5 min, 1 h and 6 h later on the emulator clock, with the same event_id, until it lands', async () => {
    const emulator = await emulatorWith();
    let failures = 3;
    const { received, url } = await bot({ answer: () => (failures-- > 0 ? 503 : undefined) });
    await emulator.subscribe(APP.appId, { url, verify: false });
    const posted = await emulator.postMessage(p2p(emulator).chatId, { text: 'retry me' });
    const delivery = () => emulator.deliveries().find((d) => d.eventId === posted.deliveries[0]!.eventId)!;
    expect(delivery()).toMatchObject({ state: 'pending', attempts: [{ status: 503, error: 'HTTP 503' }] });
    for (const [i, delay] of REDELIVERY_DELAYS_MS.slice(0, 3).entries()) {
      emulator.clock.advance(delay - 1);
      expect(delivery().attempts).toHaveLength(i + 1);
      emulator.clock.advance(1);
      await waitFor(() => delivery().attempts.length === i + 2, `push ${i + 2}`);
    }
    expect(delivery().state).toBe('delivered');
    expect(delivery().attempts.map((a) => a.status)).toEqual([503, 503, 503, 200]);
    expect(received.map((e) => e.event_id)).toEqual([posted.deliveries[0]!.eventId]);
  });

  it('a bot that never answers: after the first push and 4 redeliveries the event is given up', async () => {
    const emulator = await emulatorWith();
    const { url } = await bot({ answer: () => 500 });
    await emulator.subscribe(APP.appId, { url, verify: false });
    const posted = await emulator.postMessage(p2p(emulator).chatId, { text: 'lost' });
    const delivery = () => emulator.deliveries().find((d) => d.eventId === posted.deliveries[0]!.eventId)!;
    for (const [i, delay] of REDELIVERY_DELAYS_MS.entries()) {
      emulator.clock.advance(delay);
      await waitFor(() => delivery().attempts.length === i + 2, `push ${i + 2}`);
    }
    expect(delivery().state).toBe('failed');
    emulator.clock.advance(24 * 60 * 60_000);
    expect(delivery().attempts).toHaveLength(5);
  });

  it("the user's message can be replied to, in a thread or not, by the bot through the IM API", async () => {
    const emulator = await emulatorWith();
    const client = new FeishuClient({ appId: APP.appId, appSecret: APP.appSecret, domain: emulator.url });
    const posted = await emulator.postMessage(p2p(emulator).chatId, { text: 'question' });
    const content = JSON.stringify({ text: 'answer' });
    const reply = await client.im.v1.message.reply({ message_id: posted.messageId, content, msg_type: 'text' });
    expect(reply).toMatchObject({ parent_id: posted.messageId, root_id: posted.messageId, chat_id: p2p(emulator).chatId });
    const threaded = await client.im.v1.message.reply({ message_id: posted.messageId, content, msg_type: 'text', reply_in_thread: true });
    expect(threaded.thread_id).toMatch(/^omt_/);
    // The user answers in that thread.
    const followUp = await emulator.postMessage(p2p(emulator).chatId, { text: 'thanks', replyTo: threaded.message_id, inThread: true });
    expect(emulator.message(followUp.messageId)).toMatchObject({ thread_id: threaded.thread_id, root_id: posted.messageId });
  });

  it('bad input is refused: an unknown chat or user, empty text, a reply_to from another chat (TypeError; 400 over HTTP)', async () => {
    const emulator = await emulatorWith();
    const chat = p2p(emulator);
    const group = emulator.chats().find((c) => c.type === 'group')!;
    const other = await emulator.postMessage(group.chatId, { text: 'in the group' });
    const bad: [string, UserMessageInput][] = [
      ['oc_nope', { text: 'x' }],
      [chat.chatId, { text: '  ' }],
      [chat.chatId, { text: 'x', userId: 'u_stranger' }],
      [chat.chatId, { text: 'x', replyTo: other.messageId }],
    ];
    for (const [chatId, input] of bad) await expect(emulator.postMessage(chatId, input)).rejects.toThrow(TypeError);
    const http = await api(emulator, 'POST', '/_emulator/chats/oc_nope/messages', { body: { text: 'x' } });
    expect(http.status).toBe(400);
    expect(String(http.body.error)).toContain('no chat oc_nope');
    expect(other.deliveries).toMatchObject([{ state: 'unsubscribed' }]);
  });
});
