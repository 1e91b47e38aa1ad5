/**
 * The agent card's elements, as Card JSON 2.0 (reference §14): the reasoning panel, one element per tool
 * step, the footer. Pure functions of the agent's state; README "The agent card" shows the JSON.
 */
import type { Usage } from '../../adapters/index.js';
import type { ToolStep } from '../answer-report.js';
import type { ResolvedAgentOptions } from './agent-options.js';

type JsonObject = Record<string, unknown>;

export const REASONING_PANEL_ID = 'agent_thinking';
export const REASONING_ID = 'reasoning';
export const FOOTER_ID = 'agent_footer';
/** A tool's or model's name is shown up to this many characters. */
const MAX_NAME_CHARS = 100;
/** A step line from `stepTitle` is shown up to this many characters. */
const MAX_LINE_CHARS = 500;

/** The element id of the `index`-th step (from 1). */
export function stepId(index: number): string {
  return `agent_step_${index}`;
}

/** The header of a collapsible panel with `title`, its arrow on the right (Feishu's own panels look so). */
function panelHeader(title: JsonObject): JsonObject {
  return {
    title,
    icon: { tag: 'standard_icon', token: 'down-small-ccm_outlined', size: '16px 16px' },
    icon_position: 'right',
    icon_expanded_angle: -180,
  };
}

/** The reasoning panel's header: `Thinking…` while the model thinks, `Thought for N s` after. */
export function reasoningHeader(o: ResolvedAgentOptions, thinking: boolean, thoughtMs: number): JsonObject {
  const content = thinking ? o.labels.thinking : String(o.labels.thought(Math.max(1, Math.round(thoughtMs / 1000))));
  return panelHeader({ tag: 'plain_text', content: clip(content, MAX_LINE_CHARS) });
}

/** The reasoning panel, collapsed, around the streamed `reasoning` markdown element (its text is the session's). */
export function reasoningPanel(header: JsonObject): JsonObject {
  return {
    tag: 'collapsible_panel',
    element_id: REASONING_PANEL_ID,
    expanded: false,
    header,
    border: { color: 'grey', corner_radius: '5px' },
    padding: '4px 8px 4px 8px',
    elements: [{ tag: 'markdown', element_id: REASONING_ID, content: '', text_size: 'notation' }],
  };
}

const STATUS_ICON: Record<ToolStep['status'], string> = { running: '⏳', done: '✅', failed: '❌', called: '🔧' };

/** A step's line: icon, name, status, and how long it took once it ended. */
export function stepLine(o: ResolvedAgentOptions, step: ToolStep): string {
  if (o.stepTitle) return clip(String(o.stepTitle(step)), MAX_LINE_CHARS);
  const name = step.name === '' ? 'tool' : escapeMarkdown(clip(step.name, MAX_NAME_CHARS));
  const took = step.endedAt === undefined || step.status === 'called' ? '' : ` · ${seconds(step.endedAt - step.startedAt)}`;
  return clip(`${STATUS_ICON[step.status]} **${name}** · ${o.labels[step.status]}${took}`, MAX_LINE_CHARS);
}

/**
 * The step's element: a collapsed panel whose title is the step's line and whose body shows its
 * arguments and result (or error), each cut to its budget; with `details: false`, the line alone.
 * `compact` forces the line alone (the card is short of room).
 */
export function stepElement(o: ResolvedAgentOptions, step: ToolStep, index: number, compact: boolean): JsonObject {
  const line = stepLine(o, step);
  if (o.details === false || compact) return { tag: 'markdown', element_id: stepId(index), content: line, text_size: 'notation' };
  const parts: string[] = [];
  if (step.input !== undefined && o.details.arguments > 0) parts.push(`**${clip(o.labels.arguments, MAX_NAME_CHARS)}**\n${fenced(show(step.input), o.details.arguments, 'json')}`);
  if (step.status === 'done' && step.output !== undefined && o.details.result > 0) parts.push(`**${clip(o.labels.result, MAX_NAME_CHARS)}**\n${fenced(show(step.output), o.details.result, '')}`);
  if (step.status === 'failed' && step.error !== undefined) parts.push(`**${clip(o.labels.error, MAX_NAME_CHARS)}**\n${fenced(step.error, o.details.result, '')}`);
  return {
    tag: 'collapsible_panel',
    element_id: stepId(index),
    expanded: false,
    header: panelHeader({ tag: 'markdown', content: line }),
    border: { color: 'grey', corner_radius: '5px' },
    padding: '4px 8px 4px 8px',
    elements: [{ tag: 'markdown', content: parts.length === 0 ? '—' : parts.join('\n'), text_size: 'notation' }],
  };
}

/** The footer's line: model, tokens, elapsed time, as asked for; empty when there is nothing to say. */
export function footerText(o: ResolvedAgentOptions, usage: Usage | undefined, elapsedMs: number): string {
  if (o.footer === false) return '';
  const parts: string[] = [];
  if (o.footer.model !== undefined && o.footer.model !== '') parts.push(escapeMarkdown(clip(o.footer.model, MAX_NAME_CHARS)));
  const tokens = usage?.totalTokens ?? (usage?.inputTokens !== undefined || usage?.outputTokens !== undefined ? (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0) : undefined);
  if (o.footer.tokens && tokens !== undefined) parts.push(`${tokens.toLocaleString('en')} tokens`);
  if (o.footer.elapsed) parts.push(seconds(elapsedMs));
  return parts.join(' · ');
}

export function footerElement(text: string): JsonObject {
  return { tag: 'markdown', element_id: FOOTER_ID, content: `<font color='grey'>${text}</font>`, text_size: 'notation' };
}

/** At most `max` characters of `text` (whole code points), `…` when cut: a line never outgrows a card. */
function clip(text: string, max: number): string {
  const points = Array.from(text.slice(0, max * 2 + 2));
  return points.length > max ? `${points.slice(0, max).join('')}…` : points.join('');
}

/** A duration as a reader takes it in: seconds with one decimal below a minute (`0.3 s`, `12.0 s`), else `11 min 9 s`. */
export function seconds(ms: number): string {
  const tenths = Math.round(Math.max(0, ms) / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const whole = Math.round(tenths / 10);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

/** A value as text: strings as they are, anything else as indented JSON. */
function show(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * `text` cut to `max` characters (never inside a surrogate pair, marked when cut) in a code block whose
 * fence is longer than any backtick run inside, so no text can close it early.
 */
export function fenced(text: string, max: number, info: string): string {
  const points = Array.from(text);
  const cut = points.length > max ? `${points.slice(0, max).join('')}\n… (${(points.length - max).toLocaleString('en')} more characters)` : text;
  const longest = Math.max(0, ...Array.from(cut.matchAll(/`+/g), (m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${cut}\n${fence}`;
}

/** Markdown markers in a name shown as themselves. */
function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_~[\]()<>#|]/g, (c) => `\\${c}`);
}
