/**
 * The events the emulator pushes to a bot, in Feishu's v2 envelope (`schema`, `header`, `event`; times are
 * strings of milliseconds), shaped as the official SDK's dispatcher reads them
 * (docs/design/issue-12-event-protocols.md §1.1, §1.2); and the two v1 events of store apps, `app_ticket` and
 * `app_open` (reference §22.5, §25.2, §25.3). `header.tenant_key` is the tenant of the chat the event is about.
 */
import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../card-tree.js';
import type { EmulatorUser } from '../directory.js';
import { openIdOf, unionIdOf } from '../directory.js';
import type { Message } from '../state.js';

/** A user as events describe them: the directory's user, its tenant known. */
type TenantUser = Required<EmulatorUser>;

export interface EventEnvelope {
  schema: '2.0';
  header: { event_id: string; event_type: string; create_time: string; token: string; app_id: string; tenant_key: string };
  event: JsonObject;
}

/**
 * The v1 envelope (reference §22.5), still used by `app_ticket` and `app_open`: `ts` is the send time in seconds
 * with a fraction, `uuid` the dedupe key, `token` the Verification Token, the event's type inside `event`.
 */
export interface V1EventEnvelope {
  ts: string;
  uuid: string;
  token: string;
  type: 'event_callback';
  event: JsonObject & { app_id: string; type: string };
}

/** Anything the emulator pushes to an app. */
export type PushedEnvelope = EventEnvelope | V1EventEnvelope;

/** What identifies a pushed event, whichever envelope it has: its id (`event_id` or `uuid`), type and app. */
export function envelopeIdentity(envelope: PushedEnvelope): { eventId: string; eventType: string; appId: string } {
  if ('schema' in envelope) return { eventId: envelope.header.event_id, eventType: envelope.header.event_type, appId: envelope.header.app_id };
  return { eventId: envelope.uuid, eventType: envelope.event.type, appId: envelope.event.app_id };
}

export function newEventId(): string {
  return randomBytes(16).toString('hex');
}

/** A user's ids as the app sees them (its own open_id for the user). */
export function userIdsFor(user: EmulatorUser, appId: string): JsonObject {
  return { union_id: unionIdOf(user.userId), user_id: user.userId, open_id: openIdOf(user.userId, appId) };
}

function header(appId: string, type: string, token: string, now: number, tenantKey: string): EventEnvelope['header'] {
  return { event_id: newEventId(), event_type: type, create_time: String(Math.floor(now)), token, app_id: appId, tenant_key: tenantKey };
}

/** `im.message.receive_v1`: a user's message in a chat the bot is in (the message's tenant is the chat's). */
export function messageReceived(appId: string, token: string, user: TenantUser, message: Message, chatType: 'p2p' | 'group', now: number): EventEnvelope {
  return {
    schema: '2.0',
    header: header(appId, 'im.message.receive_v1', token, now, message.tenantKey),
    event: {
      sender: { sender_id: userIdsFor(user, appId), sender_type: 'user', tenant_key: user.tenantKey },
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
export function cardActionTriggered(appId: string, token: string, user: TenantUser, message: Message, action: ClickedAction, now: number): EventEnvelope {
  return {
    schema: '2.0',
    header: header(appId, 'card.action.trigger', token, now, message.tenantKey),
    event: {
      operator: { tenant_key: user.tenantKey, ...userIdsFor(user, appId) },
      token: `c-${randomBytes(16).toString('hex')}`,
      action: { ...action },
      host: 'im_message',
      context: { open_message_id: message.messageId, open_chat_id: message.chatId },
    },
  };
}

function v1(token: string, event: V1EventEnvelope['event'], now: number): V1EventEnvelope {
  return { ts: (now / 1000).toFixed(7), uuid: newEventId(), token, type: 'event_callback', event };
}

/** `app_ticket` (v1, store apps): the ticket that buys an app_access_token for the next 3 h (reference §25.2). */
export function appTicketIssued(appId: string, token: string, ticket: string, now: number): V1EventEnvelope {
  return v1(token, { app_id: appId, app_ticket: ticket, type: 'app_ticket' }, now);
}

/**
 * `app_open` (v1, store apps): the app was enabled in a tenant for the first time (reference §25.3). The
 * installer is an administrator who installed it directly, so `installer` is sent and not `installer_employee`,
 * and the applicants are empty (nobody applied for it).
 */
export function appOpened(appId: string, token: string, tenantKey: string, installerOpenId: string, now: number): V1EventEnvelope {
  return v1(token, { app_id: appId, tenant_key: tenantKey, type: 'app_open', applicants: [], installer: { open_id: installerOpenId } }, now);
}
