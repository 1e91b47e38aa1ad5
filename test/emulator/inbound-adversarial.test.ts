/**
 * Adversarial tests of the emulator's inbound side (issue 12) and the library's Stop button: bots that
 * answer badly (slow, 204, 3xx, non-JSON, reset), bursts of messages, redelivery against clock jumps and
 * `close()`, the long connection under disconnects, big payloads and malformed frames, encrypted non-ASCII
 * events, control routes with bad input, concurrent card clicks and the interaction lock, `stop()` races.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo, type Socket, connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import * as lark from '@larksuiteoapi/node-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { encodeFrame } from '../../src/emulator/ws/frame.js';
import { CardSession, EventDeduper, FeishuClient, STOP_ACTION_VALUE, SessionStoppedError, stopFromAction } from '../../src/index.js';
import { api, createCard, putContent, streamingCard, tenantToken } from '../support/emulator-http.js';
import { sleep, waitFor } from '../support/session.js';

const APP = { appId: 'cli_a1b2c3d4e5f60718', appSecret: 'secret_adversarial_9f8e7d' };
const APP2 = { appId: 'cli_b2c3d4e5f6071829', appSecret: 'secret_second_app_1a2b3c' };
const ENCRYPT_KEY = 'encrypt_key_adversarial_5c4b3a';
const STOP = { tag: 'button', value: { ...STOP_ACTION_VALUE } };

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function emulatorWith(options: Parameters<typeof startEmulator>[0] = { apps: [APP] }): Promise<Emulator> {
  const emulator = await startEmulator(options);
  cleanups.push(() => emulator.close());
  return emulator;
}

/** A raw HTTP server (the "bot"), every request handed to `handler` with its body read. */
async function rawBot(handler: Handler): Promise<{ url: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push(body);
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, requests, server };
}

/** A bot built with the SDK (EventDispatcher + adaptDefault), deduping by event_id. */
async function sdkBot(options: { encryptKey?: string } = {}) {
  const received: Record<string, unknown>[] = [];
  const handled: Record<string, unknown>[] = [];
  const deduper = new EventDeduper();
  const dispatcher = new lark.EventDispatcher({ ...(options.encryptKey ? { encryptKey: options.encryptKey } : {}), loggerLevel: lark.LoggerLevel.fatal }).register({
    'im.message.receive_v1': (data) => {
      received.push(data);
      if (deduper.first(data)) handled.push(data);
      return Promise.resolve();
    },
  });
  const handle = lark.adaptDefault('/hook', dispatcher, { autoChallenge: true });
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, handled };
}

const p2p = (emulator: Emulator, appId = APP.appId) => emulator.chats().find((chat) => chat.type === 'p2p' && chat.appId === appId)!;

function textOf(event: Record<string, unknown>): string {
  return (JSON.parse((event.message as { content: string }).content) as { text: string }).text;
}

/** A hand-written WebSocket client: the raw frames it sends are whatever the test wants. */
async function rawWs(emulator: Emulator, path: string): Promise<{ socket: Socket; status: string; frames: { opcode: number; payload: Buffer }[]; send: (opcode: number, payload: Buffer, options?: { fin?: boolean; mask?: boolean; rawLength?: Buffer }) => void; closed: Promise<void> }> {
  const socket = connect(emulator.port, '127.0.0.1');
  cleanups.push(() => void socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const key = randomBytes(16).toString('base64');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${emulator.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const frames: { opcode: number; payload: Buffer }[] = [];
  let buffer = Buffer.alloc(0);
  let status = '';
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (status === '') {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        status = buffer.subarray(0, buffer.indexOf('\r\n')).toString();
        buffer = buffer.subarray(end + 4);
        resolve();
      }
      for (;;) {
        if (buffer.length < 2) return;
        let length = buffer[1]! & 0x7f;
        let at = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          at = 4;
        } else if (length === 127) {
          if (buffer.length < 10) return;
          length = Number(buffer.readBigUInt64BE(2));
          at = 10;
        }
        if (buffer.length < at + length) return;
        frames.push({ opcode: buffer[0]! & 0x0f, payload: Buffer.from(buffer.subarray(at, at + length)) });
        buffer = buffer.subarray(at + length);
      }
    });
    socket.once('close', () => resolve());
  });
  const send = (opcode: number, payload: Buffer, options: { fin?: boolean; mask?: boolean; rawLength?: Buffer } = {}) => {
    const mask = options.mask ?? true;
    const first = ((options.fin ?? true) ? 0x80 : 0) | opcode;
    let head: Buffer;
    if (options.rawLength) head = Buffer.concat([Buffer.from([first]), options.rawLength]);
    else if (payload.length < 126) head = Buffer.from([first, (mask ? 0x80 : 0) | payload.length]);
    else if (payload.length < 65_536) {
      head = Buffer.alloc(4);
      head[0] = first;
      head[1] = (mask ? 0x80 : 0) | 126;
      head.writeUInt16BE(payload.length, 2);
    } else {
      head = Buffer.alloc(10);
      head[0] = first;
      head[1] = (mask ? 0x80 : 0) | 127;
      head.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    if (!mask || options.rawLength) {
      socket.write(Buffer.concat([head, payload]));
      return;
    }
    const maskKey = randomBytes(4);
    const masked = Buffer.from(payload);
    for (let i = 0; i < masked.length; i++) masked[i] = masked[i]! ^ maskKey[i % 4]!;
    socket.write(Buffer.concat([head, maskKey, masked]));
  };
  return { socket, status, frames, send, closed };
}

async function discover(emulator: Emulator, app = APP): Promise<string> {
  const response = await fetch(`${emulator.url}/callback/ws/endpoint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ AppID: app.appId, AppSecret: app.appSecret }) });
  const body = (await response.json()) as { data: { URL: string } };
  const url = new URL(body.data.URL);
  return `${url.pathname}${url.search}`;
}

function wsClient(emulator: Emulator, handlers: Record<string, (data: unknown) => Promise<unknown>>, app = APP) {
  const dispatcher = new lark.EventDispatcher({ loggerLevel: lark.LoggerLevel.fatal }).register(handlers as never);
  const client = new lark.WSClient({ appId: app.appId, appSecret: app.appSecret, domain: emulator.url, loggerLevel: lark.LoggerLevel.fatal });
  cleanups.push(() => client.close({ force: true }));
  void client.start({ eventDispatcher: dispatcher });
  return client;
}

describe('HTTP pushes to bots that answer badly', () => {
  it('204 counts as delivered; 3xx is not followed and is redelivered; non-JSON 200 is delivered; a reset is a failed attempt', async () => {
    const emulator = await emulatorWith();
    const chat = p2p(emulator);
    let mode = '204';
    const target = await rawBot((_req, res) => res.writeHead(200).end('{"challenge":"x"}'));
    const bot = await rawBot((req, res) => {
      if (mode === '204') res.writeHead(204).end();
      else if (mode === '302') res.writeHead(302, { Location: target.url }).end();
      else if (mode === 'text') res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok, not json');
      else req.socket.destroy();
    });
    await emulator.subscribe(APP.appId, { url: bot.url, verify: false });
    const d204 = (await emulator.postMessage(chat.chatId, { text: 'a' })).deliveries[0]!;
    expect(d204.state).toBe('delivered');
    mode = '302';
    const d302 = (await emulator.postMessage(chat.chatId, { text: 'b' })).deliveries[0]!;
    expect(d302).toMatchObject({ state: 'pending', attempts: [{ status: 302, error: 'HTTP 302' }] });
    expect(target.requests).toHaveLength(0);
    mode = 'text';
    const dText = (await emulator.postMessage(chat.chatId, { text: 'c' })).deliveries[0]!;
    expect(dText).toMatchObject({ state: 'delivered', attempts: [{ status: 200, body: 'ok, not json' }] });
    mode = 'reset';
    const dReset = (await emulator.postMessage(chat.chatId, { text: 'd' })).deliveries[0]!;
    expect(dReset.state).toBe('pending');
    expect(dReset.attempts[0]!.status).toBeNull();
    expect(typeof dReset.attempts[0]!.error).toBe('string');
    // The 302 and the reset are pushed again 15 s later; now the bot answers.
    mode = '204';
    emulator.clock.advance(15_000);
    await waitFor(() => emulator.deliveries().every((d) => d.state === 'delivered'), 'the redeliveries');
    const byId = new Map(emulator.deliveries().map((d) => [d.eventId, d]));
    expect(byId.get(d302.eventId)!.attempts).toHaveLength(2);
    expect(byId.get(d204.eventId)!.attempts).toHaveLength(1);
  });

  it('a bot that hangs: the push fails after 3 s, postMessage resolves, and close() is prompt while a push hangs', async () => {
    const emulator = await emulatorWith();
    const bot = await rawBot(() => undefined); // never answers
    await emulator.subscribe(APP.appId, { url: bot.url, verify: false });
    const started = Date.now();
    const posted = await emulator.postMessage(p2p(emulator).chatId, { text: 'hello?' });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(2900);
    expect(took).toBeLessThan(6000);
    expect(posted.deliveries[0]).toMatchObject({ state: 'pending', attempts: [{ status: null, error: 'no answer within 3000 ms' }] });
    // A second push hangs; close() does not wait for it.
    void emulator.postMessage(p2p(emulator).chatId, { text: 'again' }).catch(() => undefined);
    await waitFor(() => bot.requests.length === 2, 'the second push');
    const closing = Date.now();
    await emulator.close();
    expect(Date.now() - closing).toBeLessThan(1000);
  });

  it('a push that fails after close() has begun schedules no redelivery: advancing the clock pushes nothing more', async () => {
    const emulator = await emulatorWith();
    const bot = await rawBot((_req, res) => void setTimeout(() => res.writeHead(500).end('down'), 300));
    await emulator.subscribe(APP.appId, { url: bot.url, verify: false });
    const posting = emulator.postMessage(p2p(emulator).chatId, { text: 'in flight at close' });
    await waitFor(() => bot.requests.length === 1, 'the first push');
    await emulator.close();
    const posted = await posting;
    expect(posted.deliveries[0]!.attempts).toHaveLength(1);
    emulator.clock.advance(15_000);
    await sleep(300);
    // Expected: the emulator is closed, nothing is pushed again.
    expect(bot.requests).toHaveLength(1);
  });
});

describe('bursts and redelivery', () => {
  it('60 messages at once to a deduping SDK bot that fails every third push: each handled exactly once, event_ids unique', async () => {
    const emulator = await emulatorWith();
    const sdk = await sdkBot();
    let count = 0;
    const seenIds = new Set<string>();
    const front = await rawBot((req, res, body) => {
      const id = (JSON.parse(body) as { header: { event_id: string } }).header.event_id;
      const firstPush = !seenIds.has(id);
      seenIds.add(id);
      if (firstPush && ++count % 3 === 0) {
        res.writeHead(503).end();
        return;
      }
      void fetch(sdk.url, { method: 'POST', headers: req.headers as Record<string, string>, body })
        .then(async (answer) => res.writeHead(answer.status).end(await answer.text()))
        .catch(() => res.writeHead(502).end());
    });
    await emulator.subscribe(APP.appId, { url: front.url, verify: false });
    const chat = p2p(emulator);
    const texts = Array.from({ length: 60 }, (_, i) => `msg ${i}`);
    const posted = await Promise.all(texts.map((text) => emulator.postMessage(chat.chatId, { text })));
    const ids = posted.map((p) => p.deliveries[0]!.eventId);
    expect(new Set(ids).size).toBe(60);
    expect(new Set(posted.map((p) => p.messageId)).size).toBe(60);
    emulator.clock.advance(15_000);
    await waitFor(() => emulator.deliveries().every((d) => d.state === 'delivered'), 'every delivery', 8000);
    expect(sdk.handled.map(textOf).sort()).toEqual([...texts].sort());
    expect(new Set(sdk.handled.map((e) => e.event_id)).size).toBe(60);
  });

  it('a redelivery follows the schedule across clock jumps (15 s, 5 min, 1 h, 6 h), then fails; the body keeps its event_id', async () => {
    const emulator = await emulatorWith();
    const bot = await rawBot((_req, res) => res.writeHead(500).end());
    await emulator.subscribe(APP.appId, { url: bot.url, verify: false });
    const posted = await emulator.postMessage(p2p(emulator).chatId, { text: 'x' });
    const id = posted.deliveries[0]!.eventId;
    emulator.clock.advance(14_000);
    await sleep(50);
    expect(bot.requests).toHaveLength(1);
    for (const [n, ms] of [[2, 1_000], [3, 5 * 60_000], [4, 60 * 60_000], [5, 6 * 60 * 60_000]] as const) {
      emulator.clock.advance(ms);
      await waitFor(() => bot.requests.length === n && emulator.deliveries()[0]!.attempts.length === n, `push ${n}`);
    }
    await waitFor(() => emulator.deliveries()[0]!.state === 'failed', 'failed');
    expect(bot.requests.map((body) => (JSON.parse(body) as { header: { event_id: string } }).header.event_id)).toEqual([id, id, id, id, id]);
    emulator.clock.advance(24 * 60 * 60_000);
    await sleep(50);
    expect(bot.requests).toHaveLength(5);
  });

  it('reset() forgets the pending redeliveries of the events before it', async () => {
    const emulator = await emulatorWith();
    const bot = await rawBot((_req, res) => res.writeHead(500).end());
    await emulator.subscribe(APP.appId, { url: bot.url, verify: false });
    await emulator.postMessage(p2p(emulator).chatId, { text: 'before reset' });
    emulator.reset();
    emulator.clock.advance(15_000);
    await sleep(300);
    // Expected: after a reset the emulator starts over; an event about a message that no longer exists is not pushed again.
    expect(bot.requests).toHaveLength(1);
  });
});

describe('encryption and secrets', () => {
  it('an encrypted event with non-ASCII and a 100 KB text reaches an SDK bot whose signature check is on', async () => {
    const emulator = await emulatorWith({ apps: [{ ...APP, encryptKey: ENCRYPT_KEY }] });
    const sdk = await sdkBot({ encryptKey: ENCRYPT_KEY });
    await emulator.subscribe(APP.appId, { url: sdk.url });
    const weird = '你好 «ünïcödé» 👋🏽 \u2028\u2029 "quotes" \\ </script> \u0000';
    const big = `${weird}${'長'.repeat(35_000)}`; // > 100 KB of UTF-8
    const a = await emulator.postMessage(p2p(emulator).chatId, { text: weird });
    const b = await emulator.postMessage(p2p(emulator).chatId, { text: big });
    expect(a.deliveries[0]!.state).toBe('delivered');
    expect(b.deliveries[0]!.state).toBe('delivered');
    expect(sdk.handled.map(textOf)).toEqual([weird, big]);
  });

  it('neither the app secret nor the encrypt key appears in a push, a delivery, the chats, or an endpoint error', async () => {
    const emulator = await emulatorWith({ apps: [{ ...APP, encryptKey: ENCRYPT_KEY }] });
    const bot = await rawBot((_req, res) => res.writeHead(500).end('nope'));
    await emulator.subscribe(APP.appId, { url: bot.url, verify: false });
    await emulator.postMessage(p2p(emulator).chatId, { text: 'secret-free?' });
    const endpoint = await fetch(`${emulator.url}/callback/ws/endpoint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ AppID: APP.appId, AppSecret: `${APP.appSecret}_wrong` }) });
    const everything = [
      JSON.stringify(emulator.deliveries()),
      JSON.stringify(emulator.chats()),
      ...bot.requests,
      await endpoint.text(),
      JSON.stringify((await api(emulator, 'GET', '/_emulator/deliveries')).body),
    ].join('\n');
    expect(everything).not.toContain(APP.appSecret);
    expect(everything).not.toContain(ENCRYPT_KEY);
  });
});

describe('control routes with bad input answer 400, never 500', () => {
  it('bad JSON and bad types on the inbound routes', async () => {
    const emulator = await emulatorWith();
    const token = await tenantToken(emulator, APP.appId, APP.appSecret);
    const cardId = await createCard(emulator, token, streamingCard());
    const sent = await api(emulator, 'POST', '/open-apis/im/v1/messages?receive_id_type=chat_id', {
      token,
      body: { receive_id: p2p(emulator).chatId, msg_type: 'interactive', content: JSON.stringify({ type: 'card', data: { card_id: cardId } }) },
    });
    const messageId = (sent.body.data as { message_id: string }).message_id;
    const chatPath = `/_emulator/chats/${p2p(emulator).chatId}/messages`;
    const cases: [string, string, string][] = [
      ['POST', chatPath, '{not json'],
      ['POST', chatPath, 'null'],
      ['POST', chatPath, '[]'],
      ['POST', chatPath, '"text"'],
      ['POST', chatPath, JSON.stringify({ text: 5 })],
      ['POST', chatPath, JSON.stringify({ text: { toString: 1 } })],
      ['POST', chatPath, JSON.stringify({ text: 'x', user_id: 7 })],
      ['POST', chatPath, JSON.stringify({ text: 'x', user_id: '__proto__' })],
      ['POST', chatPath, JSON.stringify({ text: 'x', reply_to: 12 })],
      ['POST', chatPath, JSON.stringify({ text: 'x', reply_to: messageId, in_thread: 'yes' })],
      ['POST', '/_emulator/chats/__proto__/messages', JSON.stringify({ text: 'x' })],
      ['POST', '/_emulator/chats/constructor/messages', JSON.stringify({ text: 'x' })],
      ['PUT', `/_emulator/apps/${APP.appId}/events`, JSON.stringify({ url: 5 })],
      ['PUT', `/_emulator/apps/${APP.appId}/events`, JSON.stringify({ url: 'ftp://x' })],
      ['PUT', `/_emulator/apps/${APP.appId}/events`, JSON.stringify({ url: null, callback_url: 42 })],
      ['PUT', '/_emulator/apps/__proto__/events', JSON.stringify({ url: null })],
      ['PUT', `/_emulator/apps/${APP.appId}/events`, '{"url":'],
      ['POST', `/_emulator/messages/${messageId}/actions`, '{'],
      ['POST', `/_emulator/messages/${messageId}/actions`, JSON.stringify({ action: 'stop' })],
      ['POST', `/_emulator/messages/${messageId}/actions`, JSON.stringify({ action: null })],
      ['POST', `/_emulator/messages/${messageId}/actions`, JSON.stringify({ action: { tag: 'button', value: [1] } })],
      ['POST', `/_emulator/messages/${messageId}/actions`, JSON.stringify({ action: { tag: 'button' }, user_id: 3 })],
      ['POST', '/_emulator/messages/om_nope/actions', JSON.stringify({ action: { tag: 'button' } })],
      ['POST', '/_emulator/messages/__proto__/actions', JSON.stringify({ action: { tag: 'button' } })],
    ];
    const statuses: string[] = [];
    for (const [method, path, body] of cases) {
      const response = await fetch(`${emulator.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body });
      const text = await response.text();
      statuses.push(`${response.status} ${method} ${path} ${body}`);
      expect(() => JSON.parse(text) as unknown).not.toThrow();
    }
    expect(statuses.filter((s) => !s.startsWith('400 '))).toEqual([]);
  });
});

describe('the long connection under stress', () => {
  /** A raw long-connection client, ready (it pinged and got the pong). */
  async function readyRawClient(emulator: Emulator) {
    const ws = await rawWs(emulator, await discover(emulator));
    ws.send(0x2, encodeFrame({ seqId: 0, logId: 0, service: 1, method: 0, headers: { type: 'ping' }, payload: Buffer.alloc(0) }));
    await waitFor(() => ws.frames.length > 0 && emulator.longConnections(APP.appId) === 1, 'the pong');
    return ws;
  }

  it('a client that closes its TCP side (FIN, no close frame) mid-push: the push fails at once, the connection is dropped, the event is redelivered to the next connection', async () => {
    const emulator = await emulatorWith();
    const ws = await readyRawClient(emulator);
    const pongs = ws.frames.length;
    const started = Date.now();
    const posting = emulator.postMessage(p2p(emulator).chatId, { text: 'lost?' });
    await waitFor(() => ws.frames.length > pongs, 'the event frame');
    ws.socket.end(); // the client goes away without a WebSocket close frame
    const posted = await posting;
    expect(posted.deliveries[0]!.state).toBe('pending');
    // Expected: the emulator sees the client gone: the push fails at once, not after the 3 s ack timeout...
    expect(Date.now() - started).toBeLessThan(2000);
    // ...and the connection no longer counts.
    expect(emulator.longConnections(APP.appId)).toBe(0);
    const seen: string[] = [];
    wsClient(emulator, {
      'im.message.receive_v1': (data) => {
        seen.push((data as { event_id: string }).event_id);
        return Promise.resolve();
      },
    });
    await waitFor(() => emulator.longConnections(APP.appId) === 1, 'the WSClient');
    emulator.clock.advance(15_000);
    await waitFor(() => emulator.deliveries()[0]!.state === 'delivered', 'the redelivery');
    expect(seen).toEqual([posted.deliveries[0]!.eventId]);
  });

  it('a client half-closed (FIN) while idle stops counting as a connection, and the next event goes to the URL', async () => {
    const emulator = await emulatorWith();
    const ws = await readyRawClient(emulator);
    ws.socket.end();
    await sleep(200);
    const count = emulator.longConnections(APP.appId);
    const bot = await rawBot((_req, res) => res.writeHead(200).end());
    await emulator.subscribe(APP.appId, { url: bot.url, verify: false });
    const started = Date.now();
    const posted = await emulator.postMessage(p2p(emulator).chatId, { text: 'to the URL now' });
    // Expected: no connection left, the event goes to the URL at once.
    expect({ count, state: posted.deliveries[0]!.state, fast: Date.now() - started < 1000, urlGot: bot.requests.length }).toEqual({ count: 0, state: 'delivered', fast: true, urlGot: 1 });
  });

  it('a WSClient that disconnects in its handler: the event is redelivered to the next WSClient, not lost', async () => {
    const emulator = await emulatorWith();
    const firstSeen: string[] = [];
    let first: lark.WSClient | undefined;
    first = wsClient(emulator, {
      'im.message.receive_v1': (data) => {
        firstSeen.push((data as { event_id: string }).event_id);
        first?.close({ force: true });
        return new Promise(() => undefined); // never answers
      },
    });
    await waitFor(() => emulator.longConnections(APP.appId) === 1, 'the first WSClient');
    const posted = await emulator.postMessage(p2p(emulator).chatId, { text: 'lost?' });
    expect(posted.deliveries[0]!.state).toBe('pending');
    first = undefined;
    const secondSeen: string[] = [];
    wsClient(emulator, {
      'im.message.receive_v1': (data) => {
        secondSeen.push((data as { event_id: string }).event_id);
        return Promise.resolve();
      },
    });
    // Whatever the emulator makes of the first client's socket, the redeliveries reach the second one.
    await sleep(500);
    emulator.clock.advance(15_000);
    await waitFor(() => emulator.deliveries()[0]!.attempts.length >= 2, 'the first redelivery', 5000);
    if (emulator.deliveries()[0]!.state !== 'delivered') {
      emulator.clock.advance(5 * 60_000);
      await waitFor(() => emulator.deliveries()[0]!.attempts.length >= 3, 'the second redelivery', 5000);
    }
    expect(emulator.deliveries()[0]!.state).toBe('delivered');
    expect(secondSeen).toEqual(firstSeen);
  });

  it('two WSClients for one app: every event reaches exactly one of them; a 100 KB event (64-bit WebSocket length) arrives whole', async () => {
    const emulator = await emulatorWith();
    const seen: { client: number; id: string; text: string }[] = [];
    for (const n of [1, 2]) {
      wsClient(emulator, {
        'im.message.receive_v1': (data) => {
          seen.push({ client: n, id: (data as { event_id: string }).event_id, text: textOf(data as Record<string, unknown>) });
          return Promise.resolve();
        },
      });
      await waitFor(() => emulator.longConnections(APP.appId) === n, `WSClient ${n}`);
    }
    const big = `start ${'x'.repeat(100 * 1024)} ✓ end`;
    const texts = [...Array.from({ length: 20 }, (_, i) => `m${i}`), big];
    const posted = await Promise.all(texts.map((text) => emulator.postMessage(p2p(emulator).chatId, { text })));
    expect(posted.every((p) => p.deliveries[0]!.state === 'delivered')).toBe(true);
    expect(seen.map((s) => s.text).sort()).toEqual([...texts].sort());
    expect(new Set(seen.map((s) => s.id)).size).toBe(texts.length);
  });

  it('a raw client sending malformed frames: the emulator drops them, keeps answering pings, and closes on an oversized length', async () => {
    const emulator = await emulatorWith();
    const ws = await rawWs(emulator, await discover(emulator));
    expect(ws.status).toContain('101');
    const ping = encodeFrame({ seqId: 0, logId: 0, service: 1, method: 0, headers: { type: 'ping' }, payload: Buffer.alloc(0) });
    ws.send(0x2, Buffer.from([0xff, 0xff, 0xff])); // a varint running past the end
    ws.send(0x2, Buffer.from([0x0b])); // wire type 3
    ws.send(0x2, Buffer.from([0x2a, 0xff, 0xff, 0xff, 0xff, 0x0f])); // a length past the frame
    ws.send(0x2, Buffer.alloc(0));
    ws.send(0x1, Buffer.from('not protobuf, a text frame'));
    ws.send(0x3, Buffer.from('reserved opcode'));
    ws.send(0x2, encodeFrame({ seqId: 1, logId: 1, service: 1, method: 1, headers: { type: 'event', message_id: 'unknown' }, payload: Buffer.from('{"code":200}') }));
    // A ping split into two fragments, unmasked.
    ws.send(0x2, ping.subarray(0, 3), { fin: false, mask: false });
    ws.send(0x0, ping.subarray(3), { mask: false });
    ws.send(0x9, Buffer.from('ws-level ping'));
    await waitFor(() => ws.frames.some((f) => f.opcode === 0xa) && ws.frames.some((f) => f.opcode === 0x2), 'a pong frame and a WS pong');
    expect(emulator.longConnections(APP.appId)).toBe(1);
    // A frame declaring 2^62 bytes: closed with 1009.
    ws.send(0x2, Buffer.alloc(0), { rawLength: Buffer.concat([Buffer.from([127]), Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0])]) });
    await ws.closed;
    expect(emulator.longConnections(APP.appId)).toBe(0);
    const close = ws.frames.find((f) => f.opcode === 0x8);
    expect(close?.payload.readUInt16BE(0)).toBe(1009);
  });

  it('close() is prompt with an open WSClient connection, and with a raw client holding a refused upgrade open', async () => {
    const emulator = await emulatorWith();
    wsClient(emulator, { 'im.message.receive_v1': () => Promise.resolve() });
    await waitFor(() => emulator.longConnections(APP.appId) === 1, 'the WSClient');
    const refused = await rawWs(emulator, '/callback/ws/connect?device_id=x&service_id=999');
    expect(refused.status).toContain('403');
    const wrongPath = await rawWs(emulator, '/somewhere/else');
    expect(wrongPath.status).toContain('404');
    const started = Date.now();
    const closed = await Promise.race([emulator.close().then(() => 'closed'), sleep(2000).then(() => 'still open after 2 s')]);
    expect(closed).toBe('closed');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('the connect URL needs what discovery handed out: a client that never discovered cannot take an app\'s events by guessing service_id', async () => {
    const emulator = await emulatorWith({ apps: [APP, APP2] });
    await discover(emulator, APP); // the real client discovered service 1
    const thief = await rawWs(emulator, '/callback/ws/connect?service_id=1');
    // Expected: refused (Feishu's URL carries a ticket); a guessed id must not receive APP's events.
    expect(thief.status).not.toContain('101');
  });
});

describe('card clicks and the interaction lock', () => {
  async function cardSetUp() {
    const emulator = await emulatorWith();
    const token = await tenantToken(emulator, APP.appId, APP.appSecret);
    const cardId = await createCard(emulator, token, streamingCard());
    const sent = await api(emulator, 'POST', '/open-apis/im/v1/messages?receive_id_type=chat_id', {
      token,
      body: { receive_id: p2p(emulator).chatId, msg_type: 'interactive', content: JSON.stringify({ type: 'card', data: { card_id: cardId } }) },
    });
    return { emulator, token, cardId, messageId: (sent.body.data as { message_id: string }).message_id };
  }

  it('two clicks in flight: the card stays in interaction until both are answered (the faster answer does not unlock the slower)', async () => {
    const { emulator, token, cardId, messageId } = await cardSetUp();
    const releases: (() => void)[] = [];
    const bot = await rawBot((_req, res) => releases.push(() => res.writeHead(200).end('{"toast":{"type":"info","content":"ok"}}')));
    await emulator.subscribe(APP.appId, { url: null, callbackUrl: bot.url });
    const first = emulator.clickCard(messageId, { action: STOP });
    await waitFor(() => releases.length === 1, 'click 1 at the bot');
    await sleep(20);
    const second = emulator.clickCard(messageId, { action: STOP });
    await waitFor(() => releases.length === 2, 'click 2 at the bot');
    releases[1]!(); // the second click is answered first
    await second;
    const during = (await putContent(emulator, token, cardId, 1, 'while click 1 is in flight')).body.code;
    releases[0]!();
    await first;
    const after = (await putContent(emulator, token, cardId, 2, 'after both')).body.code;
    expect({ during, after }).toEqual({ during: 200810, after: 0 });
  });

  it('a callback that hangs: the click resolves after 3 s without a toast, and the lock is released', async () => {
    const { emulator, token, cardId, messageId } = await cardSetUp();
    const bot = await rawBot(() => undefined);
    await emulator.subscribe(APP.appId, { url: null, callbackUrl: bot.url });
    const result = await emulator.clickCard(messageId, { action: STOP });
    expect(result).toMatchObject({ toast: null, cardUpdated: false, delivery: { state: 'failed', callback: true } });
    expect((await putContent(emulator, token, cardId, 1, 'after the hang')).body.code).toBe(0);
    emulator.clock.advance(6 * 60 * 60_000 + 1);
    await sleep(100);
    expect(bot.requests).toHaveLength(1); // a callback is never pushed again
  });
});

describe('the Stop button and the session registry', () => {
  async function stopBot(emulator: Emulator, appId = APP.appId) {
    const answers: unknown[] = [];
    const dispatcher = new lark.EventDispatcher({ loggerLevel: lark.LoggerLevel.fatal }).register({
      'card.action.trigger': (event: unknown) => {
        const answer = stopFromAction(event);
        answers.push(answer);
        return Promise.resolve(answer ?? undefined);
      },
    } as never);
    const handle = lark.adaptDefault('/cb', dispatcher);
    const server = createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await emulator.subscribe(appId, { url: null, callbackUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb` });
    return answers;
  }

  function hangingModel(first: string) {
    const state = { released: false };
    const stream = new ReadableStream<string>({
      start(controller) {
        controller.enqueue(first);
      },
      cancel() {
        state.released = true;
      },
    });
    return { stream, state };
  }

  it('sessions of two clients (two apps, one process): a click stops only the clicked session', async () => {
    const emulator = await emulatorWith({ apps: [APP, APP2] });
    const answersA = await stopBot(emulator, APP.appId);
    await stopBot(emulator, APP2.appId);
    const clientA = new FeishuClient({ appId: APP.appId, appSecret: APP.appSecret, domain: emulator.url });
    const clientB = new FeishuClient({ appId: APP2.appId, appSecret: APP2.appSecret, domain: emulator.url });
    const a = await CardSession.start(clientA, { to: { chat_id: p2p(emulator, APP.appId).chatId }, stopButton: true });
    const b = await CardSession.start(clientB, { to: { chat_id: p2p(emulator, APP2.appId).chatId }, stopButton: true });
    const modelA = hangingModel('A says ');
    const modelB = hangingModel('B says ');
    const pipeA = a.pipe(modelA.stream).catch((error: unknown) => error);
    const pipeB = b.pipe(modelB.stream).catch((error: unknown) => error);
    await waitFor(() => a.text === 'A says ' && b.text === 'B says ', 'both streaming');
    const click = await emulator.clickCard(a.messageId!, { action: STOP });
    expect(click.toast).toEqual({ type: 'info', content: 'Stopped' });
    expect(answersA).toHaveLength(1);
    await pipeA;
    const resultA = await a.finish();
    expect(resultA.aborted).toBe(true);
    expect(resultA.abortReason).toBeInstanceOf(SessionStoppedError);
    expect(modelA.state.released).toBe(true);
    expect(modelB.state.released).toBe(false);
    expect(b.state).toBe('open');
    await b.stop();
    await pipeB;
    // Clicking A again: the session is gone, the toast says so.
    const again = await emulator.clickCard(a.messageId!, { action: STOP });
    expect(again.toast).toEqual({ type: 'info', content: 'Already finished' });
  });

  it('a Stop click on the continuation card (after a rollover) stops the session; the first card no longer has the button', async () => {
    const emulator = await emulatorWith({ apps: [APP], limits: { apiQps: 100_000, apiQpm: 10_000_000, cardQps: 1000 } });
    await stopBot(emulator);
    const client = new FeishuClient({ appId: APP.appId, appSecret: APP.appSecret, domain: emulator.url });
    const session = await CardSession.start(client, { to: { chat_id: p2p(emulator).chatId }, stopButton: true });
    const rolled: string[] = [];
    session.on('rollover', (event) => {
      if (event.kind === 'card' && event.messageId) rolled.push(event.messageId);
    });
    const long = Array.from({ length: 800 }, (_, i) => `Paragraph ${i}: a long answer that fills the card. 流式卡片。\n\n`).join('');
    const model = hangingModel(long);
    const piping = session.pipe(model.stream).catch((error: unknown) => error);
    await waitFor(() => rolled.length >= 1, 'a rollover onto a continuation card', 8000);
    await waitFor(() => session.cards.length >= 2 && session.text.length === long.length, 'the text taken');
    const click = await emulator.clickCard(rolled.at(-1)!, { action: STOP });
    expect(click.toast).toEqual({ type: 'info', content: 'Stopped' });
    await piping;
    const result = await session.finish();
    expect(result.aborted).toBe(true);
    expect(result.abortReason).toBeInstanceOf(SessionStoppedError);
    expect(model.state.released).toBe(true);
    for (const { cardId } of result.cards) {
      const card = emulator.card(cardId!)!;
      expect(card.streaming_mode).toBe(false);
      expect(JSON.stringify(card.card)).not.toContain('stop_button');
    }
  });

  it('stop() racing finish(): whichever comes first, both settle with one result and the card is closed once', async () => {
    const emulator = await emulatorWith();
    const client = new FeishuClient({ appId: APP.appId, appSecret: APP.appSecret, domain: emulator.url });
    for (const order of ['finish-first', 'stop-first'] as const) {
      const session = await CardSession.start(client, { to: { chat_id: p2p(emulator).chatId }, stopButton: true });
      session.append('partial answer');
      const [x, y] = order === 'finish-first' ? [session.finish(), session.stop()] : [session.stop(), session.finish()];
      const [rx, ry] = await Promise.all([x, y]);
      expect(rx).toBe(ry);
      const card = emulator.card(session.cardId!)!;
      expect(card.streaming_mode).toBe(false);
      const json = JSON.stringify(card.card);
      expect(json).not.toContain('stop_button');
      if (order === 'stop-first') expect(rx.aborted).toBe(true);
      // After it ended, a click says it is finished; stop() again returns the same result.
      expect(stopFromAction({ schema: '2.0', header: {}, event: { context: { open_message_id: session.messageId }, action: STOP } })).toEqual({ toast: { type: 'info', content: 'Already finished' } });
      expect(await session.stop()).toBe(rx);
    }
  });

  it('EventDeduper reads event_id from flat and raw shapes; stopFromAction reads a JSON-string value and ignores other values', () => {
    const deduper = new EventDeduper();
    const event = { schema: '2.0', event_id: 'e1', context: { open_message_id: 'om_none' }, action: STOP };
    expect(deduper.first(event)).toBe(true);
    expect(deduper.first({ ...event })).toBe(false);
    expect(deduper.first({ header: { event_id: 'e1' } })).toBe(false);
    expect(stopFromAction({ context: { open_message_id: 'om_none' }, action: { tag: 'button', value: JSON.stringify(STOP_ACTION_VALUE) } })).toEqual({ toast: { type: 'info', content: 'Already finished' } });
    expect(stopFromAction({ context: { open_message_id: 'om_none' }, action: { tag: 'button', value: { feishu_card_session: 'other' } } })).toBeNull();
  });
});
