/**
 * The demo's card (Card JSON 2.0): a header with the question, a collapsible "thinking" panel streamed
 * with the model's reasoning (when there is any), the answer, and a small footer written when the answer
 * is complete.
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
