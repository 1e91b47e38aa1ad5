/**
 * The preview's markdown renderer on hostile input: for each construct that a naive parser handles in
 * quadratic time (unclosed `[`, emphasis markers, `<font>`, deep quotes …), the render time in headless
 * Chromium at sizes n, 2n, 4n, 8n and the growth from n to 8n (linear: about 8; quadratic: about 64).
 *
 *   npx tsx bench/preview.ts            # n = 16 KB
 *   npx tsx bench/preview.ts --kb 4     # a smaller n
 *   npx tsx bench/preview.ts --only '['  # the inputs whose name contains '['
 *
 * A size whose render takes longer than 10 s ends that row (the next one would take 2-4 times longer).
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { startEmulator } from '../src/emulator/index.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/support/browser.js';

/** Builds an input of about `size` characters by repeating `unit`. */
const repeat = (unit: string, size: number) => unit.repeat(Math.max(1, Math.round(size / unit.length)));

/** Each hostile input as a function of its size in characters. */
export const HOSTILE_INPUTS: Record<string, (size: number) => string> = {
  'unclosed [': (n) => repeat('[', n),
  'unclosed *a': (n) => repeat('*a ', n),
  'unclosed _a': (n) => repeat('_a ', n),
  'unclosed ~~a': (n) => repeat('~~a ', n),
  'unclosed <font>': (n) => repeat('<font>', n),
  'mixed CJK line': (n) => repeat('中文[链接*强调_下划~~删<font color=red>字`码](', n),
  '[a]( unclosed': (n) => repeat('[a](', n),
  'nested [[…]]': (n) => `${'['.repeat(n / 2)}${']'.repeat(n / 2)}`,
  'backtick runs 1,2,3…': (n) => {
    let text = '';
    for (let run = 1; text.length < n; run++) text += `${'`'.repeat(run)}a`;
    return text;
  },
  'bare http://[': (n) => repeat('http://[', n),
  'URL + )))': (n) => `https://a.test/${')'.repeat(n)}`,
  '<font + long attr': (n) => `<font ${'a'.repeat(n)}>x</font>`,
  'heading with spaces': (n) => `# a${' '.repeat(n)}b`,
  'fence with spaces': (n) => `\`\`\`${' '.repeat(n)}\``,
  'table separator spaces': (n) => `a|b\n|-${' '.repeat(n)}x`,
  'table row padding': (n) => `${'|'.repeat(n / 4)}\n${'|-'.repeat(n / 4 - 1)}|\n${repeat('|\n', n / 2)}`,
  'deep > quotes': (n) => `${'>'.repeat(n)} text`,
  'deep "- " lists': (n) => `${repeat('- ', n)}text`,
};

const SIZES = [1, 2, 4, 8];
const GIVE_UP_MS = 10_000;

export async function benchPreview(options: { baseChars?: number; only?: string } = {}): Promise<void> {
  const base = options.baseChars ?? 16_384;
  const emulator = await startEmulator();
  // gc() between runs, so one run's garbage is not collected during the next one's timing.
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, '--js-flags=--expose-gc'], timeout: 15_000 });
  try {
    const page = await browser.newPage();
    await page.goto(`${emulator.url}/_emulator/preview`);
    // A string expression: the page imports the module itself, from the emulator.
    await page.evaluate(`(async () => { window.__markdown = await import('/_emulator/preview/assets/markdown.js'); })()`);
    console.log(`\nPreview markdown render time in Chromium (ms, best of 5), n = ${base} characters:\n`);
    console.log('| input | n | 2n | 4n | 8n | 8n / n |');
    console.log('|---|---|---|---|---|---|');
    for (const [name, build] of Object.entries(HOSTILE_INPUTS)) {
      if (options.only !== undefined && !name.includes(options.only)) continue;
      const times: (number | string)[] = [];
      for (const factor of SIZES) {
        const source = build(base * factor);
        const ms = await page.evaluate(
          ({ source, runs }) => {
            const { renderMarkdown } = (window as unknown as { __markdown: { renderMarkdown: (s: string) => DocumentFragment } }).__markdown;
            let best = Infinity;
            for (let run = 0; run < runs; run++) {
              (window as unknown as { gc?: () => void }).gc?.();
              const start = performance.now();
              try {
                document.createElement('div').append(renderMarkdown(source));
              } catch {
                return 'error';
              }
              best = Math.min(best, performance.now() - start);
            }
            return best;
          },
          { source, runs: 5 },
        );
        times.push(ms);
        if (typeof ms === 'string' || ms > GIVE_UP_MS) break;
      }
      const cell = (t: number | string | undefined) => (t === undefined ? '–' : typeof t === 'string' ? t : t.toFixed(1));
      const first = times[0];
      const last = times[3];
      const ratio = typeof first === 'number' && typeof last === 'number' ? (last / Math.max(first, 0.1)).toFixed(1) : '–';
      console.log(`| ${name} | ${SIZES.map((_, i) => cell(times[i])).join(' | ')} | ${ratio} |`);
    }
  } finally {
    await browser.close();
    await emulator.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { kb: { type: 'string', default: '16' }, only: { type: 'string' } } });
  await benchPreview({ baseChars: Math.round(Number(values.kb) * 1024), only: values.only });
}
