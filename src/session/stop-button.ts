/**
 * The Stop button (issue 12): a button under the answer whose callback carries `{ feishu_card_session: 'stop' }`;
 * `stopFromAction()` recognizes it and stops the session that streams the card. The button leaves the card
 * with the card's last write (the answer is over, nothing is left to stop), and a card the answer rolled
 * over from loses it when it is closed: only the card being written has one.
 */
import type { CardLayout, CardOp } from './card-ops.js';
import { elementsById } from './card-template.js';

export const STOP_BUTTON_ID = 'stop_button';
/** The value every Stop button's callback carries. */
export const STOP_ACTION_VALUE = { feishu_card_session: 'stop' } as const;

export interface StopButtonOptions {
  /** The button's text. Default `Stop`. */
  text?: string;
}

export function stopButtonElement(options: StopButtonOptions): Record<string, unknown> {
  return {
    tag: 'button',
    element_id: STOP_BUTTON_ID,
    type: 'danger',
    size: 'small',
    text: { tag: 'plain_text', content: options.text ?? 'Stop' },
    behaviors: [{ type: 'callback', value: { ...STOP_ACTION_VALUE } }],
  };
}

/** `start({ stopButton })`: `true` or `{ text }`, checked. */
export function resolveStopButton(value: unknown): StopButtonOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('options.stopButton must be a boolean or { text }');
  const { text } = value as StopButtonOptions;
  if (text !== undefined && (typeof text !== 'string' || text.trim() === '' || text.length > 100)) {
    throw new TypeError('options.stopButton.text must be a non-blank string of at most 100 characters');
  }
  return { ...(text === undefined ? {} : { text }) };
}

/** Takes the button off the card with its last write, and off a card closed mid-answer. */
export class StopButtonLayout implements CardLayout {
  readonly full = false;

  ops(card: Readonly<Record<string, unknown>>, final: boolean): CardOp[] {
    return final ? this.closing(card) : [];
  }

  applied(): void {}

  closing(card: Readonly<Record<string, unknown>>): CardOp[] {
    return elementsById(card).has(STOP_BUTTON_ID) ? [{ kind: 'delete', elementId: STOP_BUTTON_ID }] : [];
  }
}
