/**
 * A user writes in a chat (issue 12): the message is stored like any other (its id can be replied to, in a
 * thread or not) and each bot of the chat gets an `im.message.receive_v1` event, its `tenant_key` the chat's
 * tenant. In a group every bot of the tenant gets it (as a bot allowed to read all group messages; the emulator
 * does not model @mentions yet).
 */
import { randomBytes } from 'node:crypto';
import type { Services } from '../context.js';
import { newMessageId } from '../routes/im.js';
import type { Message } from '../state.js';
import type { Delivery, EventDeliveries } from './delivery.js';
import { messageReceived } from './envelope.js';

export interface UserMessageInput {
  text: string;
  /** Default the default user (`u_you`). */
  userId?: string;
  /** A message of the chat this one replies to. */
  replyTo?: string;
  /** With `replyTo`: reply in the message's thread. */
  inThread?: boolean;
}

/** What the caller did wrong, for a 400 (HTTP) or a TypeError (the handle). */
export class InboundError extends Error {}

export function postUserMessage(
  services: Services,
  deliveries: EventDeliveries,
  chatId: string,
  input: UserMessageInput,
): { message: Message; deliveries: Promise<Delivery[]> } {
  const { state, clock } = services;
  const chat = state.directory.chats.get(chatId);
  if (!chat) throw new InboundError(`no chat ${chatId}; the emulator's chats are listed at GET /_emulator/chats`);
  if (typeof input.text !== 'string' || input.text.trim() === '') throw new InboundError('text must be a non-empty string');
  const userId = input.userId ?? chat.userIds[0]!;
  const user = state.directory.users.get(userId);
  if (!user || !chat.userIds.includes(userId)) throw new InboundError(`user ${userId} is not in chat ${chatId}`);
  if (input.inThread !== undefined && typeof input.inThread !== 'boolean') throw new InboundError('in_thread must be a boolean');
  const parent = input.replyTo === undefined ? null : state.messages.get(input.replyTo);
  if (parent === undefined || (parent && parent.chatId !== chatId)) throw new InboundError(`no message ${input.replyTo} in chat ${chatId}`);
  const now = clock.now();
  const message: Message = {
    messageId: newMessageId(),
    appId: '',
    tenantKey: chat.tenantKey,
    senderUserId: userId,
    chatId,
    receiveId: chatId,
    receiveIdType: 'chat_id',
    msgType: 'text',
    content: JSON.stringify({ text: input.text }),
    cardId: null,
    rootId: parent ? (parent.rootId ?? parent.messageId) : null,
    parentId: parent ? parent.messageId : null,
    threadId: parent && input.inThread === true ? (parent.threadId ?? `omt_${randomBytes(8).toString('hex')}`) : (parent?.threadId ?? null),
    createdAt: now,
    updatedAt: now,
    updated: false,
    uuid: null,
    deleted: false,
    deletedAt: null,
    log: [],
  };
  state.messages.set(message.messageId, message);
  state.events.emit('change', { type: 'message', messageId: message.messageId, entry: null });
  const pushes = state.directory.botsOf(chat).map((appId) => {
    const app = state.apps.get(appId)!;
    return deliveries.push(messageReceived(appId, app.verificationToken, user, message, chat.type, now));
  });
  return { message, deliveries: Promise.all(pushes) };
}
