/**
 * Contract: `sequence` and `uuid` on every CardKit write, the per-card write log and the interaction
 * lock (reference §15, §13 "Interaction lock", §17).
 */
import { describe, expect, it } from 'vitest';
import { type Emulator, type WriteLogEntry } from '../../src/emulator/index.js';
import { type ApiResponse, api, createCard, elementText, putContent, streamingCard, useEmulator } from '../support/emulator-http.js';

const CARDS = '/open-apis/cardkit/v1/cards';
const INT32_MAX = 2_147_483_647;

interface WriteRequest {
  method: string;
  path: string;
  body: Record<string, unknown>;
}

/** One request per CardKit write endpoint, each valid on a fresh `streamingCard()` for any new sequence. */
const WRITES: { endpoint: string; request(cardId: string, sequence: number): WriteRequest }[] = [
  {
    endpoint: 'cardkit.cardElement.content',
    request: (cardId, sequence) => ({
      method: 'PUT',
      path: `${CARDS}/${cardId}/elements/answer/content`,
      body: { content: `text ${sequence}`, sequence },
    }),
  },
  {
    endpoint: 'cardkit.card.settings',
    request: (cardId, sequence) => ({
      method: 'PATCH',
      path: `${CARDS}/${cardId}/settings`,
      body: { settings: JSON.stringify({ config: { summary: { content: `summary ${sequence}` } } }), sequence },
    }),
  },
  {
    endpoint: 'cardkit.card.update',
    request: (cardId, sequence) => ({
      method: 'PUT',
      path: `${CARDS}/${cardId}`,
      body: { card: { type: 'card_json', data: JSON.stringify(streamingCard()) }, sequence },
    }),
  },
  {
    endpoint: 'cardkit.card.batchUpdate',
    request: (cardId, sequence) => ({
      method: 'POST',
      path: `${CARDS}/${cardId}/batch_update`,
      body: {
        actions: JSON.stringify([
          { action: 'partial_update_element', params: { element_id: 'answer', partial_element: { content: `batch ${sequence}` } } },
        ]),
        sequence,
      },
    }),
  },
  {
    endpoint: 'cardkit.cardElement.create',
    request: (cardId, sequence) => ({
      method: 'POST',
      path: `${CARDS}/${cardId}/elements`,
      body: { type: 'append', elements: JSON.stringify([{ tag: 'markdown', element_id: `added_${sequence}`, content: 'x' }]), sequence },
    }),
  },
  {
    endpoint: 'cardkit.cardElement.update',
    request: (cardId, sequence) => ({
      method: 'PUT',
      path: `${CARDS}/${cardId}/elements/note_div`,
      body: { element: JSON.stringify({ tag: 'markdown', element_id: 'note_div', content: `replaced ${sequence}` }), sequence },
    }),
  },
  {
    endpoint: 'cardkit.cardElement.patch',
    request: (cardId, sequence) => ({
      method: 'PATCH',
      path: `${CARDS}/${cardId}/elements/answer`,
      body: { partial_element: JSON.stringify({ content: `patched ${sequence}` }), sequence },
    }),
  },
  {
    endpoint: 'cardkit.cardElement.delete',
    request: (cardId, sequence) => ({ method: 'DELETE', path: `${CARDS}/${cardId}/elements/stop_btn`, body: { sequence } }),
  },
];
function writeTo(endpoint: string): (typeof WRITES)[number] {
  const write = WRITES.find((w) => w.endpoint === endpoint);
  if (!write) throw new Error(`no write for ${endpoint}`);
  return write;
}
const CONTENT_WRITE = writeTo('cardkit.cardElement.content');
const SETTINGS_WRITE = writeTo('cardkit.card.settings');
const PATCH_WRITE = writeTo('cardkit.cardElement.patch');

/** HTTP 200 with code 0, or HTTP 400 with the business error code (reference §0). */
function expectCode(res: ApiResponse, code: number): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status: code === 0 ? 200 : 400, code });
}

/** The write log without arrival times, which tests check separately. */
function logWithoutTimes(log: WriteLogEntry[]): Omit<WriteLogEntry, 'time'>[] {
  return log.map(({ time: _time, ...entry }) => entry);
}

describe('sequence and uuid', () => {
  let emulator: Emulator;
  let token: string;
  useEmulator((started) => ({ emulator, token } = started));

  const send = ({ method, path, body }: WriteRequest, extra: Record<string, unknown> = {}) =>
    api(emulator, method, path, { token, body: { ...body, ...extra } });
  const sequenceOf = (cardId: string) => emulator.card(cardId)?.sequence;

  describe('strictly increasing per card, across every CardKit endpoint', () => {
    for (const write of WRITES) {
      it(`${write.endpoint}: a sequence equal to or below the last one from any endpoint is 300317`, async () => {
        const cardId = await createCard(emulator, token);
        const other = write === CONTENT_WRITE ? SETTINGS_WRITE : CONTENT_WRITE;
        expectCode(await send(other.request(cardId, 5)), 0);
        const equal = await send(write.request(cardId, 5));
        expectCode(equal, 300317);
        expect(equal.body.msg).toContain('sequence number compare failed');
        expectCode(await send(write.request(cardId, 4)), 300317);
        expect(sequenceOf(cardId)).toBe(5);
        expectCode(await send(write.request(cardId, 6)), 0);
        expect(sequenceOf(cardId)).toBe(6);
        expectCode(await send(other.request(cardId, 6)), 300317);
      });
    }

    it('gaps are allowed', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await putContent(emulator, token, cardId, 1, 'a'), 0);
      expectCode(await putContent(emulator, token, cardId, 100, 'ab'), 0);
      expectCode(await putContent(emulator, token, cardId, 2_000_000, 'abc'), 0);
      expect(sequenceOf(cardId)).toBe(2_000_000);
      expect(elementText(emulator, cardId)).toBe('abc');
    });

    it('sequences are compared in arrival order: 5 then 3, the 3 fails', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await putContent(emulator, token, cardId, 5, 'five'), 0);
      expectCode(await putContent(emulator, token, cardId, 3, 'three'), 300317);
      expect(elementText(emulator, cardId)).toBe('five');
      expect(sequenceOf(cardId)).toBe(5);
    });

    it('the int32 maximum 2147483647 is a valid sequence', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await putContent(emulator, token, cardId, INT32_MAX, 'max'), 0);
      expect(sequenceOf(cardId)).toBe(INT32_MAX);
    });

    it('rejected writes do not advance the card sequence', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await putContent(emulator, token, cardId, 5, 'five'), 0);
      expectCode(await putContent(emulator, token, cardId, 3, 'three'), 300317);
      expectCode(await putContent(emulator, token, cardId, 10, 'x', 'no_such_el'), 300313);
      expectCode(await send(CONTENT_WRITE.request(cardId, 11), { uuid: 'u-1' }), 0);
      expectCode(await send(CONTENT_WRITE.request(cardId, 20), { uuid: 'u-1' }), 200770);
      expect(sequenceOf(cardId)).toBe(11);
      // 20 was refused, so it was not used up: 12 is still above the last accepted sequence.
      expectCode(await putContent(emulator, token, cardId, 12, 'twelve'), 0);
      expect(sequenceOf(cardId)).toBe(12);
    });

    it('sequences are per card: two cards count independently', async () => {
      const first = await createCard(emulator, token);
      const second = await createCard(emulator, token);
      expectCode(await putContent(emulator, token, first, 7, 'first'), 0);
      expectCode(await putContent(emulator, token, second, 1, 'second'), 0);
      expectCode(await putContent(emulator, token, first, 2, 'first again'), 300317);
      expect([sequenceOf(first), sequenceOf(second)]).toEqual([7, 1]);
    });
  });

  describe('sequence must be an int32 in 1..2147483647', () => {
    const invalid: { rule: string; sequence: unknown }[] = [
      { rule: '0 is below the range', sequence: 0 },
      { rule: '-1 is below the range', sequence: -1 },
      { rule: '1.5 is not an integer', sequence: 1.5 },
      { rule: '2147483648 is above int32', sequence: INT32_MAX + 1 },
      { rule: 'the string "3" is not a number', sequence: '3' },
    ];
    for (const { rule, sequence } of invalid) {
      it(`${rule}: 10002`, async () => {
        const cardId = await createCard(emulator, token);
        expectCode(await send(CONTENT_WRITE.request(cardId, 1), { sequence }), 10002);
        expect(sequenceOf(cardId)).toBe(0);
        expect(elementText(emulator, cardId)).toBe('');
      });
    }

    for (const write of WRITES) {
      it(`${write.endpoint}: a missing sequence is 10002`, async () => {
        const cardId = await createCard(emulator, token);
        const before = emulator.card(cardId)!.card;
        const { sequence: _sequence, ...body } = write.request(cardId, 1).body;
        expectCode(await send({ ...write.request(cardId, 1), body }), 10002);
        expect(emulator.card(cardId)?.card).toEqual(before);
      });
    }
  });

  describe('uuid', () => {
    it('reusing a uuid on the same card is 200770, even with a new sequence and another endpoint', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await send(CONTENT_WRITE.request(cardId, 1), { uuid: 'op-1' }), 0);
      expectCode(await send(CONTENT_WRITE.request(cardId, 2), { uuid: 'op-1' }), 200770);
      expectCode(await send(SETTINGS_WRITE.request(cardId, 3), { uuid: 'op-1' }), 200770);
      expect(sequenceOf(cardId)).toBe(1);
      expect(elementText(emulator, cardId)).toBe('text 1');
      expectCode(await send(CONTENT_WRITE.request(cardId, 2), { uuid: 'op-2' }), 0);
    });

    it('a write refused for its sequence does not use up its uuid', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await putContent(emulator, token, cardId, 5, 'five'), 0);
      expectCode(await send(CONTENT_WRITE.request(cardId, 5), { uuid: 'retry-me' }), 300317);
      expectCode(await send(CONTENT_WRITE.request(cardId, 6), { uuid: 'retry-me' }), 0);
    });

    const lengths: { rule: string; uuid: unknown; code: number }[] = [
      { rule: 'an empty uuid is 10002', uuid: '', code: 10002 },
      { rule: 'a 1-character uuid is accepted', uuid: 'a', code: 0 },
      { rule: 'a 64-character uuid is accepted', uuid: 'u'.repeat(64), code: 0 },
      { rule: 'a 65-character uuid is 10002', uuid: 'u'.repeat(65), code: 10002 },
      { rule: 'a numeric uuid is 10002', uuid: 42, code: 10002 },
    ];
    for (const { rule, uuid, code } of lengths) {
      it(`uuid length is 1..64: ${rule}`, async () => {
        const cardId = await createCard(emulator, token);
        expectCode(await send(CONTENT_WRITE.request(cardId, 1), { uuid }), code);
        expect(sequenceOf(cardId)).toBe(code === 0 ? 1 : 0);
      });
    }
  });

  it('the card log records every write attempt with time, endpoint, sequence, uuid and outcome code', async () => {
    const cardId = await createCard(emulator, token);
    const windows: [number, number][] = [];
    const timed = async (act: () => Promise<ApiResponse>) => {
      const before = emulator.clock.now();
      const res = await act();
      windows.push([before, emulator.clock.now()]);
      return res;
    };
    expectCode(await timed(() => send(CONTENT_WRITE.request(cardId, 1), { uuid: 'op-1' })), 0);
    emulator.clock.advance(60_000);
    expectCode(await timed(() => send(SETTINGS_WRITE.request(cardId, 1))), 300317);
    expectCode(await timed(() => send(PATCH_WRITE.request(cardId, 2), { uuid: 'op-1' })), 200770);
    emulator.lockCard(cardId, 60_000);
    expectCode(await timed(() => send(CONTENT_WRITE.request(cardId, 3))), 200810);
    emulator.clock.advance(60_000);
    expectCode(await timed(() => api(emulator, 'DELETE', `${CARDS}/${cardId}/elements/gone`, { token, body: { sequence: 4 } })), 300314);

    const log = emulator.card(cardId)!.log;
    expect(logWithoutTimes(log)).toEqual([
      { endpoint: 'cardkit.card.create', sequence: null, uuid: null, code: 0 },
      { endpoint: 'cardkit.cardElement.content', sequence: 1, uuid: 'op-1', code: 0, element_id: 'answer', content_length: 6 },
      { endpoint: 'cardkit.card.settings', sequence: 1, uuid: null, code: 300317 },
      { endpoint: 'cardkit.cardElement.patch', sequence: 2, uuid: 'op-1', code: 200770, element_id: 'answer', content_length: 9 },
      { endpoint: 'cardkit.cardElement.content', sequence: 3, uuid: null, code: 200810, element_id: 'answer', content_length: 6 },
      { endpoint: 'cardkit.cardElement.delete', sequence: 4, uuid: null, code: 300314, element_id: 'gone' },
    ]);
    log.slice(1).forEach((entry, i) => {
      const [before, after] = windows[i]!;
      expect(entry.time).toBeGreaterThanOrEqual(before);
      expect(entry.time).toBeLessThanOrEqual(after);
    });
  });

  describe('interaction lock', () => {
    it('emulator.lockCard makes every write answer 200810 until the lock ends', async () => {
      const cardId = await createCard(emulator, token);
      expect(emulator.lockCard(cardId, 60_000)).toBe(true);
      expectCode(await putContent(emulator, token, cardId, 1, 'locked'), 200810);
      expectCode(await send(SETTINGS_WRITE.request(cardId, 2)), 200810);
      expect(sequenceOf(cardId)).toBe(0);
      expect(elementText(emulator, cardId)).toBe('');
      emulator.clock.advance(60_000);
      expectCode(await putContent(emulator, token, cardId, 1, 'unlocked'), 0);
      expect(elementText(emulator, cardId)).toBe('unlocked');
    });

    it('POST /_emulator/cards/:card_id/interaction locks the card the same way', async () => {
      const cardId = await createCard(emulator, token);
      const response = await fetch(`${emulator.url}/_emulator/cards/${cardId}/interaction`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ms: 60_000 }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ locked: true });
      expectCode(await send(PATCH_WRITE.request(cardId, 1)), 200810);
      emulator.clock.advance(60_000);
      expectCode(await send(PATCH_WRITE.request(cardId, 1)), 0);
      expect(elementText(emulator, cardId)).toBe('patched 1');
    });

    it('locking an unknown card fails: lockCard answers false, the control route 404', async () => {
      expect(emulator.lockCard('7000000000000000000', 60_000)).toBe(false);
      const response = await fetch(`${emulator.url}/_emulator/cards/7000000000000000000/interaction`, {
        method: 'POST',
        body: JSON.stringify({ ms: 60_000 }),
      });
      expect(response.status).toBe(404);
    });
  });
});
