/**
 * The agent card's rendering as pure functions: durations, cut details in safe code fences, lines cut to
 * a budget, names shown as themselves (issue 11).
 */
import { describe, expect, it } from 'vitest';
import type { ToolStep } from '../../src/index.js';
import { resolveAgentOptions } from '../../src/session/agent/agent-options.js';
import { fenced, footerText, seconds, stepElement, stepLine } from '../../src/session/agent/agent-render.js';

const o = resolveAgentOptions(true);
const step = (overrides: Partial<ToolStep> = {}): ToolStep => ({ id: 'c1', name: 'search', status: 'running', input: { q: 'x' }, startedAt: 1000, ...overrides });

describe('agent card rendering', () => {
  it('durations: tenths of a second below a minute, minutes and seconds above', () => {
    expect([seconds(0), seconds(349), seconds(12_000), seconds(59_940), seconds(59_960), seconds(669_400)]).toEqual(['0.0 s', '0.3 s', '12.0 s', '59.9 s', '1 min 0 s', '11 min 9 s']);
  });

  it('a step line: icon, bold name, status, and the time once it ended ("called" has no time)', () => {
    expect(stepLine(o, step())).toBe('⏳ **search** · running');
    expect(stepLine(o, step({ status: 'done', endedAt: 1300 }))).toBe('✅ **search** · done · 0.3 s');
    expect(stepLine(o, step({ status: 'failed', endedAt: 3000 }))).toBe('❌ **search** · failed · 2.0 s');
    expect(stepLine(o, step({ status: 'called', endedAt: 3000 }))).toBe('🔧 **search** · called');
    expect(stepLine(o, step({ name: '' }))).toBe('⏳ **tool** · running');
  });

  it('a name shows as itself (markdown markers escaped) and is cut at 100 characters', () => {
    expect(stepLine(o, step({ name: 'a_b*c`d</font>' }))).toBe('⏳ **a\\_b\\*c\\`d\\</font\\>** · running');
    const line = stepLine(o, step({ name: '😀'.repeat(150) }));
    expect(line).toBe(`⏳ **${'😀'.repeat(100)}…** · running`);
  });

  it('details: cut at a code point with the rest counted, in a fence longer than any backtick run inside', () => {
    expect(fenced('abc', 5, 'json')).toBe('```json\nabc\n```');
    expect(fenced('😀😀😀', 2, '')).toBe('```\n😀😀\n… (1 more characters)\n```');
    expect(fenced('a ```` b', 10, '')).toBe('`````\na ```` b\n`````');
  });

  it('the step element: a collapsed panel with arguments and result, or one line', () => {
    const done = stepElement(o, step({ status: 'done', endedAt: 1500, output: 'found' }), 3, false);
    expect(done).toMatchObject({ tag: 'collapsible_panel', element_id: 'agent_step_3', expanded: false });
    expect((done.elements as { content: string }[])[0]!.content).toBe('**Arguments**\n```json\n{\n  "q": "x"\n}\n```\n**Result**\n```\nfound\n```');
    expect(stepElement(o, step(), 3, true)).toEqual({ tag: 'markdown', element_id: 'agent_step_3', content: '⏳ **search** · running', text_size: 'notation' });
  });

  it('the footer: the model, the tokens reported (total, else input plus output), the time', () => {
    const withFooter = resolveAgentOptions({ footer: { model: 'gpt_4' } });
    expect(footerText(withFooter, { totalTokens: 1234 }, 5200)).toBe('gpt\\_4 · 1,234 tokens · 5.2 s');
    expect(footerText(withFooter, { inputTokens: 10, outputTokens: 5 }, 61_000)).toBe('gpt\\_4 · 15 tokens · 1 min 1 s');
    expect(footerText(resolveAgentOptions({ footer: { tokens: false, elapsed: false } }), { totalTokens: 1 }, 1)).toBe('');
  });
});
