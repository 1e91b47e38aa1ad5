/**
 * Handing a card callback to the library (issue 12): given a `card.action.trigger` event, as the official
 * SDK's dispatcher or `CardActionHandler` passes it (flattened), as the raw v2 envelope, or in the older
 * card callback shape, `stopFromAction` finds the session whose card was clicked and stops it.
 */
import { sessionOfMessage } from '../session/registry.js';
import { STOP_ACTION_VALUE } from '../session/stop-button.js';

/** What a callback answers so the user sees the click was taken (Feishu shows the toast). */
export interface StopAnswer {
  toast: { type: 'info' | 'success' | 'warning' | 'error'; content: string };
}

export interface StopFromActionOptions {
  /** The toast when a session was stopped. Default `Stopped`. */
  stopped?: string;
  /** The toast when the answer had already ended (or is not in this process). Default `Already finished`. */
  notRunning?: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Stops the session whose Stop button was clicked; returns the answer for the callback (a toast) at once,
 * without waiting for the card to close: the card is "in interaction" until the callback is answered, and
 * the closing writes land right after. Returns null for an event that is not a Stop button's click (pass
 * it on to your own handling).
 * @example
 * new lark.EventDispatcher({ encryptKey }).register({
 *   'card.action.trigger': async (event) => stopFromAction(event) ?? myOtherActions(event),
 * });
 */
export function stopFromAction(event: unknown, options: StopFromActionOptions = {}): StopAnswer | null {
  const click = clickOf(event);
  if (!click || !isStopValue(click.value)) return null;
  const session = sessionOfMessage(click.messageId);
  if (!session) return { toast: { type: 'info', content: options.notRunning ?? 'Already finished' } };
  session.stop().catch(() => undefined); // its outcome is the session's result and events
  return { toast: { type: 'info', content: options.stopped ?? 'Stopped' } };
}

/** The clicked message and the component's value, from any of the shapes a callback arrives in. */
function clickOf(event: unknown): { messageId: string; value: unknown } | undefined {
  if (!isObject(event)) return undefined;
  // The raw v2 envelope: the click is in `event`; the SDK's flattened data has it at the top.
  const body = isObject(event.event) && event.schema === '2.0' ? event.event : event;
  const context = isObject(body.context) ? body.context : undefined;
  const messageId = context?.open_message_id ?? body.open_message_id; // v2, then the older callback
  const action = isObject(body.action) ? body.action : undefined;
  if (typeof messageId !== 'string' || !action) return undefined;
  return { messageId, value: action.value };
}

function isStopValue(value: unknown): boolean {
  // Older callbacks may carry the value as a JSON string.
  const parsed = typeof value === 'string' ? safeParse(value) : value;
  return isObject(parsed) && parsed.feishu_card_session === STOP_ACTION_VALUE.feishu_card_session;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
