/**
 * The end of a run: each card checked against what the model said (on the emulator: the card as the
 * platform holds it, a CardKit card or the card a message shows; on real Feishu: the session's result),
 * then a summary for people or one JSON line. An agent card is also checked for its outline: the
 * reasoning panel settled ("Thought for N s"), one step per tool call the model made with its status,
 * the footer with the model's name, in that order around the answer.
 */
import { APIConnectionError, APIUserAbortError } from 'openai';
import { FeishuApiError, FeishuError, type GovernorStats, type ToolStep } from '../src/index.js';
import type { Emulator } from '../src/emulator/index.js';
import { AGENT_FOOTER_ID, AGENT_THINKING_PANEL_ID, ANSWER_ID, type AgentOutline, THOUGHT_TITLE, agentOutline, elementContent } from './card.js';
import type { DemoConfig } from './config.js';
import { type ConversationOutcome, reasoningElementOf } from './conversation.js';
import type { ModelServer } from './model-server.js';
import { type Paint, count, duration, padEnd, padStart, plural, truncate, width } from './terminal.js';

/** A tool call the card should show, and how it should end. */
export interface ExpectedStep {
  name: string;
  input: unknown;
  status: ToolStep['status'];
}

export interface Checked {
  outcome: ConversationOutcome;
  /** What the card should say: the model server's answer and tool call, or (a real model) what it streamed. */
  expected: { answer: string; reasoning: string | undefined; steps: ExpectedStep[]; source: 'model server' | 'model stream' };
  /** What the card says: the emulator's copy, or (real Feishu) the session's result. */
  card: { answer: string | undefined; reasoning: string | undefined; streaming: boolean | undefined; source: 'emulator' | 'session' };
  /** Which card the session streamed. */
  kind: DemoConfig['card'];
  /** The agent card as the emulator holds it (undefined for the plain card, on real Feishu, or when it is not an agent card). */
  agent: AgentOutline | undefined;
  /** Emulator writes to this card (its log: the card entity's, or the message's) that were accepted, by endpoint. */
  writesByEndpoint: Record<string, number> | undefined;
  /** Emulator writes to this card that were refused, by code. */
  rejectedWrites: Record<string, number> | undefined;
  exact: boolean;
  problems: string[];
}

export interface CheckContext {
  emulator: Emulator | undefined;
  modelServer: ModelServer | undefined;
  reasoning: boolean;
  /** Which card the demo streamed: the agent card, or its own (`--plain`). */
  card: DemoConfig['card'];
  /** The model's name, which the agent card's footer shows first. */
  model: string;
}

/**
 * The status a step ends with. The demo runs no tool: the model only asks for the call in its stream
 * (the embedded server plays the tool's pause itself, then goes on with the answer), and no result is
 * reported with `session.toolResult()`, so the session ends each step `called` when the answer ends.
 */
const STEP_STATUS: ToolStep['status'] = 'called';

export function check(outcome: ConversationOutcome, ctx: CheckContext): Checked {
  const problems: string[] = [];
  const expected = ctx.modelServer
    ? {
        answer: ctx.modelServer.answerFor(outcome.question),
        reasoning: ctx.reasoning ? ctx.modelServer.reasoningFor(outcome.question) : undefined,
        steps: serverSteps(ctx.modelServer, outcome.question),
        source: 'model server' as const,
      }
    : {
        answer: outcome.streamed.answer,
        reasoning: ctx.reasoning ? outcome.streamed.reasoning : undefined,
        // A real model's calls are known from its stream only: as the session read them, each ending `called`.
        steps: (outcome.result?.steps ?? []).map((step) => ({ name: step.name, input: step.input, status: STEP_STATUS })),
        source: 'model stream' as const,
      };

  const reasoningId = reasoningElementOf(ctx.card);
  const snapshot = ctx.emulator ? emulatedCard(ctx.emulator, outcome) : undefined;
  const agent = ctx.card === 'agent' && snapshot ? agentOutline(snapshot.card) : undefined;
  const card = ctx.emulator
    ? {
        answer: agent ? agent.answer : snapshot ? elementContent(snapshot.card, ANSWER_ID) : undefined,
        reasoning: agent ? agent.reasoning : snapshot && ctx.reasoning ? elementContent(snapshot.card, reasoningId) : undefined,
        streaming: snapshot?.streaming,
        source: 'emulator' as const,
      }
    : {
        answer: outcome.result?.text,
        reasoning: ctx.reasoning ? outcome.result?.texts[reasoningId] : undefined,
        streaming: outcome.result ? false : undefined,
        source: 'session' as const,
      };
  let writesByEndpoint: Record<string, number> | undefined;
  let rejectedWrites: Record<string, number> | undefined;
  if (snapshot) {
    writesByEndpoint = {};
    rejectedWrites = {};
    for (const entry of snapshot.log) {
      if (entry.code !== 0) rejectedWrites[entry.code] = (rejectedWrites[entry.code] ?? 0) + 1;
      // The session counts its own writes; creating the card (or sending the message card) is not one of them.
      else if (!CREATES.has(entry.endpoint)) writesByEndpoint[entry.endpoint] = (writesByEndpoint[entry.endpoint] ?? 0) + 1;
    }
  }

  if (outcome.error !== undefined || outcome.result?.aborted) {
    // The cause is what matters; differences in the text follow from it.
    if (outcome.error !== undefined) problems.push(`the run failed: ${describeError(outcome.error)}`);
    else problems.push('the answer was interrupted before it was complete');
    if (outcome.result?.aborted) problems.push('the card was closed and marked "(interrupted)", so it is not left streaming');
    else if (outcome.transport === undefined) problems.push('no card was created');
  } else if (outcome.transport === undefined) {
    problems.push('no card was created');
  } else if (ctx.emulator && !snapshot) {
    problems.push(`the emulator has no ${cardName(outcome)}`);
  } else {
    if (card.answer === undefined) problems.push('the card has no answer element');
    else {
      const diff = difference('answer', card.answer, expected.answer);
      if (diff) problems.push(diff);
    }
    if (expected.reasoning !== undefined && card.reasoning !== expected.reasoning) {
      problems.push(difference('thinking panel', card.reasoning ?? '', expected.reasoning) ?? 'the thinking panel differs');
    }
    if (outcome.result && outcome.result.text !== expected.answer && card.source === 'emulator') {
      problems.push(difference("session's own text", outcome.result.text, expected.answer) ?? "the session's text differs");
    }
    if (card.streaming === true) problems.push('streaming mode is still on: the chat list would show "[生成中...]"');
    problems.push(...stepProblems(outcome.result?.steps ?? [], expected.steps));
    if (ctx.card === 'agent' && snapshot) {
      if (!agent) problems.push(`the ${cardName(outcome)} is not an agent card: it has no reasoning panel, step or footer`);
      else problems.push(...outlineProblems(agent, expected, outcome, ctx.model));
    }
  }
  return { outcome, expected, card, kind: ctx.card, agent, writesByEndpoint, rejectedWrites, exact: problems.length === 0, problems };
}

/** The tokens the agent card's footer shows: the total the source reported, else input plus output. */
function footerTokens(usage: { inputTokens?: number; outputTokens?: number; totalTokens?: number } | undefined): number | undefined {
  if (usage?.totalTokens !== undefined) return usage.totalTokens;
  if (usage?.inputTokens === undefined && usage?.outputTokens === undefined) return undefined;
  return (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);
}

/** The model server's tool call for `question`, as the card should show it. */
function serverSteps(modelServer: ModelServer, question: string): ExpectedStep[] {
  const call = modelServer.toolCallFor(question);
  return call ? [{ name: call.name, input: JSON.parse(call.arguments) as unknown, status: STEP_STATUS }] : [];
}

/** Where the session's steps differ from the tool calls the model made. */
function stepProblems(steps: readonly ToolStep[], expected: readonly ExpectedStep[]): string[] {
  if (steps.length !== expected.length) {
    return [`the session reported ${plural(steps.length, 'tool step')}, the model made ${plural(expected.length, 'tool call')}`];
  }
  const problems: string[] = [];
  steps.forEach((step, i) => {
    const want = expected[i]!;
    const which = `tool step ${i + 1} (${want.name})`;
    if (step.name !== want.name) problems.push(`${which} is named ${JSON.stringify(step.name)} in the session's result`);
    if (JSON.stringify(step.input) !== JSON.stringify(want.input)) {
      problems.push(`${which} has the arguments ${truncate(JSON.stringify(step.input) ?? 'none', 80)}, the model sent ${truncate(JSON.stringify(want.input), 80)}`);
    }
    if (step.status !== want.status) problems.push(`${which} ended ${step.status} in the session's result, not ${want.status}`);
  });
  return problems;
}

/** Where an agent card's outline differs from what it should show once the answer ended. */
function outlineProblems(agent: AgentOutline, expected: Checked['expected'], outcome: ConversationOutcome, model: string): string[] {
  const problems: string[] = [];
  const thinks = expected.reasoning !== undefined && expected.reasoning !== '';
  const order = [...(thinks ? [AGENT_THINKING_PANEL_ID] : []), ...expected.steps.map((_, i) => `agent_step_${i + 1}`), ANSWER_ID, AGENT_FOOTER_ID];
  // The answer may go on in continuation elements (answer_2, …) right after its own.
  const shown = agent.order.filter((id) => !/^answer_\d+$/.test(id));
  if (JSON.stringify(shown) !== JSON.stringify(order)) problems.push(`the agent card's elements are ${shown.join(', ')}; expected ${order.join(', ')}`);
  if (thinks && agent.thinking) {
    if (!THOUGHT_TITLE.test(agent.thinking.title)) problems.push(`the reasoning panel's title is ${JSON.stringify(agent.thinking.title)}, not "Thought for N s": it did not settle when the answer began`);
    if (agent.thinking.expanded) problems.push('the reasoning panel is expanded; it should stay collapsed');
  }
  agent.steps.forEach((step, i) => {
    const want = expected.steps[i];
    if (!want) return; // counted in the order above
    if (step.name === undefined) problems.push(`step ${i + 1} on the card reads ${JSON.stringify(step.line)}, not "<icon> **name** · status"`);
    else if (step.name !== want.name || step.status !== want.status) {
      problems.push(`step ${i + 1} on the card shows ${step.name} · ${step.status}; the model called ${want.name}, which should end ${want.status}`);
    }
  });
  if (agent.footer !== undefined) {
    const parts = agent.footer.split(' · ');
    const tokens = footerTokens(outcome.result?.usage);
    const want = [model, ...(tokens !== undefined ? [`${tokens.toLocaleString('en')} tokens`] : [])];
    const named = parts[0]?.replace(/\\(.)/g, '$1');
    if (named !== want[0] || (want[1] !== undefined && parts[1] !== want[1]) || !/^(\d+\.\d s|\d+ min \d+ s)$/.test(parts.at(-1) ?? '')) {
      problems.push(`the footer reads ${JSON.stringify(agent.footer)}; expected ${JSON.stringify([...want, 'N.N s'].join(' · '))}`);
    }
  }
  return problems;
}

/** The endpoints that make a card: the session does not count them among its writes. */
const CREATES = new Set(['cardkit.card.create', 'im.message.create', 'im.message.reply']);

/**
 * The card as the emulator holds it, with its write log: the CardKit card entity, or the card a message
 * shows as last patched (a message card has no streaming mode to leave on).
 */
function emulatedCard(emulator: Emulator, outcome: ConversationOutcome): { card: unknown; streaming: boolean; log: { endpoint: string; code: number }[] } | undefined {
  if (outcome.transport === 'message') {
    const message = outcome.messageId === null ? undefined : emulator.message(outcome.messageId);
    return message && { card: parseCard(message.content), streaming: false, log: message.log };
  }
  const snapshot = outcome.cardId === null ? undefined : emulator.card(outcome.cardId);
  return snapshot && { card: snapshot.card, streaming: snapshot.streaming_mode, log: snapshot.log };
}

/** A message's content: the card JSON, as sent and patched. */
function parseCard(content: string): unknown {
  try {
    return JSON.parse(content) as unknown;
  } catch {
    return undefined;
  }
}

/** The card as a person would name it: its card id, or the message that is the card. */
function cardName(outcome: ConversationOutcome): string {
  if (outcome.transport === 'message') return `message card ${outcome.messageId ?? ''}`.trimEnd();
  return outcome.cardId === null ? 'card' : `card ${outcome.cardId}`;
}

/** Where two texts part, for a message a person can act on; undefined when they are equal. */
function difference(what: string, actual: string, expected: string): string | undefined {
  if (actual === expected) return undefined;
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  const excerpt = (text: string) => JSON.stringify(Array.from(text.slice(i, i + 40)).slice(0, 20).join(''));
  return (
    `the card's ${what} has ${count(actual.length)} characters, the model's has ${count(expected.length)}; ` +
    `they differ from character ${count(i)}: card ${excerpt(actual)}, model ${excerpt(expected)}`
  );
}

/** Values never to print (the app secret, the API key), even inside a message a server sent back. */
const secrets = new Set<string>();

export function registerSecret(value: string): void {
  if (value.length >= 4) secrets.add(value);
}

export function describeError(error: unknown): string {
  let text = describeErrorRaw(error);
  for (const secret of secrets) text = text.split(secret).join('***');
  return text;
}

function describeErrorRaw(error: unknown): string {
  if (error instanceof APIUserAbortError) return 'interrupted';
  if (error instanceof APIConnectionError) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `could not reach the model: ${error.message}${cause}`;
  }
  if (error instanceof FeishuApiError) {
    const hint = FEISHU_HINTS[error.code];
    return `Feishu answered ${error.code} (${error.msg}) to ${error.endpoint}${hint ? `: ${hint}` : ''}`;
  }
  if (error instanceof FeishuError) return error.message;
  if (error instanceof Error) {
    const status = (error as { status?: unknown }).status;
    return typeof status === 'number' ? `the model answered HTTP ${status}: ${error.message}` : error.message;
  }
  return String(error);
}

const FEISHU_HINTS: Record<number, string> = {
  10003: 'check FEISHU_APP_ID',
  10014: 'check FEISHU_APP_ID and FEISHU_APP_SECRET',
  10015: 'check FEISHU_APP_ID and FEISHU_APP_SECRET',
  99991663: 'the tenant token was refused; check the app credentials',
  99991672: 'the app lacks a permission; add cardkit:card:write and im:message:send_as_bot in the developer console',
  230001: 'check FEISHU_RECEIVE_ID and FEISHU_RECEIVE_ID_TYPE',
  230002: 'the bot is not in that chat; add it to the group first',
  230013: 'the user cannot be reached by this bot (availability settings)',
};

// ---------------------------------------------------------------------------------------------
// The summary

export interface RunFacts {
  checked: Checked[];
  elapsedMs: number;
  emulator: Emulator | undefined;
  governor: GovernorStats;
  /** Emulated minutes the run took on the card's clock (emulator only). */
  cardMinutes: number | undefined;
  clockSpeed: number;
  interrupted: boolean;
}

export function exitCode(facts: RunFacts): number {
  if (facts.interrupted) return 130;
  return facts.checked.length > 0 && facts.checked.every((c) => c.exact) ? 0 : 1;
}

/** One conversation's numbers, as the JSON summary and the table show them. */
function numbers(c: Checked) {
  const { tracker, result } = c.outcome;
  return {
    answerChars: c.expected.answer.length,
    reasoningChars: c.expected.reasoning?.length ?? 0,
    writes: result?.writes ?? tracker.writes,
    retries: result?.retries ?? tracker.retries,
    reopens: result?.reopens ?? tracker.reopens,
    sequence: result?.sequence ?? tracker.sequence,
    firstCharMs: tracker.firstCharAt === undefined ? null : Math.round(tracker.firstCharAt - tracker.startedAt),
    firstTokenMs: tracker.firstTokenAt === undefined ? null : Math.round(tracker.firstTokenAt - tracker.startedAt),
    maxLagMs: Math.round(tracker.maxLagMs),
    totalMs: Math.round((tracker.endedAt ?? performance.now()) - tracker.startedAt),
  };
}

/** The outline for JSON: what a card does not show is null rather than left out. */
function outlineJson(agent: AgentOutline) {
  return {
    order: agent.order,
    thinking: agent.thinking ?? null,
    reasoning: agent.reasoning ?? null,
    steps: agent.steps.map((step) => ({
      elementId: step.elementId,
      line: step.line,
      icon: step.icon ?? null,
      name: step.name ?? null,
      status: step.status ?? null,
      seconds: step.seconds ?? null,
      details: step.details ?? null,
    })),
    answer: agent.answer ?? null,
    footer: agent.footer ?? null,
  };
}

export function jsonSummary(facts: RunFacts, mode: Record<string, unknown>): string {
  const stats = facts.emulator?.stats();
  const conversations = facts.checked.map((c) => ({
    index: c.outcome.index,
    question: c.outcome.question,
    transport: c.outcome.transport ?? null,
    fallback: c.outcome.fallback ? { error: describeError(c.outcome.fallback.error), remembered: c.outcome.fallback.remembered } : null,
    cardId: c.outcome.cardId,
    messageId: c.outcome.messageId,
    ...numbers(c),
    exact: c.exact,
    answerMatches: c.card.answer === c.expected.answer,
    expectedFrom: c.expected.source,
    cardFrom: c.card.source,
    streamingClosed: c.card.streaming === false,
    writesByEndpoint: c.writesByEndpoint ?? null,
    rejectedWrites: c.rejectedWrites ?? null,
    cardText: c.card.answer ?? null,
    card: c.kind,
    steps: c.outcome.result?.steps ?? [],
    expectedSteps: c.expected.steps,
    agentCard: c.agent ? outlineJson(c.agent) : null,
    problems: c.problems,
  }));
  const sum = (key: 'writes' | 'retries' | 'reopens') => conversations.reduce((n, c) => n + c[key], 0);
  return JSON.stringify({
    ok: exitCode(facts) === 0,
    exitCode: exitCode(facts),
    ...mode,
    elapsedMs: Math.round(facts.elapsedMs),
    cardMinutes: facts.cardMinutes === undefined ? null : Number(facts.cardMinutes.toFixed(2)),
    totals: { conversations: conversations.length, exact: conversations.filter((c) => c.exact).length, writes: sum('writes'), retries: sum('retries'), reopens: sum('reopens') },
    emulator: stats
      ? { accepted: stats.accepted, rejected: stats.rejected, rejections: Object.values(stats.rejected).reduce((n, v) => n + v, 0) }
      : null,
    governor: Object.fromEntries(Object.entries(facts.governor.apis).map(([api, v]) => [api, { ...v, waitedMs: Math.round(v.waitedMs) }])),
    conversations,
  });
}

/** The summary of a single conversation. */
export function singleSummary(facts: RunFacts, p: Paint): string[] {
  const c = facts.checked[0]!;
  const n = numbers(c);
  const lines: string[] = [''];
  const ok = c.exact;
  lines.push(
    ok
      ? `  ${p.green('✓')} ${p.bold(`Answered in ${duration(n.totalMs)}`)}`
      : `  ${p.red('✗')} ${p.bold(facts.interrupted ? 'Interrupted' : c.outcome.error !== undefined ? 'The run failed' : 'The card does not show the answer exactly')}`,
  );
  lines.push('');
  const row = (label: string, value: string) => lines.push(`    ${p.dim(padEnd(label, 14))}${value}`);
  const message = c.outcome.transport === 'message';
  if (!ok) {
    row('card', message ? `message ${c.outcome.messageId}` : (c.outcome.cardId ?? 'none'));
    row('characters', `${count(c.outcome.streamed.answer.length)} of the answer had arrived from the model`);
    row('writes', count(n.writes));
    row('total', duration(n.totalMs));
    if (c.agent) outlineRows(c, row, p);
    lines.push(...emulatorLine(facts, p));
    lines.push('', ...fallbackLines(facts, p), ...verdicts(facts, p));
    return lines;
  }
  if (message) row('transport', `message card ${c.outcome.messageId} ${p.dim('(patched whole through IM, at most 5 times a second)')}`);
  row('characters', `${count(n.answerChars)} in the answer${c.expected.reasoning !== undefined ? ` · ${count(n.reasoningChars)} in the thinking panel` : ''}`);
  let byEndpoint = '';
  if (c.writesByEndpoint && message) byEndpoint = ` ${p.dim(`(${endpointBreakdown(c.writesByEndpoint)}`)}${rejectedText(c.rejectedWrites, p)}${p.dim(')')}`;
  else if (c.writesByEndpoint) byEndpoint = ` ${p.dim(`(${endpointBreakdown(c.writesByEndpoint)})`)}`;
  row('writes', `${count(n.writes)}${byEndpoint}`);
  const steps = c.outcome.result?.steps ?? [];
  if (c.agent) outlineRows(c, row, p);
  else if (steps.length > 0) row('tool steps', `${count(steps.length)} ${p.dim(`(${steps.map((s) => `${s.name} · ${s.status}`).join(', ')})`)}`);
  row('retries', count(n.retries));
  // A message card has no streaming mode, so nothing to re-open.
  if (!message) row('re-opens', reopenText(n.reopens, c.outcome.tracker.expiredReopens, p));
  if (n.firstCharMs !== null) {
    row('first char', `${duration(n.firstCharMs)} after the question${n.firstTokenMs !== null ? p.dim(` (model's first token after ${duration(n.firstTokenMs)})`) : ''}`);
  }
  row('slowest delta', `${duration(n.maxLagMs)} ${p.dim('from the model to the card')}`);
  row('total', duration(n.totalMs));
  if (facts.cardMinutes !== undefined && facts.clockSpeed !== 1) {
    row('card clock', `${duration(facts.cardMinutes * 60_000)} ${p.dim(`(the emulator's clock ran ${facts.clockSpeed}x)`)}`);
  }
  lines.push(...emulatorLine(facts, p));
  lines.push('', ...fallbackLines(facts, p), ...verdicts(facts, p));
  return lines;
}

/**
 * The agent card's outline as the emulator holds it, one row per part:
 *   agent card    agent_thinking · agent_step_1 · answer · agent_footer
 *     thinking    Thought for 2 s (collapsed, 133 characters)
 *     step 1      🔧 search_docs · called ({"query":"…"})
 *     answer      1,173 characters
 *     footer      demo-model · 512 tokens · 10.2 s
 */
function outlineRows(c: Checked, row: (label: string, value: string) => void, p: Paint): void {
  const agent = c.agent!;
  row('agent card', agent.order.join(p.dim(' · ')));
  if (agent.thinking) {
    const reasoning = agent.reasoning === undefined ? '' : `, ${count(agent.reasoning.length)} characters`;
    row('  thinking', `${agent.thinking.title} ${p.dim(`(${agent.thinking.expanded ? 'expanded' : 'collapsed'}${reasoning})`)}`);
  }
  const steps = c.outcome.result?.steps ?? [];
  agent.steps.forEach((step, i) => {
    const shown = step.name === undefined ? step.line : `${step.icon} ${step.name} · ${step.status}${step.seconds === undefined ? '' : ` · ${step.seconds.toFixed(1)} s`}`;
    const input = steps[i]?.input;
    row(`  step ${i + 1}`, `${shown}${input === undefined ? '' : ` ${p.dim(`(${truncate(JSON.stringify(input) ?? '', 60)})`)}`}`);
  });
  row('  answer', `${count(agent.answer?.length ?? 0)} characters`);
  if (agent.footer !== undefined) row('  footer', agent.footer.replace(/\\(.)/g, '$1'));
}

/** The table of several conversations, then the governor's numbers. */
export function sessionsSummary(facts: RunFacts, p: Paint): string[] {
  const lines: string[] = [''];
  const header = ['#', 'question', 'chars', 'steps', 'writes', 'retries', 're-opens', 'first char', 'max lag', 'total', 'exact'];
  const rows = facts.checked.map((c) => {
    const n = numbers(c);
    return [
      String(c.outcome.index),
      truncate(c.outcome.question, 30),
      count(n.answerChars),
      stepsCell(c),
      count(n.writes),
      count(n.retries),
      count(n.reopens),
      n.firstCharMs === null ? '–' : duration(n.firstCharMs),
      duration(n.maxLagMs),
      duration(n.totalMs),
      c.exact ? p.green('✓') : p.red('✗'),
    ];
  });
  const exact = facts.checked.filter((c) => c.exact).length;
  lines.push(
    `  ${exact === facts.checked.length ? p.green('✓') : p.red('✗')} ${p.bold(`${plural(facts.checked.length, 'conversation')} in ${duration(facts.elapsedMs)}`)}`,
    '',
  );
  lines.push(...table(header, rows, [false, false, true, false, true, true, true, true, true, true, false], p).map((l) => `    ${l}`));
  const agents = facts.checked.filter((c) => c.agent);
  if (agents.length > 0) {
    const which = agents.length === facts.checked.length ? 'agent cards' : `${agents.length} of ${facts.checked.length} cards are agent cards`;
    lines.push('', `    ${p.dim(`card: ${which}, their steps as the cards show them; card ${agents[0]!.outcome.index}: ${agents[0]!.agent!.order.join(' · ')}`)}`);
  }
  const messages = facts.checked.filter((c) => c.outcome.transport === 'message');
  if (messages.length > 0) {
    const rejected = mergeCounts(messages.map((c) => c.rejectedWrites));
    const patches = messages.reduce((n, c) => n + (c.writesByEndpoint?.['im.message.patch'] ?? 0), 0);
    const writes = messages.some((c) => c.writesByEndpoint) ? `${p.dim(`: im.message.patch ${count(patches)} accepted`)}${rejectedText(rejected, p)}` : '';
    const which = messages.length === facts.checked.length ? 'message cards' : `${messages.length} of ${facts.checked.length} cards are message cards`;
    lines.push('', `    ${p.dim(`transport: ${which}, patched whole through IM`)}${writes}`);
  }
  if (facts.cardMinutes !== undefined && facts.clockSpeed !== 1) {
    lines.push('', `    ${p.dim(`card clock: ${duration(facts.cardMinutes * 60_000)} (the emulator's clock ran ${facts.clockSpeed}x)`)}`);
  }
  const perMessage = messages.length > 0 ? ', 5/s per message' : '';
  lines.push('', `  ${p.bold('Governor')}  ${p.dim(`one budget shared by every card of the app: 50 calls/s and 1000/min per API, 10/s per card${perMessage}`)}`, '');
  const apis = Object.entries(facts.governor.apis).sort(([a], [b]) => a.localeCompare(b));
  lines.push(
    ...table(
      ['api', 'writes', 'waits', 'time waited', 'rate-limited'],
      apis.map(([api, v]) => [api, count(v.writes), count(v.waits), duration(v.waitedMs), count(v.rateLimited)]),
      [false, true, true, true, true],
      p,
    ).map((l) => `    ${l}`),
  );
  if (facts.emulator) lines.push('', ...emulatorLine(facts, p));
  lines.push('', ...fallbackLines(facts, p), ...verdicts(facts, p));
  return lines;
}

/** A card's steps for the table: as the agent card shows them (`1 called`), else as the session reported them. */
function stepsCell(c: Checked): string {
  const statuses = c.agent ? c.agent.steps.map((s) => s.status ?? '?') : (c.outcome.result?.steps ?? []).map((s) => s.status);
  if (statuses.length === 0) return '–';
  const byStatus = new Map<string, number>();
  for (const status of statuses) byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  return [...byStatus].map(([status, n]) => `${n} ${status}`).join(', ');
}

/** A line when CardKit refused to create cards and the sessions streamed through message cards instead. */
function fallbackLines(facts: RunFacts, p: Paint): string[] {
  const fell = facts.checked.filter((c) => c.outcome.fallback !== undefined);
  if (fell.length === 0) return [];
  const error = fell[0]!.outcome.fallback!.error;
  const cause = error instanceof FeishuApiError ? `Feishu answered ${error.code} to ${error.endpoint}` : describeError(error);
  const who = facts.checked.length === 1 ? 'the card' : fell.length === facts.checked.length ? 'every card' : `${fell.length} of ${facts.checked.length} cards`;
  return [`  ${p.yellow('↷')} Fallback: CardKit refused to create ${who} (${cause}), so the session streamed through a message card instead.`];
}

/** ", none rejected" or ", rejected: 230020 ×2", for the writes to message cards. */
function rejectedText(rejected: Record<string, number> | undefined, p: Paint): string {
  if (rejected === undefined) return '';
  const codes = Object.entries(rejected);
  return codes.length === 0 ? p.dim(', none rejected') : `${p.dim(', ')}${p.yellow(`rejected: ${codes.map(([code, n]) => `${code} ×${n}`).join(', ')}`)}`;
}

function mergeCounts(counts: readonly (Record<string, number> | undefined)[]): Record<string, number> | undefined {
  if (counts.every((c) => c === undefined)) return undefined;
  const merged: Record<string, number> = {};
  for (const c of counts) for (const [key, n] of Object.entries(c ?? {})) merged[key] = (merged[key] ?? 0) + n;
  return merged;
}

function reopenText(reopens: number, expired: number, p: Paint): string {
  if (reopens === 0) return '0';
  const scheduled = reopens - expired;
  if (expired === 0) return `${count(reopens)} ${p.dim('(streaming mode re-opened before its 10-minute window closed)')}`;
  const parts = [scheduled > 0 ? `${scheduled} before the window closed` : '', `${expired} after the platform closed it`].filter(Boolean);
  return `${count(reopens)} ${p.dim(`(${parts.join(', ')})`)}`;
}

function emulatorLine(facts: RunFacts, p: Paint): string[] {
  if (!facts.emulator) return [];
  const stats = facts.emulator.stats();
  const rejected = Object.entries(stats.rejected);
  const text = rejected.length === 0 ? `${count(stats.accepted)} calls accepted, ${p.green('none rejected')}` : `${count(stats.accepted)} calls accepted, ${p.yellow(`rejected: ${rejected.map(([code, n]) => `${code} ×${n}`).join(', ')}`)}`;
  return [`    ${p.dim(padEnd('emulator', 14))}${text}`];
}

function verdicts(facts: RunFacts, p: Paint): string[] {
  const lines: string[] = [];
  for (const c of facts.checked) {
    const who = facts.checked.length > 1 ? `card ${c.outcome.index}: ` : '';
    if (c.exact) {
      const card = c.outcome.transport === 'message' ? 'message card' : 'card';
      const where = c.card.source === 'emulator' ? `the ${card}'s text on the emulator` : "the session's final text";
      const thinking = c.expected.reasoning !== undefined ? ' (and its thinking panel)' : '';
      if (facts.checked.length === 1) {
        lines.push(`  ${p.green('✓')} ${who}Exact: ${where}${thinking} equals the ${c.expected.source}'s answer, all ${count(c.expected.answer.length)} characters.`);
        if (c.agent) {
          const steps = c.expected.steps.length === 0 ? 'no tool step, as the model called no tool' : `${plural(c.expected.steps.length, 'step')} for the model's tool ${c.expected.steps.length === 1 ? 'call' : 'calls'} (${c.expected.steps.map((s) => `${s.name} · ${s.status}`).join(', ')})`;
          lines.push(`  ${p.green('✓')} ${who}Agent card: ${steps}${c.agent.thinking ? ', the reasoning panel settled' : ''}, the footer names ${c.agent.footer?.split(' · ')[0]?.replace(/\\(.)/g, '$1') ?? 'the model'}.`);
        }
      }
    } else {
      for (const problem of c.problems) lines.push(`  ${p.red('✗')} ${who}${problem}`);
    }
  }
  if (facts.checked.length > 1) {
    const exact = facts.checked.filter((c) => c.exact).length;
    const source = facts.checked[0]!.expected.source;
    const agents = facts.checked.every((c) => c.agent) ? ' Every agent card shows its outline: a step per tool call, as it ended, and the footer.' : '';
    if (exact === facts.checked.length) lines.unshift(`  ${p.green('✓')} Exact: every card's text equals the ${source}'s answer, character for character.${agents}`);
    else lines.unshift(`  ${p.red('✗')} ${exact} of ${facts.checked.length} cards are exact.`);
  }
  return lines;
}

function endpointBreakdown(byEndpoint: Record<string, number>): string {
  return Object.entries(byEndpoint)
    .sort(([, a], [, b]) => b - a)
    .map(([endpoint, n]) => `${endpoint.split('.').at(-1)!} ${count(n)}`)
    .join(' · ');
}

function table(header: string[], rows: string[][], right: boolean[], p: Paint): string[] {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const cell = (text: string, i: number) => (right[i] ? padStart(text, widths[i]!) : padEnd(text, widths[i]!));
  return [p.dim(header.map(cell).join('  ').trimEnd()), ...rows.map((r) => r.map(cell).join('  ').trimEnd())];
}
