/**
 * Contract: the element endpoints (reference §5–§9, §12.3, §14).
 * POST …/elements, PUT/PATCH/DELETE …/elements/:element_id, PUT …/elements/:element_id/content.
 * The card under test is `streamingCard()`: body elements `answer` (markdown), `note_div` (a div whose
 * plain_text is `note`), `stop_btn` (button) and `panel` (an empty collapsible_panel, collapsed).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { type Emulator } from '../../src/emulator/index.js';
import { type ApiResponse, api, createCard, elementText, putContent, useEmulator } from '../support/emulator-http.js';

const CARDS = '/open-apis/cardkit/v1/cards';
const MAX_CARD_BYTES = 30 * 1024;

type Element = Record<string, unknown>;

/** HTTP 200 with code 0, or HTTP 400 with the business error code (reference §0). */
function expectCode(res: ApiResponse, code: number): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status: code === 0 ? 200 : 400, code });
}

function markdown(elementId: string, content = elementId): Element {
  return { tag: 'markdown', element_id: elementId, content };
}

/** The element with `elementId` anywhere in the emulator's view of the card. */
function findElement(emulator: Emulator, cardId: string, elementId: string): Element | undefined {
  let found: Element | undefined;
  const visit = (node: unknown): void => {
    if (found || typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    const record = node as Element;
    if (record.element_id === elementId) found = record;
    else Object.values(record).forEach(visit);
  };
  visit(emulator.card(cardId)?.card.body);
  return found;
}

/** element_ids of a list of elements: the card body's, or a container's `elements`. */
function idsOf(elements: unknown): unknown[] {
  return (elements as Element[]).map((e) => e.element_id);
}

describe('element endpoints', () => {
  let emulator: Emulator;
  let token: string;
  const fixture = useEmulator((started) => ({ emulator, token } = started));

  const elementPath = (cardId: string, elementId: string) => `${CARDS}/${cardId}/elements/${elementId}`;
  const addElements = (cardId: string, sequence: number, type: string, elements: Element[], target?: string) =>
    api(emulator, 'POST', `${CARDS}/${cardId}/elements`, {
      token,
      body: { type, ...(target === undefined ? {} : { target_element_id: target }), elements: JSON.stringify(elements), sequence },
    });
  const updateElement = (cardId: string, elementId: string, sequence: number, element: Element) =>
    api(emulator, 'PUT', elementPath(cardId, elementId), { token, body: { element: JSON.stringify(element), sequence } });
  const patchElement = (cardId: string, elementId: string, sequence: number, partial: Element) =>
    api(emulator, 'PATCH', elementPath(cardId, elementId), { token, body: { partial_element: JSON.stringify(partial), sequence } });
  const deleteElement = (cardId: string, elementId: string, sequence: number) =>
    api(emulator, 'DELETE', elementPath(cardId, elementId), { token, body: { sequence } });

  const bodyIds = (cardId: string) => idsOf((emulator.card(cardId)?.card.body as { elements: unknown }).elements);
  const panelIds = (cardId: string) => idsOf(findElement(emulator, cardId, 'panel')?.elements);
  /** Asserts the card was left exactly as `before` and its sequence did not move. */
  const expectUnchanged = (cardId: string, before: unknown, sequence = 0) => {
    expect(emulator.card(cardId)?.card).toEqual(before);
    expect(emulator.card(cardId)?.sequence).toBe(sequence);
  };

  describe('add elements', () => {
    it('insert_before puts the elements, in order, right before the target', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await addElements(cardId, 1, 'insert_before', [markdown('new_a'), markdown('new_b')], 'note_div'), 0);
      expect(bodyIds(cardId)).toEqual(['answer', 'new_a', 'new_b', 'note_div', 'stop_btn', 'panel']);
      expect(emulator.card(cardId)?.sequence).toBe(1);
    });

    it('insert_after puts the elements right after the target', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await addElements(cardId, 1, 'insert_after', [markdown('new_a')], 'note_div'), 0);
      expect(bodyIds(cardId)).toEqual(['answer', 'note_div', 'new_a', 'stop_btn', 'panel']);
    });

    it('append without a target adds to the end of the body', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await addElements(cardId, 1, 'append', [markdown('last')]), 0);
      expect(bodyIds(cardId)).toEqual(['answer', 'note_div', 'stop_btn', 'panel', 'last']);
      expect(findElement(emulator, cardId, 'last')).toEqual(markdown('last'));
    });

    it('append with a container target adds into the container (collapsible_panel)', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await addElements(cardId, 1, 'append', [markdown('inner_a')], 'panel'), 0);
      expectCode(await addElements(cardId, 2, 'append', [markdown('inner_b')], 'panel'), 0);
      expect(panelIds(cardId)).toEqual(['inner_a', 'inner_b']);
      expect(bodyIds(cardId)).toEqual(['answer', 'note_div', 'stop_btn', 'panel']);
    });

    it('insert_before a nested element inserts inside its container', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await addElements(cardId, 1, 'append', [markdown('inner')], 'panel'), 0);
      expectCode(await addElements(cardId, 2, 'insert_before', [markdown('first')], 'inner'), 0);
      expect(panelIds(cardId)).toEqual(['first', 'inner']);
    });

    it('append to an element that is not a container is 300315', async () => {
      const cardId = await createCard(emulator, token);
      const before = emulator.card(cardId)!.card;
      expectCode(await addElements(cardId, 1, 'append', [markdown('child')], 'answer'), 300315);
      expectUnchanged(cardId, before);
    });

    for (const type of ['insert_before', 'insert_after', 'append']) {
      it(`${type} with a target that does not exist is 300315`, async () => {
        const cardId = await createCard(emulator, token);
        const before = emulator.card(cardId)!.card;
        expectCode(await addElements(cardId, 1, type, [markdown('orphan')], 'nowhere'), 300315);
        expectUnchanged(cardId, before);
      });
    }

    it('insert_before without a target is 10002', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await addElements(cardId, 1, 'insert_before', [markdown('orphan')]), 10002);
      expect(findElement(emulator, cardId, 'orphan')).toBeUndefined();
    });

    it('an element_id already on the card is 300301', async () => {
      const cardId = await createCard(emulator, token);
      const before = emulator.card(cardId)!.card;
      expectCode(await addElements(cardId, 1, 'append', [markdown('note')]), 300301);
      expectCode(await addElements(cardId, 2, 'append', [markdown('twin'), markdown('twin')]), 300301);
      expectUnchanged(cardId, before);
    });

    it('a malformed element_id is 300301', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await addElements(cardId, 1, 'append', [markdown('bad-id')]), 300301);
      expect(bodyIds(cardId)).toEqual(['answer', 'note_div', 'stop_btn', 'panel']);
    });

    it('pushing the card over 200 elements is 300305', async () => {
      const elements = Array.from({ length: 199 }, (_, i) => markdown(`md_${i}`, 'x'));
      const cardId = await createCard(emulator, token, { schema: '2.0', body: { elements } });
      expectCode(await addElements(cardId, 1, 'append', [markdown('md_199', 'x')]), 0);
      const before = emulator.card(cardId)!.card;
      expectCode(await addElements(cardId, 2, 'append', [markdown('md_200', 'x')]), 300305);
      expectUnchanged(cardId, before, 1);
      expect(bodyIds(cardId)).toHaveLength(200);
    });

    it('growing the card over 30 KB is 200860', async () => {
      const shell = (content: string) => ({ schema: '2.0', body: { elements: [markdown('big', content)] } });
      const padding = MAX_CARD_BYTES - 200 - Buffer.byteLength(JSON.stringify(shell('')));
      const cardId = await createCard(emulator, token, shell('x'.repeat(padding)));
      const before = emulator.card(cardId)!.card;
      expectCode(await addElements(cardId, 1, 'append', [markdown('tail', 'y'.repeat(300))]), 200860);
      expectUnchanged(cardId, before);
      expectCode(await addElements(cardId, 2, 'append', [markdown('tail', 'y'.repeat(100))]), 0);
    });

    it('type must be insert_before, insert_after or append (10002)', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await addElements(cardId, 1, 'prepend', [markdown('first')]), 10002);
      expect(findElement(emulator, cardId, 'first')).toBeUndefined();
    });

    it('elements must be a JSON string of a non-empty array (10002)', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await addElements(cardId, 1, 'append', []), 10002);
      const raw = await api(emulator, 'POST', `${CARDS}/${cardId}/elements`, {
        token,
        body: { type: 'append', elements: [markdown('obj')], sequence: 2 },
      });
      expectCode(raw, 10002);
      expect(emulator.card(cardId)?.sequence).toBe(0);
    });
  });

  describe('update element (replace)', () => {
    it('replaces the whole element in place and may change its tag', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await updateElement(cardId, 'note_div', 1, markdown('note_div', 'now markdown')), 0);
      expect(findElement(emulator, cardId, 'note_div')).toEqual(markdown('note_div', 'now markdown'));
      expect(findElement(emulator, cardId, 'note')).toBeUndefined();
      expect(bodyIds(cardId)).toEqual(['answer', 'note_div', 'stop_btn', 'panel']);
      expect(emulator.card(cardId)?.sequence).toBe(1);
    });

    it('a new element_id in the replacement renames the element', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await updateElement(cardId, 'answer', 1, markdown('answer_v2', 'renamed')), 0);
      expect(bodyIds(cardId)).toEqual(['answer_v2', 'note_div', 'stop_btn', 'panel']);
      expectCode(await putContent(emulator, token, cardId, 2, 'streamed', 'answer_v2'), 0);
      expect(elementText(emulator, cardId, 'answer_v2')).toBe('streamed');
      expectCode(await putContent(emulator, token, cardId, 3, 'gone', 'answer'), 300313);
    });

    it('renaming to an element_id another element has is 300301', async () => {
      const cardId = await createCard(emulator, token);
      const before = emulator.card(cardId)!.card;
      expectCode(await updateElement(cardId, 'answer', 1, markdown('stop_btn')), 300301);
      expectUnchanged(cardId, before);
    });

    it('an element that does not exist is 300121', async () => {
      const cardId = await createCard(emulator, token);
      const before = emulator.card(cardId)!.card;
      expectCode(await updateElement(cardId, 'missing', 1, markdown('missing')), 300121);
      expectUnchanged(cardId, before);
    });
  });

  describe('patch element', () => {
    it('merges the given properties into the element', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await patchElement(cardId, 'answer', 1, { content: 'patched', text_size: 'heading' }), 0);
      expect(findElement(emulator, cardId, 'answer')).toEqual({ tag: 'markdown', element_id: 'answer', content: 'patched', text_size: 'heading' });
      expectCode(await patchElement(cardId, 'answer', 2, { text_align: 'center' }), 0);
      expect(findElement(emulator, cardId, 'answer')).toMatchObject({ content: 'patched', text_size: 'heading', text_align: 'center' });
    });

    it('the same tag may be repeated in the partial element', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await patchElement(cardId, 'answer', 1, { tag: 'markdown', content: 'same tag' }), 0);
      expect(elementText(emulator, cardId)).toBe('same tag');
    });

    it('changing the tag is 300312', async () => {
      const cardId = await createCard(emulator, token);
      const before = emulator.card(cardId)!.card;
      expectCode(await patchElement(cardId, 'answer', 1, { tag: 'plain_text', content: 'x' }), 300312);
      expectUnchanged(cardId, before);
    });

    it('an element_id in the partial element renames the element', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await patchElement(cardId, 'answer', 1, { element_id: 'final_answer' }), 0);
      expect(findElement(emulator, cardId, 'answer')).toBeUndefined();
      expect(findElement(emulator, cardId, 'final_answer')).toEqual({ tag: 'markdown', element_id: 'final_answer', content: '' });
    });

    it('an element that does not exist is 300313', async () => {
      const cardId = await createCard(emulator, token);
      const before = emulator.card(cardId)!.card;
      expectCode(await patchElement(cardId, 'missing', 1, { content: 'x' }), 300313);
      expectUnchanged(cardId, before);
    });
  });

  describe('delete element', () => {
    it('removes the element', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await deleteElement(cardId, 'stop_btn', 1), 0);
      expect(bodyIds(cardId)).toEqual(['answer', 'note_div', 'panel']);
      expect(emulator.card(cardId)?.sequence).toBe(1);
    });

    it('deleting a container also deletes everything nested in it', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await addElements(cardId, 1, 'append', [markdown('inner')], 'panel'), 0);
      expectCode(await deleteElement(cardId, 'panel', 2), 0);
      expect(bodyIds(cardId)).toEqual(['answer', 'note_div', 'stop_btn']);
      expect(findElement(emulator, cardId, 'inner')).toBeUndefined();
      expectCode(await putContent(emulator, token, cardId, 3, 'x', 'inner'), 300313);
    });

    it('an element that does not exist is 300314', async () => {
      const cardId = await createCard(emulator, token);
      const before = emulator.card(cardId)!.card;
      expectCode(await deleteElement(cardId, 'missing', 1), 300314);
      expectUnchanged(cardId, before);
    });

    it('DELETE takes its sequence from a JSON body: without a body it is 10002', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await api(emulator, 'DELETE', elementPath(cardId, 'stop_btn'), { token }), 10002);
      expect(findElement(emulator, cardId, 'stop_btn')).toBeDefined();
    });
  });

  describe('stream content', () => {
    it('markdown and a plain_text nested in a div (by its own element_id) take content', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await putContent(emulator, token, cardId, 1, 'markdown text', 'answer'), 0);
      expectCode(await putContent(emulator, token, cardId, 2, 'plain text', 'note'), 0);
      expect(elementText(emulator, cardId, 'answer')).toBe('markdown text');
      expect(elementText(emulator, cardId, 'note')).toBe('plain text');
    });

    for (const [what, elementId] of [
      ['a button', 'stop_btn'],
      ['a div (its plain_text is the text element)', 'note_div'],
      ['a collapsible_panel', 'panel'],
    ]) {
      it(`only plain_text and markdown take content: ${what} is 300310`, async () => {
        const cardId = await createCard(emulator, token);
        const before = emulator.card(cardId)!.card;
        expectCode(await putContent(emulator, token, cardId, 1, 'text', elementId), 300310);
        expectUnchanged(cardId, before);
      });
    }

    it('an element that does not exist is 300313', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await putContent(emulator, token, cardId, 1, 'text', 'missing'), 300313);
      expect(emulator.card(cardId)?.sequence).toBe(0);
    });

    it('empty content is 10002', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await putContent(emulator, token, cardId, 1, ''), 10002);
      expect(emulator.card(cardId)?.sequence).toBe(0);
    });

    it('content counts toward the 30 KB card limit (200860)', async () => {
      const cardId = await createCard(emulator, token);
      expectCode(await putContent(emulator, token, cardId, 1, 'a'.repeat(31_000)), 200860);
      expect(elementText(emulator, cardId)).toBe('');
    });

    describe('with a card size limit large enough to reach the 100,000-character bound', () => {
      beforeEach(async () => {
        await fixture.restart({ maxCardBytes: 2_000_000 });
      });

      it('100,000 characters is the maximum', async () => {
        const cardId = await createCard(emulator, token);
        expectCode(await putContent(emulator, token, cardId, 1, 'a'.repeat(100_000)), 0);
        expectCode(await putContent(emulator, token, cardId, 2, 'b'.repeat(100_001)), 10002);
        expect(elementText(emulator, cardId)).toBe('a'.repeat(100_000));
      });

      it('length is counted in code points: 100,000 emoji (200,000 UTF-16 units) are accepted, 100,001 are not', async () => {
        const cardId = await createCard(emulator, token);
        expectCode(await putContent(emulator, token, cardId, 1, '😀'.repeat(100_000)), 0);
        expect(elementText(emulator, cardId)).toBe('😀'.repeat(100_000));
        expectCode(await putContent(emulator, token, cardId, 2, '😀'.repeat(100_001)), 10002);
      });
    });

    it('writes to an element inside a collapsed panel succeed', async () => {
      const cardId = await createCard(emulator, token);
      expect(findElement(emulator, cardId, 'panel')?.expanded).toBeUndefined(); // collapsed is the default
      expectCode(await addElements(cardId, 1, 'append', [markdown('reasoning', '')], 'panel'), 0);
      expectCode(await putContent(emulator, token, cardId, 2, 'thinking…', 'reasoning'), 0);
      expectCode(await patchElement(cardId, 'reasoning', 3, { text_size: 'notation' }), 0);
      expect(findElement(emulator, cardId, 'reasoning')).toEqual({
        tag: 'markdown',
        element_id: 'reasoning',
        content: 'thinking…',
        text_size: 'notation',
      });
    });
  });
});
