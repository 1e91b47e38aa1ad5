/**
 * The agent card (issue 11): `start({ agent })` shows the model's reasoning in a collapsed panel
 * ("Thinking…", then "Thought for N s"), one element per tool step as it runs (status, duration, its
 * arguments and result in a collapsed panel, cut to a budget), the answer, and an optional footer. Its
 * elements are added and changed through the session's one queue, several due together in one
 * batch_update, within 10 writes a second per card; long answers roll over; both transports. Sources
 * here are AI SDK stream parts (read by shape; the SDK's own runs are in sdk-sources.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, type FeishuClient, type StartOptions } from '../../src/index.js';
import { type AgentView, cardView, messageView } from '../support/agent-view.js';
import { clientFor } from '../support/client.js';
import { useEmulator } from '../support/emulator-http.js';
import { cardLog, waitFor } from '../support/session.js';
import { busiestWindow } from '../support/windows.js';
import { type Beat, run } from '../support/agent-run.js';

const REASONING = ['The user wants ', 'the weather in 北京; ', 'I will look it up.'];
const ANSWER = ['北京', '今天晴，', '24 °C 🌞. ', 'Take **sunglasses**.'];
const AGENT_RUN: Beat[] = [
  ...REASONING.map((reasoning) => ({ reasoning })),
  { call: 'call_1', name: 'weather', input: { city: '北京' }, result: { sky: 'sunny', celsius: 24 }, runMs: 150 },
  { call: 'call_2', name: 'air_quality', input: { city: '北京' }, error: 'service unavailable', runMs: 50 },
  ...ANSWER.map((answer) => ({ answer })),
  { usage: { inputTokens: 1200, outputTokens: 34 } },
];

describe('the agent card', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  const client = (): FeishuClient => clientFor(emulator).client;
  const start = (options: StartOptions = {}) => CardSession.start(client(), { to: { chat_id: 'oc_agent' }, title: 'Agent', agent: true, ...options });

  it('ends with the reasoning panel, one step per tool call in order with its status, the exact answer and the footer', async () => {
    const session = await start({ agent: { footer: { model: 'gpt-test' } } });
    const result = await session.pipe(run(AGENT_RUN));
    const view = cardView(emulator, session.cardId!);
    expect(view.order).toEqual(['agent_thinking', 'agent_step_1', 'agent_step_2', 'answer', 'agent_footer']);
    expect(view.thinking).toMatch(/^Thought for \d+ s$/);
    expect(view.reasoning).toBe(REASONING.join(''));
    expect(view.steps).toEqual([expect.stringMatching(/^✅ \*\*weather\*\* · done · \d+\.\d s$/), expect.stringMatching(/^❌ \*\*air\\_quality\*\* · failed · \d+\.\d s$/)]);
    expect(view.details[0]).toContain('**Arguments**\n```json\n{\n  "city": "北京"\n}\n```');
    expect(view.details[0]).toContain('**Result**\n```\n{\n  "sky": "sunny",\n  "celsius": 24\n}\n```');
    expect(view.details[1]).toContain('**Error**\n```\nservice unavailable\n```');
    expect(view.answer).toBe(ANSWER.join(''));
    expect(view.footer).toMatch(/^<font color='grey'>gpt-test · 1,234 tokens · \d+\.\d s<\/font>$/);
    expect(result.steps.map((s) => [s.name, s.status])).toEqual([['weather', 'done'], ['air_quality', 'failed']]);
    expect(emulator.card(session.cardId!)!.streaming_mode).toBe(false);
    expect(emulator.stats().rejected).toEqual({});
  });

  it('shows each stage while it happens: Thinking… while the model reasons, a running step while the tool runs, Thought for N s once it moved on', async () => {
    const session = await start();
    const seen: AgentView[] = [];
    const watch = () => seen.push(cardView(emulator, session.cardId!));
    const piping = session.pipe(
      run([
        { reasoning: 'Let me think. ' },
        { pause: 400 },
        { call: 'call_1', name: 'search', input: { q: 'x' }, result: 'found', runMs: 600 },
        { answer: 'Done.' },
      ]),
    );
    await waitFor(() => cardView(emulator, session.cardId!).reasoning === 'Let me think. ', 'the reasoning');
    watch();
    await waitFor(() => cardView(emulator, session.cardId!).steps.length === 1, 'the first step');
    watch();
    await piping;
    watch();
    expect(seen[0]).toMatchObject({ thinking: 'Thinking…', reasoning: 'Let me think. ', steps: [], answer: '' });
    expect(seen[1]!.thinking).toMatch(/^Thought for \d+ s$/);
    expect(seen[1]!.steps).toEqual(['⏳ **search** · running']);
    expect(seen[2]).toMatchObject({ steps: [expect.stringMatching(/^✅ \*\*search\*\* · done/)], answer: 'Done.' });
  });

  it('sends changes that fall due together in one batch_update, and never more than 10 writes a second to the card', async () => {
    const session = await start();
    // Step 1 ends and step 2 starts in the same tick: both land in one write.
    const beats: Beat[] = [{ answer: 'Checking. ' }];
    for (let i = 1; i <= 12; i++) beats.push({ call: `c${i}`, name: `tool_${i}`, input: { i }, result: i });
    beats.push({ answer: 'All checked.' });
    const result = await session.pipe(run(beats));
    const log = cardLog(emulator, session.cardId!);
    const batches = log.filter((e) => e.endpoint === 'cardkit.card.batchUpdate' && e.code === 0);
    expect(batches.length).toBeGreaterThan(0);
    // Fewer writes than element changes: 12 adds and 12 updates, coalesced.
    const structural = log.filter((e) => e.code === 0 && e.endpoint !== 'cardkit.cardElement.content' && e.endpoint !== 'cardkit.card.settings');
    expect(structural.length).toBeLessThan(24);
    expect(busiestWindow(log.map((e) => e.time), 1000)).toBeLessThanOrEqual(10);
    expect(log.filter((e) => e.code !== 0)).toEqual([]);
    const view = cardView(emulator, session.cardId!);
    expect(view.steps).toHaveLength(12);
    expect(view.steps.every((line, i) => line.startsWith(`✅ **tool\\_${i + 1}** · done`))).toBe(true);
    expect(view.answer).toBe('Checking. All checked.');
    expect(result.steps).toHaveLength(12);
  });

  it('an answer with no reasoning and no tools is a plain answer card; the footer is off by default', async () => {
    const session = await start();
    await session.pipe(run([{ answer: 'Just ' }, { answer: 'an answer.' }]));
    const view = cardView(emulator, session.cardId!);
    expect(view.order).toEqual(['answer']);
    expect(view.answer).toBe('Just an answer.');
  });

  it('a step the stream never gives a result for ends "called"; one the app reports with toolResult() ends done', async () => {
    const session = await start();
    await session.pipe(run([{ call: 'c1', name: 'lookup', input: { id: 1 } }, { call: 'c2', name: 'fetch', input: {} }]), { finish: false });
    session.toolResult('c2', { ok: true });
    const result = await session.finish();
    expect(result.steps.map((s) => s.status)).toEqual(['called', 'done']);
    expect(cardView(emulator, session.cardId!).steps).toEqual(['🔧 **lookup** · called', expect.stringMatching(/^✅ \*\*fetch\*\* · done/)]);
  });

  it('an abort while a tool runs ends its step failed ("interrupted") and closes the card with the text so far', async () => {
    const controller = new AbortController();
    const session = await start({ signal: controller.signal });
    const piping = session.pipe(run([{ answer: 'Looking. ' }, { call: 'c1', name: 'slow', input: {}, result: 'late', runMs: 5000 }]));
    await waitFor(() => cardView(emulator, session.cardId!).steps.length === 1, 'the running step');
    controller.abort(new Error('user stopped'));
    const result = await piping.catch(() => session.finish());
    expect(result.aborted).toBe(true);
    expect(result.steps[0]).toMatchObject({ status: 'failed', error: 'interrupted' });
    const view = cardView(emulator, session.cardId!);
    expect(view.steps).toEqual([expect.stringMatching(/^❌ \*\*slow\*\* · failed/)]);
    expect(view.answer).toBe('Looking. \n\n_(interrupted)_');
    expect(emulator.card(session.cardId!)!.streaming_mode).toBe(false);
  });

  it('streams through a message card the same way (the steps and panel travel in the patches)', async () => {
    const session = await start({ transport: 'message', agent: { footer: true } });
    await session.pipe(run(AGENT_RUN));
    const view = messageView(emulator, session.messageId!);
    expect(view.order).toEqual(['agent_thinking', 'agent_step_1', 'agent_step_2', 'answer', 'agent_footer']);
    expect(view.reasoning).toBe(REASONING.join(''));
    expect(view.steps.map((line) => line.split(' · ')[1])).toEqual(['done', 'failed']);
    expect(view.answer).toBe(ANSWER.join(''));
    expect(view.footer).toContain('1,234 tokens');
    expect(emulator.stats().rejected).toEqual({});
  });

  it('a long answer rolls over: a step ended on a card stays there, one still running goes on with the answer and ends on the new card, the answer joined is exact', async () => {
    const session = await start();
    const paragraph = '这是一个很长的回答，用来填满卡片。'.repeat(40) + '\n\n';
    const beats: Beat[] = [{ reasoning: 'Plan: ' }, { call: 'c1', name: 'first', input: { n: 1 }, result: 'one' }, { call: 'c2', name: 'second', input: { n: 2 } }, { pause: 600 }];
    for (let i = 0; i < 30; i++) beats.push({ answer: paragraph });
    beats.push({ pause: 300 }, { resultOf: 'c2', output: 'two' }, { answer: 'The end.' });
    const result = await session.pipe(run(beats));
    expect(result.cards.length).toBeGreaterThan(1);
    const views = result.cards.map((card) => cardView(emulator, card.cardId!));
    expect(views.map((v) => v.answer.replace('\n\n_(continued below)_', '')).join('')).toBe(paragraph.repeat(30) + 'The end.');
    expect(views[0]!.steps).toEqual([expect.stringMatching(/first\*\* · done/), '⏳ **second** · running']);
    expect(views[0]!.reasoning).toBe('Plan: ');
    expect(views.at(-1)!.steps).toEqual([expect.stringMatching(/second\*\* · done/)]);
    expect(views.at(-1)!.thinking).toBeUndefined();
    for (const card of result.cards) expect(Buffer.byteLength(JSON.stringify(emulator.card(card.cardId!)!.card))).toBeLessThanOrEqual(30 * 1024);
    expect(emulator.stats().rejected).toEqual({});
  });

  it('sixty steps with large arguments and results: details are cut to their budget, steps go one line when the card runs short, no write is refused', async () => {
    const session = await start();
    const big = 'x'.repeat(5000);
    const beats: Beat[] = [];
    for (let i = 1; i <= 60; i++) beats.push({ call: `c${i}`, name: `t${i}`, input: { big }, result: big });
    beats.push({ answer: 'Done.' });
    const result = await session.pipe(run(beats));
    const views = result.cards.map((card) => cardView(emulator, card.cardId!));
    const lines = views.flatMap((v) => v.steps);
    expect(lines.filter((line) => / · done/.test(line))).toHaveLength(60);
    expect(views[0]!.details[0]).toMatch(/… \(\d[\d,]* more characters\)/);
    expect(views.at(-1)!.answer).toBe('Done.');
    for (const card of result.cards) expect(Buffer.byteLength(JSON.stringify(emulator.card(card.cardId!)!.card))).toBeLessThanOrEqual(30 * 1024);
    expect(emulator.stats().rejected).toEqual({});
  });

  it('options: details off makes one-line steps; labels and stepTitle change the words; bad options are TypeErrors before anything is created', async () => {
    const session = await start({
      agent: { details: false, labels: { thinking: '思考中…', thought: (s) => `已思考 ${s} 秒`, done: '完成' }, stepTitle: (step) => `**${step.name}**: ${step.status}` },
    });
    await session.pipe(run([{ reasoning: '嗯。' }, { call: 'c1', name: 'calc', input: {}, result: 2 }, { answer: '2' }]));
    const view = cardView(emulator, session.cardId!);
    expect(view.thinking).toMatch(/^已思考 \d+ 秒$/);
    expect(view.steps).toEqual(['**calc**: done']);
    expect(view.details).toEqual(['']);

    const created = emulator.cards().length;
    await expect(start({ card: { schema: '2.0', body: { elements: [] } } })).rejects.toThrow(TypeError);
    await expect(start({ agent: { details: { arguments: -1 } } })).rejects.toThrow(RangeError);
    await expect(start({ agent: { labels: { thinking: 3 as unknown as string } } })).rejects.toThrow(TypeError);
    await expect(start({ agent: 'yes' as unknown as true })).rejects.toThrow(TypeError);
    expect(emulator.cards().length).toBe(created);
  });
});
