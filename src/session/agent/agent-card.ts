/**
 * The agent card (issue 11): reasoning in a collapsed panel, one element per tool step as it runs, the
 * answer, an optional footer. It is a `CardLayout`: before each write of the card it compares the card as
 * the platform has it with what the answer needs now and returns the changes, so whatever fell due since
 * the last write goes out together (one op through its element endpoint, several in one batch_update),
 * in order with the texts through the session's one queue. A continuation card (issue 10) gets what is
 * still going on: the reasoning panel while the model thinks, the steps still running.
 */
import type { AnswerEvent } from '../../adapters/index.js';
import type { AnswerReport, ToolStep } from '../answer-report.js';
import type { CardLayout, CardOp } from '../card-ops.js';
import { countElements, elementsById } from '../card-template.js';
import type { Clock } from '../clock.js';
import type { ElementText } from '../element-text.js';
import type { ResolvedAgentOptions } from './agent-options.js';
import { FOOTER_ID, REASONING_PANEL_ID, footerElement, footerText, reasoningHeader, reasoningPanel, stepElement, stepId } from './agent-render.js';

type JsonObject = Record<string, unknown>;

/** Steps' details are shown while their ops leave this much of the card for the texts; then steps are one line each. */
const KEEP_FOR_TEXT_BYTES = 6 * 1024;
/** Bytes a layout's ops leave free besides (the texts grow while the ops travel). */
const MARGIN_BYTES = 512;
/** Elements a layout fills a card up to, of the 200 (the rest for the texts' continuation elements). */
const MAX_LAYOUT_ELEMENTS = 190;

export interface AgentCardInit {
  options: ResolvedAgentOptions;
  report: AnswerReport;
  /** The streamed reasoning text (absent when the card shows none). */
  reasoning: () => ElementText | undefined;
  /** The element the answer streams into: steps and the reasoning panel go above it. */
  answerId: string;
  clock: Clock;
}

export class AgentCard implements CardLayout {
  readonly #o: ResolvedAgentOptions;
  readonly #init: AgentCardInit;
  readonly #startedAt: number;
  /** When the current burst of reasoning began (undefined: the model is not thinking now). */
  #thinkingSince: number | undefined;
  #thoughtMs = 0;
  /** Whether each step's element last showed it ended, on a card: a step ended on a card is not shown again. */
  readonly #shown = new Map<ToolStep, { ended: boolean }>();
  /** The last `ops()` left something out that the card had no room for. */
  #waiting = false;
  #endedAt: number | undefined;
  /** What the last `ops()` would show, kept once its ops are on the card (`applied`). */
  #pending = new Map<ToolStep, { ended: boolean }>();

  constructor(init: AgentCardInit) {
    this.#init = init;
    this.#o = init.options;
    this.#startedAt = init.clock.now();
  }

  /** Follows the answer: reasoning starts a burst of thinking, anything else ends it. */
  take(event: AnswerEvent): void {
    const now = this.#init.clock.now();
    if (event.kind === 'reasoning') {
      if (event.text !== '') this.#thinkingSince ??= now;
      return;
    }
    if (event.kind === 'answer' && event.text === '') return;
    if (event.kind === 'answer' || event.kind === 'tool-start' || event.kind === 'tool-call' || event.kind === 'finish') this.#stopThinking(now);
  }

  /** The answer ended (finished or aborted): thinking stops, and the footer is due. */
  end(): void {
    const now = this.#init.clock.now();
    this.#stopThinking(now);
    this.#endedAt = now;
  }

  /** Seconds the model thought, so far. */
  get thoughtMs(): number {
    return this.#thoughtMs + (this.#thinkingSince === undefined ? 0 : this.#init.clock.now() - this.#thinkingSince);
  }

  ops(card: Readonly<JsonObject>, final: boolean, free: number): CardOp[] {
    const present = elementsById(card);
    const ops: CardOp[] = [];
    this.#pending = new Map();
    const { answerId } = this.#init;
    let bytes = 0;
    const add = (element: JsonObject, before: string) => {
      ops.push({ kind: 'add', element, anchor: { elementId: before, position: 'insert_before' } });
      present.set(element.element_id as string, element);
      bytes += byteSize(element);
    };

    const steps = this.#o.steps ? this.#init.report.steps : [];
    const firstStep = steps.map((_, i) => stepId(i + 1)).find((id) => present.has(id));
    if (this.#o.reasoning) {
      const header = reasoningHeader(this.#o, this.#thinkingSince !== undefined, this.thoughtMs);
      const panel = present.get(REASONING_PANEL_ID);
      if (!panel) {
        // Shown on a card once reasoning streams onto it.
        if (this.#init.reasoning()?.placement().some(({ text }) => text !== '')) add(reasoningPanel(header), firstStep ?? answerId);
      } else if (JSON.stringify(panel.header) !== JSON.stringify(header)) {
        ops.push({ kind: 'patch', elementId: REASONING_PANEL_ID, partial: { header } });
      }
    }

    // What the card can take: details while they leave room for the texts, one line when short, and what
    // does not fit even so waits for the next card (the layout says the card is full, and the answer rolls over).
    let elements = countElements(card) + ops.reduce((n, op) => n + (op.kind === 'add' ? countOf(op.element) : 0), 0);
    const fits = (size: number, count: number) => bytes + size <= free - MARGIN_BYTES && elements + count <= MAX_LAYOUT_ELEMENTS;
    let waiting = false;
    steps.forEach((step, i) => {
      const id = stepId(i + 1);
      const shown = this.#shown.get(step);
      const ended = step.status !== 'running';
      const onCard = present.get(id);
      // A step that ended on an earlier card stays there; one still running goes on with the answer.
      if (!onCard && shown?.ended) return;
      const detailed = stepElement(this.#o, step, i + 1, false);
      const line = stepElement(this.#o, step, i + 1, true);
      if (!onCard) {
        // A running step carried from an earlier card is shown again only where there is room: it never
        // makes a card full (running steps that outnumber a card would otherwise roll cards over without end).
        // Once it ends it is shown wherever the answer is, like a new step: every step ends on a card.
        const carried = shown !== undefined && !ended;
        if (waiting && !carried) return; // keeps the new steps in order
        // Details while they leave room for the texts and use at most half the card's elements; carried steps are lines.
        const roomy = !carried && free - bytes - byteSize(detailed) > KEEP_FOR_TEXT_BYTES && elements + countOf(detailed) <= MAX_LAYOUT_ELEMENTS / 2;
        const element = roomy && fits(byteSize(detailed), countOf(detailed)) ? detailed : line;
        // Carried steps take at most half of what the new card has: the rest is for what comes next.
        if (carried && !fits(byteSize(element) + (free - MARGIN_BYTES) / 2, countOf(element) + MAX_LAYOUT_ELEMENTS / 2)) return;
        if (element === line && !fits(byteSize(line), 1)) {
          if (!carried) waiting = true;
          return;
        }
        add(element, answerId);
        elements += countOf(element);
      } else {
        // A step shown as one line stays one line; details that no longer fit give way to the line.
        const wanted = onCard.tag === 'markdown' || !fits(byteSize(detailed) - byteSize(onCard), 0) ? line : detailed;
        if (JSON.stringify(onCard) !== JSON.stringify(wanted)) {
          ops.push({ kind: 'replace', elementId: id, element: wanted });
          bytes += byteSize(wanted) - byteSize(onCard);
        }
      }
      this.#pending.set(step, { ended });
    });

    if (final && this.#endedAt !== undefined && this.#o.footer !== false && !present.has(FOOTER_ID)) {
      const text = footerText(this.#o, this.#init.report.usage, this.#endedAt - this.#startedAt);
      const footer = footerElement(text);
      if (text !== '' && fits(byteSize(footer), 1)) ops.push({ kind: 'add', element: footer });
      else if (text !== '') waiting = true;
    }
    this.#waiting = waiting;
    return ops;
  }

  /** A card closed mid-answer: its reasoning panel says how long the model thought so far, not "Thinking…". */
  closing(card: Readonly<JsonObject>): CardOp[] {
    const panel = elementsById(card).get(REASONING_PANEL_ID);
    if (!panel) return [];
    const header = reasoningHeader(this.#o, false, this.thoughtMs);
    return JSON.stringify(panel.header) === JSON.stringify(header) ? [] : [{ kind: 'patch', elementId: REASONING_PANEL_ID, partial: { header } }];
  }

  /** The card has no room for what the layout still has to show: the answer goes on in a continuation card. */
  get full(): boolean {
    return this.#waiting;
  }

  applied(): void {
    for (const [step, shown] of this.#pending) this.#shown.set(step, shown);
    this.#pending.clear();
  }

  #stopThinking(now: number): void {
    if (this.#thinkingSince === undefined) return;
    this.#thoughtMs += now - this.#thinkingSince;
    this.#thinkingSince = undefined;
  }
}

/** Elements and components of `element` as the 200-per-card limit counts them (its header's title and icon too). */
function countOf(element: JsonObject): number {
  return countElements({ schema: '2.0', body: { elements: [element] } });
}

function byteSize(element: JsonObject): number {
  return Buffer.byteLength(JSON.stringify(element));
}
