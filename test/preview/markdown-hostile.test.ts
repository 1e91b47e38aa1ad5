/**
 * The preview's markdown renderer on hostile input, in Chromium: text full of openers that never close
 * (`[`, `*`, `_`, `~~`, `<font>`, backticks, parentheses), runs of spaces where a pattern could backtrack,
 * nesting thousands deep, tables that would pad millions of cells. Each must render with its text kept
 * (nothing dropped), no markup made of it, and no script run. How long they take is measured by
 * `bench/preview.ts` (`npm run bench`), not asserted here.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { HOSTILE_INPUTS } from '../../bench/preview.js';
import { chromiumInstalled, useBrowser } from '../support/browser.js';

/** Script that must stay text: if any of it ran, `window.__ran` would be set. */
const PAYLOAD = '<script>window.__ran = 1</script><img src=x onerror="window.__ran = 1"><iframe src="javascript:window.__ran=1"></iframe>';

interface Rendered {
  text: string;
  /** Tag names of the elements made, with how many of each. */
  tags: Record<string, number>;
  /** The most blockquotes (or lists) nested in one another. */
  quoteDepth: number;
  listDepth: number;
  ran: boolean;
}

/** Renders each source into the page's document, lets a task pass (so a handler could fire), and reads it back. */
async function render(page: Page, sources: string[]): Promise<Rendered[]> {
  await page.evaluate(`(async () => { window.__markdown = await import('/_emulator/preview/assets/markdown.js'); })()`);
  return page.evaluate(async (sources) => {
    const { renderMarkdown } = (window as unknown as { __markdown: { renderMarkdown: (source: string) => DocumentFragment } }).__markdown;
    const depth = (root: Element, tags: string[]) => {
      let deepest = 0;
      for (const node of root.querySelectorAll(tags.join(','))) {
        let n = 0;
        for (let at: Element | null = node; at && at !== root; at = at.parentElement) if (tags.includes(at.tagName.toLowerCase())) n++;
        deepest = Math.max(deepest, n);
      }
      return deepest;
    };
    const results = [];
    for (const source of sources) {
      const box = document.createElement('div');
      box.append(renderMarkdown(source));
      document.body.append(box);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const tags: Record<string, number> = {};
      for (const node of box.querySelectorAll('*')) tags[node.tagName.toLowerCase()] = (tags[node.tagName.toLowerCase()] ?? 0) + 1;
      results.push({
        text: box.textContent ?? '',
        tags,
        quoteDepth: depth(box, ['blockquote']),
        listDepth: depth(box, ['ul', 'ol']),
        ran: (window as unknown as { __ran?: number }).__ran !== undefined,
      });
      box.remove();
    }
    return results;
  }, sources);
}

const run = chromiumInstalled() ? describe : describe.skip;

run('preview markdown on hostile input', () => {
  let emulator: Emulator;
  const browser = useBrowser();
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.close());

  const open = async () => (await browser.open(`${emulator.url}/_emulator/preview`)).page;

  it.each([
    ['unclosed [', '['.repeat(30_000)],
    ['unclosed *', '*a '.repeat(10_000)],
    ['unclosed _', '_a '.repeat(10_000)],
    ['unclosed ~~', '~~a '.repeat(8_000)],
    ['unclosed <font>', '<font color=red>'.repeat(3_000)],
    ['links whose ( never closes', '[a]('.repeat(8_000)],
    ['brackets nested 10,000 deep, no (url)', `${'['.repeat(10_000)}x${']'.repeat(10_000)}`],
    ['backtick runs that never close', Array.from({ length: 200 }, (_, n) => `${'`'.repeat(n + 1)}a`).join('')],
    ['broken bare URLs', 'http://['.repeat(4_000)],
    ['a heading line of spaces', `# a${' '.repeat(30_000)}b`],
    ['a fence line of spaces', `\`\`\`${' '.repeat(30_000)}\``],
  ])('%s: every character shows as text, nothing becomes markup, no script runs', async (_name, hostile) => {
    const page = await open();
    const [rendered] = await render(page, [`${hostile}${PAYLOAD}`]);
    // Trailing spaces of a heading are not its text; everything else is kept verbatim.
    const expected = `${hostile}${PAYLOAD}`.replace(/^# /, '');
    expect(rendered!.text).toBe(expected);
    expect(Object.keys(rendered!.tags).filter((tag) => !['p', 'h1', 'br'].includes(tag))).toEqual([]);
    expect(rendered!.ran).toBe(false);
  });

  it('a URL followed by 20,000 `)` links the URL and keeps every parenthesis as text', async () => {
    const page = await open();
    const source = `see https://a.test/x${')'.repeat(20_000)}`;
    const [rendered] = await render(page, [source]);
    expect(rendered!.text).toBe(source);
    expect(rendered!.tags.a).toBe(1);
  });

  it('a <font> with a 50,000-character attribute run still renders its text', async () => {
    const page = await open();
    const [rendered] = await render(page, [`<font ${'a'.repeat(50_000)} color='red'>kept</font>${PAYLOAD}`]);
    expect(rendered!.text).toBe(`kept${PAYLOAD}`);
    expect(rendered!.tags.span).toBe(1);
    expect(rendered!.ran).toBe(false);
  });

  it('a 1 MB line of mixed CJK text and markers keeps every CJK character', async () => {
    const page = await open();
    const source = HOSTILE_INPUTS['mixed CJK line']!(1 << 20) + PAYLOAD;
    const [rendered] = await render(page, [source]);
    const cjk = (text: string) => text.match(/[\u4e00-\u9fff]/g)?.length ?? 0;
    expect(cjk(rendered!.text)).toBe(cjk(source));
    expect(rendered!.text).toContain(PAYLOAD);
    expect(rendered!.tags.script ?? 0).toBe(0);
    expect(rendered!.ran).toBe(false);
  });

  it('quotes 10,000 deep nest 16 deep; the deeper markers and the text inside them still show', async () => {
    const page = await open();
    const [deep, stairs] = await render(page, [
      `${'>'.repeat(10_000)} deep text`,
      Array.from({ length: 40 }, (_, n) => `${'>'.repeat(n + 1)} level ${n + 1}`).join('\n'),
    ]);
    expect(deep!.quoteDepth).toBe(16);
    expect(deep!.text).toBe(`${'>'.repeat(10_000 - 16)} deep text`);
    expect(stairs!.quoteDepth).toBe(16);
    for (let n = 1; n <= 40; n++) expect(stairs!.text).toMatch(new RegExp(`level ${n}(?!\\d)`));
  });

  it('list items nested 5,000 deep nest 16 deep; the rest shows as text', async () => {
    const page = await open();
    const [rendered] = await render(page, [`${'- '.repeat(5_000)}innermost`]);
    expect(rendered!.listDepth).toBe(16);
    expect(rendered!.text).toBe(`${'- '.repeat(5_000 - 16)}innermost`);
  });

  it('a 2,000-column table with 3,000 one-cell rows keeps every row; padding with empty cells stops at 10,000', async () => {
    const page = await open();
    const columns = 2_000;
    const source = `${'| h '.repeat(columns)}|\n${'|-'.repeat(columns)}|\n${Array.from({ length: 3_000 }, (_, n) => `| r${n} |`).join('\n')}`;
    const [rendered] = await render(page, [source]);
    expect(rendered!.tags.tr).toBe(3_001);
    expect(rendered!.tags.th).toBe(columns);
    expect(rendered!.tags.td).toBe(3_000 + 10_000);
    for (const n of [0, 1_500, 2_999]) expect(rendered!.text).toContain(`r${n}`);
  });
});
