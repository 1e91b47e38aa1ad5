import { describe, expect, it } from 'vitest';
import { type BatchAction, type FeishuClient, cardEntityContent, isCardGone, isReplayApplied } from '../../src/client/index.js';
import type { CardSnapshot, Emulator, EmulatorApp } from '../../src/emulator/index.js';
import { type TestClient, clientFor, expectApiError } from '../support/client.js';
import { elementText, streamingCard, useEmulator } from '../support/emulator-http.js';

const APP_X: EmulatorApp = { appId: 'cli_x', appSecret: 's_x' };
const APP_Y: EmulatorApp = { appId: 'cli_y', appSecret: 's_y' };
const UNKNOWN_CARD = '7000000000000000000';
const DAY = 24 * 60 * 60_000;
/** Many tests write to one card in quick succession; the per-card 10/s limit is not what they check. */
const LIMITS = { limits: { cardQps: 1000 } };

type Element = Record<string, unknown>;

/** A Card JSON 2.0 card with one markdown element, streaming off. */
function plainCard(text: string): Record<string, unknown> {
  return { schema: '2.0', config: { streaming_mode: false }, body: { elements: [{ tag: 'markdown', element_id: 'answer', content: text }] } };
}

describe('FeishuClient CardKit endpoints against the emulator', () => {
  let emulator: Emulator;
  let tc: TestClient;
  const fixture = useEmulator((started) => {
    emulator = started.emulator;
    tc = clientFor(emulator);
  }, LIMITS);

  const card = () => tc.client.cardkit.v1.card;
  const element = () => tc.client.cardkit.v1.cardElement;

  async function newCard(json: Record<string, unknown> | string = streamingCard()): Promise<string> {
    return (await card().create({ data: json })).card_id;
  }

  function snapshot(cardId: string): CardSnapshot {
    const found = emulator.card(cardId);
    if (!found) throw new Error(`the emulator has no card ${cardId}`);
    return found;
  }

  /** The card's top-level body elements. */
  function bodyElements(cardId: string): Element[] {
    return (snapshot(cardId).card.body as { elements: Element[] }).elements;
  }

  function topIds(cardId: string): unknown[] {
    return bodyElements(cardId).map((e) => e.element_id);
  }

  /** Restarts with a second app, cli_y; returns a client for it. */
  async function withSecondApp(): Promise<TestClient> {
    await fixture.restart({ apps: [APP_X, APP_Y], ...LIMITS });
    return clientFor(emulator, APP_Y);
  }

  describe('the card checks every write endpoint shares', () => {
    interface WriteCase {
      endpoint: string;
      /** One valid write on a fresh `streamingCard()`. */
      write: (client: FeishuClient, cardId: string, sequence: number, uuid?: string) => Promise<unknown>;
    }
    const WRITES: WriteCase[] = [
      {
        endpoint: 'cardkit.card.update',
        write: (c, card_id, sequence, uuid) => c.cardkit.v1.card.update({ card_id, sequence, uuid, card: { data: streamingCard() } }),
      },
      {
        endpoint: 'cardkit.card.settings',
        write: (c, card_id, sequence, uuid) =>
          c.cardkit.v1.card.settings({ card_id, sequence, uuid, settings: { config: { summary: { content: 'S' } } } }),
      },
      {
        endpoint: 'cardkit.card.batchUpdate',
        write: (c, card_id, sequence, uuid) =>
          c.cardkit.v1.card.batchUpdate({
            card_id,
            sequence,
            uuid,
            actions: [{ action: 'partial_update_element', params: { element_id: 'answer', partial_element: { content: 'b' } } }],
          }),
      },
      {
        endpoint: 'cardkit.cardElement.create',
        write: (c, card_id, sequence, uuid) =>
          c.cardkit.v1.cardElement.create({ card_id, sequence, uuid, type: 'append', elements: [{ tag: 'markdown', content: 'added' }] }),
      },
      {
        endpoint: 'cardkit.cardElement.update',
        write: (c, card_id, sequence, uuid) =>
          c.cardkit.v1.cardElement.update({ card_id, sequence, uuid, element_id: 'stop_btn', element: { tag: 'markdown', content: 'u' } }),
      },
      {
        endpoint: 'cardkit.cardElement.patch',
        write: (c, card_id, sequence, uuid) =>
          c.cardkit.v1.cardElement.patch({ card_id, sequence, uuid, element_id: 'answer', partial_element: { content: 'p' } }),
      },
      {
        endpoint: 'cardkit.cardElement.content',
        write: (c, card_id, sequence, uuid) => c.cardkit.v1.cardElement.content({ card_id, sequence, uuid, element_id: 'answer', content: 'c' }),
      },
      {
        endpoint: 'cardkit.cardElement.delete',
        write: (c, card_id, sequence, uuid) => c.cardkit.v1.cardElement.delete({ card_id, sequence, uuid, element_id: 'stop_btn' }),
      },
    ];

    describe.each(WRITES)('$endpoint', ({ endpoint, write }) => {
      it('a valid write is accepted and the emulator records it with its sequence and uuid', async () => {
        const cardId = await newCard();
        await expect(write(tc.client, cardId, 1, 'u-1')).resolves.toEqual({});
        expect(snapshot(cardId).sequence).toBe(1);
        expect(snapshot(cardId).log.at(-1)).toMatchObject({ endpoint, sequence: 1, uuid: 'u-1', code: 0 });
        expect(emulator.stats().endpoints[endpoint]).toEqual({ accepted: 1, rejected: 0 });
      });

      it('reusing a sequence is 300317, a sequence conflict, and the card keeps the first write', async () => {
        const cardId = await newCard();
        await write(tc.client, cardId, 1);
        const after = snapshot(cardId).card;
        await expectApiError(tc, write(tc.client, cardId, 1), { code: 300317, category: 'sequence_conflict', endpoint });
        expect(snapshot(cardId)).toMatchObject({ sequence: 1, card: after });
        expect(snapshot(cardId).log.at(-1)).toMatchObject({ endpoint, sequence: 1, code: 300317 });
      });

      it('reusing a uuid with a higher sequence is 200770 (fatal) and consumes no sequence', async () => {
        const cardId = await newCard();
        await write(tc.client, cardId, 1, 'same-uuid');
        const error = await expectApiError(tc, write(tc.client, cardId, 2, 'same-uuid'), { code: 200770, category: 'fatal', endpoint });
        expect(isReplayApplied(error)).toBe(true);
        expect(snapshot(cardId).sequence).toBe(1);
      });

      it('an unknown card_id is 200740 (card_gone)', async () => {
        const error = await expectApiError(tc, write(tc.client, UNKNOWN_CARD, 1), { code: 200740, category: 'card_gone', endpoint });
        expect(isCardGone(error)).toBe(true);
        expect(emulator.card(UNKNOWN_CARD)).toBeUndefined();
      });

      it('a card in a callback interaction is 200810 (retryable); once the lock ends a new sequence lands', async () => {
        const cardId = await newCard();
        expect(emulator.lockCard(cardId, 3000)).toBe(true);
        const error = await expectApiError(tc, write(tc.client, cardId, 1), { code: 200810, category: 'retryable', endpoint });
        expect(error.retryable).toBe(true);
        expect(snapshot(cardId).sequence).toBe(0);
        emulator.clock.advance(3000);
        await expect(write(tc.client, cardId, 2)).resolves.toEqual({});
        expect(snapshot(cardId).sequence).toBe(2);
      });

      it("another app's write is 300311 (card_gone) and leaves the card alone", async () => {
        const other = await withSecondApp();
        const cardId = await newCard();
        const before = snapshot(cardId).card;
        const error = await expectApiError(other, write(other.client, cardId, 1), { code: 300311, category: 'card_gone', endpoint });
        expect(isCardGone(error)).toBe(true);
        expect(snapshot(cardId)).toMatchObject({ sequence: 0, card: before, app_id: 'cli_x' });
      });

      it('a write 14 days after creation is 200750 (card_gone)', async () => {
        const cardId = await newCard();
        emulator.clock.advance(14 * DAY);
        const error = await expectApiError(tc, write(tc.client, cardId, 1), { code: 200750, category: 'card_gone', endpoint });
        expect(isCardGone(error)).toBe(true);
        expect(snapshot(cardId).sequence).toBe(0);
      });
    });
  });

  describe('card.create', () => {
    it('creates a card entity from a card JSON object: 19-digit id, the same card, streaming on, sequence 0', async () => {
      const json = streamingCard();
      const { card_id: cardId } = await card().create({ data: json });
      expect(cardId).toMatch(/^\d{19}$/);
      const created = snapshot(cardId);
      expect(created.card).toEqual(json);
      expect(created).toMatchObject({ app_id: 'cli_x', streaming_mode: true, sequence: 0, message_id: null });
      expect(created.log).toEqual([expect.objectContaining({ endpoint: 'cardkit.card.create', code: 0 })]);
      expect(emulator.stats().endpoints['cardkit.card.create']).toEqual({ accepted: 1, rejected: 0 });
    });

    it('sends string data as it is (not encoded a second time), with an explicit type card_json', async () => {
      const json = plainCard('fixed');
      const { card_id: cardId } = await card().create({ type: 'card_json', data: JSON.stringify(json) });
      expect(snapshot(cardId)).toMatchObject({ card: json, streaming_mode: false });
    });

    it('type template is 10002 (fatal) from the emulator and creates nothing', async () => {
      const template = { template_id: 'AAq1', template_version_name: '1.0.0', template_variable: {} };
      await expectApiError(tc, card().create({ type: 'template', data: template }), {
        code: 10002,
        category: 'fatal',
        endpoint: 'cardkit.card.create',
      });
      expect(emulator.cards()).toEqual([]);
    });

    it.each([
      { rule: 'a card that is not schema 2.0 is 300303', data: { elements: [{ tag: 'markdown', content: 'v1' }] }, code: 300303 },
      { rule: 'update_multi false is 300302', data: streamingCard({ config: { update_multi: false } }), code: 300302 },
      {
        rule: 'a duplicate element_id is 300301',
        data: { schema: '2.0', body: { elements: [{ tag: 'markdown', element_id: 'a', content: '' }, { tag: 'markdown', element_id: 'a', content: '' }] } },
        code: 300301,
      },
      {
        rule: 'an element_id starting with a digit inside the card is 300301',
        data: { schema: '2.0', body: { elements: [{ tag: 'markdown', element_id: '1a', content: '' }] } },
        code: 300301,
      },
      {
        rule: 'more than 200 elements is 300305',
        data: { schema: '2.0', body: { elements: Array.from({ length: 201 }, () => ({ tag: 'markdown', content: 'x' })) } },
        code: 300305,
      },
      { rule: 'a card over 30 KB is 200860 (too large)', data: plainCard('x'.repeat(31 * 1024)), code: 200860, category: 'too_large' as const },
      { rule: 'data that is not JSON is 200220', data: '{"schema":"2.0",', code: 200220 },
      { rule: 'blank data is 300307', data: '   ', code: 300307 },
    ])('$rule and creates nothing', async ({ data, code, category }) => {
      await expectApiError(tc, card().create({ data }), { code, category: category ?? 'fatal', endpoint: 'cardkit.card.create' });
      expect(emulator.cards()).toEqual([]);
    });
  });

  describe('card.update', () => {
    it('replaces the whole card; streaming follows the new card config', async () => {
      const cardId = await newCard();
      const final = plainCard('Done');
      await expect(card().update({ card_id: cardId, sequence: 1, uuid: 'full-1', card: { type: 'card_json', data: final } })).resolves.toEqual({});
      expect(snapshot(cardId)).toMatchObject({ card: final, streaming_mode: false, sequence: 1 });
      expect(snapshot(cardId).log.at(-1)).toMatchObject({ endpoint: 'cardkit.card.update', sequence: 1, uuid: 'full-1', code: 0 });
    });

    it('sends string card data as it is', async () => {
      const cardId = await newCard();
      const final = plainCard('From a string');
      await card().update({ card_id: cardId, sequence: 1, card: { data: JSON.stringify(final) } });
      expect(snapshot(cardId).card).toEqual(final);
    });

    it.each([
      { rule: 'a card that is not schema 2.0 is 300303', data: { elements: [] }, code: 300303, category: 'fatal' as const },
      { rule: 'update_multi false is 300302', data: streamingCard({ config: { update_multi: false } }), code: 300302, category: 'fatal' as const },
      { rule: 'a card over 30 KB is 200860 (too large)', data: plainCard('x'.repeat(31 * 1024)), code: 200860, category: 'too_large' as const },
    ])('$rule and leaves the card as it was', async ({ data, code, category }) => {
      const cardId = await newCard();
      const before = snapshot(cardId).card;
      await expectApiError(tc, card().update({ card_id: cardId, sequence: 1, card: { data } }), { code, category, endpoint: 'cardkit.card.update' });
      expect(snapshot(cardId)).toMatchObject({ card: before, sequence: 0 });
    });
  });

  describe('card.settings', () => {
    it('object settings with streaming_mode false close streaming mode; content then gets 300309 (streaming closed)', async () => {
      const cardId = await newCard();
      await expect(card().settings({ card_id: cardId, sequence: 1, settings: { config: { streaming_mode: false } } })).resolves.toEqual({});
      expect(snapshot(cardId)).toMatchObject({ streaming_mode: false, streaming_closes_at: null, summary: null, sequence: 1 });
      expect((snapshot(cardId).card.config as Record<string, unknown>).streaming_mode).toBe(false);
      await expectApiError(tc, element().content({ card_id: cardId, element_id: 'answer', content: 'late', sequence: 2 }), {
        code: 300309,
        category: 'streaming_closed',
        endpoint: 'cardkit.cardElement.content',
      });
    });

    it('string settings with streaming_mode true re-open streaming mode for a new 10-minute window', async () => {
      const cardId = await newCard();
      emulator.clock.advance(600_000);
      expect(snapshot(cardId).streaming_mode).toBe(false);
      const sentAt = emulator.clock.now();
      await card().settings({ card_id: cardId, sequence: 1, settings: JSON.stringify({ config: { streaming_mode: true } }) });
      const answeredAt = emulator.clock.now();
      const reopened = snapshot(cardId);
      expect(reopened).toMatchObject({ streaming_mode: true, summary: '[生成中...]' });
      expect(reopened.streaming_closes_at).toBeGreaterThanOrEqual(sentAt + 600_000);
      expect(reopened.streaming_closes_at).toBeLessThanOrEqual(answeredAt + 600_000);
      await element().content({ card_id: cardId, element_id: 'answer', content: 'streamed', sequence: 2 });
      expect(elementText(emulator, cardId)).toBe('streamed');
    });

    it('settings merge into the config: a summary change leaves streaming mode and streaming_config alone', async () => {
      const cardId = await newCard();
      const before = snapshot(cardId).card.config as Record<string, unknown>;
      await card().settings({ card_id: cardId, sequence: 1, settings: { config: { summary: { content: 'Thinking' } } } });
      expect(snapshot(cardId)).toMatchObject({ summary: 'Thinking', streaming_mode: true });
      expect(snapshot(cardId).card.config).toEqual({ ...before, summary: { content: 'Thinking' } });
    });

    it('update_multi false is 300302 (fatal) and changes nothing', async () => {
      const cardId = await newCard();
      await expectApiError(tc, card().settings({ card_id: cardId, sequence: 1, settings: { config: { update_multi: false } } }), {
        code: 300302,
        category: 'fatal',
        endpoint: 'cardkit.card.settings',
      });
      expect(snapshot(cardId)).toMatchObject({ sequence: 0, streaming_mode: true });
    });
  });

  describe('card.batchUpdate', () => {
    const ACTIONS: { name: string; action: BatchAction; check: (cardId: string) => void }[] = [
      {
        name: 'partial_update_setting changes the config (closes streaming, sets a summary)',
        action: { action: 'partial_update_setting', params: { settings: { config: { streaming_mode: false, summary: { content: 'Done' } } } } },
        check: (cardId) => expect(snapshot(cardId)).toMatchObject({ streaming_mode: false, summary: 'Done' }),
      },
      {
        name: 'add_elements inserts before its target',
        action: { action: 'add_elements', params: { type: 'insert_before', target_element_id: 'answer', elements: [{ tag: 'markdown', element_id: 'intro', content: 'Intro' }] } },
        check: (cardId) => expect(topIds(cardId)).toEqual(['intro', 'answer', 'note_div', 'stop_btn', 'panel']),
      },
      {
        name: 'delete_elements removes every element it names',
        action: { action: 'delete_elements', params: { element_ids: ['stop_btn', 'panel'] } },
        check: (cardId) => expect(topIds(cardId)).toEqual(['answer', 'note_div']),
      },
      {
        name: 'partial_update_element merges properties into an element',
        action: { action: 'partial_update_element', params: { element_id: 'answer', partial_element: { content: 'patched', text_size: 'heading' } } },
        check: (cardId) => expect(bodyElements(cardId)[0]).toEqual({ tag: 'markdown', element_id: 'answer', content: 'patched', text_size: 'heading' }),
      },
      {
        name: 'update_element replaces an element whole, tag included',
        action: { action: 'update_element', params: { element_id: 'stop_btn', element: { tag: 'markdown', element_id: 'stopped', content: 'Stopped' } } },
        check: (cardId) => expect(bodyElements(cardId)[2]).toEqual({ tag: 'markdown', element_id: 'stopped', content: 'Stopped' }),
      },
    ];

    it.each(ACTIONS)('$name', async ({ action, check }) => {
      const cardId = await newCard();
      await expect(card().batchUpdate({ card_id: cardId, sequence: 1, actions: [action] })).resolves.toEqual({});
      check(cardId);
      expect(snapshot(cardId).sequence).toBe(1);
    });

    it('all five action types apply in order under one sequence, as one logged write', async () => {
      const cardId = await newCard();
      const actions: BatchAction[] = [
        { action: 'partial_update_setting', params: { settings: { config: { streaming_mode: false, summary: { content: 'Done' } } } } },
        { action: 'add_elements', params: { type: 'insert_before', target_element_id: 'answer', elements: [{ tag: 'markdown', element_id: 'intro', content: 'Intro' }] } },
        { action: 'update_element', params: { element_id: 'stop_btn', element: { tag: 'markdown', element_id: 'stopped', content: 'Stopped' } } },
        { action: 'partial_update_element', params: { element_id: 'answer', partial_element: { content: 'patched' } } },
        // Names the id the update_element above gave: only works if the actions apply in order.
        { action: 'delete_elements', params: { element_ids: ['stopped', 'panel'] } },
      ];
      await card().batchUpdate({ card_id: cardId, sequence: 7, uuid: 'batch-1', actions });
      expect(topIds(cardId)).toEqual(['intro', 'answer', 'note_div']);
      expect(elementText(emulator, cardId)).toBe('patched');
      expect(snapshot(cardId)).toMatchObject({ streaming_mode: false, summary: 'Done', sequence: 7 });
      const batches = snapshot(cardId).log.filter((entry) => entry.endpoint === 'cardkit.card.batchUpdate');
      expect(batches).toEqual([expect.objectContaining({ sequence: 7, uuid: 'batch-1', code: 0 })]);
    });

    it('sends string actions as they are', async () => {
      const cardId = await newCard();
      const actions = JSON.stringify([{ action: 'partial_update_element', params: { element_id: 'answer', partial_element: { content: 'from a string' } } }]);
      await card().batchUpdate({ card_id: cardId, sequence: 1, actions });
      expect(elementText(emulator, cardId)).toBe('from a string');
    });

    it.each<{ rule: string; action: BatchAction; code: number }>([
      { rule: 'partial_update_element on a missing element is 300313', action: { action: 'partial_update_element', params: { element_id: 'missing', partial_element: { content: 'x' } } }, code: 300313 },
      { rule: 'partial_update_element changing the tag is 300312', action: { action: 'partial_update_element', params: { element_id: 'answer', partial_element: { tag: 'div' } } }, code: 300312 },
      { rule: 'delete_elements naming a missing element is 300314', action: { action: 'delete_elements', params: { element_ids: ['missing'] } }, code: 300314 },
      { rule: 'add_elements with a missing target is 300315', action: { action: 'add_elements', params: { type: 'insert_after', target_element_id: 'missing', elements: [{ tag: 'markdown', content: 'x' }] } }, code: 300315 },
      { rule: 'add_elements with a duplicate element_id is 300301', action: { action: 'add_elements', params: { type: 'append', elements: [{ tag: 'markdown', element_id: 'answer', content: 'x' }] } }, code: 300301 },
      { rule: 'update_element on a missing element is 300121', action: { action: 'update_element', params: { element_id: 'missing', element: { tag: 'markdown', content: 'x' } } }, code: 300121 },
    ])('$rule (fatal), and the earlier actions of the batch do not land either', async ({ action, code }) => {
      const cardId = await newCard();
      const before = snapshot(cardId).card;
      const first: BatchAction = { action: 'partial_update_element', params: { element_id: 'answer', partial_element: { content: 'first' } } };
      await expectApiError(tc, card().batchUpdate({ card_id: cardId, sequence: 1, actions: [first, action] }), {
        code,
        category: 'fatal',
        endpoint: 'cardkit.card.batchUpdate',
      });
      expect(snapshot(cardId)).toMatchObject({ card: before, sequence: 0 });
    });
  });

  describe('card.idConvert', () => {
    it('answers the card entity behind an inline card message, the same one every time', async () => {
      const inline = plainCard('inline');
      const message = await tc.client.im.v1.message.create({ receive_id_type: 'chat_id', receive_id: 'oc_chat', content: inline });
      const { card_id: cardId } = await card().idConvert({ message_id: message.message_id });
      expect(cardId).toMatch(/^\d{19}$/);
      expect(snapshot(cardId)).toMatchObject({ card: inline, message_id: message.message_id, app_id: 'cli_x' });
      await expect(card().idConvert({ message_id: message.message_id })).resolves.toEqual({ card_id: cardId });
      expect(emulator.cards()).toHaveLength(1);
      expect(emulator.stats().endpoints['cardkit.card.idConvert']).toEqual({ accepted: 2, rejected: 0 });
    });

    it('answers the card entity a card-entity message shows', async () => {
      const cardId = await newCard();
      const message = await tc.client.im.v1.message.create({ receive_id_type: 'chat_id', receive_id: 'oc_chat', content: cardEntityContent(cardId) });
      await expect(card().idConvert({ message_id: message.message_id })).resolves.toEqual({ card_id: cardId });
    });

    it('an unknown message_id is 10002 (fatal)', async () => {
      await expectApiError(tc, card().idConvert({ message_id: 'om_unknown' }), { code: 10002, category: 'fatal', endpoint: 'cardkit.card.idConvert' });
      expect(emulator.cards()).toEqual([]);
    });
  });

  describe('cardElement.create', () => {
    const added = { tag: 'markdown', element_id: 'added', content: 'Added' };

    it.each([
      { rule: 'append without a target adds to the end of the body', type: 'append' as const, target: undefined, ids: ['answer', 'note_div', 'stop_btn', 'panel', 'added'] },
      { rule: 'insert_before puts the elements before the target', type: 'insert_before' as const, target: 'note_div', ids: ['answer', 'added', 'note_div', 'stop_btn', 'panel'] },
      { rule: 'insert_after puts the elements after the target', type: 'insert_after' as const, target: 'answer', ids: ['answer', 'added', 'note_div', 'stop_btn', 'panel'] },
    ])('$rule', async ({ type, target, ids }) => {
      const cardId = await newCard();
      const args = { card_id: cardId, sequence: 1, type, elements: [added] };
      await expect(element().create(target === undefined ? args : { ...args, target_element_id: target })).resolves.toEqual({});
      expect(topIds(cardId)).toEqual(ids);
      expect(snapshot(cardId).sequence).toBe(1);
    });

    it('append with a container target adds into the container', async () => {
      const cardId = await newCard();
      await element().create({ card_id: cardId, sequence: 1, type: 'append', target_element_id: 'panel', elements: [added] });
      expect(bodyElements(cardId)[3]).toMatchObject({ element_id: 'panel', elements: [added] });
      expect(topIds(cardId)).toEqual(['answer', 'note_div', 'stop_btn', 'panel']);
    });

    it('sends string elements as they are, several at once in order', async () => {
      const cardId = await newCard();
      const elements = JSON.stringify([added, { tag: 'markdown', element_id: 'added2', content: '2' }]);
      await element().create({ card_id: cardId, sequence: 1, type: 'append', elements });
      expect(topIds(cardId)).toEqual(['answer', 'note_div', 'stop_btn', 'panel', 'added', 'added2']);
    });

    it.each([
      { rule: 'a duplicate element_id is 300301', target: undefined, type: 'append' as const, elements: [{ tag: 'markdown', element_id: 'answer', content: 'x' }], code: 300301 },
      { rule: 'a missing target is 300315', target: 'missing', type: 'insert_after' as const, elements: [added], code: 300315 },
      { rule: 'append into a target that is not a container is 300315', target: 'stop_btn', type: 'append' as const, elements: [added], code: 300315 },
      { rule: 'more than 200 elements in the card is 300305', target: undefined, type: 'append' as const, elements: Array.from({ length: 200 }, () => ({ tag: 'markdown', content: 'x' })), code: 300305 },
      { rule: 'a card over 30 KB is 200860 (too large)', target: undefined, type: 'append' as const, elements: [{ tag: 'markdown', content: 'x'.repeat(31 * 1024) }], code: 200860, category: 'too_large' as const },
    ])('$rule and adds nothing', async ({ target, type, elements, code, category }) => {
      const cardId = await newCard();
      const before = snapshot(cardId).card;
      const args = { card_id: cardId, sequence: 1, type, elements };
      await expectApiError(tc, element().create(target === undefined ? args : { ...args, target_element_id: target }), {
        code,
        category: category ?? 'fatal',
        endpoint: 'cardkit.cardElement.create',
      });
      expect(snapshot(cardId)).toMatchObject({ card: before, sequence: 0 });
    });
  });

  describe('cardElement.update', () => {
    it('replaces an element whole, tag included; without an element_id of its own it keeps the old one', async () => {
      const cardId = await newCard();
      await expect(element().update({ card_id: cardId, sequence: 1, element_id: 'stop_btn', element: { tag: 'markdown', content: 'Stopped' } })).resolves.toEqual({});
      expect(bodyElements(cardId)[2]).toEqual({ tag: 'markdown', element_id: 'stop_btn', content: 'Stopped' });
      expect(snapshot(cardId).log.at(-1)).toMatchObject({ endpoint: 'cardkit.cardElement.update', element_id: 'stop_btn', code: 0 });
    });

    it("the new element's own element_id renames it; string element data is sent as it is", async () => {
      const cardId = await newCard();
      await element().update({ card_id: cardId, sequence: 1, element_id: 'answer', element: JSON.stringify({ tag: 'markdown', element_id: 'final', content: 'F' }) });
      expect(topIds(cardId)).toEqual(['final', 'note_div', 'stop_btn', 'panel']);
      expect(elementText(emulator, cardId, 'final')).toBe('F');
    });

    it.each([
      { rule: 'a missing element is 300121', elementId: 'missing', element: { tag: 'markdown', content: 'x' }, code: 300121 },
      { rule: 'renaming onto an id the card already has is 300301', elementId: 'answer', element: { tag: 'markdown', element_id: 'stop_btn', content: 'x' }, code: 300301 },
    ])('$rule (fatal) and changes nothing', async ({ elementId, element: replacement, code }) => {
      const cardId = await newCard();
      const before = snapshot(cardId).card;
      await expectApiError(tc, element().update({ card_id: cardId, sequence: 1, element_id: elementId, element: replacement }), {
        code,
        category: 'fatal',
        endpoint: 'cardkit.cardElement.update',
      });
      expect(snapshot(cardId)).toMatchObject({ card: before, sequence: 0 });
    });
  });

  describe('cardElement.patch', () => {
    it('merges the given properties into the element and keeps the rest', async () => {
      const cardId = await newCard();
      await expect(element().patch({ card_id: cardId, sequence: 1, element_id: 'answer', partial_element: { content: 'Hi', text_size: 'heading' } })).resolves.toEqual({});
      expect(bodyElements(cardId)[0]).toEqual({ tag: 'markdown', element_id: 'answer', content: 'Hi', text_size: 'heading' });
    });

    it('an element_id in the partial element renames it; string partial data is sent as it is', async () => {
      const cardId = await newCard();
      await element().patch({ card_id: cardId, sequence: 1, element_id: 'stop_btn', partial_element: JSON.stringify({ element_id: 'halt' }) });
      expect(topIds(cardId)).toEqual(['answer', 'note_div', 'halt', 'panel']);
      expect(bodyElements(cardId)[2]).toMatchObject({ tag: 'button', element_id: 'halt' });
    });

    it.each([
      { rule: 'changing the tag is 300312', elementId: 'answer', partial: { tag: 'div' }, code: 300312 },
      { rule: 'a missing element is 300313', elementId: 'missing', partial: { content: 'x' }, code: 300313 },
    ])('$rule (fatal) and changes nothing', async ({ elementId, partial, code }) => {
      const cardId = await newCard();
      const before = snapshot(cardId).card;
      await expectApiError(tc, element().patch({ card_id: cardId, sequence: 1, element_id: elementId, partial_element: partial }), {
        code,
        category: 'fatal',
        endpoint: 'cardkit.cardElement.patch',
      });
      expect(snapshot(cardId)).toMatchObject({ card: before, sequence: 0 });
    });
  });

  describe('cardElement.content', () => {
    it('sets the full text of a markdown element, each write carrying the whole text so far', async () => {
      const cardId = await newCard();
      await expect(element().content({ card_id: cardId, element_id: 'answer', content: 'Hello', sequence: 1 })).resolves.toEqual({});
      await element().content({ card_id: cardId, element_id: 'answer', content: 'Hello, world', sequence: 2, uuid: 'c-2' });
      expect(elementText(emulator, cardId)).toBe('Hello, world');
      expect(snapshot(cardId).log.slice(-2)).toEqual([
        expect.objectContaining({ endpoint: 'cardkit.cardElement.content', element_id: 'answer', sequence: 1, uuid: null, code: 0 }),
        expect.objectContaining({ endpoint: 'cardkit.cardElement.content', element_id: 'answer', sequence: 2, uuid: 'c-2', code: 0 }),
      ]);
    });

    it('sets the text of a plain_text element', async () => {
      const cardId = await newCard();
      await element().content({ card_id: cardId, element_id: 'note', content: 'Plain', sequence: 1 });
      expect(elementText(emulator, cardId, 'note')).toBe('Plain');
    });

    it('10 minutes after streaming opened: the first write is 200850, later writes 300309, both streaming_closed', async () => {
      const cardId = await newCard();
      await element().content({ card_id: cardId, element_id: 'answer', content: 'a', sequence: 1 });
      emulator.clock.advance(600_000);
      const endpoint = 'cardkit.cardElement.content';
      await expectApiError(tc, element().content({ card_id: cardId, element_id: 'answer', content: 'ab', sequence: 2 }), {
        code: 200850,
        category: 'streaming_closed',
        endpoint,
      });
      await expectApiError(tc, element().content({ card_id: cardId, element_id: 'answer', content: 'abc', sequence: 3 }), {
        code: 300309,
        category: 'streaming_closed',
        endpoint,
      });
      expect(elementText(emulator, cardId)).toBe('a');
      expect(snapshot(cardId).streaming_mode).toBe(false);
    });

    it('a card that never had streaming mode is 300309 (streaming_closed)', async () => {
      const cardId = await newCard(plainCard('fixed'));
      await expectApiError(tc, element().content({ card_id: cardId, element_id: 'answer', content: 'x', sequence: 1 }), {
        code: 300309,
        category: 'streaming_closed',
        endpoint: 'cardkit.cardElement.content',
      });
      expect(elementText(emulator, cardId)).toBe('fixed');
    });

    it.each([
      { rule: 'a button is not text: 300310', elementId: 'stop_btn', content: 'x', code: 300310, category: 'fatal' as const },
      { rule: 'a div is not text (its plain_text is): 300310', elementId: 'note_div', content: 'x', code: 300310, category: 'fatal' as const },
      { rule: 'a missing element is 300313', elementId: 'missing', content: 'x', code: 300313, category: 'fatal' as const },
      { rule: 'text that makes the card larger than 30 KB is 200860', elementId: 'answer', content: 'x'.repeat(31 * 1024), code: 200860, category: 'too_large' as const },
    ])('$rule ($category) and changes nothing', async ({ elementId, content, code, category }) => {
      const cardId = await newCard();
      const before = snapshot(cardId).card;
      await expectApiError(tc, element().content({ card_id: cardId, element_id: elementId, content, sequence: 1 }), {
        code,
        category,
        endpoint: 'cardkit.cardElement.content',
      });
      expect(snapshot(cardId)).toMatchObject({ card: before, sequence: 0 });
    });
  });

  describe('cardElement.delete', () => {
    it('deletes an element and everything nested in it', async () => {
      const cardId = await newCard();
      await expect(element().delete({ card_id: cardId, sequence: 1, element_id: 'note_div' })).resolves.toEqual({});
      expect(topIds(cardId)).toEqual(['answer', 'stop_btn', 'panel']);
      expect(elementText(emulator, cardId, 'note')).toBeUndefined();
      expect(snapshot(cardId).log.at(-1)).toMatchObject({ endpoint: 'cardkit.cardElement.delete', element_id: 'note_div', sequence: 1, code: 0 });
    });

    it('deletes a container with its children', async () => {
      const cardId = await newCard();
      await element().create({ card_id: cardId, sequence: 1, type: 'append', target_element_id: 'panel', elements: [{ tag: 'markdown', element_id: 'inner', content: 'in' }] });
      await element().delete({ card_id: cardId, sequence: 2, element_id: 'panel' });
      expect(topIds(cardId)).toEqual(['answer', 'note_div', 'stop_btn']);
      expect(elementText(emulator, cardId, 'inner')).toBeUndefined();
    });

    it('a missing element is 300314 (fatal) and changes nothing', async () => {
      const cardId = await newCard();
      const before = snapshot(cardId).card;
      await expectApiError(tc, element().delete({ card_id: cardId, sequence: 1, element_id: 'missing' }), {
        code: 300314,
        category: 'fatal',
        endpoint: 'cardkit.cardElement.delete',
      });
      expect(snapshot(cardId)).toMatchObject({ card: before, sequence: 0 });
    });
  });
});
