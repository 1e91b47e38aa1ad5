/**
 * Contract: creating a card entity and replacing it whole (reference §1, §2, §14, §17).
 * POST /open-apis/cardkit/v1/cards and PUT /open-apis/cardkit/v1/cards/:card_id.
 */
import { describe, expect, it } from 'vitest';
import { type Emulator, type WriteLogEntry } from '../../src/emulator/index.js';
import { type ApiResponse, api, createCard, elementText, putContent, streamingCard, tenantToken, useEmulator } from '../support/emulator-http.js';

const CARDS = '/open-apis/cardkit/v1/cards';
const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_CARD_BYTES = 30 * 1024;

/** HTTP 200 with code 0, or HTTP 400 with the business error code (reference §0). */
function expectCode(res: ApiResponse, code: number): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status: code === 0 ? 200 : 400, code });
}

function bytesOf(card: unknown): number {
  return Buffer.byteLength(JSON.stringify(card), 'utf8');
}

/** A valid 2.0 card whose serialized JSON is exactly `bytes` UTF-8 bytes long. */
function cardOfBytes(bytes: number): Record<string, unknown> {
  const card = (content: string) => ({ schema: '2.0', body: { elements: [{ tag: 'markdown', element_id: 'big', content }] } });
  return card('x'.repeat(bytes - bytesOf(card(''))));
}

function markdownCard(count: number): Record<string, unknown> {
  const elements = Array.from({ length: count }, (_, i) => ({ tag: 'markdown', element_id: `md_${i}`, content: 'x' }));
  return { schema: '2.0', body: { elements } };
}

function withElements(...elements: Record<string, unknown>[]): Record<string, unknown> {
  return { schema: '2.0', body: { elements } };
}

/** Card JSON that CardKit refuses, with the code it answers (reference §1, §14). */
const INVALID_CARDS: { rule: string; data: string; code: number }[] = [
  { rule: 'schema must be "2.0" (300303)', data: JSON.stringify({ ...markdownCard(1), schema: '1.0' }), code: 300303 },
  { rule: 'a card without schema is not 2.0 (300303)', data: JSON.stringify({ body: { elements: [] } }), code: 300303 },
  {
    rule: 'config.update_multi false is refused (300302)',
    data: JSON.stringify({ ...markdownCard(1), config: { update_multi: false } }),
    code: 300302,
  },
  { rule: 'an empty data string is an empty DSL (300307)', data: '', code: 300307 },
  { rule: 'an empty JSON object is an empty DSL (300307)', data: '{}', code: 300307 },
  { rule: 'card JSON that does not parse fails to generate content (200220)', data: '{"schema":"2.0",', code: 200220 },
  {
    rule: 'an element_id starting with a digit is malformed (300301)',
    data: JSON.stringify(withElements({ tag: 'markdown', element_id: '1st', content: 'x' })),
    code: 300301,
  },
  {
    rule: 'an element_id with a dash is malformed (300301)',
    data: JSON.stringify(withElements({ tag: 'markdown', element_id: 'my-md', content: 'x' })),
    code: 300301,
  },
  {
    rule: 'an element_id longer than 20 characters is malformed (300301)',
    data: JSON.stringify(withElements({ tag: 'markdown', element_id: `a${'b'.repeat(20)}`, content: 'x' })),
    code: 300301,
  },
  {
    rule: 'element_ids must be unique, also across nesting levels (300301)',
    data: JSON.stringify(
      withElements(
        { tag: 'markdown', element_id: 'same', content: 'x' },
        { tag: 'div', element_id: 'wrap', text: { tag: 'plain_text', element_id: 'same', content: 'y' } },
      ),
    ),
    code: 300301,
  },
  { rule: 'more than 200 elements is over the limit (300305)', data: JSON.stringify(markdownCard(201)), code: 300305 },
  { rule: 'a card over 30 KB is too large (200860)', data: JSON.stringify(cardOfBytes(MAX_CARD_BYTES + 1)), code: 200860 },
];

describe('card create and full update', () => {
  let emulator: Emulator;
  let token: string;
  const fixture = useEmulator((started) => ({ emulator, token } = started));

  const create = (body: unknown) => api(emulator, 'POST', CARDS, { token, body });
  const createJson = (card: unknown) => create({ type: 'card_json', data: JSON.stringify(card) });
  const update = (cardId: string, body: unknown) => api(emulator, 'PUT', `${CARDS}/${cardId}`, { token, body });
  const updateJson = (cardId: string, sequence: number, card: unknown) =>
    update(cardId, { card: { type: 'card_json', data: JSON.stringify(card) }, sequence });

  describe('create', () => {
    it('answers a card_id of 19 digits', async () => {
      const res = await createJson(streamingCard());
      expectCode(res, 0);
      const cardId = (res.body.data as { card_id: unknown }).card_id;
      expect(cardId).toMatch(/^\d{19}$/);
      expect(emulator.card(cardId as string)).toBeDefined();
    });

    it('GET /_emulator/cards/:card_id shows the created card, its streaming mode, sequence 0 and the create in the log', async () => {
      const card = streamingCard();
      const before = emulator.clock.now();
      const cardId = await createCard(emulator, token, card);
      const after = emulator.clock.now();
      const response = await fetch(`${emulator.url}/_emulator/cards/${cardId}`);
      expect(response.status).toBe(200);
      const snapshot = (await response.json()) as Record<string, unknown>;
      expect(snapshot).toMatchObject({ card_id: cardId, streaming_mode: true, sequence: 0 });
      expect(snapshot.card).toEqual(card);
      const log = snapshot.log as WriteLogEntry[];
      expect(log.map(({ time: _time, ...entry }) => entry)).toEqual([
        { endpoint: 'cardkit.card.create', sequence: null, uuid: null, code: 0 },
      ]);
      expect(log[0]!.time).toBeGreaterThanOrEqual(before);
      expect(log[0]!.time).toBeLessThanOrEqual(after);
    });

    it('a card without streaming_mode is created with streaming mode off', async () => {
      const card = markdownCard(2);
      const cardId = await createCard(emulator, token, card);
      expect(emulator.card(cardId)).toMatchObject({ streaming_mode: false, sequence: 0 });
      expect(emulator.card(cardId)?.card).toEqual(card);
    });

    it('GET /_emulator/cards/:card_id of an unknown card is 404', async () => {
      const response = await fetch(`${emulator.url}/_emulator/cards/7000000000000000000`);
      expect(response.status).toBe(404);
    });

    for (const { rule, data, code } of INVALID_CARDS) {
      it(rule, async () => {
        expectCode(await create({ type: 'card_json', data }), code);
        expect(emulator.cards()).toEqual([]);
      });
    }

    it('exactly 200 elements is within the limit', async () => {
      expectCode(await createJson(markdownCard(200)), 0);
    });

    it('nested elements count toward the 200-element limit', async () => {
      const divs = Array.from({ length: 100 }, (_, i) => ({
        tag: 'div',
        text: { tag: 'plain_text', element_id: `t_${i}`, content: 'x' },
      }));
      expectCode(await createJson(withElements(...divs)), 0);
      expectCode(await createJson(withElements(...divs, { tag: 'markdown', content: 'one too many' })), 300305);
    });

    it('exactly 30 KB (30720 UTF-8 bytes) is within the size limit', async () => {
      const card = cardOfBytes(MAX_CARD_BYTES);
      expect(bytesOf(card)).toBe(MAX_CARD_BYTES);
      expectCode(await createJson(card), 0);
    });

    it('the size limit counts UTF-8 bytes, not characters', async () => {
      // 10,500 CJK characters: about a third of 30 KB in characters, but 31,500 bytes in UTF-8.
      expectCode(await createJson(withElements({ tag: 'markdown', content: '字'.repeat(10_500) })), 200860);
    });

    it('the size limit is configurable with maxCardBytes', async () => {
      await fixture.restart({ maxCardBytes: 2048 });
      expectCode(await createJson(cardOfBytes(2048)), 0);
      expectCode(await createJson(cardOfBytes(2049)), 200860);
    });

    it('type "template" is refused with 10002 saying templates are not supported', async () => {
      const data = JSON.stringify({ template_id: 'AAq0', template_version_name: '1.0.0', template_variable: {} });
      const res = await create({ type: 'template', data });
      expectCode(res, 10002);
      expect(res.body.msg).toMatch(/template.*not supported/);
    });

    const badCreates = [
      { rule: 'type is required', body: { data: JSON.stringify(markdownCard(1)) } },
      { rule: 'data is required', body: { type: 'card_json' } },
      { rule: 'an empty body lacks both', body: {} },
      { rule: 'type must be card_json or template', body: { type: 'json', data: JSON.stringify(markdownCard(1)) } },
      { rule: 'data must be a JSON string, not an object', body: { type: 'card_json', data: markdownCard(1) } },
    ];
    for (const { rule, body } of badCreates) {
      it(`missing or mistyped fields are 10002: ${rule}`, async () => {
        expectCode(await create(body), 10002);
        expect(emulator.cards()).toEqual([]);
      });
    }

    it('data longer than 3,000,000 characters is 10002', async () => {
      const json = JSON.stringify(markdownCard(1));
      const data = json + ' '.repeat(3_000_001 - json.length);
      expectCode(await create({ type: 'card_json', data }), 10002);
    });
  });

  describe('full update', () => {
    it('replaces the whole card and takes the sequence', async () => {
      const cardId = await createCard(emulator, token, streamingCard());
      const replacement = withElements({ tag: 'markdown', element_id: 'fresh', content: 'new card' });
      expectCode(await updateJson(cardId, 1, replacement), 0);
      expect(emulator.card(cardId)?.card).toEqual(replacement);
      expect(emulator.card(cardId)?.sequence).toBe(1);
      expect(elementText(emulator, cardId, 'answer')).toBeUndefined();
      expect(elementText(emulator, cardId, 'fresh')).toBe('new card');
    });

    it('streaming mode follows the new card: config.streaming_mode false closes it', async () => {
      const cardId = await createCard(emulator, token, streamingCard());
      expectCode(await updateJson(cardId, 1, streamingCard({ config: { streaming_mode: false } })), 0);
      expect(emulator.card(cardId)?.streaming_mode).toBe(false);
      expectCode(await putContent(emulator, token, cardId, 2, 'late'), 300309);
    });

    it('streaming mode follows the new card: a card without config closes it', async () => {
      const cardId = await createCard(emulator, token, streamingCard());
      expectCode(await updateJson(cardId, 1, markdownCard(1)), 0);
      expect(emulator.card(cardId)?.streaming_mode).toBe(false);
    });

    it('streaming mode follows the new card: config.streaming_mode true opens it', async () => {
      const cardId = await createCard(emulator, token, streamingCard({ config: { streaming_mode: false } }));
      expect(emulator.card(cardId)?.streaming_mode).toBe(false);
      expectCode(await updateJson(cardId, 1, streamingCard()), 0);
      expect(emulator.card(cardId)?.streaming_mode).toBe(true);
      expectCode(await putContent(emulator, token, cardId, 2, 'streams again'), 0);
      expect(elementText(emulator, cardId)).toBe('streams again');
    });

    it('works after the streaming window has closed', async () => {
      const cardId = await createCard(emulator, token, streamingCard());
      emulator.clock.advance(11 * 60_000);
      const final = streamingCard({ config: { streaming_mode: false } });
      expectCode(await updateJson(cardId, 1, final), 0);
      expect(emulator.card(cardId)).toMatchObject({ sequence: 1, streaming_mode: false });
      expect(emulator.card(cardId)?.card).toEqual(final);
    });

    for (const { rule, data, code } of INVALID_CARDS) {
      it(`${rule}, and the card stays as it was`, async () => {
        const cardId = await createCard(emulator, token, streamingCard());
        const before = emulator.card(cardId)!.card;
        expectCode(await update(cardId, { card: { type: 'card_json', data }, sequence: 1 }), code);
        expect(emulator.card(cardId)?.card).toEqual(before);
        expect(emulator.card(cardId)?.sequence).toBe(0);
      });
    }

    it('card.type must be card_json: templates are not allowed (10002)', async () => {
      const cardId = await createCard(emulator, token);
      const data = JSON.stringify({ template_id: 'AAq0', template_version_name: '1.0.0' });
      expectCode(await update(cardId, { card: { type: 'template', data }, sequence: 1 }), 10002);
    });

    const badUpdates = [
      { rule: 'card is required', body: { sequence: 1 } },
      { rule: 'card.data is required', body: { card: { type: 'card_json' }, sequence: 1 } },
      { rule: 'card.type is required', body: { card: { data: JSON.stringify(markdownCard(1)) }, sequence: 1 } },
      { rule: 'card must be an object, not a JSON string', body: { card: JSON.stringify(markdownCard(1)), sequence: 1 } },
      { rule: 'sequence is required', body: { card: { type: 'card_json', data: JSON.stringify(markdownCard(1)) } } },
    ];
    for (const { rule, body } of badUpdates) {
      it(`missing or mistyped fields are 10002: ${rule}`, async () => {
        const cardId = await createCard(emulator, token);
        const before = emulator.card(cardId)!.card;
        expectCode(await update(cardId, body), 10002);
        expect(emulator.card(cardId)?.card).toEqual(before);
        expect(emulator.card(cardId)?.sequence).toBe(0);
      });
    }

    it('card.data longer than 1,000,000 characters is 10002', async () => {
      const cardId = await createCard(emulator, token);
      const json = JSON.stringify(markdownCard(1));
      const data = json + ' '.repeat(1_000_001 - json.length);
      expectCode(await update(cardId, { card: { type: 'card_json', data }, sequence: 1 }), 10002);
      expect(emulator.card(cardId)?.sequence).toBe(0);
    });

    it('an unknown card_id is 200740', async () => {
      expectCode(await updateJson('7000000000000000000', 1, markdownCard(1)), 200740);
    });

    it('a card 14 days after creation has expired (200750)', async () => {
      const cardId = await createCard(emulator, token, markdownCard(1));
      emulator.clock.advance(14 * DAY_MS - 60_000);
      token = await tenantToken(emulator); // the old tenant token lived 2 hours
      expectCode(await updateJson(cardId, 1, markdownCard(2)), 0);
      emulator.clock.advance(60_000);
      const res = await updateJson(cardId, 2, markdownCard(3));
      expectCode(res, 200750);
      expect(emulator.card(cardId)?.card).toEqual(markdownCard(2));
      expect(emulator.card(cardId)?.sequence).toBe(1);
    });

    it('a card of another app is 300311', async () => {
      await fixture.restart({ apps: [{ appId: 'cli_a', appSecret: 's_a' }, { appId: 'cli_b', appSecret: 's_b' }] });
      const cardId = await createCard(emulator, await tenantToken(emulator, 'cli_a', 's_a'));
      token = await tenantToken(emulator, 'cli_b', 's_b');
      expectCode(await updateJson(cardId, 1, markdownCard(1)), 300311);
      expect(emulator.card(cardId)?.sequence).toBe(0);
    });
  });
});
