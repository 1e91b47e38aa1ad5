/**
 * The end of a run: each card checked against what the model said (on the emulator: the card as the
 * platform holds it, a CardKit card or the card a message shows; on real Feishu: the session's result),
 * then a summary for people or one JSON line.
 */
import { APIConnectionError, APIUserAbortError } from 'openai';
import { FeishuApiError, FeishuError, type GovernorStats } from '../src/index.js';
import type { Emulator } from '../src/emulator/index.js';
import { ANSWER_ID, THINKING_ID, elementContent } from './card.js';
import type { ConversationOutcome } from './conversation.js';
import type { ModelServer } from './model-server.js';
import { type Paint, count, duration, padEnd, padStart, plural, truncate, width } from './terminal.js';

export interface Checked {
  outcome: ConversationOutcome;
  /** What the card should say: the model server's answer, or (a real model) what it streamed. */
  expected: { answer: string; reasoning: string | undefined; source: 'model server' | 'model stream' };
  /** What the card says: the emulator's copy, or (real Feishu) the session's result. */
  card: { answer: string | undefined; reasoning: string | undefined; streaming: boolean | undefined; source: 'emulator' | 'session' };
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
}

export function check(outcome: ConversationOutcome, ctx: CheckContext): Checked {
  const problems: string[] = [];
  const expected = ctx.modelServer
    ? {
        answer: ctx.modelServer.answerFor(outcome.question),
        reasoning: ctx.reasoning ? ctx.modelServer.reasoningFor(outcome.question) : undefined,
        source: 'model server' as const,
      }
    : { answer: outcome.streamed.answer, reasoning: ctx.reasoning ? outcome.streamed.reasoning : undefined, source: 'model stream' as const };

  const snapshot = ctx.emulator ? emulatedCard(ctx.emulator, outcome) : undefined;
  const card = ctx.emulator
    ? {
        answer: snapshot ? elementContent(snapshot.card, ANSWER_ID) : undefined,
        reasoning: snapshot && ctx.reasoning ? elementContent(snapshot.card, THINKING_ID) : undefined,
        streaming: snapshot?.streaming,
        source: 'emulator' as const,
      }
    : {
        answer: outcome.result?.text,
        reasoning: ctx.reasoning ? outcome.result?.texts[THINKING_ID] : undefined,
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
  }
  return { outcome, expected, card, writesByEndpoint, rejectedWrites, exact: problems.length === 0, problems };
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
    steps: c.outcome.result?.steps ?? [],
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
  if (steps.length > 0) row('tool steps', `${count(steps.length)} ${p.dim(`(${steps.map((s) => s.name).join(', ')})`)}`);
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

/** The table of several conversations, then the governor's numbers. */
export function sessionsSummary(facts: RunFacts, p: Paint): string[] {
  const lines: string[] = [''];
  const header = ['#', 'question', 'chars', 'writes', 'retries', 're-opens', 'first char', 'max lag', 'total', 'exact'];
  const rows = facts.checked.map((c) => {
    const n = numbers(c);
    return [
      String(c.outcome.index),
      truncate(c.outcome.question, 30),
      count(n.answerChars),
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
  lines.push(...table(header, rows, [false, false, true, true, true, true, true, true, true, false], p).map((l) => `    ${l}`));
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
      }
    } else {
      for (const problem of c.problems) lines.push(`  ${p.red('✗')} ${who}${problem}`);
    }
  }
  if (facts.checked.length > 1) {
    const exact = facts.checked.filter((c) => c.exact).length;
    const source = facts.checked[0]!.expected.source;
    if (exact === facts.checked.length) lines.unshift(`  ${p.green('✓')} Exact: every card's text equals the ${source}'s answer, character for character.`);
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
