import { describe, expect, it } from 'vitest';
import {
  type CardBatchUpdateArgs,
  type CardCreateArgs,
  type CardSettingsArgs,
  type CardUpdateArgs,
  type ElementContentArgs,
  type ElementCreateArgs,
  type ElementDeleteArgs,
  type ElementPatchArgs,
  type ElementUpdateArgs,
  type FeishuClient,
  type MessageCreateArgs,
  type MessagePatchArgs,
  type MessageReplyArgs,
  cardEntityContent,
} from '../../src/client/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { type TestClient, clientFor } from '../support/client.js';
import { elementText, streamingCard, useEmulator } from '../support/emulator-http.js';

type Args = Record<string, unknown>;
type Invoke = (client: FeishuClient, args: Args) => Promise<unknown>;

/** Every endpoint method, called with arguments the test builds (bad ones included, hence the casts). */
const INVOKE = {
  'card.create': (c, a) => c.cardkit.v1.card.create(a as unknown as CardCreateArgs),
  'card.update': (c, a) => c.cardkit.v1.card.update(a as unknown as CardUpdateArgs),
  'card.settings': (c, a) => c.cardkit.v1.card.settings(a as unknown as CardSettingsArgs),
  'card.batchUpdate': (c, a) => c.cardkit.v1.card.batchUpdate(a as unknown as CardBatchUpdateArgs),
  'card.idConvert': (c, a) => c.cardkit.v1.card.idConvert(a as unknown as { message_id: string }),
  'cardElement.create': (c, a) => c.cardkit.v1.cardElement.create(a as unknown as ElementCreateArgs),
  'cardElement.update': (c, a) => c.cardkit.v1.cardElement.update(a as unknown as ElementUpdateArgs),
  'cardElement.patch': (c, a) => c.cardkit.v1.cardElement.patch(a as unknown as ElementPatchArgs),
  'cardElement.content': (c, a) => c.cardkit.v1.cardElement.content(a as unknown as ElementContentArgs),
  'cardElement.delete': (c, a) => c.cardkit.v1.cardElement.delete(a as unknown as ElementDeleteArgs),
  'message.create': (c, a) => c.im.v1.message.create(a as unknown as MessageCreateArgs),
  'message.reply': (c, a) => c.im.v1.message.reply(a as unknown as MessageReplyArgs),
  'message.patch': (c, a) => c.im.v1.message.patch(a as unknown as MessagePatchArgs),
} satisfies Record<string, Invoke>;

type Method = keyof typeof INVOKE;
const CARD_WRITES = [
  'card.update',
  'card.settings',
  'card.batchUpdate',
  'cardElement.create',
  'cardElement.update',
  'cardElement.patch',
  'cardElement.content',
  'cardElement.delete',
] as const satisfies readonly Method[];
const ELEMENT_PATHS = ['cardElement.update', 'cardElement.patch', 'cardElement.content', 'cardElement.delete'] as const satisfies readonly Method[];

/**
 * Valid arguments for each method, for a `streamingCard()` entity `cardId` and an inline-card message
 * `messageId`. Each bad-input row changes exactly one field of these; the first test shows they pass.
 */
function validArgs(method: Method, ids: { cardId: string; messageId: string; sequence: number }): Args {
  const { cardId: card_id, messageId: message_id, sequence } = ids;
  const inline = { schema: '2.0', body: { elements: [{ tag: 'markdown', content: 'inline' }] } };
  switch (method) {
    case 'card.create':
      return { type: 'card_json', data: streamingCard() };
    case 'card.update':
      return { card_id, sequence, card: { type: 'card_json', data: streamingCard() } };
    case 'card.settings':
      return { card_id, sequence, settings: { config: { summary: { content: 'S' } } } };
    case 'card.batchUpdate':
      return { card_id, sequence, actions: [{ action: 'partial_update_element', params: { element_id: 'answer', partial_element: { content: 'b' } } }] };
    case 'card.idConvert':
      return { message_id };
    case 'cardElement.create':
      return { card_id, sequence, type: 'insert_after', target_element_id: 'answer', elements: [{ tag: 'markdown', content: 'added' }] };
    case 'cardElement.update':
      return { card_id, sequence, element_id: 'answer', element: { tag: 'markdown', element_id: 'answer', content: 'u' } };
    case 'cardElement.patch':
      return { card_id, sequence, element_id: 'answer', partial_element: { content: 'p' } };
    case 'cardElement.content':
      return { card_id, sequence, element_id: 'answer', content: 'c' };
    case 'cardElement.delete':
      return { card_id, sequence, element_id: 'stop_btn' };
    case 'message.create':
      return { receive_id_type: 'chat_id', receive_id: 'oc_chat', msg_type: 'interactive', content: inline, uuid: 'm-1' };
    case 'message.reply':
      return { message_id, msg_type: 'interactive', content: inline, reply_in_thread: true, uuid: 'r-1' };
    case 'message.patch':
      return { message_id, content: inline };
  }
}

/** Ids for rows: no request is sent, so they need not exist. */
const PLACEHOLDER = { cardId: '7000000000000000001', messageId: 'om_placeholder', sequence: 1 };

interface Row {
  name: string;
  method: Method;
  /** Fields replacing the valid ones; `undefined` leaves the field out. */
  bad: Args;
  /** The field the error must name. */
  field: string;
}

const astral = (n: number) => '😀'.repeat(n);

const BAD_ELEMENT_IDS: [string, unknown][] = [
  ['21 characters (too long)', `a${'b'.repeat(20)}`],
  ['starting with a digit', '1abc'],
  ['starting with an underscore', '_abc'],
  ['path traversal ../x', '../x'],
  ['holding a slash', 'a/b'],
  ['percent-encoded traversal', '%2e%2e'],
  ['holding a hyphen', 'a-b'],
  ['with a trailing newline', 'answer\n'],
  ['a non-ASCII letter', 'é'],
  ['empty', ''],
  ['missing', undefined],
  ['a number', 42],
];

const BAD_SEQUENCES: [string, unknown][] = [
  ['0', 0],
  ['-1', -1],
  ['1.5', 1.5],
  ['2**31 (above int32)', 2 ** 31],
  ["the string '1'", '1'],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['null', null],
  ['missing', undefined],
];

const ROWS: Row[] = [
  ...ELEMENT_PATHS.flatMap((method) =>
    BAD_ELEMENT_IDS.map(([what, value]): Row => ({ name: `element_id ${what}`, method, bad: { element_id: value }, field: 'element_id' })),
  ),
  ...[
    ['path traversal ../x', '../x'],
    ['starting with a digit', '9x'],
    ['21 characters (too long)', 'x'.repeat(21)],
  ].map(([what, value]): Row => ({ name: `target_element_id ${what}`, method: 'cardElement.create', bad: { target_element_id: value }, field: 'target_element_id' })),
  ...CARD_WRITES.flatMap((method) =>
    BAD_SEQUENCES.map(([what, value]): Row => ({ name: `sequence ${what}`, method, bad: { sequence: value }, field: 'sequence' })),
  ),
  ...CARD_WRITES.flatMap((method): Row[] => [
    { name: 'uuid of 65 characters', method, bad: { uuid: 'u'.repeat(65) }, field: 'uuid' },
    { name: 'empty uuid', method, bad: { uuid: '' }, field: 'uuid' },
    { name: 'uuid that is a number', method, bad: { uuid: 7 }, field: 'uuid' },
    { name: 'missing card_id', method, bad: { card_id: undefined }, field: 'card_id' },
    { name: 'empty card_id', method, bad: { card_id: '' }, field: 'card_id' },
    { name: 'card_id of 21 characters', method, bad: { card_id: '7'.repeat(21) }, field: 'card_id' },
    { name: 'card_id that is a number', method, bad: { card_id: 7_000_000 }, field: 'card_id' },
  ]),
  ...(['message.create', 'message.reply'] as const).flatMap((method): Row[] => [
    { name: 'uuid of 51 characters', method, bad: { uuid: 'u'.repeat(51) }, field: 'uuid' },
    { name: 'empty uuid', method, bad: { uuid: '' }, field: 'uuid' },
  ]),
  { name: 'content empty', method: 'cardElement.content', bad: { content: '' }, field: 'content' },
  { name: 'content of 100,001 ASCII characters', method: 'cardElement.content', bad: { content: 'x'.repeat(100_001) }, field: 'content' },
  { name: 'content of 100,001 emoji (code points)', method: 'cardElement.content', bad: { content: astral(100_001) }, field: 'content' },
  { name: 'content that is a number', method: 'cardElement.content', bad: { content: 42 }, field: 'content' },
  { name: 'content missing', method: 'cardElement.content', bad: { content: undefined }, field: 'content' },
  ...['chat', 'CHAT_ID', 'phone', '', undefined].map(
    (value): Row => ({ name: `receive_id_type ${JSON.stringify(value) ?? 'missing'}`, method: 'message.create', bad: { receive_id_type: value }, field: 'receive_id_type' }),
  ),
  { name: 'receive_id empty', method: 'message.create', bad: { receive_id: '' }, field: 'receive_id' },
  { name: 'elements an empty array', method: 'cardElement.create', bad: { elements: [] }, field: 'elements' },
  { name: 'actions an empty array', method: 'card.batchUpdate', bad: { actions: [] }, field: 'actions' },
  { name: 'insert_before without target_element_id', method: 'cardElement.create', bad: { type: 'insert_before', target_element_id: undefined }, field: 'target_element_id' },
  { name: 'insert_after without target_element_id', method: 'cardElement.create', bad: { type: 'insert_after', target_element_id: undefined }, field: 'target_element_id' },
  { name: 'insert type prepend', method: 'cardElement.create', bad: { type: 'prepend' }, field: 'type' },
  ...[
    ['a number', 42],
    ['null', null],
    ['a boolean', true],
    ['missing', undefined],
    ['an empty string', ''],
  ].flatMap(([what, value]): Row[] => [
    { name: `data ${what as string}`, method: 'card.create', bad: { data: value }, field: 'data' },
    { name: `card.data ${what as string}`, method: 'card.update', bad: { card: { type: 'card_json', data: value } }, field: 'card.data' },
    { name: `settings ${what as string}`, method: 'card.settings', bad: { settings: value }, field: 'settings' },
    { name: `actions ${what as string}`, method: 'card.batchUpdate', bad: { actions: value }, field: 'actions' },
    { name: `elements ${what as string}`, method: 'cardElement.create', bad: { elements: value }, field: 'elements' },
    { name: `element ${what as string}`, method: 'cardElement.update', bad: { element: value }, field: 'element' },
    { name: `partial_element ${what as string}`, method: 'cardElement.patch', bad: { partial_element: value }, field: 'partial_element' },
    { name: `content ${what as string}`, method: 'message.create', bad: { content: value }, field: 'content' },
    { name: `content ${what as string}`, method: 'message.reply', bad: { content: value }, field: 'content' },
    { name: `content ${what as string}`, method: 'message.patch', bad: { content: value }, field: 'content' },
  ]),
  { name: 'card null', method: 'card.update', bad: { card: null }, field: 'card' },
  ...['template', 'json', ''].map(
    (type): Row => ({ name: `card.type ${JSON.stringify(type)}`, method: 'card.update', bad: { card: { type, data: streamingCard() } }, field: 'card.type' }),
  ),
  { name: 'type "json"', method: 'card.create', bad: { type: 'json' }, field: 'type' },
  { name: 'message_id empty', method: 'card.idConvert', bad: { message_id: '' }, field: 'message_id' },
  { name: 'message_id of 51 characters', method: 'card.idConvert', bad: { message_id: `om_${'x'.repeat(48)}` }, field: 'message_id' },
  { name: 'message_id missing', method: 'message.reply', bad: { message_id: undefined }, field: 'message_id' },
  { name: 'message_id missing', method: 'message.patch', bad: { message_id: undefined }, field: 'message_id' },
  { name: 'reply_in_thread "yes"', method: 'message.reply', bad: { reply_in_thread: 'yes' }, field: 'reply_in_thread' },
];

/** What `call` threw before returning; fails (after letting any request finish) if it returned instead. */
async function thrownAtCallSite(call: () => Promise<unknown>): Promise<unknown> {
  let pending: Promise<unknown>;
  try {
    pending = call();
  } catch (error) {
    return error;
  }
  const outcome = await pending.then(
    () => 'resolved',
    (error: unknown) => `rejected with ${String(error)}`,
  );
  throw new Error(`expected the call to throw before returning; it returned a promise that ${outcome}`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('FeishuClient input validation: bad input throws at the call site and sends nothing', () => {
  let emulator: Emulator;
  let tc: TestClient;
  const fixture = useEmulator((started) => {
    emulator = started.emulator;
    tc = clientFor(emulator);
  });

  /** A loopback round trip to the emulator's control API, after which anything sent earlier has arrived. */
  async function settle(): Promise<void> {
    await (await fetch(`${emulator.url}/_emulator/stats`)).arrayBuffer();
  }

  it('the valid arguments every row starts from are accepted by the emulator', async () => {
    const { card_id: cardId } = await tc.client.cardkit.v1.card.create({ data: streamingCard() });
    const message = await tc.client.im.v1.message.create({
      receive_id_type: 'chat_id',
      receive_id: 'oc_chat',
      content: { schema: '2.0', body: { elements: [] } },
    });
    const order: Method[] = [
      'card.create',
      'card.settings',
      'card.batchUpdate',
      'cardElement.create',
      'cardElement.update',
      'cardElement.patch',
      'cardElement.content',
      'cardElement.delete',
      'card.update',
      'message.create',
      'message.reply',
      'message.patch',
      // Last: converting an inline card message makes it a card-entity message, which IM patch refuses.
      'card.idConvert',
    ];
    for (const [i, method] of order.entries()) {
      const args = validArgs(method, { cardId, messageId: message.message_id, sequence: i + 1 });
      await expect(INVOKE[method](tc.client, args), method).resolves.toBeTypeOf('object');
    }
    expect(emulator.stats().rejected).toEqual({});
    expect(emulator.card(cardId)?.sequence).toBe(order.indexOf('card.update') + 1);
  });

  it.each(ROWS.map((row) => ({ ...row, label: `${row.method}: ${row.name}` })))(
    '$label is a TypeError or RangeError naming $field, and no request is sent',
    async ({ method, bad, field }) => {
      const before = emulator.stats();
      const responses = tc.logIds.length;
      const error = await thrownAtCallSite(() => INVOKE[method](tc.client, { ...validArgs(method, PLACEHOLDER), ...bad }));
      expect(error instanceof TypeError || error instanceof RangeError, `threw ${String(error)}`).toBe(true);
      expect((error as Error).message).toMatch(new RegExp(`(^|[^\\w.])${escapeRegExp(field)}([^\\w.]|$)`));
      await settle();
      expect(emulator.stats()).toEqual(before);
      expect(tc.logIds).toHaveLength(responses);
    },
  );

  describe('values at the edge of each rule are sent and accepted', () => {
    it('an element_id of exactly 20 characters', async () => {
      const id = `a${'b'.repeat(19)}`;
      const { card_id: cardId } = await tc.client.cardkit.v1.card.create({
        data: streamingCard({ body: { elements: [{ tag: 'markdown', element_id: id, content: '' }] } }),
      });
      await tc.client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: id, content: 'edge', sequence: 1 });
      expect(elementText(emulator, cardId, id)).toBe('edge');
    });

    it('sequence 2**31 - 1, the int32 maximum', async () => {
      const { card_id: cardId } = await tc.client.cardkit.v1.card.create({ data: streamingCard() });
      await tc.client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: 'answer', content: 'max', sequence: 2 ** 31 - 1 });
      expect(emulator.card(cardId)?.sequence).toBe(2 ** 31 - 1);
    });

    it('a CardKit uuid of 64 characters and an IM uuid of 50', async () => {
      const { card_id: cardId } = await tc.client.cardkit.v1.card.create({ data: streamingCard() });
      await tc.client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: 'answer', content: 'u', sequence: 1, uuid: 'u'.repeat(64) });
      const message = await tc.client.im.v1.message.create({
        receive_id_type: 'chat_id',
        receive_id: 'oc_chat',
        content: cardEntityContent(cardId),
        uuid: 'm'.repeat(50),
      });
      expect(emulator.card(cardId)?.log.at(-1)).toMatchObject({ uuid: 'u'.repeat(64), code: 0 });
      expect(emulator.message(message.message_id)?.uuid).toBe('m'.repeat(50));
    });

    it('uuid limits count characters, not UTF-16 units: 64 emoji on CardKit and 50 on IM are sent', async () => {
      const { card_id: cardId } = await tc.client.cardkit.v1.card.create({ data: streamingCard() });
      await tc.client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: 'answer', content: 'u', sequence: 1, uuid: astral(64) });
      const message = await tc.client.im.v1.message.create({
        receive_id_type: 'chat_id',
        receive_id: 'oc_chat',
        content: cardEntityContent(cardId),
        uuid: astral(50),
      });
      expect(emulator.card(cardId)?.log.at(-1)).toMatchObject({ uuid: astral(64), code: 0 });
      expect(emulator.message(message.message_id)?.uuid).toBe(astral(50));
    });

    it('content of 100,000 emoji: 100,000 characters though 200,000 UTF-16 units', async () => {
      await fixture.restart({ maxCardBytes: 1_000_000 });
      const { card_id: cardId } = await tc.client.cardkit.v1.card.create({ data: streamingCard() });
      const content = astral(100_000);
      await tc.client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: 'answer', content, sequence: 1 });
      expect(elementText(emulator, cardId)).toBe(content);
    });
  });
});
