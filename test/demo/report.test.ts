/**
 * The demo's verdict: a card that does not hold exactly the model's answer, or that was left streaming,
 * fails the run (exit 1) with a message that says where the texts part.
 */
import { describe, expect, it } from 'vitest';
import { ANSWER_ID, THINKING_ID, demoCard } from '../../demo/card.js';
import type { ConversationOutcome } from '../../demo/conversation.js';
import type { ModelServer } from '../../demo/model-server.js';
import { Tracker } from '../../demo/progress.js';
import { type RunFacts, check, exitCode, jsonSummary, sessionsSummary, singleSummary } from '../../demo/report.js';
import { paint } from '../../demo/terminal.js';
import type { CardSnapshot, Emulator, MessageSnapshot } from '../../src/emulator/index.js';
import { FeishuApiError, type ToolStep } from '../../src/index.js';
import { resolveAgentOptions } from '../../src/session/agent/agent-options.js';
import { footerElement, footerText, reasoningHeader, reasoningPanel, stepElement } from '../../src/session/agent/agent-render.js';

const QUESTION = 'Why?';
const ANSWER = 'Because a full-text write is idempotent. 🔁';
const REASONING = 'Think first.';

const modelServer = { answerFor: () => ANSWER, reasoningFor: () => REASONING, toolCallFor: () => undefined } as unknown as ModelServer;
/** The demo's own card (`--plain`), as the first tests check it. */
const PLAIN = { card: 'plain', model: 'm' } as const;

/** The demo's card holding `answer` and the reasoning. */
function cardWith(answer: string): Record<string, unknown> {
  const card = demoCard({ question: QUESTION, model: 'm', reasoning: true });
  const elements = (card.body as { elements: Record<string, unknown>[] }).elements;
  const panel = elements[0] as { elements: Record<string, unknown>[] };
  panel.elements[0]!.content = REASONING;
  elements[1]!.content = answer;
  return card;
}

function emulatorWith(answer: string, streaming = false): Emulator {
  const card = cardWith(answer);
  const snapshot = { card, streaming_mode: streaming, log: [{ endpoint: 'cardkit.cardElement.content', code: 0 }] } as unknown as CardSnapshot;
  return { card: () => snapshot, stats: () => ({ accepted: 3, rejected: {}, endpoints: {} }) } as unknown as Emulator;
}

const PATCHED = { endpoint: 'im.message.patch', code: 0 };

/** An emulator holding message card om_1 with `answer`, its log: the send, then `log`. */
function emulatorWithMessage(answer: string, log: { endpoint: string; code: number }[] = [PATCHED, PATCHED]): Emulator {
  const message = { message_id: 'om_1', content: JSON.stringify(cardWith(answer)), log: [{ endpoint: 'im.message.create', code: 0 }, ...log] } as unknown as MessageSnapshot;
  return {
    card: () => undefined,
    message: (id: string) => (id === 'om_1' ? message : undefined),
    stats: () => ({ accepted: 3, rejected: {}, endpoints: {} }),
  } as unknown as Emulator;
}

/** A conversation streamed through message card om_1. */
function messageOutcome(overrides: Partial<ConversationOutcome> = {}): ConversationOutcome {
  const base = outcome();
  return outcome({
    transport: 'message',
    cardId: null,
    result: { ...base.result!, transport: 'message', cardId: null, cards: [{ cardId: null, messageId: 'om_1' }], sequence: 0, writes: 2 },
    ...overrides,
  });
}

function outcome(overrides: Partial<ConversationOutcome> = {}): ConversationOutcome {
  const texts = { [ANSWER_ID]: ANSWER, [THINKING_ID]: REASONING };
  return {
    index: 1,
    question: QUESTION,
    tracker: new Tracker([ANSWER_ID, THINKING_ID]),
    transport: 'cardkit',
    fallback: undefined,
    cardId: 'card_1',
    messageId: 'om_1',
    result: { transport: 'cardkit', cardId: 'card_1', messageId: 'om_1', cards: [{ cardId: 'card_1', messageId: 'om_1' }], text: ANSWER, texts, sequence: 3, writes: 3, retries: 0, reopens: 0, aborted: false, steps: [], unhandled: {} },
    error: undefined,
    streamed: { answer: ANSWER, reasoning: REASONING },
    ...overrides,
  };
}

function facts(checked: ReturnType<typeof check>[], interrupted = false): RunFacts {
  return { checked, elapsedMs: 10, emulator: undefined, governor: { apis: {}, cards: {}, waiting: {}, fallback: false, sequenceFallback: false, tracked: { counters: 0, spacing: 0, windows: 0 } }, cardMinutes: undefined, clockSpeed: 1, interrupted };
}

describe('the demo verdict', () => {
  it('passes a card that holds exactly the answer and its reasoning, with streaming mode closed', () => {
    const checked = check(outcome(), { emulator: emulatorWith(ANSWER), modelServer, reasoning: true, ...PLAIN });
    expect(checked.problems).toEqual([]);
    expect(checked.exact).toBe(true);
    expect(exitCode(facts([checked]))).toBe(0);
  });

  it('fails a card whose text differs, saying where', () => {
    const wrong = `${ANSWER.slice(0, 10)}X${ANSWER.slice(11)}`;
    const checked = check(outcome(), { emulator: emulatorWith(wrong), modelServer, reasoning: true, ...PLAIN });
    expect(checked.exact).toBe(false);
    expect(checked.problems.join('\n')).toMatch(/card's answer .* differ from character 10/);
    expect(exitCode(facts([checked]))).toBe(1);
    const json = JSON.parse(jsonSummary(facts([checked]), {})) as { ok: boolean; exitCode: number; conversations: { exact: boolean; answerMatches: boolean }[] };
    expect(json).toMatchObject({ ok: false, exitCode: 1, conversations: [{ exact: false, answerMatches: false }] });
  });

  it('fails a card left in streaming mode, and a card missing a character at the end', () => {
    const streaming = check(outcome(), { emulator: emulatorWith(ANSWER, true), modelServer, reasoning: true, ...PLAIN });
    expect(streaming.problems.join('\n')).toMatch(/streaming mode is still on/);
    const short = check(outcome(), { emulator: emulatorWith(ANSWER.slice(0, -2)), modelServer, reasoning: true, ...PLAIN });
    expect(short.exact).toBe(false);
  });

  it('reports a failed run by its cause, with a hint for Feishu errors, and an interrupted one with exit 130', () => {
    const error = new FeishuApiError({ code: 230002, msg: 'Bot/User can NOT be out of the chat.', httpStatus: 400, logId: undefined, endpoint: 'im.message.create' });
    const failed = check(outcome({ error, transport: undefined, cardId: null, messageId: null, result: undefined }), { emulator: undefined, modelServer, reasoning: false, ...PLAIN });
    expect(failed.exact).toBe(false);
    expect(failed.problems[0]).toMatch(/230002/);
    expect(failed.problems[0]).toMatch(/add it to the group/);
    const aborted = outcome();
    aborted.result = { ...aborted.result!, aborted: true };
    const interrupted = check(aborted, { emulator: undefined, modelServer, reasoning: false, ...PLAIN });
    expect(exitCode(facts([interrupted], true))).toBe(130);
  });
});

describe('the demo verdict on a message card', () => {
  const plain = paint(false);

  it('reads the card a message shows as last patched: exact, its writes the accepted patches, refused ones counted by code', () => {
    const refused = { endpoint: 'im.message.patch', code: 230020 };
    const checked = check(messageOutcome(), { emulator: emulatorWithMessage(ANSWER, [PATCHED, refused, PATCHED]), modelServer, reasoning: true, ...PLAIN });
    expect(checked.problems).toEqual([]);
    expect(checked).toMatchObject({ exact: true, card: { answer: ANSWER, reasoning: REASONING, streaming: false, source: 'emulator' } });
    expect(checked.writesByEndpoint).toEqual({ 'im.message.patch': 2 });
    expect(checked.rejectedWrites).toEqual({ '230020': 1 });
    const lines = singleSummary(facts([checked]), plain).join('\n');
    expect(lines).toMatch(/transport\s+message card om_1/);
    expect(lines).toMatch(/writes\s+2 \(patch 2, rejected: 230020 ×1\)/);
    expect(lines).toContain("✓ Exact: the message card's text on the emulator (and its thinking panel) equals the model server's answer");
    const json = JSON.parse(jsonSummary(facts([checked]), {})) as { conversations: Record<string, unknown>[] };
    expect(json.conversations[0]).toMatchObject({ transport: 'message', cardId: null, messageId: 'om_1', writesByEndpoint: { 'im.message.patch': 2 }, rejectedWrites: { '230020': 1 } });
  });

  it('fails a message card whose text differs, or a message the emulator does not have', () => {
    const wrong = check(messageOutcome(), { emulator: emulatorWithMessage(ANSWER.slice(0, -1)), modelServer, reasoning: true, ...PLAIN });
    expect(wrong.exact).toBe(false);
    expect(wrong.problems.join('\n')).toMatch(/card's answer .* differ from character/);
    const missing = check(messageOutcome({ messageId: 'om_gone' }), { emulator: emulatorWithMessage(ANSWER), modelServer, reasoning: true, ...PLAIN });
    expect(missing.problems).toEqual(['the emulator has no message card om_gone']);
  });

  it('says when CardKit refused and the session fell back to a message card, alone or among several', () => {
    const error = new FeishuApiError({ code: 99991672, msg: 'Access denied.', httpStatus: 400, logId: undefined, endpoint: 'cardkit.card.create' });
    const fell = check(messageOutcome({ fallback: { from: 'cardkit', to: 'message', error, remembered: false } }), { emulator: emulatorWithMessage(ANSWER), modelServer, reasoning: true, ...PLAIN });
    const fallback = /↷ Fallback: CardKit refused to create (the card|1 of 2 cards) \(Feishu answered 99991672 to cardkit\.card\.create\), so the session streamed through a message card instead\./;
    expect(singleSummary(facts([fell]), plain).join('\n')).toMatch(fallback);
    const cardkit = check(outcome(), { emulator: emulatorWith(ANSWER), modelServer, reasoning: true, ...PLAIN });
    const table = sessionsSummary(facts([cardkit, fell]), plain).join('\n');
    expect(table).toMatch(fallback);
    expect(table).toContain('transport: 1 of 2 cards are message cards, patched whole through IM: im.message.patch 2 accepted, none rejected');
    // A CardKit run says nothing of transports.
    expect(singleSummary(facts([cardkit]), plain).join('\n')).not.toMatch(/transport|Fallback/);
  });
});

describe('the demo verdict on an agent card', () => {
  const plain = paint(false);
  const CALL = { name: 'search_docs', arguments: '{"query": "流式 卡片"}' };
  const INPUT = JSON.parse(CALL.arguments) as unknown;
  const withTool = { answerFor: () => ANSWER, reasoningFor: () => REASONING, toolCallFor: () => CALL } as unknown as ModelServer;
  const AGENT = { card: 'agent', model: 'demo-model' } as const;
  const USAGE = { inputTokens: 1200, outputTokens: 34, totalTokens: 1234 };
  const options = resolveAgentOptions({ footer: { model: 'demo-model' } });

  const step = (overrides: Partial<ToolStep> = {}): ToolStep => ({ id: 'call_1', name: 'search_docs', status: 'called', input: INPUT, startedAt: 1000, endedAt: 1300, ...overrides });

  /** The agent card the library renders (its own render functions) for these parts. */
  function agentCard(parts: { thinking?: boolean; steps?: ToolStep[]; answer?: string; footer?: string | null; model?: string } = {}): Record<string, unknown> {
    const panel = reasoningPanel(reasoningHeader(options, parts.thinking ?? false, 1400));
    (panel.elements as Record<string, unknown>[])[0]!.content = REASONING;
    const footer = parts.footer === null ? [] : [footerElement(parts.footer ?? footerText(resolveAgentOptions({ footer: { model: parts.model ?? 'demo-model' } }), USAGE, 10_200))];
    return {
      schema: '2.0',
      header: { title: { tag: 'plain_text', content: QUESTION } },
      body: {
        elements: [
          panel,
          ...(parts.steps ?? [step()]).map((s, i) => stepElement(options, s, i + 1, false)),
          { tag: 'markdown', element_id: 'answer', content: parts.answer ?? ANSWER },
          ...footer,
        ],
      },
    };
  }

  function emulatorHolding(card: Record<string, unknown>): Emulator {
    const snapshot = { card, streaming_mode: false, log: [{ endpoint: 'cardkit.cardElement.content', code: 0 }] } as unknown as CardSnapshot;
    return { card: () => snapshot, stats: () => ({ accepted: 3, rejected: {}, endpoints: {} }) } as unknown as Emulator;
  }

  function agentOutcome(steps: ToolStep[] = [step()]): ConversationOutcome {
    const base = outcome();
    return outcome({ tracker: new Tracker(['answer', 'reasoning']), result: { ...base.result!, texts: { answer: ANSWER, reasoning: REASONING }, steps, usage: USAGE } });
  }

  it('passes an agent card with the settled reasoning panel, one step per tool call ending called, the answer and the footer; prints its outline', () => {
    const checked = check(agentOutcome(), { emulator: emulatorHolding(agentCard()), modelServer: withTool, reasoning: true, ...AGENT });
    expect(checked.problems).toEqual([]);
    expect(checked.expected.steps).toEqual([{ name: 'search_docs', input: INPUT, status: 'called' }]);
    expect(checked.agent).toMatchObject({
      order: ['agent_thinking', 'agent_step_1', 'answer', 'agent_footer'],
      thinking: { title: 'Thought for 1 s', expanded: false },
      reasoning: REASONING,
      steps: [{ elementId: 'agent_step_1', line: '🔧 **search\\_docs** · called', icon: '🔧', name: 'search_docs', status: 'called' }],
      answer: ANSWER,
      footer: 'demo-model · 1,234 tokens · 10.2 s',
    });
    expect(checked.agent!.steps[0]!.details).toContain('**Arguments**\n```json\n{\n  "query": "流式 卡片"\n}\n```');
    const lines = singleSummary(facts([checked]), plain).join('\n');
    expect(lines).toMatch(/agent card\s+agent_thinking · agent_step_1 · answer · agent_footer/);
    expect(lines).toMatch(/ {6}thinking\s+Thought for 1 s \(collapsed, 12 characters\)/);
    expect(lines).toMatch(/ {6}step 1\s+🔧 search_docs · called \({"query":"流式 卡片"}\)/);
    expect(lines).toMatch(/ {6}footer\s+demo-model · 1,234 tokens · 10\.2 s/);
    expect(lines).toContain('✓ Agent card: 1 step for the model\'s tool call (search_docs · called), the reasoning panel settled, the footer names demo-model.');
    const json = JSON.parse(jsonSummary(facts([checked]), {})) as { conversations: Record<string, unknown>[] };
    expect(json.conversations[0]).toMatchObject({ card: 'agent', exact: true, expectedSteps: [{ name: 'search_docs', status: 'called' }], agentCard: { order: ['agent_thinking', 'agent_step_1', 'answer', 'agent_footer'] } });
  });

  it('fails an agent card whose step shows the wrong status, or is missing, or whose session step ended otherwise', () => {
    const running = check(agentOutcome(), { emulator: emulatorHolding(agentCard({ steps: [step({ status: 'running', endedAt: undefined })] })), modelServer: withTool, reasoning: true, ...AGENT });
    expect(running.problems).toEqual(['step 1 on the card shows search_docs · running; the model called search_docs, which should end called']);
    const missing = check(agentOutcome(), { emulator: emulatorHolding(agentCard({ steps: [] })), modelServer: withTool, reasoning: true, ...AGENT });
    expect(missing.problems).toEqual(['the agent card\'s elements are agent_thinking, answer, agent_footer; expected agent_thinking, agent_step_1, answer, agent_footer']);
    const done = check(agentOutcome([step({ status: 'done', output: 'ok' })]), { emulator: emulatorHolding(agentCard()), modelServer: withTool, reasoning: true, ...AGENT });
    expect(done.problems).toEqual(['tool step 1 (search_docs) ended done in the session\'s result, not called']);
    const none = check(agentOutcome([]), { emulator: emulatorHolding(agentCard()), modelServer: withTool, reasoning: true, ...AGENT });
    expect(none.problems).toContain('the session reported 0 tool steps, the model made 1 tool call');
    expect(exitCode(facts([running]))).toBe(1);
  });

  it('fails a reasoning panel still saying Thinking…, a footer without the model, a footer-less card, and a card that is not an agent card', () => {
    const thinking = check(agentOutcome(), { emulator: emulatorHolding(agentCard({ thinking: true })), modelServer: withTool, reasoning: true, ...AGENT });
    expect(thinking.problems).toEqual(['the reasoning panel\'s title is "Thinking…", not "Thought for N s": it did not settle when the answer began']);
    const footer = check(agentOutcome(), { emulator: emulatorHolding(agentCard({ model: 'other' })), modelServer: withTool, reasoning: true, ...AGENT });
    expect(footer.problems).toEqual(['the footer reads "other · 1,234 tokens · 10.2 s"; expected "demo-model · 1,234 tokens · N.N s"']);
    const noFooter = check(agentOutcome(), { emulator: emulatorHolding(agentCard({ footer: null })), modelServer: withTool, reasoning: true, ...AGENT });
    expect(noFooter.problems).toEqual(['the agent card\'s elements are agent_thinking, agent_step_1, answer; expected agent_thinking, agent_step_1, answer, agent_footer']);
    const notAgent = check(agentOutcome(), { emulator: emulatorWith(ANSWER), modelServer: withTool, reasoning: true, ...AGENT });
    expect(notAgent.problems).toContain('the card card_1 is not an agent card: it has no reasoning panel, step or footer');
  });

  it('checks the answer and the reasoning of an agent card exactly', () => {
    const answer = check(agentOutcome(), { emulator: emulatorHolding(agentCard({ answer: ANSWER.slice(0, -1) })), modelServer: withTool, reasoning: true, ...AGENT });
    expect(answer.problems.join('\n')).toMatch(/card's answer .* differ from character/);
    const card = agentCard();
    (((card.body as { elements: Record<string, unknown>[] }).elements[0]!.elements as Record<string, unknown>[])[0]!).content = 'Think';
    const reasoning = check(agentOutcome(), { emulator: emulatorHolding(card), modelServer: withTool, reasoning: true, ...AGENT });
    expect(reasoning.problems.join('\n')).toMatch(/card's thinking panel has 5 characters/);
  });
});
