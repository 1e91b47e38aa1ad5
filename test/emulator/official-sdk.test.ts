/**
 * The official Node SDK (`@larksuiteoapi/node-sdk`) talks to the emulator unchanged: only `domain`
 * points at the emulator. Everything goes over real HTTP on loopback, through the SDK's own axios
 * instance, token manager and URL building.
 */
import * as lark from '@larksuiteoapi/node-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { elementText, streamingCard } from '../support/emulator-http.js';

/** What the SDK logged at error level; kept instead of printed. */
let sdkErrors: unknown[][] = [];
const quietLogger: lark.Logger = {
  error: (...msg: unknown[]) => void sdkErrors.push(msg),
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  trace: () => undefined,
};

/**
 * A client for the emulator. Each gets its own token cache: the SDK's default cache is module-global
 * and keyed by app id only, so a token minted by an earlier emulator would otherwise be reused.
 * (`LoggerLevel.fatal` is 0, which the SDK reads as "unset" and logs at info, hence the quiet logger.)
 */
function sdkClient(emulator: Emulator, appId = 'cli_x', appSecret = 's_x'): lark.Client {
  return new lark.Client({
    appId,
    appSecret,
    domain: emulator.url,
    cache: new lark.DefaultCache(),
    loggerLevel: lark.LoggerLevel.error,
    logger: quietLogger,
  });
}

/** Where a platform error lands through the SDK: a rejected promise (axios, HTTP 4xx) or a resolved body. */
interface Outcome {
  rejected: boolean;
  status: number | undefined;
  code: number | undefined;
  msg: string | undefined;
  logId: string | undefined;
}

async function outcome(call: Promise<{ code?: number | undefined; msg?: string | undefined }>): Promise<Outcome> {
  try {
    const body = await call;
    return { rejected: false, status: undefined, code: body.code, msg: body.msg, logId: undefined };
  } catch (error) {
    const response = (error as { response?: { status?: number; data?: Record<string, unknown> } }).response;
    if (!response) throw error;
    const data = response.data ?? {};
    const errorInfo = (data.error ?? {}) as { log_id?: string };
    return {
      rejected: true,
      status: response.status,
      code: typeof data.code === 'number' ? data.code : undefined,
      msg: typeof data.msg === 'string' ? data.msg : undefined,
      logId: errorInfo.log_id,
    };
  }
}

describe('official node SDK against the emulator', () => {
  let emulator: Emulator;
  beforeEach(async () => {
    sdkErrors = [];
    emulator = await startEmulator();
  });
  afterEach(() => emulator.close());

  it('fetches a tenant token implicitly, streams, closes streaming, patches and sends a card entity', async () => {
    const client = sdkClient(emulator);

    const created = await client.cardkit.v1.card.create({
      data: { type: 'card_json', data: JSON.stringify(streamingCard()) },
    });
    expect(created.code).toBe(0);
    const cardId = created.data?.card_id;
    expect(cardId).toMatch(/^\d{19}$/);
    if (!cardId) throw new Error('no card_id');

    const path = { card_id: cardId, element_id: 'answer' };
    expect((await client.cardkit.v1.cardElement.content({ path, data: { content: 'Hello', sequence: 1 } })).code).toBe(0);
    expect(elementText(emulator, cardId)).toBe('Hello');
    expect(
      (await client.cardkit.v1.cardElement.content({ path, data: { content: 'Hello, world', sequence: 2, uuid: 'u-2' } })).code,
    ).toBe(0);

    const closed = await client.cardkit.v1.card.settings({
      path: { card_id: cardId },
      data: { settings: JSON.stringify({ config: { streaming_mode: false } }), sequence: 3 },
    });
    expect(closed.code).toBe(0);

    const patched = await client.cardkit.v1.cardElement.patch({
      path: { card_id: cardId, element_id: 'note' },
      data: { partial_element: JSON.stringify({ content: 'done' }), sequence: 4 },
    });
    expect(patched.code).toBe(0);

    const sent = await client.im.v1.message.create({
      params: { receive_id_type: 'chat_id' },
      data: {
        receive_id: 'oc_sdk_chat',
        msg_type: 'interactive',
        content: JSON.stringify({ type: 'card', data: { card_id: cardId } }),
        uuid: 'sdk-send-1',
      },
    });
    expect(sent.code).toBe(0);
    const messageId = sent.data?.message_id;
    expect(messageId).toMatch(/^om_/);

    const card = emulator.card(cardId);
    expect(card).toMatchObject({ sequence: 4, streaming_mode: false, message_id: messageId, app_id: 'cli_x' });
    expect(elementText(emulator, cardId)).toBe('Hello, world');
    expect(elementText(emulator, cardId, 'note')).toBe('done');
    expect(card?.log.map((entry) => [entry.endpoint, entry.sequence, entry.code])).toEqual([
      ['cardkit.card.create', null, 0],
      ['cardkit.cardElement.content', 1, 0],
      ['cardkit.cardElement.content', 2, 0],
      ['cardkit.card.settings', 3, 0],
      ['cardkit.cardElement.patch', 4, 0],
    ]);
    expect(emulator.messages()).toEqual([
      expect.objectContaining({
        message_id: messageId,
        chat_id: 'oc_sdk_chat',
        receive_id_type: 'chat_id',
        msg_type: 'interactive',
        card_id: cardId,
        uuid: 'sdk-send-1',
      }),
    ]);
    // One token request served all six API calls: the SDK cached the emulator's token.
    const stats = emulator.stats();
    expect(stats).toMatchObject({ accepted: 7, rejected: {} });
    // One token for the whole run: the SDK caches it.
    expect(stats.endpoints['auth.tenantAccessToken.internal']).toEqual({ accepted: 1, rejected: 0 });
    expect(sdkErrors).toEqual([]);
  });

  it('a reused sequence surfaces the platform code 300317 through the SDK (a rejected axios call, HTTP 400)', async () => {
    const client = sdkClient(emulator);
    const created = await client.cardkit.v1.card.create({ data: { type: 'card_json', data: JSON.stringify(streamingCard()) } });
    const cardId = created.data?.card_id ?? '';
    const path = { card_id: cardId, element_id: 'answer' };
    await client.cardkit.v1.cardElement.content({ path, data: { content: 'first', sequence: 5 } });

    const reused = await outcome(client.cardkit.v1.cardElement.content({ path, data: { content: 'second', sequence: 5 } }));

    expect(reused).toMatchObject({ rejected: true, status: 400, code: 300317 });
    expect(reused.msg).toContain('sequence number compare failed');
    expect(reused.logId).toMatch(/^\d{14}[0-9A-F]+$/);
    expect(elementText(emulator, cardId)).toBe('first');
    expect(emulator.card(cardId)?.sequence).toBe(5);
    expect(emulator.stats().rejected).toEqual({ 300317: 1 });
  });

  it('a wrong app secret fails the implicit token request with 10015 and no card is created', async () => {
    const client = sdkClient(emulator, 'cli_x', 'wrong-secret');

    const result = await outcome(
      client.cardkit.v1.card.create({ data: { type: 'card_json', data: JSON.stringify(streamingCard()) } }),
    );

    expect(result).toMatchObject({ rejected: true, status: 400, code: 10015 });
    expect(emulator.cards()).toEqual([]);
  });

  it('a token revoked on the platform side gets 99991663 through the SDK', async () => {
    const client = sdkClient(emulator);
    const data = { type: 'card_json', data: JSON.stringify(streamingCard()) };
    expect((await client.cardkit.v1.card.create({ data })).code).toBe(0);
    expect(emulator.revokeTokens({ appId: 'cli_x' })).toBe(1);

    const result = await outcome(client.cardkit.v1.card.create({ data }));

    expect(result).toMatchObject({ rejected: true, status: 400, code: 99991663 });
    expect(emulator.cards()).toHaveLength(1);
  });

  it('every CardKit v1 method of the SDK reaches its emulator endpoint (URL, method and body shape agree)', async () => {
    const client = sdkClient(emulator);
    const cardkit = client.cardkit.v1;
    const created = await cardkit.card.create({ data: { type: 'card_json', data: JSON.stringify(streamingCard()) } });
    const cardId = created.data?.card_id ?? '';
    const card = { card_id: cardId };
    const element = (elementId: string) => ({ card_id: cardId, element_id: elementId });

    const codes = [
      (await cardkit.cardElement.create({
        path: card,
        data: { type: 'insert_after', target_element_id: 'answer', elements: JSON.stringify([{ tag: 'markdown', element_id: 'extra', content: 'x' }]), sequence: 1 },
      })).code,
      (await cardkit.cardElement.update({
        path: element('extra'),
        data: { element: JSON.stringify({ tag: 'markdown', element_id: 'extra', content: 'replaced' }), sequence: 2 },
      })).code,
      (await cardkit.cardElement.delete({ path: element('extra'), data: { sequence: 3 } })).code,
      (await cardkit.card.batchUpdate({
        path: card,
        data: {
          sequence: 4,
          actions: JSON.stringify([{ action: 'partial_update_element', params: { element_id: 'answer', partial_element: { content: 'batched' } } }]),
        },
      })).code,
      (await cardkit.card.update({
        path: card,
        data: { card: { type: 'card_json', data: JSON.stringify(streamingCard({ config: { streaming_mode: false } })) }, sequence: 5 },
      })).code,
    ];
    expect(codes).toEqual([0, 0, 0, 0, 0]);
    expect(emulator.card(cardId)?.log.map((entry) => entry.endpoint)).toEqual([
      'cardkit.card.create',
      'cardkit.cardElement.create',
      'cardkit.cardElement.update',
      'cardkit.cardElement.delete',
      'cardkit.card.batchUpdate',
      'cardkit.card.update',
    ]);

    const inline = await client.im.v1.message.create({
      params: { receive_id_type: 'open_id' },
      data: { receive_id: 'ou_someone', msg_type: 'interactive', content: JSON.stringify(streamingCard()) },
    });
    const converted = await cardkit.card.idConvert({ data: { message_id: inline.data?.message_id ?? '' } });
    expect(converted.code).toBe(0);
    expect(emulator.card(converted.data?.card_id ?? '')?.message_id).toBe(inline.data?.message_id);
  });
});
