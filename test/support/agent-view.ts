/**
 * Reads an agent card as a reader sees it on the emulator: the reasoning panel's title and text, one
 * line per step (with what its panel holds), the answer (joined across its continuation elements), the
 * footer, and the order of the top-level elements. Works for CardKit cards and message cards alike.
 */
import type { Emulator } from '../../src/emulator/index.js';

type Json = Record<string, unknown>;

export interface AgentView {
  /** Top-level element ids, in order. */
  order: string[];
  /** The reasoning panel's title, or undefined when the card has no panel. */
  thinking: string | undefined;
  reasoning: string | undefined;
  /** Each step's line, in order. */
  steps: string[];
  /** What each step's panel holds (arguments, result), in order; '' for a one-line step. */
  details: string[];
  answer: string;
  footer: string | undefined;
}

export function agentView(card: Json): AgentView {
  const elements = ((card.body as Json | undefined)?.elements ?? []) as Json[];
  const view: AgentView = { order: [], thinking: undefined, reasoning: undefined, steps: [], details: [], answer: '', footer: undefined };
  for (const element of elements) {
    const id = typeof element.element_id === 'string' ? element.element_id : '';
    view.order.push(id);
    const title = ((element.header as Json | undefined)?.title as Json | undefined)?.content as string | undefined;
    const children = (element.elements ?? []) as Json[];
    if (id === 'agent_thinking') {
      view.thinking = title;
      view.reasoning = children.find((c) => c.element_id === 'reasoning')?.content as string;
    } else if (/^agent_step_\d+$/.test(id)) {
      view.steps.push(element.tag === 'collapsible_panel' ? title! : (element.content as string));
      view.details.push(element.tag === 'collapsible_panel' ? (children[0]?.content as string) : '');
    } else if (id === 'answer' || /^answer_\d+$/.test(id)) {
      view.answer += element.content as string;
    } else if (id === 'agent_footer') {
      view.footer = element.content as string;
    }
  }
  return view;
}

/** The agent view of a CardKit card on the emulator. */
export function cardView(emulator: Emulator, cardId: string): AgentView {
  return agentView(emulator.card(cardId)!.card);
}

/** The agent view of a message card on the emulator. */
export function messageView(emulator: Emulator, messageId: string): AgentView {
  return agentView(JSON.parse(emulator.message(messageId)!.content) as Json);
}
