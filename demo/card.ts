/**
 * The demo's cards. By default the library's agent card (`CardSession.start({ agent })`), which the
 * session builds itself: a collapsed reasoning panel, one element per tool step, the answer and a footer;
 * `agentOutline` reads it back as a reader sees it. With `--plain`, the demo's own card (Card JSON 2.0):
 * a header with the question, a collapsible "thinking" panel streamed with the model's reasoning (when
 * there is any), the answer, and a small footer written when the answer is complete.
 */
import { truncate } from './terminal.js';

export const ANSWER_ID = 'answer';
export const THINKING_ID = 'thinking';
export const FOOTER_ID = 'footer';

export function demoCard(options: { question: string; model: string; reasoning: boolean }): Record<string, unknown> {
  const thinking = {
    tag: 'collapsible_panel',
    element_id: 'thinking_panel',
    expanded: false,
    header: {
      title: { tag: 'markdown', content: "<font color='grey'>💭 思考过程 · Thinking</font>" },
      icon: { tag: 'standard_icon', token: 'down-small-ccm_outlined', color: 'grey', size: '16px 16px' },
      icon_position: 'right',
      icon_expanded_angle: -180,
    },
    border: { color: 'grey', corner_radius: '6px' },
    vertical_spacing: '4px',
    padding: '4px 8px 4px 8px',
    elements: [{ tag: 'markdown', element_id: THINKING_ID, content: '', text_size: 'notation' }],
  };
  return {
    schema: '2.0',
    config: { update_multi: true, width_mode: 'fill' },
    header: {
      title: { tag: 'plain_text', content: truncate(options.question.replace(/\s+/g, ' '), 60) },
      subtitle: { tag: 'plain_text', content: `${options.model} · feishu-card-session` },
      template: 'blue',
    },
    body: {
      elements: [
        ...(options.reasoning ? [thinking] : []),
        { tag: 'markdown', element_id: ANSWER_ID, content: '' },
        { tag: 'markdown', element_id: FOOTER_ID, content: '', text_size: 'notation' },
      ],
    },
  };
}

/** The footer written once the answer is complete. */
export function footerText(model: string, characters: number, seconds: number): string {
  return `<font color='grey'>${model} · ${characters.toLocaleString('en-US')} characters · ${seconds.toFixed(1)} s</font>`;
}

/** An element's current text in a card snapshot (Card JSON 2.0), or undefined. */
export function elementContent(card: unknown, elementId: string): string | undefined {
  let found: string | undefined;
  const visit = (node: unknown, depth: number): void => {
    if (found !== undefined || depth > 64 || typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    if (record.element_id === elementId && typeof record.content === 'string') {
      found = record.content;
      return;
    }
    for (const child of Object.values(record)) visit(child, depth + 1);
  };
  visit(card, 0);
  return found;
}

// ---------------------------------------------------------------------------------------------
// The agent card, as the library builds it (README "The agent card")

/** The agent card's element ids: the collapsed reasoning panel, the reasoning inside it, the footer, each step. */
export const AGENT_THINKING_PANEL_ID = 'agent_thinking';
export const AGENT_REASONING_ID = 'reasoning';
export const AGENT_FOOTER_ID = 'agent_footer';
const AGENT_STEP_ID = /^agent_step_(\d+)$/;
/** The reasoning panel's title once the model moved on (the default label). */
export const THOUGHT_TITLE = /^Thought for \d+ s$/;

/** One tool step as its element shows it. */
export interface OutlineStep {
  elementId: string;
  /** The step's line as markdown, e.g. `🔧 **search\_docs** · called`. */
  line: string;
  /** Read back from the default line (icon, name, status, duration); undefined when it has another shape. */
  icon: string | undefined;
  name: string | undefined;
  status: string | undefined;
  seconds: number | undefined;
  /** What the step's collapsed panel holds (arguments, result); undefined for a one-line step. */
  details: string | undefined;
}

/** An agent card as a reader sees it. */
export interface AgentOutline {
  /** The top-level element ids, in order. */
  order: string[];
  /** The reasoning panel's title, and whether it is collapsed; undefined when the card has no panel. */
  thinking: { title: string; expanded: boolean } | undefined;
  reasoning: string | undefined;
  steps: OutlineStep[];
  /** The answer, joined across its continuation elements (`answer`, `answer_2`, …). */
  answer: string | undefined;
  /** The footer's text, without its grey font tag. */
  footer: string | undefined;
}

/** Reads an agent card (Card JSON 2.0, a CardKit card or a message card's content); undefined when it is none. */
export function agentOutline(card: unknown): AgentOutline | undefined {
  const body = isRecord(card) && isRecord(card.body) ? card.body : undefined;
  const elements = Array.isArray(body?.elements) ? body.elements.filter(isRecord) : [];
  const outline: AgentOutline = { order: [], thinking: undefined, reasoning: undefined, steps: [], answer: undefined, footer: undefined };
  for (const element of elements) {
    const id = typeof element.element_id === 'string' ? element.element_id : '';
    outline.order.push(id);
    const title = isRecord(element.header) && isRecord(element.header.title) ? element.header.title.content : undefined;
    const children = Array.isArray(element.elements) ? element.elements.filter(isRecord) : [];
    if (id === AGENT_THINKING_PANEL_ID) {
      outline.thinking = { title: typeof title === 'string' ? title : '', expanded: element.expanded === true };
      outline.reasoning = elementContent(element, AGENT_REASONING_ID);
    } else if (AGENT_STEP_ID.test(id)) {
      const panel = element.tag === 'collapsible_panel';
      const text = panel ? title : element.content;
      const line = typeof text === 'string' ? text : '';
      const details = panel && typeof children[0]?.content === 'string' ? children[0].content : undefined;
      outline.steps.push({ elementId: id, line, ...parseStepLine(line), details });
    } else if ((id === ANSWER_ID || /^answer_\d+$/.test(id)) && typeof element.content === 'string') {
      outline.answer = (outline.answer ?? '') + element.content;
    } else if (id === AGENT_FOOTER_ID && typeof element.content === 'string') {
      outline.footer = element.content.replace(/^<font color='grey'>([\s\S]*)<\/font>$/, '$1');
    }
  }
  const isAgent = outline.thinking !== undefined || outline.steps.length > 0 || outline.footer !== undefined;
  return isAgent ? outline : undefined;
}

/** The default step line `⏳ **name** · status · 1.2 s` read back (the name's markdown escapes undone). */
function parseStepLine(line: string): Pick<OutlineStep, 'icon' | 'name' | 'status' | 'seconds'> {
  const match = /^(\S+) \*\*((?:\\.|[^*\\])*)\*\* · (\w+)(?: · (\d+(?:\.\d+)?) s)?$/u.exec(line);
  if (!match) return { icon: undefined, name: undefined, status: undefined, seconds: undefined };
  return { icon: match[1], name: match[2]!.replace(/\\(.)/g, '$1'), status: match[3], seconds: match[4] === undefined ? undefined : Number(match[4]) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
