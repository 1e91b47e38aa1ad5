/**
 * Long answers for rollover tests: answers with many tables, random chunking, the markdown elements a
 * card holds, and the answer rebuilt from the texts of its cards (with the documented repairs).
 */
import fc from 'fast-check';
import { expect } from 'vitest';

/** The markdown elements of a card in document order: id and text. */
export function markdownElementsOf(body: unknown): { id: string; text: string }[] {
  const found: { id: string; text: string }[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (record.tag === 'markdown' && typeof record.element_id === 'string') found.push({ id: record.element_id, text: typeof record.content === 'string' ? record.content : '' });
      for (const [key, value] of Object.entries(record)) if (key !== 'header') visit(value);
    }
  };
  visit(body);
  return found;
}

export function table(n: number): string {
  return `| item | value |\n| --- | --- |\n| row ${n}a | ${n} |\n| row ${n}b | ${n * 2} |`;
}

export function answerWithTables(count: number): string {
  return Array.from({ length: count }, (_, i) => `Section ${i + 1}: a paragraph before the table.\n\n${table(i + 1)}\n\n`).join('') + 'The end.';
}

/** Splits `text` into pieces of 1..max UTF-16 units (surrogate pairs may be cut: the session copes). */
export function chunks(text: string, max: number, random: () => number): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; ) {
    const size = 1 + Math.floor(random() * max);
    pieces.push(text.slice(i, i + size));
    i += size;
  }
  return pieces;
}

export const NOTE = '\n\n_(continued below)_';
const FENCE_LINE = /^(`{3,}|~{3,})[^\n]*\n/;

/**
 * Rebuilds the answer from the cards' texts: drops the "continued below" note of every card but the
 * last, and the documented repairs (a code fence closed at a card's end and reopened at the next one's
 * start, a table's header repeated), checking that every card's share sits where it belongs.
 */
export function rebuild(cardTexts: string[], answer: string): string {
  let pos = 0;
  let rebuilt = '';
  cardTexts.forEach((raw, i) => {
    let text = raw;
    if (i < cardTexts.length - 1) {
      expect(text.endsWith(NOTE)).toBe(true);
      text = text.slice(0, -NOTE.length);
    }
    const starts: string[] = [text];
    if (i > 0) {
      const reopened = FENCE_LINE.exec(text);
      if (reopened) starts.push(text.slice(reopened[0].length));
      const header = /^[^\n]*\|[^\n]*\n[^\n]*-[^\n]*\n/.exec(text);
      if (header) starts.push(text.slice(header[0].length));
    }
    const variants = starts.flatMap((t) => {
      const closed = /\n?(`{3,}|~{3,})$/.exec(t);
      return closed ? [t, t.slice(0, closed.index), t.slice(0, -closed[1]!.length)] : [t];
    });
    const share = variants.filter((v) => answer.startsWith(v, pos)).sort((a, b) => b.length - a.length)[0];
    expect(share, `card ${i + 1} does not continue the answer at ${pos}`).toBeDefined();
    rebuilt += share!;
    pos += share!.length;
  });
  return rebuilt;
}


/** A block of a long markdown answer: prose (CJK, emoji, combining marks), a code fence, a table, a nested list. */
export const markdownBlock = fc.oneof(
  fc.constant('A paragraph of prose with **bold**, `code`, 中文, 😀 and e\u0301 combining marks, going on for a while. '.repeat(5) + '\n\n'),
  fc.integer({ min: 1, max: 40 }).map((lines) => '```ts\n' + 'const x = 1; // code line\n'.repeat(lines) + '```\n\n'),
  fc.integer({ min: 1, max: 30 }).map((rows) => '| a | b |\n| --- | --- |\n' + '| 单元 | 👍 |\n'.repeat(rows) + '\n'),
  fc.constant('- item one\n- item two\n  - nested\n\n'),
);
