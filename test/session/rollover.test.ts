/**
 * An answer that outgrows its element (reference §27: a markdown element holds at most 4 tables)
 * continues in a new element added right after it: every table renders, nothing is lost.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, type FeishuClient, type RolloverEvent } from '../../src/index.js';
import { countTables } from '../../src/session/markdown-cut.js';
import { clientFor } from '../support/client.js';
import { useEmulator } from '../support/emulator-http.js';
import { FAST_RETRY, REASONING_CARD, paced, record, seeded } from '../support/session.js';

/** The markdown elements of a card in document order: id and text. */
function markdownElements(emulator: Emulator, cardId: string): { id: string; text: string }[] {
  const found: { id: string; text: string }[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (record.tag === 'markdown' && typeof record.element_id === 'string') found.push({ id: record.element_id, text: typeof record.content === 'string' ? record.content : '' });
      for (const [key, value] of Object.entries(record)) if (key !== 'header') visit(value);
    }
  };
  visit(emulator.card(cardId)!.card.body);
  return found;
}

/** The text of a streamed element and every element it continued in, joined in card order. */
function joined(emulator: Emulator, cardId: string, elementId: string): string {
  return markdownElements(emulator, cardId)
    .filter(({ id }) => id === elementId || new RegExp(`^${elementId}_\\d+$`).test(id))
    .map(({ text }) => text)
    .join('');
}

function table(n: number): string {
  return `| item | value |\n| --- | --- |\n| row ${n}a | ${n} |\n| row ${n}b | ${n * 2} |`;
}

function answerWithTables(count: number): string {
  return Array.from({ length: count }, (_, i) => `Section ${i + 1}: a paragraph before the table.\n\n${table(i + 1)}\n\n`).join('') + 'The end.';
}

/** Splits `text` into pieces of 1..max UTF-16 units (surrogate pairs may be cut: the session copes). */
function chunks(text: string, max: number, random: () => number): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; ) {
    const size = 1 + Math.floor(random() * max);
    pieces.push(text.slice(i, i + size));
    i += size;
  }
  return pieces;
}

describe('rollover into new elements', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  const newClient = (): FeishuClient => clientFor(emulator).client;

  it('12 tables in one answer: three markdown elements of at most 4 tables each, in order, joined exactly the answer', async () => {
    const answer = answerWithTables(12);
    const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
    const events = record(session);
    const rollovers: RolloverEvent[] = [];
    session.on('rollover', (event) => rollovers.push(event));
    const result = await session.pipe(paced(chunks(answer, 40, seeded(7)), 0));

    expect(result.text).toBe(answer);
    const elements = markdownElements(emulator, session.cardId);
    expect(elements.map((e) => e.id)).toEqual(['answer', 'answer_2', 'answer_3']);
    for (const { text } of elements) expect(countTables(text)).toBeLessThanOrEqual(4);
    expect(elements.map((e) => e.text).join('')).toBe(answer);
    expect(rollovers).toEqual([
      { kind: 'element', elementId: 'answer', from: 'answer', to: 'answer_2', cardId: session.cardId },
      { kind: 'element', elementId: 'answer', from: 'answer_2', to: 'answer_3', cardId: session.cardId },
    ]);
    expect(emulator.stats().rejected).toEqual({});
    expect(emulator.card(session.cardId)?.streaming_mode).toBe(false);
    expect(events.error).toEqual([]);
  });

  it('an answer that arrives in one delta is cut the same way', async () => {
    const answer = answerWithTables(9);
    const session = await CardSession.start(newClient());
    session.append(answer);
    await session.finish();
    const elements = markdownElements(emulator, session.cardId);
    expect(elements).toHaveLength(3);
    expect(elements.map((e) => e.text).join('')).toBe(answer);
  });

  it('inside a collapsible panel the continuation is added in the panel, right after the streamed element', async () => {
    const reasoning = answerWithTables(6);
    const session = await CardSession.start(newClient(), { card: REASONING_CARD, extraElementIds: ['thinking'] });
    session.append(reasoning, 'thinking');
    session.append('Short answer.');
    await session.finish();
    const panel = (emulator.card(session.cardId)!.card.body as { elements: { elements?: { element_id: string; content: string }[] }[] }).elements[0]!;
    expect(panel.elements!.map((e) => e.element_id)).toEqual(['thinking', 'thinking_2']);
    expect(panel.elements!.map((e) => e.content).join('')).toBe(reasoning);
    expect(joined(emulator, session.cardId, 'answer')).toBe('Short answer.');
  });

  it('when closing falls back to a full update, the continuation elements keep their share of the text', async () => {
    const answer = answerWithTables(6);
    const session = await CardSession.start(newClient(), { retry: { ...FAST_RETRY, maxAttempts: 2 } });
    session.append(answer);
    emulator.faults.add({ kind: 'fail', endpoint: 'cardkit.card.settings', code: 300122, count: 5 });
    await session.finish();
    const elements = markdownElements(emulator, session.cardId);
    expect(elements.map((e) => e.id)).toEqual(['answer', 'answer_2']);
    expect(elements.map((e) => e.text).join('')).toBe(answer);
    expect(emulator.card(session.cardId)?.streaming_mode).toBe(false);
  });

  it('any answer with up to 14 tables, cut into any deltas: every element holds at most 4 tables, joined exactly the answer', async () => {
    const client = newClient();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 14 }), fc.integer({ min: 1, max: 400 }), fc.integer(), async (tables, max, seed) => {
        const answer = answerWithTables(tables);
        const session = await CardSession.start(client);
        for (const piece of chunks(answer, max, seeded(seed))) session.append(piece);
        await session.finish();
        const elements = markdownElements(emulator, session.cardId);
        for (const { text } of elements) expect(countTables(text)).toBeLessThanOrEqual(4);
        expect(elements.map((e) => e.text).join('')).toBe(answer);
        expect(elements).toHaveLength(Math.max(1, Math.ceil(tables / 4)));
      }),
      { numRuns: 12 },
    );
    expect(emulator.stats().rejected).toEqual({});
  }, 60_000);
});
