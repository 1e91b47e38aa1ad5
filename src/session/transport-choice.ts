/**
 * A session's first card, through its transport, and the fallback to a message card: when CardKit
 * refuses to create a card for lack of permission (the app has no `cardkit:card:write` scope), a session
 * streams through a message card instead (seed 004). The refusal is remembered per client for 10
 * minutes, so the sessions that follow do not each spend a create call to learn it again, and an app
 * granted the scope meanwhile goes back to CardKit within 10 minutes.
 */
import type { EventEmitter } from 'eventemitter3';
import { FeishuApiError, type FeishuClient } from '../client/index.js';
import type { CardChain, FirstCard } from './card-chain.js';
import { messageCardOf } from './card-template.js';
import type { SessionEvents } from './events.js';

const REMEMBER_MS = 10 * 60 * 1000;
const refusals = new WeakMap<FeishuClient, { error: FeishuApiError; at: number }>();

/** True when the error says the app may not create CardKit cards (not a refusal of another call, such as the send). */
export function isCardKitRefused(error: unknown): error is FeishuApiError {
  return error instanceof FeishuApiError && error.category === 'permission' && error.endpoint === 'cardkit.card.create';
}

export function rememberRefusal(client: FeishuClient, error: FeishuApiError): void {
  refusals.set(client, { error, at: performance.now() });
}

/** The refusal CardKit answered the client less than 10 minutes ago, if any. */
export function recentRefusal(client: FeishuClient): FeishuApiError | undefined {
  const refusal = refusals.get(client);
  if (refusal && performance.now() - refusal.at < REMEMBER_MS) return refusal.error;
  refusals.delete(client);
  return undefined;
}

/**
 * Opens the first card of a session through its transport; a CardKit card that CardKit refuses to
 * create for lack of permission (or refused the client less than 10 minutes ago) becomes a message card
 * when `fallback` allows it, with a `fallback` event.
 */
export async function openFirstCard(
  client: FeishuClient,
  chain: CardChain,
  first: FirstCard,
  options: { fallback: boolean; signal: AbortSignal | undefined; events: EventEmitter<SessionEvents> },
): Promise<void> {
  const { fallback, signal, events } = options;
  const refused = first.transport === 'cardkit' && fallback ? recentRefusal(client) : undefined;
  try {
    if (refused) throw refused;
    await chain.open(first, signal);
  } catch (error) {
    if (first.transport !== 'cardkit' || !fallback || !isCardKitRefused(error)) throw error;
    if (!refused) rememberRefusal(client, error);
    events.emit('fallback', { from: 'cardkit', to: 'message', error, remembered: refused !== undefined });
    await chain.open({ ...first, transport: 'message', card: messageCardOf(first.card) }, signal);
  }
}
