/**
 * The long connection the official SDK's `WSClient` opens (issue 12; docs/design/issue-12-event-protocols.md §2):
 * `POST /callback/ws/endpoint` with the app's id and secret answers a WebSocket URL and the client's timing;
 * on the socket, the client pings (answered with a pong carrying that timing), events go out as data frames
 * (`type=event`, the plain v2 envelope, card callbacks too) and the client acks each with `{"code":200}`, a
 * handler's answer base64 in `data`. While an app has a connection open, its events and callbacks go there
 * instead of to its URLs (the newest connection gets each one, as Feishu picks one in cluster mode).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { Services } from '../context.js';
import type { EventEnvelope } from '../events/envelope.js';
import { type Frame, decodeFrame, encodeFrame } from './frame.js';
import { type ServerSocket, acceptUpgrade } from './websocket.js';

export const CONNECT_PATH = '/callback/ws/connect';
export const ENDPOINT_PATH = '/callback/ws/endpoint';
/** The client's timing, seconds: a ping every 2 minutes; reconnect at once and forever (a local emulator restarts fast). */
const CLIENT_CONFIG = { PingInterval: 120, ReconnectCount: -1, ReconnectInterval: 1, ReconnectNonce: 1 };
/** The SDK retries discovery on this code and gives up on any other. */
const BAD_CREDENTIALS = 1000040351;
/** What discovery answers a store app (undocumented: the SDK's `ErrorCode.forbidden`). */
const STORE_APP_REFUSED = 403;

interface Connection {
  appId: string;
  serviceId: number;
  socket: ServerSocket;
  /** The client pinged: its read loop is running (the SDK pings as soon as the socket opens). */
  ready: boolean;
  /** Acks awaited, by the frame's message_id. */
  waiting: Map<string, (frame: Frame) => void>;
}

export interface PushAnswer {
  status: number | null;
  body?: string;
  error?: string;
}

export class LongConnections {
  readonly #services: Services;
  /** Service ids handed out by discovery, to the app and the device id they were handed out with. */
  readonly #serviceApps = new Map<number, { appId: string; deviceId: string }>();
  readonly #connections: Connection[] = [];
  #nextService = 1;
  #nextSeq = 1;

  constructor(services: Services) {
    this.#services = services;
  }

  /** How many connections an app has open and ready (the client pinged). */
  count(appId: string): number {
    return this.#connections.filter((c) => c.appId === appId && c.socket.open && c.ready).length;
  }

  /** `POST /callback/ws/endpoint` `{ AppID, AppSecret }`: the socket's URL, or an error the SDK reports. */
  endpoint(body: Record<string, unknown>, baseUrl: string): Record<string, unknown> {
    const app = typeof body.AppID === 'string' ? this.#services.state.apps.get(body.AppID) : undefined;
    if (!app || body.AppSecret !== app.secret) return { code: BAD_CREDENTIALS, msg: 'app id or app secret is invalid', data: {} };
    // Store apps cannot use the long connection (reference §25.2); the code is the SDK's `forbidden`, which it does not retry.
    if (app.type === 'store') return { code: STORE_APP_REFUSED, msg: 'store apps cannot use the long connection; subscribe an HTTP event URL', data: {} };
    const serviceId = this.#nextService++;
    // The device id is the URL's secret: only a client that passed discovery with the app's secret has it.
    const deviceId = randomBytes(16).toString('hex');
    this.#serviceApps.set(serviceId, { appId: body.AppID as string, deviceId });
    // device_id first: the SDK reads the query with the URL's start as the first key (service_id must not be first).
    const url = `${baseUrl.replace(/^http/, 'ws')}${CONNECT_PATH}?device_id=${deviceId}&service_id=${serviceId}`;
    return { code: 0, msg: 'ok', data: { URL: url, ClientConfig: CLIENT_CONFIG } };
  }

  /** An upgrade to `CONNECT_PATH` with a service id from discovery becomes the app's connection. */
  upgrade(req: IncomingMessage, socket: Duplex, url: URL): void {
    const serviceId = Number(url.searchParams.get('service_id'));
    const issued = this.#serviceApps.get(serviceId);
    if (issued === undefined || url.searchParams.get('device_id') !== issued.deviceId) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    const ws = acceptUpgrade(req, socket);
    if (!ws) return;
    const connection: Connection = { appId: issued.appId, serviceId, socket: ws, ready: false, waiting: new Map() };
    this.#connections.push(connection);
    ws.on('message', (data) => this.#receive(connection, data));
    ws.on('close', () => {
      this.#connections.splice(this.#connections.indexOf(connection), 1);
      for (const resolve of connection.waiting.values()) resolve({ seqId: 0, logId: 0, service: 0, method: 1, headers: {}, payload: Buffer.from('{"code":503}') });
    });
  }

  /**
   * Pushes an event to the app's newest connection and waits for its ack (at most `timeoutMs`): the
   * answer as an HTTP push would give it (status 200 or 500, the handler's answer as the body).
   */
  push(envelope: EventEnvelope, timeoutMs: number): Promise<PushAnswer> | undefined {
    const open = this.#connections.filter((c) => c.appId === envelope.header.app_id && c.socket.open);
    const connection = open.filter((c) => c.ready).at(-1) ?? open.at(-1);
    if (!connection) return undefined;
    const messageId = randomBytes(8).toString('hex');
    const seq = this.#nextSeq++;
    return new Promise<PushAnswer>((resolve) => {
      const timer = setTimeout(() => {
        connection.waiting.delete(messageId);
        resolve({ status: null, error: `no ack within ${timeoutMs} ms` });
      }, timeoutMs);
      timer.unref();
      connection.waiting.set(messageId, (ack) => {
        clearTimeout(timer);
        connection.waiting.delete(messageId);
        resolve(answerOf(ack));
      });
      connection.socket.send(
        encodeFrame({
          seqId: seq,
          logId: seq,
          service: connection.serviceId,
          method: 1,
          headers: { type: 'event', message_id: messageId, sum: '1', seq: '0', trace_id: randomBytes(8).toString('hex') },
          payload: Buffer.from(JSON.stringify(envelope)),
        }),
      );
    });
  }

  /** Closes every connection (the emulator is closing). */
  close(): void {
    for (const connection of [...this.#connections]) connection.socket.close(1001);
  }

  #receive(connection: Connection, data: Buffer): void {
    let frame: Frame;
    try {
      frame = decodeFrame(data);
    } catch {
      return; // a frame the emulator cannot read is dropped, as the SDK drops one it cannot
    }
    if (frame.method === 0 && frame.headers.type === 'ping') {
      connection.ready = true;
      connection.socket.send(
        encodeFrame({ seqId: 0, logId: 0, service: connection.serviceId, method: 0, headers: { type: 'pong' }, payload: Buffer.from(JSON.stringify(CLIENT_CONFIG)) }),
      );
      return;
    }
    const messageId = frame.headers.message_id;
    if (frame.method === 1 && messageId !== undefined) connection.waiting.get(messageId)?.(frame);
  }
}

/** An ack's payload `{"code":200,"data":"<base64 JSON>"}` as an HTTP-like answer. */
function answerOf(ack: Frame): PushAnswer {
  try {
    const parsed = JSON.parse(ack.payload.toString('utf8')) as { code?: unknown; data?: unknown };
    const status = typeof parsed.code === 'number' ? parsed.code : 500;
    const body = typeof parsed.data === 'string' ? Buffer.from(parsed.data, 'base64').toString('utf8') : '';
    return { status, body };
  } catch {
    return { status: 500, error: 'the ack could not be read' };
  }
}
