/**
 * The live preview page in a real headless Chromium against a running emulator: streamed text typed
 * out and ending exact, collapsible panels, model output that tries to run script, the write log,
 * the card and message lists, deep links and reconnecting to the event stream.
 */
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { CardSession } from '../../src/session/index.js';
import { chromiumInstalled, useBrowser } from '../support/browser.js';
import { clientFor } from '../support/client.js';
import { api, createCard, patchSettings, putContent, streamingCard, tenantToken, useEmulator } from '../support/emulator-http.js';
import { sleep } from '../support/session.js';

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);

/** A multi-paragraph answer: Chinese and English, emphasis, a list, a code block, a table, a quote. */
const ANSWER = [
  '## 概览 Overview',
  '',
  '这是一个**流式**回答。This answer streams *progressively*, with `inline code` and ~~stale~~ text.',
  '',
  '- 第一项 first item',
  '- 第二项 second item',
  '  - 嵌套 nested item',
  '',
  '1. 步骤一 step one',
  '2. 步骤二 step two',
  '',
  '```ts',
  'const answer: number = 42;',
  'console.log(answer);',
  '```',
  '',
  '| 名称 Name | 数值 Value |',
  '| --- | ---: |',
  '| 甲 alpha | 1 |',
  '| 乙 beta | 2 |',
  '',
  '> 引用 A quoted line.',
  '',
  '完成。Done, see [the docs](https://open.feishu.cn/document).',
].join('\n');

/** What a reader sees of ANSWER, whitespace collapsed (list markers and fences are not text). */
const ANSWER_VISIBLE = [
  '概览 Overview',
  '这是一个流式回答。This answer streams progressively, with inline code and stale text.',
  '第一项 first item', '第二项 second item', '嵌套 nested item',
  '步骤一 step one', '步骤二 step two',
  'const answer: number = 42;', 'console.log(answer);',
  '名称 Name', '数值 Value', '甲 alpha', '1', '乙 beta', '2',
  '引用 A quoted line.',
  '完成。Done, see the docs.',
].join(' ');

const squash = (text: string) => text.replace(/\s+/g, ' ').trim();

function answerCard(): Record<string, unknown> {
  return {
    schema: '2.0',
    config: {
      update_multi: true,
      streaming_config: { print_frequency_ms: { default: 30 }, print_step: { default: 2 }, print_strategy: 'fast' },
    },
    header: {
      title: { tag: 'plain_text', content: 'Streaming answer 流式回答' },
      subtitle: { tag: 'plain_text', content: 'feishu-card-session · emulator' },
      template: 'blue',
    },
    body: {
      elements: [
        { tag: 'markdown', element_id: 'answer', content: '' },
        {
          tag: 'collapsible_panel',
          element_id: 'raw_panel',
          header: { title: { tag: 'markdown', content: '**Raw text** 原文' } },
          elements: [{ tag: 'div', text: { tag: 'plain_text', element_id: 'raw', content: '' } }],
        },
        { tag: 'hr' },
        // Card JSON 2.0 has no `note` component: a small grey plain text takes its place.
        { tag: 'div', text: { tag: 'plain_text', content: 'Streamed through the local emulator', text_size: 'notation', text_color: 'grey' } },
      ],
    },
  };
}

/** Splits `text` into `parts` pieces of about equal length. */
function pieces(text: string, parts: number): string[] {
  const size = Math.ceil(text.length / parts);
  const out: string[] = [];
  for (let at = 0; at < text.length; at += size) out.push(text.slice(at, at + size));
  return out;
}

const previewUrl = (emulator: Emulator, cardId?: string) =>
  `${emulator.url}/_emulator/preview${cardId === undefined ? '' : `#card=${encodeURIComponent(cardId)}`}`;

/** The preview has the card on screen (the selected card's DOM is built). */
async function cardShown(page: Page, title: string): Promise<void> {
  await page.locator('#card-host .fs-header-title', { hasText: title }).waitFor({ timeout: 5000 });
}

const run = chromiumInstalled() ? describe : describe.skip;

run('live preview in Chromium', () => {
  let emulator: Emulator;
  let token: string;
  useEmulator((started) => ({ emulator, token } = started));
  const browser = useBrowser();

  it('types streamed text out progressively, ends with the exact answer and drops the streaming indicator when streaming closes', async () => {
    const { client } = clientFor(emulator);
    const session = await CardSession.start(client, { card: answerCard(), extraElementIds: ['raw'], to: { chat_id: 'oc_preview' } });
    const { page, errors } = await browser.open(previewUrl(emulator, session.cardId!));
    await cardShown(page, 'Streaming answer');
    await expect.poll(() => page.locator('#streaming-indicator').isVisible()).toBe(true);
    await expect.poll(() => page.locator('#card-list .item-summary').first().textContent()).toBe('[生成中...]');

    const answer = page.locator('#card-host [data-element-id="answer"]');
    const raw = page.locator('#card-host [data-slot="raw"]');
    const rawSamples: string[] = [];
    const answerSamples = new Set<string>();
    let writing = true;
    const sampler = (async () => {
      while (writing) {
        const [shownRaw, shownAnswer] = await Promise.all([raw.textContent(), answer.innerText()]);
        if (shownRaw && shownRaw !== rawSamples.at(-1)) rawSamples.push(shownRaw);
        if (shownAnswer) answerSamples.add(shownAnswer);
        await sleep(40);
      }
    })();
    const boundaries = new Set<number>();
    let sent = '';
    for (const piece of pieces(ANSWER, 8)) {
      session.append(piece);
      session.append(piece, 'raw');
      sent += piece;
      boundaries.add(sent.length);
      await sleep(250);
    }
    const result = await session.finish();
    writing = false;
    await sampler;

    expect(result.text).toBe(ANSWER);
    // It grew: every sample of the plain text is a prefix of the answer, each longer than the one before.
    expect(rawSamples.length).toBeGreaterThanOrEqual(3);
    for (const [index, sample] of rawSamples.entries()) {
      expect(ANSWER.startsWith(sample), `sample ${index} is not a prefix: ${JSON.stringify(sample)}`).toBe(true);
      if (index > 0) expect(sample.length).toBeGreaterThan(rawSamples[index - 1]!.length);
    }
    // Typed out, not only shown write by write: some samples end between two writes' text.
    expect(rawSamples.some((sample) => !boundaries.has(sample.length))).toBe(true);
    expect(answerSamples.size).toBeGreaterThanOrEqual(3);

    await page.locator('#streaming-indicator').waitFor({ state: 'hidden', timeout: 5000 });
    expect(emulator.card(session.cardId!)?.streaming_mode).toBe(false);
    expect(await raw.textContent()).toBe(ANSWER);
    expect(squash(await answer.innerText())).toBe(ANSWER_VISIBLE);
    expect(await page.locator('#card-host .caret').count()).toBe(0);
    // The markdown became structure, not text with symbols in it.
    expect(await answer.locator('h2').innerText()).toBe('概览 Overview');
    expect(await answer.locator('strong').innerText()).toBe('流式');
    expect(await answer.locator('em').innerText()).toBe('progressively');
    expect(await answer.locator('del').innerText()).toBe('stale');
    expect(await answer.locator('code.md-inline-code').innerText()).toBe('inline code');
    expect(await answer.locator('ul > li > ul > li').innerText()).toBe('嵌套 nested item');
    expect(await answer.locator('ol > li').allInnerTexts()).toEqual(['步骤一 step one', '步骤二 step two']);
    expect(await answer.locator('pre code').textContent()).toBe('const answer: number = 42;\nconsole.log(answer);');
    expect(await answer.locator('table tr').count()).toBe(3);
    expect(await answer.locator('td.md-align-right').allInnerTexts()).toEqual(['1', '2']);
    expect(await answer.locator('blockquote').innerText()).toBe('引用 A quoted line.');
    const link = answer.locator('a');
    expect(await link.getAttribute('href')).toBe('https://open.feishu.cn/document');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await link.getAttribute('target')).toBe('_blank');
    // The list shows the summary the session set when it closed the card.
    await expect.poll(() => page.locator('#card-list .item-summary').first().textContent()).not.toBe('[生成中...]');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('preview.png', ARTIFACTS).pathname });
    expect(errors).toEqual([]);
  });

  it('keeps a collapsible panel collapsed until its header is clicked, and keeps it open across updates', async () => {
    const card = streamingCard({
      header: { title: { tag: 'plain_text', content: 'Panels' } },
      body: {
        elements: [
          {
            tag: 'collapsible_panel',
            element_id: 'thinking_panel',
            header: { title: { tag: 'markdown', content: 'Thinking' } },
            elements: [{ tag: 'markdown', element_id: 'thinking', content: 'Hidden reasoning' }],
          },
          {
            tag: 'collapsible_panel',
            element_id: 'open_panel',
            expanded: true,
            header: { title: { tag: 'plain_text', content: 'Sources' } },
            elements: [{ tag: 'markdown', element_id: 'sources', content: 'Visible from the start' }],
          },
          { tag: 'markdown', element_id: 'answer', content: '' },
        ],
      },
    });
    const cardId = await createCard(emulator, token, card);
    const { page, errors } = await browser.open(previewUrl(emulator, cardId));
    await cardShown(page, 'Panels');
    const panel = page.locator('[data-element-id="thinking_panel"]');
    const header = panel.locator('.fs-panel-header');
    const content = panel.getByText('Hidden reasoning');

    expect(await content.isVisible()).toBe(false);
    expect(await header.getAttribute('aria-expanded')).toBe('false');
    expect(await page.getByText('Visible from the start').isVisible()).toBe(true);

    await header.click();
    await content.waitFor({ state: 'visible' });
    expect(await header.getAttribute('aria-expanded')).toBe('true');

    // Text streamed into the open panel, then a structural change: the panel stays open.
    expect((await putContent(emulator, token, cardId, 1, 'Hidden reasoning, continued', 'thinking')).body.code).toBe(0);
    await page.getByText('Hidden reasoning, continued').waitFor({ state: 'visible' });
    const added = await api(emulator, 'POST', `/open-apis/cardkit/v1/cards/${cardId}/elements`, {
      token,
      body: { type: 'append', sequence: 2, elements: JSON.stringify([{ tag: 'markdown', element_id: 'extra', content: 'Added later' }]) },
    });
    expect(added.body.code).toBe(0);
    await page.getByText('Added later').waitFor({ state: 'visible' });
    expect(await page.getByText('Hidden reasoning, continued').isVisible()).toBe(true);

    await header.click();
    await page.getByText('Hidden reasoning, continued').waitFor({ state: 'hidden' });
    expect(await header.getAttribute('aria-expanded')).toBe('false');
    expect(errors).toEqual([]);
  });

  it('shows injected markup as text and never runs it', async () => {
    const attack = [
      'Before <script>window.__pwned=1</script> after',
      '',
      '<img src=x onerror="window.__pwned=2">',
      '',
      '[click](javascript:window.__pwned=3)',
      '',
      `<font color='red' onmouseover="window.__pwned=4">hover me</font>`,
      '',
      '[sneaky](JaVaScRiPt:window.__pwned=5) <a href="javascript:window.__pwned=6">anchor</a> <iframe src="javascript:window.__pwned=7"></iframe>',
      '',
      '<svg onload="window.__pwned=8"></svg> [data](data:text/html,<script>window.__pwned=9</script>) [ok](https://example.com/safe)',
    ].join('\n');
    const card = streamingCard({
      header: { title: { tag: 'plain_text', content: 'Injection <img src=x onerror="window.__pwned=10">' } },
      body: {
        elements: [
          { tag: 'markdown', element_id: 'answer', content: '' },
          { tag: 'div', text: { tag: 'plain_text', element_id: 'plain', content: '' } },
          { tag: 'div', text: { tag: 'lark_md', content: '<script>window.__pwned=11</script>' } },
        ],
      },
    });
    const cardId = await createCard(emulator, token, card);
    const { page, errors } = await browser.open(previewUrl(emulator, cardId));
    await cardShown(page, 'Injection');
    const half = attack.slice(0, attack.indexOf('[click]'));
    let sequence = 0;
    for (const text of [half, attack]) {
      expect((await putContent(emulator, token, cardId, ++sequence, text)).body.code).toBe(0);
      expect((await putContent(emulator, token, cardId, ++sequence, text, 'plain')).body.code).toBe(0);
    }
    expect((await patchSettings(emulator, token, cardId, ++sequence, { config: { streaming_mode: false } })).body.code).toBe(0);
    await page.locator('#streaming-indicator').waitFor({ state: 'hidden' });

    const host = page.locator('#card-host');
    const answer = host.locator('[data-element-id="answer"]');
    await answer.getByText('hover me').waitFor();
    await answer.getByText('hover me').hover();
    await answer.getByText('[click](javascript:window.__pwned=3)').click();
    await answer.getByText('anchor').click();
    await host.locator('.fs-header-title').hover();
    await sleep(100);
    const pwned = () => page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned);
    expect(await pwned()).toBeUndefined();

    const answerText = await answer.innerText();
    for (const literal of [
      '<script>window.__pwned=1</script>',
      '<img src=x onerror="window.__pwned=2">',
      '[click](javascript:window.__pwned=3)',
      '[sneaky](JaVaScRiPt:window.__pwned=5)',
      '<a href="javascript:window.__pwned=6">anchor</a>',
      '<iframe src="javascript:window.__pwned=7"></iframe>',
      '<svg onload="window.__pwned=8"></svg>',
      '[data](data:text/html,<script>window.__pwned=9</script>)',
    ]) {
      expect(answerText).toContain(literal);
    }
    expect(await host.locator('[data-slot="plain"]').textContent()).toBe(attack);
    expect(await host.locator('.fs-header-title').innerText()).toBe('Injection <img src=x onerror="window.__pwned=10">');
    expect(await host.innerText()).toContain('<script>window.__pwned=11</script>');
    // The Feishu tag is styling only: red text, and none of its attributes carried over.
    const font = answer.locator('.md-font');
    expect(await font.innerText()).toBe('hover me');
    expect(await font.getAttribute('class')).toBe('md-font c-red');

    const dom = await page.evaluate(() => {
      const root = document.getElementById('card-host')!;
      const all = [root, ...root.querySelectorAll('*')];
      return {
        tags: [...new Set(all.map((node) => node.tagName.toLowerCase()))].sort(),
        handlers: all.flatMap((node) => [...node.attributes].filter((a) => a.name.startsWith('on')).map((a) => a.name)),
        hrefs: [...root.querySelectorAll('a')].map((a) => a.getAttribute('href')),
        scriptsInPage: document.scripts.length,
      };
    });
    for (const tag of ['script', 'img', 'iframe', 'svg', 'object', 'embed', 'style', 'link']) expect(dom.tags).not.toContain(tag);
    expect(dom.handlers).toEqual([]);
    expect(dom.hrefs).toEqual(['https://example.com/safe']);
    expect(dom.scriptsInPage).toBe(1); // the page's own module
    expect(errors).toEqual([]);

    // The second line of defence: even a script element put into the page is refused by the CSP.
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__pwned = 12';
      document.body.append(script);
    });
    await sleep(50);
    expect(await pwned()).toBeUndefined();
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(error).toMatch(/Content Security Policy/);
  });

  it('lists the cards and messages, shows [生成中...] while streaming and the write log with sequences and codes, live', async () => {
    const first = await createCard(emulator, token, streamingCard({ header: { title: { tag: 'plain_text', content: 'First card' } } }));
    const { page, errors } = await browser.open(previewUrl(emulator, first));
    await cardShown(page, 'First card');
    const second = await createCard(emulator, token, streamingCard({ header: undefined }));
    expect((await putContent(emulator, token, second, 1, 'Second card: no header, so its first text names it')).body.code).toBe(0);

    const items = page.locator('#card-list .card-item');
    await expect.poll(() => items.count()).toBe(2);
    const firstItem = page.locator(`#card-list [data-card-id="${first}"]`);
    const secondItem = page.locator(`#card-list [data-card-id="${second}"]`);
    await expect.poll(() => secondItem.locator('.item-title').textContent()).toBe('Second card: no header, so its first text names it');
    expect(await firstItem.locator('.item-title').textContent()).toBe('First card');
    expect(await firstItem.locator('.item-summary').textContent()).toBe('[生成中...]');
    expect(await firstItem.locator('.item-state').textContent()).toBe('streaming');
    expect(await firstItem.getAttribute('class')).toContain('selected');
    expect(await page.locator('#stage-summary').textContent()).toBe('[生成中...]');

    // Writes to the selected card appear in its log as they happen, rejected ones with their code.
    expect((await putContent(emulator, token, first, 1, 'one')).body.code).toBe(0);
    expect((await putContent(emulator, token, first, 2, 'one two')).body.code).toBe(0);
    expect((await putContent(emulator, token, first, 2, 'one two three')).body.code).toBe(300317);
    expect((await patchSettings(emulator, token, first, 3, { config: { streaming_mode: false } })).body.code).toBe(0);
    const rows = page.locator('#log-body tr');
    await expect.poll(() => rows.count()).toBe(5);
    const log = await rows.evaluateAll((trs) =>
      trs.map((tr) => ({
        endpoint: tr.querySelector('.log-endpoint')?.textContent,
        sequence: tr.querySelector('.log-seq')?.textContent,
        code: tr.querySelector('.log-code')?.textContent,
      })),
    );
    expect(log).toEqual([
      { endpoint: 'card.create', sequence: '–', code: '0 ok' },
      { endpoint: 'cardElement.content #answer 3 ch', sequence: '1', code: '0 ok' },
      { endpoint: 'cardElement.content #answer 7 ch', sequence: '2', code: '0 ok' },
      { endpoint: 'cardElement.content #answer 13 ch', sequence: '2', code: '300317' },
      { endpoint: 'card.settings', sequence: '3', code: '0 ok' },
    ]);
    expect(await rows.nth(3).getAttribute('class')).toBe('rejected');
    expect(await page.locator('#log-summary').textContent()).toBe('5 writes · 4 accepted · 1 rejected · max in flight 1');
    await expect.poll(() => firstItem.locator('.item-state').textContent()).toBe('closed');
    expect(await firstItem.locator('.item-summary').textContent()).not.toBe('[生成中...]');
    expect(await page.locator('#streaming-indicator').isVisible()).toBe(false);
    expect(await page.locator('#card-host [data-element-id="answer"]').innerText()).toBe('one two');

    // A message carrying the second card: listed, and clicking it selects that card.
    const sent = await api(emulator, 'POST', '/open-apis/im/v1/messages?receive_id_type=chat_id', {
      token,
      body: { receive_id: 'oc_team', msg_type: 'interactive', content: JSON.stringify({ type: 'card', data: { card_id: second } }) },
    });
    expect(sent.body.code).toBe(0);
    const message = page.locator('#message-list .message-item');
    await message.waitFor();
    expect(await message.locator('.item-title').textContent()).toBe('interactive → oc_team');
    await message.locator('button').click();
    await page.waitForURL(`**#card=${second}`);
    await page.locator('#card-host [data-element-id="answer"]', { hasText: 'Second card' }).waitFor();
    expect(await secondItem.getAttribute('class')).toContain('selected');
    await expect.poll(() => page.locator('#facts').innerText()).toContain(sent.body.data!.message_id);
    expect(errors).toEqual([]);
  });

  it('shows inline-card and text messages, and an inline card patched through IM, live', async () => {
    const { page, errors } = await browser.open(previewUrl(emulator));
    await page.locator('#connection[data-state="live"]').waitFor();
    const inline = (title: string, text: string) =>
      JSON.stringify({ schema: '2.0', header: { title: { tag: 'plain_text', content: title }, template: 'green' }, body: { elements: [{ tag: 'markdown', content: text }] } });
    const send = (msgType: string, content: string) =>
      api(emulator, 'POST', '/open-apis/im/v1/messages?receive_id_type=chat_id', { token, body: { receive_id: 'oc_chat', msg_type: msgType, content } });
    const card = await send('interactive', inline('Inline card', 'Version **one**'));
    expect(card.body.code).toBe(0);
    const cardMessageId = card.body.data!.message_id as string;
    expect((await send('text', JSON.stringify({ text: 'plain <b>hello</b>' }))).body.code).toBe(0);

    const items = page.locator('#message-list .message-item');
    await expect.poll(() => items.count()).toBe(2);
    await page.locator(`#message-list [data-message-id="${cardMessageId}"] button`).click();
    await page.waitForURL(`**#message=${cardMessageId}`);
    await cardShown(page, 'Inline card');
    expect(await page.locator('#card-host .fs-header').getAttribute('class')).toBe('fs-header tpl-green');
    expect(await page.locator('#card-host .fs-markdown').innerText()).toBe('Version one');
    expect(await page.locator('#log-summary').textContent()).toBe('Inline messages have no CardKit write log.');

    const patched = await api(emulator, 'PATCH', `/open-apis/im/v1/messages/${cardMessageId}`, { token, body: { content: inline('Inline card', 'Version **two**') } });
    expect(patched.body.code).toBe(0);
    await expect.poll(() => page.locator('#card-host .fs-markdown').innerText()).toBe('Version two');
    await expect.poll(() => page.locator(`#message-list [data-message-id="${cardMessageId}"] .item-title`).textContent()).toBe('interactive (updated) → oc_chat');

    await items.filter({ hasText: 'plain <b>hello</b>' }).locator('button').click();
    await page.locator('#card-host .text-bubble').waitFor();
    expect(await page.locator('#card-host .text-bubble').innerText()).toBe('plain <b>hello</b>');
    expect(await page.locator('#card-host b').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('shows a message-card session (transport: message) streaming live, and its whole answer rendered when it finishes', async () => {
    // Two halves: the first is streamed and must show on the page before the second is sent.
    const first = ['这是一个**流式消息卡片** 😀: each patch replaces the whole card.', '', '- 第一项 first 🍎', '- 第二项 second', ''].join('\n');
    const second = ['| 名称 Name | 数值 Value |', '| --- | --- |', '| 甲 alpha 👍 | 1 |', '| 乙 beta | 2 |', '', '完成。Done 🎉'].join('\n');
    const answer = first + '\n' + second;
    const firstVisible = '这是一个流式消息卡片 😀: each patch replaces the whole card. 第一项 first 🍎 第二项 second';
    const answerVisible = `${firstVisible} 名称 Name 数值 Value 甲 alpha 👍 1 乙 beta 2 完成。Done 🎉`;
    // The characters a reader sees, in order, whatever part of the markdown has arrived.
    const letters = (text: string) => text.replace(/[\s*|-]+/g, '');

    const { page, errors } = await browser.open(previewUrl(emulator));
    await page.locator('#connection[data-state="live"]').waitFor();
    const { client } = clientFor(emulator);
    const session = await CardSession.start(client, { transport: 'message', to: { chat_id: 'oc_preview' }, title: 'Message card 消息卡片' });
    const messageId = session.messageId!;
    await page.locator(`#message-list [data-message-id="${messageId}"] button`).click();
    await page.waitForURL(`**#message=${messageId}`);
    await cardShown(page, 'Message card');

    const shown = page.locator('#card-host [data-element-id="answer"]');
    const samples: string[] = [];
    let writing = true;
    const sampler = (async () => {
      while (writing) {
        const sample = squash(await shown.innerText());
        if (sample && sample !== samples.at(-1)) samples.push(sample);
        await sleep(40);
      }
    })();
    for (const piece of pieces(first, 5)) {
      session.append(piece);
      await sleep(120);
    }
    // Live: the first half on the page while the session is still open and the rest not yet sent.
    await expect.poll(() => shown.innerText().then(squash), { timeout: 3000 }).toBe(firstVisible);
    // What the poll saw is a state of the page too (the sampler, slowed by a busy machine, may step over it).
    if (samples.at(-1) !== firstVisible) samples.push(firstVisible);
    for (const piece of pieces('\n' + second, 5)) {
      session.append(piece);
      await sleep(120);
    }
    const result = await session.finish();
    writing = false;
    await sampler;

    expect(result).toMatchObject({ transport: 'message', cardId: null, messageId, text: answer });
    const patches = emulator.message(messageId)!.log.filter((entry) => entry.endpoint === 'im.message.patch');
    expect(patches.length).toBeGreaterThanOrEqual(3);
    expect(patches.every((entry) => entry.code === 0)).toBe(true);
    // Seen growing before the end: every sample shows the answer's characters so far, in order.
    const intermediate = samples.filter((sample) => sample !== answerVisible);
    expect(intermediate.length).toBeGreaterThanOrEqual(3);
    expect(intermediate).toContain(firstVisible);
    for (const [index, sample] of samples.entries()) {
      expect(letters(answer).startsWith(letters(sample)), `sample ${index} is not a prefix: ${JSON.stringify(sample)}`).toBe(true);
    }

    await expect.poll(() => shown.innerText().then(squash)).toBe(answerVisible);
    expect(await shown.locator('strong').innerText()).toBe('流式消息卡片');
    expect(await shown.locator('ul > li').allInnerTexts()).toEqual(['第一项 first 🍎', '第二项 second']);
    expect(await shown.locator('table tr').count()).toBe(3);
    expect(await shown.locator('table th').allInnerTexts()).toEqual(['名称 Name', '数值 Value']);
    expect(await shown.locator('table td').allInnerTexts()).toEqual(['甲 alpha 👍', '1', '乙 beta', '2']);
    expect(await shown.innerText()).not.toMatch(/\*\*|\|/);
    expect(await page.locator('#streaming-indicator').isVisible()).toBe(false);
    await expect.poll(() => page.locator(`#message-list [data-message-id="${messageId}"] .item-title`).textContent()).toBe('interactive (updated) → oc_preview');
    expect(errors).toEqual([]);
  });

  it('selects the card named in the URL fragment, and follows a fragment change', async () => {
    const one = await createCard(emulator, token, streamingCard({ header: { title: { tag: 'plain_text', content: 'Card one' } } }));
    const two = await createCard(emulator, token, streamingCard({ header: { title: { tag: 'plain_text', content: 'Card two' } } }));
    const { page, errors } = await browser.open(previewUrl(emulator, one));
    await cardShown(page, 'Card one');
    expect(await page.locator('#stage-title').textContent()).toBe('Card one');
    await page.evaluate((id) => (location.hash = `card=${id}`), two);
    await cardShown(page, 'Card two');
    expect(await page.locator('#facts').innerText()).toContain(two);
    // `/` serves the same page; with no fragment the newest card is shown.
    await page.goto(`${emulator.url}/`);
    await cardShown(page, 'Card two');
    expect(errors).toEqual([]);
  });

  it('notices an emulator reset, which sends no event, and empties the lists', async () => {
    const cardId = await createCard(emulator, token, streamingCard({ header: { title: { tag: 'plain_text', content: 'Soon gone' } } }));
    const { page, errors } = await browser.open(previewUrl(emulator, cardId));
    await cardShown(page, 'Soon gone');
    await sleep(2200); // one stats poll to learn the request count
    expect((await api(emulator, 'POST', '/_emulator/reset')).status).toBe(200);
    await page.locator('#card-list .card-item').waitFor({ state: 'detached', timeout: 6000 });
    await page.getByText(`Waiting for card ${cardId}`).waitFor();
    // Chromium logs the 404 of the vanished card's snapshot as a console error; nothing else went wrong.
    for (const error of errors) expect(error).toBe('Failed to load resource: the server responded with a status of 404 (Not Found)');
  });

  it('reconnects to the event stream when the emulator restarts, and shows what the new one has', async () => {
    const cardId = await createCard(emulator, token, streamingCard({ header: { title: { tag: 'plain_text', content: 'Before restart' } } }));
    const { page } = await browser.open(previewUrl(emulator, cardId));
    await cardShown(page, 'Before restart');
    await page.locator('#connection[data-state="live"]').waitFor();
    const port = emulator.port;
    await emulator.close();
    await page.locator('#connection:not([data-state="live"])').waitFor({ timeout: 5000 });

    const again = await startEmulator({ port });
    try {
      const newCard = await createCard(again, await tenantToken(again), streamingCard({ header: { title: { tag: 'plain_text', content: 'After restart' } } }));
      await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
      await page.locator(`#card-list [data-card-id="${newCard}"]`).waitFor({ timeout: 5000 });
      // The card the fragment names went with the old emulator.
      await page.getByText(`Waiting for card ${cardId}`).waitFor();
    } finally {
      await again.close();
    }
  });
});
