/**
 * `larkSdkTransport`: `FeishuClient` sending through an official `@larksuiteoapi/node-sdk` Client,
 * which manages tokens itself. Real HTTP to the emulator through the SDK's own axios instance.
 */
import * as lark from '@larksuiteoapi/node-sdk';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FeishuApiError,
  FeishuClient,
  FeishuError,
  FeishuNetworkError,
  FeishuTimeoutError,
  cardEntityContent,
} from '../../src/client/index.js';
import { larkSdkTransport, type LarkSdkClientLike } from '../../src/client/lark-sdk.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { elementText, streamingCard, tenantToken } from '../support/emulator-http.js';

const APP = { appId: 'cli_x', appSecret: 's_x' };

/** What the SDK logged at error level; kept instead of printed. */
let sdkErrors: unknown[][] = [];
const quiet: lark.Logger = {
  error: (...msg: unknown[]) => void sdkErrors.push(msg),
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  trace: () => undefined,
};

describe('FeishuClient over larkSdkTransport', () => {
  let emulator: Emulator;
  let client: FeishuClient;
  beforeEach(async () => {
    sdkErrors = [];
    emulator = await startEmulator({ apps: [APP] });
    // Its own token cache: the SDK's default cache is module-global and keyed by app id only.
    const sdk = new lark.Client({ ...APP, domain: emulator.url, cache: new lark.DefaultCache(), logger: quiet });
    client = new FeishuClient({ transport: larkSdkTransport(sdk) });
  });
  afterEach(() => emulator.close());

  async function newCard(): Promise<string> {
    const { card_id: cardId } = await client.cardkit.v1.card.create({ data: streamingCard() });
    return cardId;
  }

  async function rejection(call: Promise<unknown>): Promise<unknown> {
    return call.then(
      (value) => new Error(`expected the call to fail, but it succeeded with ${JSON.stringify(value)}`),
      (reason: unknown) => reason,
    );
  }

  it('create, content, settings and message create succeed, and the SDK fetches the only token', async () => {
    const cardId = await newCard();
    expect(cardId).toMatch(/^\d{19}$/);

    expect(await client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: 'answer', content: 'Hello', sequence: 1 })).toEqual({});
    await client.cardkit.v1.card.settings({ card_id: cardId, settings: { config: { streaming_mode: false } }, sequence: 2 });
    const message = await client.im.v1.message.create({
      receive_id_type: 'chat_id',
      receive_id: 'oc_sdk_chat',
      content: cardEntityContent(cardId),
      uuid: 'sdk-transport-1',
    });

    expect(message.message_id).toMatch(/^om_/);
    expect(emulator.card(cardId)).toMatchObject({ sequence: 2, streaming_mode: false, message_id: message.message_id, app_id: APP.appId });
    expect(elementText(emulator, cardId)).toBe('Hello');
    expect(emulator.message(message.message_id)).toMatchObject({
      chat_id: 'oc_sdk_chat',
      receive_id_type: 'chat_id',
      msg_type: 'interactive',
      card_id: cardId,
      uuid: 'sdk-transport-1',
    });
    const stats = emulator.stats();
    expect(stats.rejected).toEqual({});
    expect(stats.endpoints['auth.tenantAccessToken.internal']).toEqual({ accepted: 1, rejected: 0 });
    expect(sdkErrors).toEqual([]);
  });

  it('a reused sequence surfaces as FeishuApiError 300317 with HTTP 400, category sequence_conflict and the log id', async () => {
    const cardId = await newCard();
    await client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: 'answer', content: 'first', sequence: 5 });

    const error = await rejection(
      client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: 'answer', content: 'second', sequence: 5 }),
    );

    expect(error).toBeInstanceOf(FeishuApiError);
    expect(error).toMatchObject({
      code: 300317,
      httpStatus: 400,
      category: 'sequence_conflict',
      endpoint: 'cardkit.cardElement.content',
    });
    expect((error as FeishuApiError).logId).toMatch(/^\d{14}[0-9A-F]+$/);
    expect(elementText(emulator, cardId)).toBe('first');
    expect(emulator.stats().rejected).toEqual({ 300317: 1 });
  });

  it('the x-ogw-ratelimit-reset header of a 429 reaches retryAfterMs through the SDK', async () => {
    emulator.faults.add({ kind: 'fail', code: 99991400, endpoint: 'cardkit.card.create', headers: { 'x-ogw-ratelimit-reset': '7' } });

    const error = await rejection(newCard());

    expect(error).toBeInstanceOf(FeishuApiError);
    expect(error).toMatchObject({ code: 99991400, httpStatus: 429, category: 'rate_limited', retryAfterMs: 7000 });
  });

  it('a dropped connection is a FeishuNetworkError that holds no token', async () => {
    const cardId = await newCard();
    const token = await tenantToken(emulator, APP.appId, APP.appSecret);
    emulator.faults.add({ kind: 'drop', endpoint: 'cardkit.cardElement.content' });

    const error = await rejection(
      client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: 'answer', content: 'lost', sequence: 1 }),
    );

    expect(error).toBeInstanceOf(FeishuNetworkError);
    expect(error).toMatchObject({ kind: 'network', retryable: true, endpoint: 'cardkit.cardElement.content' });
    const e = error as FeishuNetworkError;
    for (const text of [e.message, JSON.stringify(e), inspect(e, { depth: 10, showHidden: true })]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(APP.appSecret);
    }
    expect(emulator.card(cardId)?.sequence).toBe(0);
  });

  it('a call slower than its timeoutMs is a FeishuTimeoutError', async () => {
    await newCard();
    emulator.faults.add({ kind: 'latency', latencyMs: 500, endpoint: 'cardkit.card.create', count: 1 });

    const error = await rejection(client.cardkit.v1.card.create({ data: streamingCard() }, { timeoutMs: 100 }));

    expect(error).toBeInstanceOf(FeishuTimeoutError);
    expect(error).toMatchObject({ kind: 'timeout', timeoutMs: 100 });
  });

  it("an aborted call rejects with the signal's reason, not a FeishuError", async () => {
    await newCard();
    emulator.faults.add({ kind: 'latency', latencyMs: 1000, endpoint: 'cardkit.card.create', count: 1 });
    const controller = new AbortController();
    const reason = new Error('stopped');
    setTimeout(() => controller.abort(reason), 50);

    const error = await rejection(client.cardkit.v1.card.create({ data: streamingCard() }, { signal: controller.signal }));

    expect(error).toBe(reason);
    expect(error).not.toBeInstanceOf(FeishuError);
  });

  it('the client has no token of its own to hand out: tenantAccessToken() is a TypeError', async () => {
    await expect(client.tenantAccessToken()).rejects.toThrow(TypeError);
  });

  it('larkSdkTransport rejects something that is not an SDK client', () => {
    expect(() => larkSdkTransport({} as LarkSdkClientLike)).toThrow(TypeError);
    expect(() => larkSdkTransport(undefined as unknown as LarkSdkClientLike)).toThrow(TypeError);
  });
});
