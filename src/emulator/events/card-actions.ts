/**
 * A user clicks an interactive component of a card (issue 12): the app gets `card.action.trigger` at its
 * callback URL, and the card is "in interaction" (CardKit writes get 200810) until the app answers or 3 s
 * pass. The answer is applied as Feishu does: `{ toast }` is shown to the user, `{ card: { type: 'raw', data } }`
 * replaces the card (docs/design/issue-12-event-protocols.md §1.2, §1.7).
 */
import type { JsonObject } from '../card-tree.js';
import { isObject } from '../card-tree.js';
import type { Services } from '../context.js';
import type { Delivery, EventDeliveries } from './delivery.js';
import { type ClickedAction, cardActionTriggered } from './envelope.js';
import { InboundError } from './inbound.js';

/** How long a card stays in interaction without an answer (emulated ms): Feishu waits 3 s for a callback. */
export const CALLBACK_WINDOW_MS = 3000;

/** Callbacks in flight per card: the card leaves interaction when the last of them is answered. */
const inFlight = new WeakMap<object, number>();

export interface CardClick {
  action: ClickedAction;
  /** Default the chat's first user (the default user). */
  userId?: string;
}

export interface Toast {
  type: string;
  content: string;
}

export interface CardClickResult {
  delivery: Delivery;
  /** The toast the app answered with, if any. */
  toast: Toast | null;
  /** The app's answer replaced the card. */
  cardUpdated: boolean;
}

export async function clickCard(services: Services, deliveries: EventDeliveries, messageId: string, click: CardClick): Promise<CardClickResult> {
  const { state, clock } = services;
  const message = state.messages.get(messageId);
  if (!message || message.deleted) throw new InboundError(`no message ${messageId}`);
  if (message.msgType !== 'interactive' || message.appId === '') throw new InboundError(`message ${messageId} is not a card an app sent`);
  const action = click.action as unknown;
  if (!isObject(action) || typeof action.tag !== 'string' || action.tag === '') throw new InboundError('action must be an object with a tag (e.g. "button") and the component\'s value');
  if (action.value !== undefined && !isObject(action.value)) throw new InboundError('action.value must be an object, as the card declares it');
  const chat = state.directory.chats.get(message.chatId);
  const userId = click.userId ?? chat?.userIds[0] ?? 'u_you';
  const user = state.directory.users.get(userId);
  if (!user) throw new InboundError(`no user ${userId}`);
  const app = state.apps.get(message.appId);
  if (!app) throw new InboundError(`the app ${message.appId} that sent ${messageId} is not registered`);

  const card = message.cardId === null ? undefined : state.cards.get(message.cardId);
  const lockedUntil = clock.now() + CALLBACK_WINDOW_MS;
  if (card) {
    card.interactionUntil = Math.max(card.interactionUntil, lockedUntil);
    inFlight.set(card, (inFlight.get(card) ?? 0) + 1);
  }
  let delivery: Delivery;
  try {
    delivery = await deliveries.push(cardActionTriggered(message.appId, app.verificationToken, user, message, click.action, clock.now()), { callback: true });
  } finally {
    // The last callback in flight was answered (or given up): the card is out of interaction, unless a lock of
    // its own (emulator.lockCard) holds it longer.
    if (card) {
      const left = (inFlight.get(card) ?? 1) - 1;
      inFlight.set(card, left);
      if (left === 0 && card.interactionUntil <= clock.now() + CALLBACK_WINDOW_MS) card.interactionUntil = Math.min(card.interactionUntil, clock.now());
    }
  }
  const answer = answerOf(delivery);
  let cardUpdated = false;
  if (answer.card) {
    if (card) {
      card.json = answer.card;
      state.events.emit('change', { type: 'card', cardId: card.cardId, entry: null });
    } else {
      message.content = JSON.stringify(answer.card);
      message.updatedAt = clock.now();
      message.updated = true;
      state.events.emit('change', { type: 'message', messageId, entry: null });
    }
    cardUpdated = true;
  }
  return { delivery, toast: answer.toast, cardUpdated };
}

/** The app's answer to a callback: its toast and its raw card, when it gave them in the shapes Feishu reads. */
function answerOf(delivery: Delivery): { toast: Toast | null; card: JsonObject | null } {
  const attempt = delivery.attempts[0];
  if (delivery.state !== 'delivered' || !attempt?.body) return { toast: null, card: null };
  let body: unknown;
  try {
    body = JSON.parse(attempt.body);
  } catch {
    return { toast: null, card: null };
  }
  if (!isObject(body)) return { toast: null, card: null };
  const toast = isObject(body.toast) && typeof body.toast.content === 'string' ? { type: typeof body.toast.type === 'string' ? body.toast.type : 'info', content: body.toast.content } : null;
  const card = isObject(body.card) && body.card.type === 'raw' && isObject(body.card.data) ? body.card.data : null;
  return { toast, card };
}
