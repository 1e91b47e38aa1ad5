/**
 * The events the emulator pushes to a bot, in Feishu's v2 envelope (`schema`, `header`, `event`; times are
 * strings of milliseconds), shaped as the official SDK's dispatcher reads them
 * (docs/design/issue-12-event-protocols.md §1.1, §1.2).
 */
import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../card-tree.js';
import type { EmulatorUser } from '../directory.js';
import { openIdOf, unionIdOf } from '../directory.js';
import type { Message } from '../state.js';

export const TENANT_KEY = 'emulator_tenant';

export interface EventEnvelope {
  schema: '2.0';
  header: { event_id: string; event_type: string; create_time: string; token: string; app_id: string; tenant_key: string };
  event: JsonObject;
}

export function newEventId(): string {
  return randomBytes(16).toString('hex');
}

/** A user's ids as the app sees them (its own open_id for the user). */
export function userIdsFor(user: EmulatorUser, appId: string): JsonObject {
  return { union_id: unionIdOf(user.userId), user_id: user.userId, open_id: openIdOf(user.userId, appId) };
}

function header(appId: string, type: string, token: string, now: number): EventEnvelope['header'] {
  return { event_id: newEventId(), event_type: type, create_time: String(Math.floor(now)), token, app_id: appId, tenant_key: TENANT_KEY };
}

/** `im.message.receive_v1`: a user's message in a chat the bot is in. */
export function messageReceived(appId: string, token: string, user: EmulatorUser, message: Message, chatType: 'p2p' | 'group', now: number): EventEnvelope {
  return {
    schema: '2.0',
    header: header(appId, 'im.message.receive_v1', token, now),
    event: {
      sender: { sender_id: userIdsFor(user, appId), sender_type: 'user', tenant_key: TENANT_KEY },
      message: {
        message_id: message.messageId,
        ...(message.rootId === null ? {} : { root_id: message.rootId }),
        ...(message.parentId === null ? {} : { parent_id: message.parentId }),
        create_time: String(Math.floor(message.createdAt)),
        update_time: String(Math.floor(message.updatedAt)),
        chat_id: message.chatId,
        ...(message.threadId === null ? {} : { thread_id: message.threadId }),
        chat_type: chatType,
        message_type: message.msgType,
        content: message.content,
      },
    },
  };
}

/** What was clicked: the component's `value` (as the card declares it), its `tag`, its `name` when it has one. */
export interface ClickedAction {
  value?: JsonObject;
  tag: string;
  name?: string;
  /** For inputs and selects: what the user entered or chose. */
  input_value?: string;
  option?: string;
}

/** `card.action.trigger`: a user clicked an interactive component of a card the app sent. */
export function cardActionTriggered(appId: string, token: string, user: EmulatorUser, message: Message, action: ClickedAction, now: number): EventEnvelope {
  return {
    schema: '2.0',
    header: header(appId, 'card.action.trigger', token, now),
    event: {
      operator: { tenant_key: TENANT_KEY, ...userIdsFor(user, appId) },
      token: `c-${randomBytes(16).toString('hex')}`,
      action: { ...action },
      host: 'im_message',
      context: { open_message_id: message.messageId, open_chat_id: message.chatId },
    },
  };
}
