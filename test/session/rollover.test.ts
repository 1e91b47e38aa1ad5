/**
 * An answer that outgrows its element (reference §27: a markdown element holds at most 4 tables)
 * continues in a new element added right after it: every table renders, nothing is lost.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, FairGovernor, type FeishuClient, type RolloverEvent } from '../../src/index.js';
import { countTables } from '../../src/session/markdown-cut.js';
import { clientFor } from '../support/client.js';
import { useEmulator } from '../support/emulator-http.js';
import { NOTE, answerWithTables, chunks, markdownBlock, markdownElementsOf, rebuild } from '../support/long-answers.js';
import { FAST_RETRY, REASONING_CARD, paced, record, seeded, waitFor } from '../support/session.js';

/** The markdown elements of a card entity in document order: id and text. */
function markdownElements(emulator: Emulator, cardId: string): { id: string; text: string }[] {
  return markdownElementsOf(emulator.card(cardId)!.card.body);
}

/** The text of a streamed element and every element it continued in, joined in card order. */
function joined(emulator: Emulator, cardId: string, elementId: string): string {
  return markdownElements(emulator, cardId)
    .filter(({ id }) => id === elementId || new RegExp(`^${elementId}_\\d+$`).test(id))
    .map(({ text }) => text)
    .join('');
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
    const elements = markdownElements(emulator, session.cardId!);
    expect(elements.map((e) => e.id)).toEqual(['answer', 'answer_2', 'answer_3']);
    for (const { text } of elements) expect(countTables(text)).toBeLessThanOrEqual(4);
    expect(elements.map((e) => e.text).join('')).toBe(answer);
    expect(rollovers).toEqual([
      { kind: 'element', elementId: 'answer', from: 'answer', to: 'answer_2', cardId: session.cardId },
      { kind: 'element', elementId: 'answer', from: 'answer_2', to: 'answer_3', cardId: session.cardId },
    ]);
    expect(emulator.stats().rejected).toEqual({});
    expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
    expect(events.error).toEqual([]);
  });

  it('an answer that arrives in one delta is cut the same way', async () => {
    const answer = answerWithTables(9);
    const session = await CardSession.start(newClient());
    session.append(answer);
    await session.finish();
    const elements = markdownElements(emulator, session.cardId!);
    expect(elements).toHaveLength(3);
    expect(elements.map((e) => e.text).join('')).toBe(answer);
  });

  it('inside a collapsible panel the continuation is added in the panel, right after the streamed element', async () => {
    const reasoning = answerWithTables(6);
    const session = await CardSession.start(newClient(), { card: REASONING_CARD, extraElementIds: ['thinking'] });
    session.append(reasoning, 'thinking');
    session.append('Short answer.');
    await session.finish();
    const panel = (emulator.card(session.cardId!)!.card.body as { elements: { elements?: { element_id: string; content: string }[] }[] }).elements[0]!;
    expect(panel.elements!.map((e) => e.element_id)).toEqual(['thinking', 'thinking_2']);
    expect(panel.elements!.map((e) => e.content).join('')).toBe(reasoning);
    expect(joined(emulator, session.cardId!, 'answer')).toBe('Short answer.');
  });

  it('when closing falls back to a full update, the continuation elements keep their share of the text', async () => {
    const answer = answerWithTables(6);
    const session = await CardSession.start(newClient(), { retry: { ...FAST_RETRY, maxAttempts: 2 } });
    session.append(answer);
    emulator.faults.add({ kind: 'fail', endpoint: 'cardkit.card.settings', code: 300122, count: 5 });
    await session.finish();
    const elements = markdownElements(emulator, session.cardId!);
    expect(elements.map((e) => e.id)).toEqual(['answer', 'answer_2']);
    expect(elements.map((e) => e.text).join('')).toBe(answer);
    expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
  });

  it('a shorter snapshot after the text continued past 4 tables replaces it: the continuation elements are emptied', async () => {
    const session = await CardSession.start(newClient(), { retry: FAST_RETRY });
    session.setText(answerWithTables(6));
    await waitFor(() => markdownElements(emulator, session.cardId!).length === 2, 'the text to continue in answer_2');
    session.setText('A short, corrected answer.');
    await session.finish();
    expect(markdownElements(emulator, session.cardId!)).toEqual([
      { id: 'answer', text: 'A short, corrected answer.' },
      { id: 'answer_2', text: '' },
    ]);
    expect(emulator.stats().rejected).toEqual({});
  });

  it('both answer and reasoning beyond the card at once: the larger text goes on in the continuation card, no write refused', async () => {
    const session = await CardSession.start(newClient(), { to: { chat_id: 'oc_team' }, card: REASONING_CARD, extraElementIds: ['thinking'], retry: FAST_RETRY });
    const thinking = 'thought. '.repeat(4000);
    session.append('A short answer.');
    session.append(thinking, 'thinking');
    const result = await session.finish();
    expect(result.cards.length).toBeGreaterThanOrEqual(2);
    expect(result.cards.map(({ cardId }) => joined(emulator, cardId!, 'thinking')).join('')).toBe(thinking);
    expect(emulator.stats().rejected).toEqual({});
  });

  it('any answer with up to 14 tables, cut into any deltas: every element holds at most 4 tables, joined exactly the answer', async () => {
    const client = newClient();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 14 }), fc.integer({ min: 1, max: 400 }), fc.integer(), async (tables, max, seed) => {
        const answer = answerWithTables(tables);
        const session = await CardSession.start(client);
        for (const piece of chunks(answer, max, seeded(seed))) session.append(piece);
        await session.finish();
        const elements = markdownElements(emulator, session.cardId!);
        for (const { text } of elements) expect(countTables(text)).toBeLessThanOrEqual(4);
        expect(elements.map((e) => e.text).join('')).toBe(answer);
        expect(elements).toHaveLength(Math.max(1, Math.ceil(tables / 4)));
      }),
      { numRuns: 12 },
    );
    expect(emulator.stats().rejected).toEqual({});
  }, 60_000);
});

describe('rollover into continuation cards', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started), { limits: { apiQps: 100_000, apiQpm: 10_000_000, cardQps: 1000 } });
  const newClient = (): FeishuClient => clientFor(emulator).client;

  /** Streams `answer` in deltas of 1..max characters and checks every promise of issue 10. */
  async function streamLong(answer: string, max: number, options: { to?: { chat_id: string } | { reply_to: string }; governor?: FairGovernor } = {}) {
    const session = await CardSession.start(newClient(), { to: options.to ?? { chat_id: 'oc_team' }, title: 'Answer', retry: FAST_RETRY, ...(options.governor ? { governor: options.governor } : {}) });
    const rollovers: RolloverEvent[] = [];
    session.on('rollover', (event) => rollovers.push(event));
    for (const piece of chunks(answer, max, seeded(answer.length))) session.append(piece);
    const result = await session.finish();
    const texts = result.cards.map(({ cardId }) => joined(emulator, cardId!, 'answer'));
    expect(rebuild(texts, answer)).toBe(answer);
    expect(result.text).toBe(answer);
    for (const { cardId } of result.cards as { cardId: string }[]) {
      const card = emulator.card(cardId)!;
      expect(card.streaming_mode).toBe(false);
      expect(Buffer.byteLength(JSON.stringify(card.card))).toBeLessThanOrEqual(30 * 1024);
    }
    expect(emulator.stats().rejected).toEqual({});
    expect(rollovers.filter((r) => r.kind === 'card').map((r) => r.to)).toEqual(result.cards.slice(1).map((c) => c.cardId));
    return { session, result, texts };
  }

  it('a 120,000-character answer, in deltas of 1 to 5,000 characters, lands whole across cards sent in order', async () => {
    const paragraph = (i: number) => `Paragraph ${i}: streaming cards carry the full text on every write, so a long answer needs care. 流式卡片。\n\n`;
    let answer = '';
    for (let i = 0; answer.length < 120_000; i++) answer += paragraph(i);
    const { result } = await streamLong(answer, 5000);
    expect(result.cards.length).toBeGreaterThanOrEqual(4);
    const sent = result.cards.map(({ messageId }) => emulator.message(messageId!)!);
    expect(sent.every((m) => m.chat_id === 'oc_team')).toBe(true);
    // Sent in order: the emulator lists messages as they arrived.
    const cardIds = result.cards.map((c) => c.cardId);
    expect(emulator.messages().filter((m) => cardIds.includes(m.card_id ?? '')).map((m) => m.message_id)).toEqual(result.cards.map((c) => c.messageId));
    expect(sent.map((m) => m.card_id)).toEqual(cardIds);
    const titles = result.cards.map(({ cardId }) => (emulator.card(cardId!)!.card.header as { title: { content: string } }).title.content);
    expect(titles).toEqual(['Answer', ...result.cards.slice(1).map(() => 'Answer (continued)')]);
  }, 60_000);

  it('40 KB of CJK without a single line break is cut between characters and lands whole', async () => {
    const answer = '飞书卡片流式输出每一个字都不能丢失。'.repeat(760);
    expect(Buffer.byteLength(answer)).toBeGreaterThan(40_000);
    const { result } = await streamLong(answer, 700);
    expect(result.cards.length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('300 code blocks land whole, every card with its fences balanced', async () => {
    const answer = Array.from({ length: 300 }, (_, i) => `Step ${i}:\n\n\`\`\`ts\nconst value${i} = compute(${i}); // each block carries a little weight, so that 300 of them fill more than a card\n\`\`\`\n\n`).join('');
    const { texts } = await streamLong(answer, 900);
    for (const text of texts) expect((text.match(/^```/gm) ?? []).length % 2).toBe(0);
  }, 60_000);

  it('a code fence straddling the card budget is closed on the first card and reopened, info string included, on the next', async () => {
    const code = Array.from({ length: 1500 }, (_, i) => `    result.push(compute(${i})); // line ${i}`).join('\n');
    const answer = `Here is the program:\n\n\`\`\`python title="long.py"\n${code}\n\`\`\`\n\nThat is all.`;
    const { texts } = await streamLong(answer, 3000);
    expect(texts.length).toBeGreaterThanOrEqual(2);
    expect(texts[0]!.endsWith(`\n\`\`\`${NOTE}`)).toBe(true);
    expect(texts[1]!.startsWith('```python title="long.py"\n')).toBe(true);
  }, 60_000);

  it('1,000 tiny tables: no card holds more than 200 elements (a full card takes no continuation element), joined exactly the answer', async () => {
    const answer = '| a |\n| - |\n\n'.repeat(1000) + 'end';
    // Some 500 writes (a final text and a new element per four tables): a budget as large as this emulator's.
    const governor = new FairGovernor({ limits: { apiQps: 100_000, apiQpm: 10_000_000, cardQps: 1000 }, safetyMarginMs: 0 });
    const { result } = await streamLong(answer, 300, { governor });
    for (const { cardId } of result.cards as { cardId: string }[]) {
      const elements = markdownElements(emulator, cardId);
      expect(elements.length).toBeLessThanOrEqual(200);
      for (const { text } of elements) expect(countTables(text)).toBeLessThanOrEqual(4);
    }
    expect(result.cards.length).toBeGreaterThan(1);
  });

  it('a setText snapshot of 60 KB lands whole across cards', async () => {
    const answer = 'A snapshot of accumulated text, as some SDKs give it. '.repeat(1150);
    const session = await CardSession.start(newClient(), { to: { chat_id: 'oc_team' } });
    session.setText(answer.slice(0, 20_000));
    session.setText(answer);
    const result = await session.finish();
    const texts = result.cards.map(({ cardId }) => joined(emulator, cardId!, 'answer'));
    expect(rebuild(texts, answer)).toBe(answer);
    expect(result.cards.length).toBeGreaterThanOrEqual(2);
    expect(emulator.stats().rejected).toEqual({});
  }, 60_000);

  it('a session that replies sends its continuation cards as replies to the same message', async () => {
    const client = newClient();
    const { message_id: question } = await client.im.v1.message.create({ receive_id_type: 'chat_id', receive_id: 'oc_team', msg_type: 'text', content: { text: 'Tell me everything' } });
    const answer = 'Everything, in detail. '.repeat(2000);
    const { result } = await streamLong(answer, 2000, { to: { reply_to: question } });
    for (const { messageId } of result.cards) expect(emulator.message(messageId!)?.parent_id).toBe(question);
  }, 60_000);

  it('a reasoning panel that fills the card goes on in the continuation card too; the note goes under the answer', async () => {
    const reasoning = 'Thinking about the question step by step. '.repeat(900);
    const session = await CardSession.start(newClient(), { to: { chat_id: 'oc_team' }, card: REASONING_CARD, extraElementIds: ['thinking'] });
    for (const piece of chunks(reasoning, 1500, seeded(3))) session.append(piece, 'thinking');
    session.append('The answer.');
    const result = await session.finish();
    expect(result.cards.length).toBeGreaterThanOrEqual(2);
    const thoughts = result.cards.map(({ cardId }) => joined(emulator, cardId!, 'thinking'));
    expect(thoughts.join('')).toBe(reasoning);
    const answers = result.cards.map(({ cardId }) => joined(emulator, cardId!, 'answer'));
    expect(answers.slice(0, -1).every((text) => text.endsWith(NOTE))).toBe(true);
    expect(answers.map((text, i) => (i < answers.length - 1 ? text.slice(0, -NOTE.length) : text)).join('')).toBe('The answer.');
    expect(emulator.stats().rejected).toEqual({});
  }, 60_000);

  it('any long markdown answer, cut into any deltas: every card within 30 KB and 4 tables per element, the cards joined exactly the answer', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(markdownBlock, { minLength: 60, maxLength: 160 }), fc.integer({ min: 1, max: 5000 }), async (blocks, max) => {
        const answer = blocks.join('');
        const session = await CardSession.start(newClient(), { to: { chat_id: 'oc_team' } });
        for (const piece of chunks(answer, max, seeded(max))) session.append(piece);
        const result = await session.finish();
        expect(rebuild(result.cards.map(({ cardId }) => joined(emulator, cardId!, 'answer')), answer)).toBe(answer);
        for (const { cardId } of result.cards as { cardId: string }[]) {
          expect(Buffer.byteLength(JSON.stringify(emulator.card(cardId)!.card))).toBeLessThanOrEqual(30 * 1024);
          for (const { text } of markdownElements(emulator, cardId)) expect(countTables(text)).toBeLessThanOrEqual(4);
          expect(emulator.card(cardId)!.streaming_mode).toBe(false);
        }
      }),
      { numRuns: 6 },
    );
    expect(emulator.stats().rejected).toEqual({});
  }, 120_000);
});
