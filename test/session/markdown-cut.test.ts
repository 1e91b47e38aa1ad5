/**
 * Where a long answer is cut into parts that each fit a card (issue 10's rollover builds on it): the
 * parts fit, and each renders as its share of the whole did.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countTables, jsonBytes, safeCut } from '../../src/session/markdown-cut.js';

const word = fc.constantFrom('alpha', '流式', '卡片', 'e\u0301te\u0301', '👩‍👩‍👧‍👦', '🇨🇳', '𠮷野家', 'x', '**bold**', '`code`', 'مرحبا', 'a\u200db');
const sentence = fc.array(word, { minLength: 1, maxLength: 30 }).map((words) => words.join(' '));
const link = fc.tuple(sentence, fc.constantFrom('https://open.feishu.cn/a b', 'https://example.com/x(1)')).map(([text, url]) => `[${text}](${url})`);
const paragraph = fc.array(fc.oneof(sentence, link), { minLength: 1, maxLength: 6 }).map((parts) => parts.join(' '));
const fenceBlock = fc
  .tuple(fc.constantFrom('```', '````', '~~~'), fc.constantFrom('', 'ts', 'python title="x"'), fc.array(sentence, { minLength: 1, maxLength: 30 }))
  .map(([marker, info, lines]) => `${marker}${info}\n${lines.join('\n')}\n${marker}`);
const table = fc
  .tuple(fc.integer({ min: 2, max: 4 }), fc.array(fc.array(word, { minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 60 }))
  .map(([columns, rows]) => {
    const header = `| ${Array.from({ length: columns }, (_, i) => `h${i}`).join(' | ')} |`;
    const delimiter = `|${' --- |'.repeat(columns)}`;
    return [header, delimiter, ...rows.map((row) => `| ${row.slice(0, columns).join(' | ')} |`)].join('\n');
  });
const list = fc.array(sentence, { minLength: 1, maxLength: 8 }).map((items) => items.map((item) => `- ${item}`).join('\n'));
const document = fc.array(fc.oneof(paragraph, fenceBlock, table, list), { minLength: 6, maxLength: 40 }).map((blocks) => blocks.join('\n\n'));

/** How often the property's inputs exercised each kind of cut. */
const seen = { splits: 0, cuts: 0, fences: 0, tables: 0 };

interface Split {
  parts: string[];
  /** Where each part ends in the original text. */
  offsets: number[];
}

/** Cuts `text` until every part fits, as the rollover does. */
function split(text: string, maxBytes: number): Split {
  const parts: string[] = [];
  const offsets: number[] = [];
  seen.splits++;
  let reopen = '';
  let offset = 0;
  for (let guard = 0; offset < text.length; guard++) {
    if (guard > 10_000) throw new Error('no progress');
    const rest = reopen + text.slice(offset);
    const cut = safeCut(rest, { maxBytes });
    expect(cut.index).toBeGreaterThan(reopen.length); // every part carries text of its own
    parts.push(rest.slice(0, cut.index) + cut.close);
    if (cut.index < rest.length) seen.cuts++;
    if (cut.close !== '') seen.fences++;
    if (cut.reopen.startsWith('|')) seen.tables++;
    offset += cut.index - reopen.length;
    offsets.push(offset);
    reopen = cut.reopen;
  }
  return { parts, offsets };
}

/** The fence a part leaves open at its end, if any (checked independently of the cutter). */
function openFence(part: string): string | undefined {
  let open: string | undefined;
  for (const line of part.split('\n')) {
    const match = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (!match) continue;
    if (open === undefined) open = match[1];
    else if (match[1]![0] === open[0] && match[1]!.length >= open.length && match[2]!.trim() === '') open = undefined;
  }
  return open;
}

describe('safeCut', () => {
  it('any markdown document cut for any budget: every part fits, no part leaves a fence open or starts a table without its header, and no cut splits a character, a grapheme or a link', () => {
    const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    fc.assert(
      fc.property(document, fc.integer({ min: 400, max: 3000 }), (text, maxBytes) => {
        const { parts, offsets } = split(text, maxBytes);
        const boundaries = new Set([...segmenter.segment(text)].map((s) => s.index));
        const links = [...text.matchAll(/\[[^\]\n]*\]\([^)\n]*\)/g)].map((m) => [m.index, m.index + m[0].length] as const);
        for (const [i, part] of parts.entries()) {
          expect(jsonBytes(part)).toBeLessThanOrEqual(maxBytes);
          expect(openFence(part)).toBeUndefined();
          const [first, second] = part.split('\n');
          if (/^ {0,3}\|/.test(first!) && i > 0) expect(second ?? '').toMatch(/^\|( --- \|)+$/);
          const offset = offsets[i]!;
          if (offset < text.length) {
            expect(boundaries.has(offset)).toBe(true);
            for (const [start, end] of links) expect(offset <= start || offset >= end).toBe(true);
          }
        }
      }),
      { numRuns: 150 },
    );
    // The inputs did need cutting, inside fences and tables too.
    expect(seen.cuts).toBeGreaterThan(150);
    expect(seen.fences).toBeGreaterThan(10);
    expect(seen.tables).toBeGreaterThan(10);
  });

  it('a text that fits is not cut', () => {
    expect(safeCut('short answer', { maxBytes: 100 })).toEqual({ index: 12, close: '', reopen: '' });
  });

  it('prefers the end of a paragraph in the last half of what fits', () => {
    const text = `${'a'.repeat(300)}\n\n${'b'.repeat(300)} ${'c'.repeat(300)}`;
    expect(safeCut(text, { maxBytes: 500 }).index).toBe(302);
  });

  it('a cut inside a code fence closes it on this part and reopens it, info string included, on the next', () => {
    const code = Array.from({ length: 60 }, (_, i) => `const line${i} = ${i};`).join('\n');
    const text = `Intro.\n\n\`\`\`ts title="a.ts"\n${code}\n\`\`\`\n\nOutro.`;
    const cut = safeCut(text, { maxBytes: 400 });
    expect(cut.close).toBe('```');
    expect(cut.reopen).toBe('```ts title="a.ts"\n');
    expect(text.slice(0, cut.index).endsWith('\n')).toBe(true);
  });

  it('a cut inside a table falls between two rows and repeats the header and delimiter on the next part', () => {
    const rows = Array.from({ length: 40 }, (_, i) => `| row ${i} | value ${i} |`).join('\n');
    const text = `| name | value |\n| --- | --- |\n${rows}`;
    const cut = safeCut(text, { maxBytes: 300 });
    expect(cut.reopen).toBe('| name | value |\n| --- | --- |\n');
    expect(text.slice(cut.index)).toMatch(/^\| row \d+ \| value \d+ \|/);
  });

  it('one line longer than the part is cut at a grapheme boundary, never inside an emoji sequence', () => {
    const text = '👩‍👩‍👧‍👦'.repeat(200);
    const cut = safeCut(text, { maxBytes: 333 });
    expect(cut.index % '👩‍👩‍👧‍👦'.length).toBe(0);
    expect(cut.index).toBeGreaterThan(0);
  });

  it('measures what the text adds to the card JSON: escapes, multi-byte characters, surrogate pairs', () => {
    for (const text of ['plain', 'quote " and \\ backslash', '\n\t\u0001', '中文', '😀', 'é', '\u2028']) {
      expect(jsonBytes(text)).toBe(Buffer.byteLength(JSON.stringify(text)) - 2);
    }
  });
});

describe('countTables', () => {
  it('counts header-and-delimiter tables, not pipes in code or prose', () => {
    const text = [
      '| a | b |',
      '| --- | --- |',
      '| 1 | 2 |',
      '',
      '```',
      '| not | a table |',
      '| --- | --- |',
      '```',
      'a | b is prose',
      '| x |',
      '|:-:|',
    ].join('\n');
    expect(countTables(text)).toBe(2);
  });
});
