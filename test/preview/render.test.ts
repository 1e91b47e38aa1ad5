/**
 * The preview's renderers in Chromium, module by module: Feishu markdown to DOM, Card JSON 2.0 to a
 * card, and the typewriter's streaming rules (prefix rule, fast/delay, streaming_config), plus the
 * page honouring print settings on a live card.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { chromiumInstalled, useBrowser } from '../support/browser.js';
import { createCard, patchSettings, putContent, streamingCard, tenantToken } from '../support/emulator-http.js';
import { sleep } from '../support/session.js';

const ASSETS = '/_emulator/preview/assets/';

/** The preview's modules, loaded into the page by {@link loadModules}. */
interface PreviewModules {
  markdown: { renderMarkdown: (source: string) => DocumentFragment };
  card: {
    renderCard: (card: unknown, ctx: unknown) => HTMLElement;
    paintText: (node: HTMLElement, mode: string, text: string, caret: boolean) => void;
  };
  typewriter: {
    Typewriter: new (paint: (key: string) => void) => {
      configure(streaming: boolean, settings: Settings): void;
      set(key: string, text: string, animate?: boolean, received?: number): void;
      displayed(key: string): string;
      typing(key: string): boolean;
      dispose(): void;
    };
    streamingSettings: (card: unknown) => Settings;
    advance: (text: string, index: number, count: number) => number;
  };
}
interface Settings {
  frequencyMs: number;
  step: number;
  strategy: string;
}

/** Imports the modules in the page as `window.__preview` (a string expression: vitest would rewrite an `import()`). */
async function loadModules(page: Page): Promise<void> {
  await page.evaluate(`(async () => {
    window.__preview = {
      markdown: await import('${ASSETS}markdown.js'),
      card: await import('${ASSETS}card.js'),
      typewriter: await import('${ASSETS}typewriter.js'),
    };
  })()`);
}

type WithModules = { __preview: PreviewModules };

/** Renders each markdown source in the page and returns the resulting markup (read back, for comparison). */
function markdown(page: Page, sources: string[]): Promise<string[]> {
  return page.evaluate((sources) => {
    const { renderMarkdown } = (window as unknown as WithModules).__preview.markdown;
    return sources.map((source) => {
      const box = document.createElement('div');
      box.append(renderMarkdown(source));
      return box.innerHTML;
    });
  }, sources);
}

const run = chromiumInstalled() ? describe : describe.skip;

run('preview renderers in Chromium', () => {
  let emulator: Emulator;
  const browser = useBrowser();
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.close());

  const open = async () => {
    const { page } = await browser.open(`${emulator.url}/_emulator/preview`);
    await loadModules(page);
    return page;
  };

  it('renders Feishu markdown: headings, emphasis, code, lists, tables, quotes, rules, line breaks and Feishu tags', async () => {
    const page = await open();
    const cases: [string, string][] = [
      ['# H1\n## H2 ##\n###### H6\n#not a heading', '<h1>H1</h1><h2>H2</h2><h6>H6</h6><p>#not a heading</p>'],
      [
        '**b** *i* ***bi*** ~~s~~ `c` __u__ _e_',
        '<p><strong>b</strong> <em>i</em> <strong><em>bi</em></strong> <del>s</del> <code class="md-inline-code">c</code> <strong>u</strong> <em>e</em></p>',
      ],
      ['snake_case_name 2 * 3 * 4 a*b ** c ~single~', '<p>snake_case_name 2 * 3 * 4 a*b ** c ~single~</p>'],
      ['**bold with `code` inside**', '<p><strong>bold with <code class="md-inline-code">code</code> inside</strong></p>'],
      ['``a ` b``', '<p><code class="md-inline-code">a ` b</code></p>'],
      ['**unclosed and `open', '<p>**unclosed and `open</p>'],
      ['line one\nline two', '<p>line one<br>line two</p>'],
      ['para one\n\npara two', '<p>para one</p><p>para two</p>'],
      ['\\*not italic\\* \\<b\\>', '<p>*not italic* &lt;b&gt;</p>'],
      [
        '- a\n  - b\n    - c\n- d',
        '<ul><li><span class="md-tight">a</span><ul><li><span class="md-tight">b</span><ul><li><span class="md-tight">c</span></li></ul></li></ul></li><li><span class="md-tight">d</span></li></ul>',
      ],
      ['3. three\n4. four', '<ol start="3"><li><span class="md-tight">three</span></li><li><span class="md-tight">four</span></li></ol>'],
      [
        '1. step\n   - detail\n2. next',
        '<ol><li><span class="md-tight">step</span><ul><li><span class="md-tight">detail</span></li></ul></li><li><span class="md-tight">next</span></li></ol>',
      ],
      ['* star\n+ plus', '<ul><li><span class="md-tight">star</span></li><li><span class="md-tight">plus</span></li></ul>'],
      ['text\n- item', '<p>text</p><ul><li><span class="md-tight">item</span></li></ul>'],
      [
        '```html\n<script>alert(1)</script>\n  indented\n```\nafter',
        '<pre class="md-code-block" data-lang="html"><code>&lt;script&gt;alert(1)&lt;/script&gt;\n  indented</code></pre><p>after</p>',
      ],
      ['```js\nlet a = 1', '<pre class="md-code-block" data-lang="js"><code>let a = 1</code></pre>'],
      ['~~~\nx\n~~~', '<pre class="md-code-block"><code>x</code></pre>'],
      [
        '| A | B | C |\n| :-- | :-: | --: |\n| 1 | `a|b` | x \\| y |\n| 2 |',
        '<div class="md-table-wrap"><table><thead><tr><th class="md-align-left">A</th><th class="md-align-center">B</th><th class="md-align-right">C</th></tr></thead>' +
          '<tbody><tr><td class="md-align-left">1</td><td class="md-align-center"><code class="md-inline-code">a|b</code></td><td class="md-align-right">x | y</td></tr>' +
          '<tr><td class="md-align-left">2</td><td class="md-align-center"></td><td class="md-align-right"></td></tr></tbody></table></div>',
      ],
      ['| a | b |\n| --', '<p>| a | b |<br>| --</p>'],
      ['> quoted\n> - item\n\nafter', '<blockquote><p>quoted</p><ul><li><span class="md-tight">item</span></li></ul></blockquote><p>after</p>'],
      ['above\n\n---\n\n***\nbelow', '<p>above</p><hr><hr><p>below</p>'],
      [
        "<font color='red'>r</font> <font color=green>g</font> <font color=\"#ff0000\">x</font> <font color='blue-500'>b</font>",
        '<p><span class="md-font c-red">r</span> <span class="md-font c-green">g</span> <span class="md-font">x</span> <span class="md-font c-blue">b</span></p>',
      ],
      [
        "<at id=all></at> <at id='ou_1'></at> <at user_id=\"u_2\">Ann</at>",
        '<p><span class="md-at" title="all">@所有人</span> <span class="md-at" title="ou_1">@ou_1</span> <span class="md-at" title="u_2">@Ann</span></p>',
      ],
      ["<text_tag color='green'>done</text_tag>", '<p><span class="md-text-tag tag-green">done</span></p>'],
      ['a<br>b<br/>c', '<p>a<br>b<br>c</p>'],
      ['<b>bold?</b> <div>x</div> <font color="red">unclosed', '<p>&lt;b&gt;bold?&lt;/b&gt; &lt;div&gt;x&lt;/div&gt; &lt;font color="red"&gt;unclosed</p>'],
      ['![diagram](img_v2_abc)', '<p><span class="md-img">[图片 diagram]</span></p>'],
    ];
    const rendered = await markdown(page, cases.map(([source]) => source));
    rendered.forEach((html, index) => expect(html, JSON.stringify(cases[index]![0])).toBe(cases[index]![1]));
  });

  it('makes links only of http(s) and mailto URLs, opening in a new tab without referrer; anything else stays text', async () => {
    const page = await open();
    const a = (href: string, text: string) => `<a class="md-link" href="${href}" target="_blank" rel="noopener noreferrer">${text}</a>`;
    const cases: [string, string][] = [
      ['[docs](https://open.feishu.cn/a?b=1&c=2)', `<p>${a('https://open.feishu.cn/a?b=1&amp;c=2', 'docs')}</p>`],
      ['[**bold** link](http://x.test/(y))', `<p>${a('http://x.test/(y)', '<strong>bold</strong> link')}</p>`],
      ['[mail](mailto:a@b.test "title")', `<p>${a('mailto:a@b.test', 'mail')}</p>`],
      ['see https://example.com/x.', `<p>see ${a('https://example.com/x', 'https://example.com/x')}.</p>`],
      ['(https://example.com/p_(q))', `<p>(${a('https://example.com/p_(q)', 'https://example.com/p_(q)')})</p>`],
      ['见https://a.test/x。好', `<p>见${a('https://a.test/x', 'https://a.test/x')}。好</p>`],
      ['<https://auto.test/z>', `<p>${a('https://auto.test/z', 'https://auto.test/z')}</p>`],
      ['[nested https://x.test](https://y.test)', `<p>${a('https://y.test/', 'nested https://x.test')}</p>`],
      ['[a](javascript:alert(1))', '<p>[a](javascript:alert(1))</p>'],
      ['[a](  JaVaScRiPt:alert(1))', '<p>[a](  JaVaScRiPt:alert(1))</p>'],
      ['[a](java\\nscript:alert(1))', '<p>[a](java\\nscript:alert(1))</p>'],
      ['[a](vbscript:x) [b](data:text/html,x) [c](/relative) [d](//evil.test) [e](file:///etc/passwd)', '<p>[a](vbscript:x) [b](data:text/html,x) [c](/relative) [d](//evil.test) [e](file:///etc/passwd)</p>'],
      ['[a](https://ok.test/\u0007x) [b](http: //x)', '<p>[a](https://ok.test/\u0007x) [b](http: //x)</p>'],
      ['<javascript:alert(1)> javascript:alert(1) xhttps://no.test', '<p>&lt;javascript:alert(1)&gt; javascript:alert(1) xhttps://no.test</p>'],
    ];
    const rendered = await markdown(page, cases.map(([source]) => source));
    rendered.forEach((html, index) => expect(html, JSON.stringify(cases[index]![0])).toBe(cases[index]![1]));
  });

  it('renders a Card JSON 2.0 card: header colours, components, columns, inert buttons, panels, placeholders', async () => {
    const page = await open();
    const card = {
      schema: '2.0',
      config: { width_mode: 'compact' },
      header: {
        title: { tag: 'plain_text', content: 'Title' },
        subtitle: { tag: 'plain_text', content: 'Subtitle' },
        template: 'red',
        text_tag_list: [{ tag: 'text_tag', text: { tag: 'plain_text', content: 'beta' }, color: 'orange' }],
      },
      body: {
        elements: [
          { tag: 'markdown', element_id: 'md', content: '**hi**', text_align: 'center', text_size: 'heading' },
          { tag: 'div', text: { tag: 'plain_text', content: 'plain  <b>text</b>\nline', text_color: 'grey' } },
          { tag: 'div', text: { tag: 'lark_md', content: '*lark* md' } },
          { tag: 'hr' },
          {
            tag: 'column_set',
            columns: [
              { tag: 'column', width: 'weighted', weight: 2, elements: [{ tag: 'markdown', content: 'left' }] },
              { tag: 'column', width: '120px', vertical_align: 'center', elements: [{ tag: 'markdown', content: 'right' }] },
              { tag: 'column', width: 'auto', elements: [] },
            ],
          },
          { tag: 'button', element_id: 'go', text: { tag: 'plain_text', content: 'Go' }, type: 'primary_filled', behaviors: [{ type: 'open_url', default_url: 'javascript:alert(1)' }] },
          { tag: 'button', text: { tag: 'plain_text', content: 'Off' }, disabled: true },
          { tag: 'note', elements: [{ tag: 'plain_text', content: 'a note' }, { tag: 'lark_md', content: '**md** note' }] },
          { tag: 'img', img_key: 'img_v2_1', alt: { tag: 'plain_text', content: 'a chart' } },
          {
            tag: 'collapsible_panel',
            element_id: 'p',
            expanded: false,
            header: { title: { tag: 'markdown', content: '**Panel**' }, icon_position: 'left' },
            border: { color: 'grey' },
            elements: [{ tag: 'markdown', content: 'inside' }],
          },
          { tag: 'chart', chart_spec: {} },
        ],
      },
    };
    const result = await page.evaluate(
      (card) => {
        const { renderCard, paintText } = (window as unknown as WithModules).__preview.card;
        const root = renderCard(card, {
          slot: (_key: string, mode: string, text: string) => {
            const node = document.createElement('span');
            node.className = `slot slot-${mode}`;
            paintText(node, mode, text, false);
            return node;
          },
          panelOpen: (_key: string, expanded: boolean) => expanded,
          setPanelOpen: () => undefined,
        });
        document.getElementById('card-host')!.replaceChildren(root);
        document.getElementById('chat')!.hidden = false;
        const q = (selector: string) => root.querySelector<HTMLElement>(selector);
        const panelBody = q('.fs-panel-body')!;
        const bodyHiddenBefore = panelBody.hidden;
        q('.fs-panel-header')!.click();
        const button = q('[data-element-id="go"]') as HTMLButtonElement;
        return {
          rootClass: root.className,
          headerClass: q('.fs-header')!.className,
          title: q('.fs-header-title')!.innerText,
          subtitle: q('.fs-header-subtitle')!.innerText,
          tag: q('.fs-header .md-text-tag')!.outerHTML,
          markdown: q('[data-element-id="md"]')!.outerHTML,
          plain: root.querySelectorAll('.fs-div')[0]!.innerHTML,
          plainClass: root.querySelectorAll('.fs-div')[0]!.className,
          lark: root.querySelectorAll<HTMLElement>('.fs-div')[1]!.innerText,
          hr: root.querySelectorAll('.fs-body > hr.fs-hr').length,
          columns: [...root.querySelectorAll<HTMLElement>('.fs-column-set > .fs-column')].map((c) => ({
            className: c.className,
            basis: c.style.flexBasis,
            text: c.innerText,
          })),
          button: { className: button.className, text: button.innerText, type: button.type, onclick: button.onclick, disabled: button.disabled },
          disabled: root.querySelectorAll<HTMLButtonElement>('.fs-button')[1]!.disabled,
          note: q('.fs-note')!.innerText,
          img: { text: q('.fs-img')!.innerText, images: root.querySelectorAll('img').length },
          panel: { bodyHiddenBefore, bodyHiddenAfter: panelBody.hidden, className: q('.fs-panel')!.className, first: q('.fs-panel-header')!.firstElementChild!.className },
          unsupported: q('.fs-unsupported')!.innerText,
          anchors: root.querySelectorAll('a').length,
        };
      },
      card,
    );
    expect(result.rootClass).toBe('fs-card width-compact');
    expect(result.headerClass).toBe('fs-header tpl-red');
    expect(result.title).toBe('Title');
    expect(result.subtitle).toBe('Subtitle');
    expect(result.tag).toBe('<span class="md-text-tag tag-orange">beta</span>');
    expect(result.markdown).toBe(
      '<div class="fs-markdown align-center ts-heading" data-element-id="md"><span class="slot slot-markdown"><p><strong>hi</strong></p></span></div>',
    );
    expect(result.plain).toBe('<div class="fs-plain"><span class="slot slot-plain">plain  &lt;b&gt;text&lt;/b&gt;\nline</span></div>');
    expect(result.plainClass).toBe('fs-div c-grey');
    expect(result.lark).toBe('lark md');
    expect(result.hr).toBe(1);
    expect(result.columns).toEqual([
      { className: 'fs-column weight-2', basis: '', text: 'left' },
      { className: 'fs-column fixed valign-center', basis: '120px', text: 'right' },
      { className: 'fs-column auto', basis: '', text: '' },
    ]);
    expect(result.button).toEqual({ className: 'fs-button btn-primary_filled', text: 'Go', type: 'button', onclick: null, disabled: false });
    expect(result.disabled).toBe(true);
    expect(result.note).toMatch(/^a note\s*md note$/);
    expect(result.img).toEqual({ text: 'a chart', images: 0 });
    expect(result.panel).toEqual({ bodyHiddenBefore: true, bodyHiddenAfter: false, className: 'fs-panel border-grey open', first: 'fs-panel-chevron' });
    expect(result.unsupported).toBe('[chart] not shown by the preview');
    expect(result.anchors).toBe(0);
  });

  it('typewriter: prefix updates type the tail, fast shows pending text at once, delay keeps typing, other updates show at once', async () => {
    const page = await open();
    const result = await page.evaluate(async () => {
      const module = (window as unknown as WithModules).__preview.typewriter;
      const slow = (strategy: string): Settings => ({ frequencyMs: 10_000, step: 1, strategy });
      const out: Record<string, unknown> = {};
      for (const strategy of ['fast', 'delay']) {
        const tw = new module.Typewriter(() => undefined);
        tw.configure(true, slow(strategy));
        tw.set('a', 'AB'); // first sight: shown at once
        const first = tw.displayed('a');
        tw.set('a', 'ABCDE'); // prefix: CDE to type
        const pending = tw.displayed('a');
        tw.set('a', 'ABCDEFGH'); // fast: CDE at once, FGH to type; delay: still at AB
        out[strategy] = { first, pending, next: tw.displayed('a'), typing: tw.typing('a') };
        tw.set('a', 'XYZ'); // not a prefix: at once
        (out[strategy] as Record<string, unknown>).rewrite = tw.displayed('a');
        tw.set('a', 'XYZ and more');
        tw.configure(false, slow(strategy)); // streaming closes: everything shows
        (out[strategy] as Record<string, unknown>).closed = tw.displayed('a');
        tw.set('a', 'XYZ and more, after'); // not streaming: at once
        (out[strategy] as Record<string, unknown>).after = tw.displayed('a');
        tw.dispose();
      }
      // Several writes in one snapshot: `received` is what the earlier ones delivered.
      for (const strategy of ['fast', 'delay']) {
        const tw = new module.Typewriter(() => undefined);
        tw.configure(true, slow(strategy));
        tw.set('r', 'ab');
        tw.set('r', 'abcdef', true, 4);
        tw.set('s', '');
        tw.set('s', 'a😀b', true, 2); // never half an emoji
        out[`received_${strategy}`] = [tw.displayed('r'), tw.displayed('s')];
        tw.dispose();
      }
      const still = new module.Typewriter(() => undefined);
      still.configure(true, slow('fast'));
      still.set('t', 'title');
      still.set('t', 'title grows', false); // not a streamed element
      out.notAnimated = still.displayed('t');
      still.dispose();

      // Real ticks: 2 code points per 15 ms, an emoji never split.
      const painted: string[] = [];
      const live = new module.Typewriter(() => painted.push(live.displayed('e')));
      live.configure(true, { frequencyMs: 15, step: 2, strategy: 'fast' });
      live.set('e', '');
      live.set('e', 'a😀b😀c');
      await new Promise((resolve) => setTimeout(resolve, 400));
      out.ticks = painted;
      live.dispose();

      out.defaults = module.streamingSettings({});
      out.configured = module.streamingSettings({
        config: { streaming_config: { print_frequency_ms: { default: 30, pc: 50 }, print_step: { default: 4 }, print_strategy: 'delay' } },
      });
      out.junk = module.streamingSettings({ config: { streaming_config: { print_frequency_ms: { default: -1 }, print_step: { default: 'x' }, print_strategy: 'slow' } } });
      out.advance = [module.advance('😀😀x', 0, 1), module.advance('😀😀x', 0, 2), module.advance('ab', 1, 5)];
      return out;
    });
    expect(result.fast).toEqual({ first: 'AB', pending: 'AB', next: 'ABCDE', typing: true, rewrite: 'XYZ', closed: 'XYZ and more', after: 'XYZ and more, after' });
    expect(result.delay).toEqual({ first: 'AB', pending: 'AB', next: 'AB', typing: true, rewrite: 'XYZ', closed: 'XYZ and more', after: 'XYZ and more, after' });
    expect(result.received_fast).toEqual(['abcd', 'a']);
    expect(result.received_delay).toEqual(['ab', '']);
    expect(result.notAnimated).toBe('title grows');
    expect(result.ticks).toEqual(['a😀', 'a😀b😀', 'a😀b😀c']);
    expect(result.defaults).toEqual({ frequencyMs: 70, step: 1, strategy: 'fast' });
    expect(result.configured).toEqual({ frequencyMs: 50, step: 4, strategy: 'delay' });
    expect(result.junk).toEqual({ frequencyMs: 70, step: 1, strategy: 'fast' });
    expect(result.advance).toEqual([2, 4, 2]);
  });

  it('on the page, follows the card’s print settings: a long tail types slowly, a rewrite and closing show at once', async () => {
    const token = await tenantToken(emulator);
    const card = streamingCard({
      header: { title: { tag: 'plain_text', content: 'Slow typing' } },
      config: {
        streaming_mode: true,
        streaming_config: { print_frequency_ms: { default: 5, pc: 100 }, print_step: { default: 50, pc: 2 }, print_strategy: 'fast' },
      },
    });
    const cardId = await createCard(emulator, token, card);
    const { page, errors } = await browser.open(`${emulator.url}/_emulator/preview#card=${cardId}`);
    await page.locator('#card-host .fs-header-title', { hasText: 'Slow typing' }).waitFor();
    const answer = page.locator('#card-host [data-element-id="answer"]');
    const long = 'x'.repeat(200);
    expect((await putContent(emulator, token, cardId, 1, long)).body.code).toBe(0);
    // At 2 characters per 100 ms the 200 characters take 10 s: typing has begun but is far from done.
    await expect.poll(async () => (await answer.innerText()).length).toBeGreaterThan(0);
    expect((await answer.innerText()).length).toBeLessThan(long.length);
    expect(await answer.locator('.caret').count()).toBe(1);
    // Not a prefix of what is stored: shown at once.
    const rewrite = `rewritten ${'y'.repeat(150)}`;
    expect((await putContent(emulator, token, cardId, 2, rewrite)).body.code).toBe(0);
    await expect.poll(() => answer.innerText(), { timeout: 2000 }).toBe(rewrite);
    // A long tail again, then streaming closes: the rest appears at once.
    expect((await putContent(emulator, token, cardId, 3, `${rewrite} ${'z'.repeat(150)}`)).body.code).toBe(0);
    await expect.poll(async () => (await answer.innerText()).length).toBeGreaterThan(rewrite.length);
    expect((await patchSettings(emulator, token, cardId, 4, { config: { streaming_mode: false } })).body.code).toBe(0);
    await expect.poll(() => answer.innerText(), { timeout: 2000 }).toBe(`${rewrite} ${'z'.repeat(150)}`);
    expect(await answer.locator('.caret').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it.each(['fast', 'delay'])('on the page, two writes in quick succession with print_strategy %s', async (strategy) => {
    const token = await tenantToken(emulator);
    const card = streamingCard({
      header: { title: { tag: 'plain_text', content: `Strategy ${strategy}` } },
      config: { streaming_mode: true, streaming_config: { print_frequency_ms: { default: 100 }, print_step: { default: 1 }, print_strategy: strategy } },
    });
    const cardId = await createCard(emulator, token, card);
    const { page, errors } = await browser.open(`${emulator.url}/_emulator/preview#card=${cardId}`);
    await page.locator('#card-host .fs-header-title', { hasText: `Strategy ${strategy}` }).waitFor();
    const answer = page.locator('#card-host [data-element-id="answer"]');
    const first = 'a'.repeat(100);
    const second = `${first}${'b'.repeat(50)}`;
    // Snapshots come late, so one snapshot brings both writes (the page must use the write log to
    // know what the first write had delivered).
    await page.route(`**/_emulator/cards/${cardId}`, async (route) => {
      await sleep(300);
      await route.continue();
    });
    expect((await putContent(emulator, token, cardId, 1, first)).body.code).toBe(0);
    expect((await putContent(emulator, token, cardId, 2, second)).body.code).toBe(0);
    await sleep(900);
    const shown = (await answer.innerText()).length;
    // fast: the first write's text shows at once when the second arrives, then the tail types out;
    // delay: typing just carries on, 1 character per 100 ms from the start.
    if (strategy === 'fast') {
      expect(shown).toBeGreaterThanOrEqual(first.length);
      expect(shown).toBeLessThan(second.length);
    } else {
      expect(shown).toBeGreaterThan(0);
      expect(shown).toBeLessThan(first.length);
    }
    expect(errors).toEqual([]);
  });
});
