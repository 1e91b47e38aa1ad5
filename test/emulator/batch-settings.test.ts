/**
 * Contract: POST …/cards/:card_id/batch_update and PATCH …/cards/:card_id/settings (reference §3, §4,
 * §13, §19.6, §19.8). The card under test is `streamingCard()`: body elements `answer` (markdown),
 * `note_div` (a div whose plain_text is `note`), `stop_btn` (button) and `panel` (collapsible_panel).
 */
import { describe, expect, it } from 'vitest';
import { type Emulator } from '../../src/emulator/index.js';
import { type ApiResponse, api, createCard, elementText, patchSettings, putContent, settingsPath, streamingCard, useEmulator } from '../support/emulator-http.js';

const CARDS = '/open-apis/cardkit/v1/cards';

type Element = Record<string, unknown>;

/** HTTP 200 with code 0, or HTTP 400 with the business error code (reference §0). */
function expectCode(res: ApiResponse, code: number): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status: code === 0 ? 200 : 400, code });
}

function markdown(elementId: string, content = elementId): Element {
  return { tag: 'markdown', element_id: elementId, content };
}

/** One batch action; params are plain JSON objects, not JSON strings (reference §4). */
function action(name: string, params: Record<string, unknown>): Record<string, unknown> {
  return { action: name, params };
}

/** A first action that succeeds on `streamingCard()`, so a later failing action shows nothing is half-applied. */
const ADD_FIRST = action('add_elements', { type: 'append', elements: [markdown('added_first')] });

/** An action that fails on `streamingCard()`, with the code the batch answers. */
const FAILING_ACTIONS: { rule: string; action: Record<string, unknown>; code: number }[] = [
  {
    rule: 'add_elements to a target that does not exist is 300315',
    action: action('add_elements', { type: 'insert_after', target_element_id: 'nowhere', elements: [markdown('x')] }),
    code: 300315,
  },
  {
    rule: 'add_elements with an element_id already on the card is 300301',
    action: action('add_elements', { type: 'append', elements: [markdown('answer')] }),
    code: 300301,
  },
  {
    rule: 'add_elements past 200 elements is 300305',
    action: action('add_elements', { type: 'append', elements: Array.from({ length: 200 }, () => ({ tag: 'markdown', content: 'x' })) }),
    code: 300305,
  },
  {
    rule: 'delete_elements of an element that does not exist is 300314',
    action: action('delete_elements', { element_ids: ['stop_btn', 'missing'] }),
    code: 300314,
  },
  {
    rule: 'partial_update_element of an element that does not exist is 300313',
    action: action('partial_update_element', { element_id: 'missing', partial_element: { content: 'x' } }),
    code: 300313,
  },
  {
    rule: 'partial_update_element that changes the tag is 300312',
    action: action('partial_update_element', { element_id: 'answer', partial_element: { tag: 'plain_text' } }),
    code: 300312,
  },
  {
    rule: 'update_element of an element that does not exist is 300121',
    action: action('update_element', { element_id: 'missing', element: markdown('missing') }),
    code: 300121,
  },
  {
    rule: 'partial_update_setting with update_multi false is 300302',
    action: action('partial_update_setting', { settings: { config: { update_multi: false } } }),
    code: 300302,
  },
  {
    rule: 'an unknown action is 10002',
    action: action('replace_everything', { element_id: 'answer' }),
    code: 10002,
  },
  {
    rule: 'double-encoded params (a JSON string instead of an object) are 10002',
    action: action('partial_update_setting', { settings: JSON.stringify({ config: { summary: { content: 'x' } } }) }),
    code: 10002,
  },
];

describe('batch_update and settings', () => {
  let emulator: Emulator;
  let token: string;
  const fixture = useEmulator((started) => ({ emulator, token } = started));

  const batch = (cardId: string, sequence: number, actions: unknown[]) =>
    api(emulator, 'POST', `${CARDS}/${cardId}/batch_update`, { token, body: { actions: JSON.stringify(actions), sequence } });
  const bodyIds = (cardId: string) =>
    ((emulator.card(cardId)?.card.body as { elements: Element[] }).elements ?? []).map((e) => e.element_id);
  const configOf = (cardId: string) => emulator.card(cardId)?.card.config;
  /** Asserts the card was left exactly as `before` and its sequence did not move. */
  const expectUnchanged = (cardId: string, before: unknown, sequence = 0) => {
    expect(emulator.card(cardId)?.card).toEqual(before);
    expect(emulator.card(cardId)?.sequence).toBe(sequence);
  };

  describe('batch_update', () => {
    it('applies all five action types in order under one sequence', async () => {
      const cardId = await createCard(emulator, token);
      const res = await batch(cardId, 1, [
        action('partial_update_setting', { settings: { config: { summary: { content: 'Working' } } } }),
        action('add_elements', { type: 'insert_after', target_element_id: 'answer', elements: [markdown('added', 'new')] }),
        // Only works because the add above already applied: actions run in order on one draft.
        action('partial_update_element', { element_id: 'added', partial_element: { content: 'patched' } }),
        action('update_element', { element_id: 'stop_btn', element: markdown('stop_md', 'was a button') }),
        action('delete_elements', { element_ids: ['note_div'] }),
      ]);
      expectCode(res, 0);
      const snapshot = emulator.card(cardId)!;
      expect(bodyIds(cardId)).toEqual(['answer', 'added', 'stop_md', 'panel']);
      expect(elementText(emulator, cardId, 'added')).toBe('patched');
      expect(elementText(emulator, cardId, 'stop_md')).toBe('was a button');
      expect(elementText(emulator, cardId, 'note')).toBeUndefined();
      expect(configOf(cardId)).toMatchObject({ summary: { content: 'Working' } });
      expect(snapshot.sequence).toBe(1);
      expect(snapshot.log.slice(1).map(({ endpoint, sequence, code }) => ({ endpoint, sequence, code }))).toEqual([
        { endpoint: 'cardkit.card.batchUpdate', sequence: 1, code: 0 },
      ]);
    });

    it('update_element may change the tag: markdown becomes a button', async () => {
      const cardId = await createCard(emulator, token);
      const button = { tag: 'button', element_id: 'answer_btn', text: { tag: 'plain_text', content: 'Go' } };
      expectCode(await batch(cardId, 1, [action('update_element', { element_id: 'answer', element: button })]), 0);
      expect(bodyIds(cardId)).toEqual(['answer_btn', 'note_div', 'stop_btn', 'panel']);
    });

    it('actions apply in order: patching an element before the action that adds it is 300313', async () => {
      const cardId = await createCard(emulator, token);
      const before = emulator.card(cardId)!.card;
      const res = await batch(cardId, 1, [
        action('partial_update_element', { element_id: 'added', partial_element: { content: 'too early' } }),
        action('add_elements', { type: 'append', elements: [markdown('added')] }),
      ]);
      expectCode(res, 300313);
      expectUnchanged(cardId, before);
    });

    it('is all-or-nothing: a failing action leaves the card unchanged and the sequence not advanced', async () => {
      const cardId = await createCard(emulator, token);
      const before = emulator.card(cardId)!.card;
      const res = await batch(cardId, 1, [
        ADD_FIRST,
        action('partial_update_setting', { settings: { config: { summary: { content: 'half' } } } }),
        action('delete_elements', { element_ids: ['missing'] }),
      ]);
      expectCode(res, 300314);
      expectUnchanged(cardId, before);
      // Sequence 1 was not used up by the refused batch.
      expectCode(await batch(cardId, 1, [ADD_FIRST]), 0);
      expect(bodyIds(cardId)).toEqual(['answer', 'note_div', 'stop_btn', 'panel', 'added_first']);
    });

    for (const { rule, action: failing, code } of FAILING_ACTIONS) {
      it(`${rule}, and nothing of the batch applies`, async () => {
        const cardId = await createCard(emulator, token);
        const before = emulator.card(cardId)!.card;
        expectCode(await batch(cardId, 1, [ADD_FIRST, failing]), code);
        expectUnchanged(cardId, before);
      });
    }

    it('partial_update_setting with streaming_mode true re-opens streaming for a new window', async () => {
      const cardId = await createCard(emulator, token);
      emulator.clock.advance(600_000);
      expectCode(await putContent(emulator, token, cardId, 1, 'late'), 200850);
      expect(emulator.card(cardId)?.streaming_mode).toBe(false);
      const reopen = action('partial_update_setting', { settings: { config: { streaming_mode: true } } });
      expectCode(await batch(cardId, 2, [reopen]), 0);
      expect(emulator.card(cardId)?.streaming_mode).toBe(true);
      emulator.clock.advance(599_000);
      expectCode(await putContent(emulator, token, cardId, 3, 'on time'), 0);
      expect(elementText(emulator, cardId)).toBe('on time');
    });

    it('partial_update_setting with streaming_mode false closes streaming', async () => {
      const cardId = await createCard(emulator, token);
      const close = action('partial_update_setting', { settings: { config: { streaming_mode: false } } });
      expectCode(await batch(cardId, 1, [close]), 0);
      expect(emulator.card(cardId)?.streaming_mode).toBe(false);
      expectCode(await putContent(emulator, token, cardId, 2, 'x'), 300309);
    });

    it('a refused batch does not change streaming mode', async () => {
      const cardId = await createCard(emulator, token);
      const close = action('partial_update_setting', { settings: { config: { streaming_mode: false } } });
      expectCode(await batch(cardId, 1, [close, action('delete_elements', { element_ids: ['missing'] })]), 300314);
      expect(emulator.card(cardId)?.streaming_mode).toBe(true);
      expectCode(await putContent(emulator, token, cardId, 1, 'still streaming'), 0);
    });

    it('actions must be a JSON string of a non-empty array of { action, params } (10002)', async () => {
      const cardId = await createCard(emulator, token);
      const path = `${CARDS}/${cardId}/batch_update`;
      expectCode(await batch(cardId, 1, []), 10002);
      expectCode(await api(emulator, 'POST', path, { token, body: { actions: [ADD_FIRST], sequence: 1 } }), 10002);
      expectCode(await batch(cardId, 1, [{ action: 'add_elements' }]), 10002);
      expect(emulator.card(cardId)?.sequence).toBe(0);
    });
  });

  describe('settings', () => {
    it('the documented {"config":{…}} form merges into config: summary and streaming_config are kept', async () => {
      const card = streamingCard();
      const cardId = await createCard(emulator, token, card);
      expectCode(await patchSettings(emulator, token, cardId, 1, { config: { width_mode: 'fill' } }), 0);
      expect(configOf(cardId)).toEqual({ ...(card.config as object), width_mode: 'fill' });
      expectCode(await patchSettings(emulator, token, cardId, 2, { config: { summary: { content: 'Done' } } }), 0);
      expect(configOf(cardId)).toEqual({ ...(card.config as object), width_mode: 'fill', summary: { content: 'Done' } });
      expect(emulator.card(cardId)?.sequence).toBe(2);
    });

    it('config.update_multi false is 300302; true is accepted', async () => {
      const cardId = await createCard(emulator, token);
      const before = emulator.card(cardId)!.card;
      expectCode(await patchSettings(emulator, token, cardId, 1, { config: { update_multi: false } }), 300302);
      expectUnchanged(cardId, before);
      expectCode(await patchSettings(emulator, token, cardId, 1, { config: { update_multi: true } }), 0);
      expect(configOf(cardId)).toMatchObject({ update_multi: true });
    });

    it('card_link is set, alone or together with config', async () => {
      const cardId = await createCard(emulator, token);
      const link = { url: 'https://open.feishu.cn', pc_url: 'https://open.feishu.cn/pc' };
      expectCode(await patchSettings(emulator, token, cardId, 1, { card_link: link }), 0);
      expect(emulator.card(cardId)?.card.card_link).toEqual(link);
      const other = { url: 'https://example.com' };
      expectCode(await patchSettings(emulator, token, cardId, 2, { config: { summary: { content: 'S' } }, card_link: other }), 0);
      expect(emulator.card(cardId)?.card).toMatchObject({ card_link: other, config: { summary: { content: 'S' } } });
    });

    it('the flat form {"streaming_mode":true} is refused with 10002 by default', async () => {
      const cardId = await createCard(emulator, token, streamingCard({ config: { streaming_mode: false } }));
      const before = emulator.card(cardId)!.card;
      expectCode(await patchSettings(emulator, token, cardId, 1, { streaming_mode: true }), 10002);
      expectUnchanged(cardId, before);
      expect(emulator.card(cardId)?.streaming_mode).toBe(false);
    });

    it('with acceptFlatSettings the flat form {"streaming_mode":true} is accepted and opens streaming', async () => {
      await fixture.restart({ acceptFlatSettings: true });
      const cardId = await createCard(emulator, token, streamingCard({ config: { streaming_mode: false } }));
      expectCode(await patchSettings(emulator, token, cardId, 1, { streaming_mode: true }), 0);
      expect(emulator.card(cardId)?.streaming_mode).toBe(true);
      expectCode(await putContent(emulator, token, cardId, 2, 'flat works'), 0);
      expect(elementText(emulator, cardId)).toBe('flat works');
    });

    it('settings must be a JSON string: an object is 10002, bad JSON 200220, an empty string 300307', async () => {
      const cardId = await createCard(emulator, token);
      const send = (settings: unknown, sequence: number) =>
        api(emulator, 'PATCH', settingsPath(cardId), { token, body: { settings, sequence } });
      expectCode(await send({ config: { width_mode: 'fill' } }, 1), 10002);
      expectCode(await send('{"config":', 2), 200220);
      expectCode(await send('', 3), 300307);
      expect(emulator.card(cardId)?.sequence).toBe(0);
    });

    it('settings longer than 100,000 characters is 10002', async () => {
      const cardId = await createCard(emulator, token);
      const json = JSON.stringify({ config: { summary: { content: 'long' } } });
      const settings = json + ' '.repeat(100_001 - json.length);
      const res = await api(emulator, 'PATCH', settingsPath(cardId), { token, body: { settings, sequence: 1 } });
      expectCode(res, 10002);
      expect(emulator.card(cardId)?.sequence).toBe(0);
    });
  });
});
