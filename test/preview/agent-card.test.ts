/**
 * The agent card (issue 11) in the live preview, in a real headless Chromium: an agent session run
 * against the emulator shows, as a reader sees it, the reasoning panel ("Thinking…" while the model
 * reasons, "Thought for N s" after, collapsed until clicked), one line per tool step in order with its
 * status (a running step first, then done or failed), each step's arguments and result behind a click,
 * the answer and the footer. Everything is read from the rendered DOM.
 */
import { mkdirSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession } from '../../src/index.js';
import { chromiumInstalled, useBrowser } from '../support/browser.js';
import { clientFor } from '../support/client.js';
import { useEmulator } from '../support/emulator-http.js';
import { type Beat, gate, run } from '../support/agent-run.js';

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);

const REASONING = ['The user wants ', 'the weather in 北京; ', 'I will look it up.'];
const ANSWER = ['北京', '今天晴，', '24 °C 🌞. ', 'Take **sunglasses**.'];

const squash = (text: string) => text.replace(/\s+/g, ' ').trim();

const previewUrl = (emulator: Emulator, cardId: string) => `${emulator.url}/_emulator/preview#card=${encodeURIComponent(cardId)}`;

/** The visible text of `locator` once it matches `expected` (polled: the page follows the emulator's events). */
async function textBecomes(locator: Locator, expected: string | RegExp, what: string): Promise<string> {
  await expect
    .poll(async () => squash(await locator.innerText({ timeout: 1000 }).catch(() => '')), { message: what, timeout: 5000 })
    .toMatch(expected instanceof RegExp ? expected : new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  return squash(await locator.innerText());
}

/** A collapsible panel's parts in the preview. */
function panel(page: Page, elementId: string) {
  const root = page.locator(`#card-host [data-element-id="${elementId}"]`);
  return { root, header: root.locator('> .fs-panel-header'), title: root.locator('> .fs-panel-header .fs-panel-title'), body: root.locator('> .fs-panel-body') };
}

const describeInChromium = chromiumInstalled() ? describe : describe.skip;

describeInChromium('the agent card in the live preview', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  const browser = useBrowser();

  it('shows Thinking… then Thought for N s over collapsed reasoning, the steps in order with their status and details, the answer and the footer', async () => {
    const { client } = clientFor(emulator);
    const session = await CardSession.start(client, { to: { chat_id: 'oc_agent_preview' }, title: 'Agent 助手', agent: { footer: { model: 'gpt-test' } } });
    const { page, errors } = await browser.open(previewUrl(emulator, session.cardId!));
    await page.locator('#card-host .fs-header-title', { hasText: 'Agent 助手' }).waitFor({ timeout: 5000 });

    // The script holds at each stage until the page has shown it.
    const reasoningShown = gate();
    const stepRunningShown = gate();
    const beats: Beat[] = [
      ...REASONING.map((reasoning) => ({ reasoning })),
      { gate: reasoningShown.promise },
      { call: 'call_1', name: 'weather', input: { city: '北京' } },
      { gate: stepRunningShown.promise },
      { resultOf: 'call_1', name: 'weather', output: { sky: 'sunny', celsius: 24 } },
      { call: 'call_2', name: 'air_quality', input: { city: '北京' }, error: 'service unavailable', runMs: 50 },
      ...ANSWER.map((answer) => ({ answer })),
      { usage: { inputTokens: 1200, outputTokens: 34 } },
    ];
    const piping = session.pipe(run(beats));
    // Awaited below; this only keeps a failure in the stages from also showing as an unhandled rejection.
    piping.catch(() => undefined);

    try {
      // Stage 1: the model reasons. The panel is there, titled Thinking…, collapsed; its text is hidden.
      const thinking = panel(page, 'agent_thinking');
      await textBecomes(thinking.title, 'Thinking…', 'the reasoning panel while the model reasons');
      expect(await thinking.header.getAttribute('aria-expanded')).toBe('false');
      expect(await thinking.body.isVisible()).toBe(false);
      reasoningShown.open();

      // Stage 2: a tool runs. Its step shows running; the panel now says how long the model thought.
      const step1 = panel(page, 'agent_step_1');
      await textBecomes(step1.title, '⏳ weather · running', 'the first step while its tool runs');
      await textBecomes(thinking.title, /^Thought for \d+ s$/, 'the reasoning panel once the model moved on');
      stepRunningShown.open();
    } finally {
      reasoningShown.open();
      stepRunningShown.open();
    }
    const result = await piping;
    expect(result.steps.map((s) => [s.name, s.status])).toEqual([['weather', 'done'], ['air_quality', 'failed']]);
    await page.locator('#streaming-indicator').waitFor({ state: 'hidden', timeout: 5000 });

    // The top-level elements, in order, as drawn.
    const order = await page.locator('#card-host [data-element-id]').evaluateAll((nodes) =>
      nodes.filter((n) => !n.parentElement?.closest('[data-element-id]')).map((n) => (n as HTMLElement).dataset.elementId),
    );
    expect(order).toEqual(['agent_thinking', 'agent_step_1', 'agent_step_2', 'answer', 'agent_footer']);

    // The reasoning panel: titled Thought for N s, collapsed; a click shows the reasoning, another hides it.
    const thinking = panel(page, 'agent_thinking');
    expect(squash(await thinking.title.innerText())).toMatch(/^Thought for \d+ s$/);
    expect(await thinking.header.getAttribute('aria-expanded')).toBe('false');
    const reasoning = thinking.body.locator('[data-element-id="reasoning"]');
    expect(await reasoning.isVisible()).toBe(false);
    await thinking.header.click();
    await reasoning.waitFor({ state: 'visible' });
    expect(await thinking.header.getAttribute('aria-expanded')).toBe('true');
    await textBecomes(reasoning, REASONING.join(''), 'the reasoning text');
    await thinking.header.click();
    await reasoning.waitFor({ state: 'hidden' });

    // The steps: one line each, in order, the tool name in bold, the status word, how long it took.
    const step1 = panel(page, 'agent_step_1');
    const step2 = panel(page, 'agent_step_2');
    expect(squash(await step1.title.innerText())).toMatch(/^✅ weather · done · \d+\.\d s$/);
    expect(squash(await step2.title.innerText())).toMatch(/^❌ air_quality · failed · \d+\.\d s$/);
    expect(await step1.title.locator('strong').allInnerTexts()).toEqual(['weather']);
    // The name's escaped underscore shows as itself, not as emphasis.
    expect(await step2.title.locator('strong').allInnerTexts()).toEqual(['air_quality']);
    expect(await step2.title.locator('em').count()).toBe(0);

    // Each step's details are behind a click: the arguments as JSON, the result or the error.
    for (const step of [step1, step2]) {
      expect(await step.header.getAttribute('aria-expanded')).toBe('false');
      expect(await step.body.isVisible()).toBe(false);
    }
    await step1.header.click();
    await step1.body.waitFor({ state: 'visible' });
    expect(await step1.header.getAttribute('aria-expanded')).toBe('true');
    expect(await step1.body.locator('strong').allInnerTexts()).toEqual(['Arguments', 'Result']);
    expect(await step1.body.locator('pre code').allTextContents()).toEqual(['{\n  "city": "北京"\n}', '{\n  "sky": "sunny",\n  "celsius": 24\n}']);
    expect(await step2.body.isVisible()).toBe(false); // opening one panel leaves the other shut
    await step2.header.click();
    await step2.body.waitFor({ state: 'visible' });
    expect(await step2.body.locator('strong').allInnerTexts()).toEqual(['Arguments', 'Error']);
    expect(await step2.body.locator('pre code').allTextContents()).toEqual(['{\n  "city": "北京"\n}', 'service unavailable']);

    // The answer, its markdown drawn; the footer in grey with the model, the tokens and the time.
    const answer = page.locator('#card-host [data-element-id="answer"]');
    await textBecomes(answer, '北京今天晴，24 °C 🌞. Take sunglasses.', 'the answer');
    expect(await answer.locator('strong').innerText()).toBe('sunglasses');
    const footer = page.locator('#card-host [data-element-id="agent_footer"]');
    await textBecomes(footer, /^gpt-test · 1,234 tokens · \d+\.\d s$/, 'the footer');
    expect(await footer.locator('.md-font').getAttribute('class')).toBe('md-font c-grey');
    expect(await page.locator('#card-host .caret').count()).toBe(0);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('agent-card.png', ARTIFACTS).pathname });
    expect(errors).toEqual([]);
    expect(emulator.stats().rejected).toEqual({});
  });
});
