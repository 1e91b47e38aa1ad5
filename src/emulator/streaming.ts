/**
 * Streaming mode as a state of the card (reference §13): opened at create or through settings,
 * closed by settings, or closed by itself `streamingTimeoutMs` after it was last opened; writes do
 * not extend the window. The first content write after the window ran out gets 200850, later ones
 * 300309.
 */
import { isObject } from './card-tree.js';
import { EmulatorError } from './errors.js';
import type { CardEntity } from './state.js';

export const STREAMING_SUMMARY = '[生成中...]';

export function isStreaming(card: CardEntity, now: number, timeoutMs: number): boolean {
  return card.streaming.open && now < card.streaming.openedAt + timeoutMs;
}

export function openStreaming(card: CardEntity, now: number): void {
  card.streaming = { open: true, openedAt: now, timeoutReported: false };
}

export function closeStreaming(card: CardEntity): void {
  card.streaming = { ...card.streaming, open: false };
}

/** Throws what the content endpoint answers when the card is not in streaming mode now. */
export function requireStreaming(card: CardEntity, now: number, timeoutMs: number): void {
  if (isStreaming(card, now, timeoutMs)) return;
  if (card.streaming.open && !card.streaming.timeoutReported) {
    card.streaming = { ...card.streaming, open: false, timeoutReported: true };
    throw new EmulatorError(200850);
  }
  card.streaming = { ...card.streaming, open: false };
  throw new EmulatorError(300309);
}

/** Emulated time at which the current window closes, or null when streaming is off. */
export function streamingClosesAt(card: CardEntity, now: number, timeoutMs: number): number | null {
  return isStreaming(card, now, timeoutMs) ? card.streaming.openedAt + timeoutMs : null;
}

/**
 * The chat-list preview text: a developer-set `config.summary.content` wins; while streaming, the
 * default is "[生成中...]"; otherwise null (the client derives one from the card).
 */
export function summaryOf(card: CardEntity, now: number, timeoutMs: number): string | null {
  const config = isObject(card.json.config) ? card.json.config : {};
  const summary = isObject(config.summary) ? config.summary.content : undefined;
  if (typeof summary === 'string' && summary !== '') return summary;
  return isStreaming(card, now, timeoutMs) ? STREAMING_SUMMARY : null;
}
