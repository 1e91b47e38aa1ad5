/**
 * IM v1: send or reply with a card (a CardKit entity or inline card JSON), patch a sent card message,
 * and recall a message (reference §11, §26, seed 004). Parameter errors are IM's 230001, and card content
 * the renderer refuses is 230099 with the sub-code in `msg`. Each message keeps a log of the send or reply
 * that made it and of every patch and recall that reached it (`MessageLogEntry`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { CardContentError, type ContentViolation, extText } from '../card-content.js';
import { type JsonObject, isObject } from '../card-tree.js';
import { cardBytes, charLength, checkCardLimits } from '../card-rules.js';
import { ownedCard, rateHeaders } from '../card-write.js';
import type { RequestContext } from '../context.js';
import { EmulatorError } from '../errors.js';
import { parseUntrustedJson } from '../json-input.js';
import { SCOPES } from '../scopes.js';
import type { Message, MessageLogEntry } from '../state.js';
import type { Route } from './route.js';

const RECEIVE_ID_TYPES = new Set(['open_id', 'union_id', 'user_id', 'email', 'chat_id']);
/** The message types IM send and reply accept (D-im-create). */
const MSG_TYPES = new Set(['text', 'post', 'image', 'file', 'audio', 'media', 'sticker', 'interactive', 'share_chat', 'share_user', 'system']);
const MAX_UUID_CHARS = 50;
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const MAX_TEXT_BYTES = 150 * 1024;

function invalid(detail: string): EmulatorError {
  return new EmulatorError(230001, detail);
}

function requiredField(raw: unknown, name: string): string {
  if (typeof raw !== 'string' || raw === '') throw invalid(`${name} is required and must be a non-empty string`);
  return raw;
}

/** IM's idempotency key: at most 50 characters (D-im-create, D-im-reply). */
function parseImUuid(raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string' || raw.length < 1 || (raw.length > MAX_UUID_CHARS && charLength(raw) > MAX_UUID_CHARS)) {
    throw invalid(`uuid must be a string of 1..${MAX_UUID_CHARS} characters`);
  }
  return raw;
}

/** Message content is a JSON string; malformed or absurdly nested content is a parameter error. */
function parseContent(content: string): unknown {
  const parsed = parseUntrustedJson(content);
  if (!parsed.ok) throw invalid(parsed.reason === 'depth' ? 'content nests too deeply' : 'content is not valid JSON');
  return parsed.value;
}

/** 230099 with a sub-code in `msg`, in the layout of seed 004's sub-code table. */
function cardContentError(violation: ContentViolation): EmulatorError {
  return new EmulatorError(230099, violation.errMsg, { msg: `Failed to create card content, ext=${extText(violation)}` });
}

function subCodeError(subCode: number, errMsg: string, errorValue = ''): EmulatorError {
  return cardContentError({ subCode, errMsg, errorValue });
}

const TEMPLATE_UNSUPPORTED = 'template cards are not supported by the emulator';

function limitChat(ctx: RequestContext, chatKey: string): void {
  const limit = ctx.options.limits.chatSendQps;
  const verdict = ctx.limiter.take([{ key: `chat:${chatKey}`, limit, windowMs: 1000 }]);
  if (!verdict.ok) throw new EmulatorError(230020, `more than ${limit} messages/s in one chat`, { headers: rateHeaders(limit, verdict.resetMs) });
}

/** Checks the content of an outgoing message; for a card entity, returns its id after binding checks. */
function checkContent(ctx: RequestContext, msgType: string, content: string): string | null {
  if (msgType !== 'interactive') {
    if (Buffer.byteLength(content) > MAX_TEXT_BYTES) throw new EmulatorError(230025);
    return null;
  }
  const parsed = parseContent(content);
  if (!isObject(parsed)) throw invalid('content must be a JSON object');
  if (parsed.type === 'template') throw subCodeError(200380, TEMPLATE_UNSUPPORTED);
  if (parsed.type === 'card') {
    const cardId = isObject(parsed.data) ? parsed.data.card_id : undefined;
    if (typeof cardId !== 'string') throw invalid('content.data.card_id is required');
    let card;
    try {
      card = ownedCard(ctx, ctx, cardId);
    } catch (error) {
      if (error instanceof EmulatorError) throw subCodeError(error.code, error.message);
      throw error;
    }
    if (card.messageId !== null) throw subCodeError(200780, 'card binding biz count over limit');
    return card.cardId;
  }
  checkInlineCard(ctx, parsed);
  return null;
}

/**
 * An inline card (Card JSON 1.0 or 2.0) must fit in 30 KB; a 2.0 card also obeys the CardKit element rules,
 * the 2.0 component set (200861) and the table cap (11310), reported as 230099 sub-codes.
 */
function checkInlineCard(ctx: RequestContext, card: JsonObject): void {
  if (cardBytes(card) > ctx.options.maxCardBytes) throw new EmulatorError(230025);
  if (card.schema !== '2.0') return;
  try {
    checkCardLimits(card, { maxCardBytes: Number.POSITIVE_INFINITY, tableLimit: ctx.options.tableLimit });
  } catch (error) {
    if (error instanceof CardContentError) throw cardContentError(error.violation);
    if (!(error instanceof EmulatorError)) throw error;
    if (error.code === 300305) throw subCodeError(11310, 'element exceeds the limit', 'element');
    throw subCodeError(error.code, error.message);
  }
}

/** A shared card: 2.0 cards are shared by default, 1.0 cards only with `config.update_multi: true`. */
function isShared(card: unknown): boolean {
  if (!isObject(card)) return false;
  const updateMulti = isObject(card.config) ? card.config.update_multi : undefined;
  return card.schema === '2.0' ? updateMulti !== false : updateMulti === true;
}

export function newMessageId(): string {
  return `om_${randomBytes(16).toString('hex')}`;
}

function chatIdFor(receiveIdType: string, receiveId: string): string {
  if (receiveIdType === 'chat_id') return receiveId;
  return `oc_${createHash('sha256').update(`${receiveIdType}:${receiveId}`).digest('hex').slice(0, 32)}`;
}

export function messageData(message: Message): JsonObject {
  return {
    message_id: message.messageId,
    root_id: message.rootId ?? '',
    parent_id: message.parentId ?? '',
    thread_id: message.threadId ?? '',
    msg_type: message.msgType,
    create_time: String(Math.floor(message.createdAt)),
    update_time: String(Math.floor(message.updatedAt)),
    deleted: message.deleted,
    updated: message.updated,
    chat_id: message.chatId,
    sender:
      message.senderUserId === null
        ? { id: message.appId, id_type: 'app_id', sender_type: 'app', tenant_key: message.tenantKey }
        : { id: message.senderUserId, id_type: 'user_id', sender_type: 'user', tenant_key: message.tenantKey },
    body: { content: message.content },
    mentions: [],
    upper_message_id: '',
  };
}

interface Outgoing {
  /** The conversation: a group's chat_id, or the p2p chat with a user; the 5/s limit is per conversation. */
  chatId: string;
  receiveId: string;
  receiveIdType: string;
  parent: Message | null;
  inThread: boolean;
}

/** Shared by send and reply: validation, per-chat limit, uuid dedupe, card binding. */
function deliver(ctx: RequestContext, to: Outgoing): JsonObject {
  const msgType = requiredField(ctx.body.msg_type, 'msg_type');
  if (!MSG_TYPES.has(msgType)) throw invalid(`msg_type ${JSON.stringify(msgType)} is not a message type`);
  const content = requiredField(ctx.body.content, 'content');
  const uuid = parseImUuid(ctx.body.uuid);
  const now = ctx.clock.now();
  // A uuid is the sender's own: per app and tenant (two tenants of a store app do not share them).
  const dedupeKey = uuid === null ? null : `${ctx.appId}\n${ctx.tenantKey}\n${uuid}`;
  const previous = dedupeKey === null ? undefined : ctx.state.sendUuids.get(dedupeKey);
  if (previous && now - previous.at < HOUR_MS) {
    // Undocumented (reference §19.4): a repeated uuid within the hour sends nothing and answers the original.
    const original = ctx.state.messages.get(previous.messageId);
    if (original) return messageData(original);
  }
  limitChat(ctx, to.chatId);
  const cardId = checkContent(ctx, msgType, content);
  const parent = to.parent;
  const message: Message = {
    messageId: newMessageId(),
    appId: ctx.appId,
    tenantKey: ctx.tenantKey,
    senderUserId: null,
    chatId: to.chatId,
    receiveId: to.receiveId,
    receiveIdType: to.receiveIdType,
    msgType,
    content,
    cardId,
    rootId: parent ? (parent.rootId ?? parent.messageId) : null,
    parentId: parent ? parent.messageId : null,
    threadId: parent && to.inThread ? (parent.threadId ?? `omt_${randomBytes(8).toString('hex')}`) : (parent?.threadId ?? null),
    createdAt: now,
    updatedAt: now,
    updated: false,
    uuid,
    deleted: false,
    deletedAt: null,
    log: [],
  };
  ctx.state.messages.set(message.messageId, message);
  if (dedupeKey !== null) ctx.state.sendUuids.set(dedupeKey, { messageId: message.messageId, at: now });
  if (cardId !== null) {
    const card = ctx.state.cards.get(cardId)!;
    card.messageId = message.messageId;
    ctx.state.events.emit('change', { type: 'card', cardId, entry: null });
  }
  ctx.state.logMessage(message, { time: now, endpoint: ctx.endpoint, code: 0, content_bytes: Buffer.byteLength(content) });
  return messageData(message);
}

const send: Route = {
  method: 'POST',
  path: '/open-apis/im/v1/messages',
  endpoint: 'im.message.create',
  auth: true,
  scopes: SCOPES.imSend,
  paramErrorCode: 230001,
  handle(ctx) {
    const receiveIdType = ctx.query.get('receive_id_type') ?? '';
    if (!RECEIVE_ID_TYPES.has(receiveIdType)) {
      throw invalid('receive_id_type must be one of open_id, union_id, user_id, email, chat_id');
    }
    const receiveId = requiredField(ctx.body.receive_id, 'receive_id');
    const chatId = chatIdFor(receiveIdType, receiveId);
    notOtherTenants(ctx, ctx.state.directory.chats.get(chatId)?.tenantKey);
    return deliver(ctx, {
      chatId,
      receiveId,
      receiveIdType,
      parent: null,
      inThread: false,
    });
  },
};

/**
 * A bot acting in one tenant is in no chat of another: sending into a chat of another tenant, or replying to a
 * message there, gets 230002 "bot not in the chat" (the emulator's reading; a store app's token acts in one tenant).
 */
function notOtherTenants(ctx: RequestContext, chatTenant: string | undefined): void {
  if (chatTenant !== undefined && chatTenant !== ctx.tenantKey) throw new EmulatorError(230002, `the chat belongs to another tenant than ${ctx.tenantKey}`);
}

function existingMessage(ctx: RequestContext): Message {
  const id = ctx.params.message_id ?? '';
  const message = ctx.state.messages.get(id);
  if (!message) throw invalid(`message_id ${id} not found`);
  return message;
}

/**
 * Runs `attempt` on `message` and records it in the message's log with the code it answered, accepted or not;
 * `content` is the request's content field, when the endpoint has one.
 */
function logged(ctx: RequestContext, message: Message, content: unknown, attempt: () => void): void {
  const entry: MessageLogEntry = {
    time: ctx.clock.now(),
    endpoint: ctx.endpoint,
    code: 0,
    ...(typeof content === 'string' ? { content_bytes: Buffer.byteLength(content) } : {}),
  };
  try {
    attempt();
  } catch (error) {
    entry.code = error instanceof EmulatorError ? error.code : 1500;
    throw error;
  } finally {
    ctx.state.logMessage(message, entry);
  }
}

const reply: Route = {
  method: 'POST',
  path: '/open-apis/im/v1/messages/:message_id/reply',
  endpoint: 'im.message.reply',
  auth: true,
  scopes: SCOPES.imSend,
  paramErrorCode: 230001,
  handle(ctx) {
    const parent = existingMessage(ctx);
    const inThread = ctx.body.reply_in_thread;
    if (inThread !== undefined && typeof inThread !== 'boolean') throw invalid('reply_in_thread must be a boolean');
    notOtherTenants(ctx, parent.tenantKey);
    if (parent.deleted) throw new EmulatorError(230011, 'cannot reply to a recalled message');
    return deliver(ctx, {
      chatId: parent.chatId,
      receiveId: parent.chatId,
      receiveIdType: 'chat_id',
      parent,
      inThread: inThread === true,
    });
  },
};

const patch: Route = {
  method: 'PATCH',
  path: '/open-apis/im/v1/messages/:message_id',
  endpoint: 'im.message.patch',
  auth: true,
  scopes: SCOPES.imPatch,
  paramErrorCode: 230001,
  successMsg: 'ok',
  handle(ctx) {
    const message = existingMessage(ctx);
    logged(ctx, message, ctx.body.content, () => patchCard(ctx, message));
    return {};
  },
};

/** The patch itself: who may patch what (seed 004), the 5/s limit per message, and the new card's checks. */
function patchCard(ctx: RequestContext, message: Message): void {
  const content = requiredField(ctx.body.content, 'content');
  if (message.appId !== ctx.appId || message.tenantKey !== ctx.tenantKey) throw new EmulatorError(230027, 'only the sender can update a message');
  if (message.deleted) throw new EmulatorError(ctx.options.recalledPatchCode, 'the message was recalled');
  if (message.msgType !== 'interactive') throw invalid('only interactive (card) messages can be patched');
  if (message.cardId !== null) {
    throw invalid('this message shows a card entity; update it through the CardKit endpoints');
  }
  const now = ctx.clock.now();
  if (now - message.createdAt > 14 * DAY_MS) throw new EmulatorError(230031);
  const limit = ctx.options.limits.messagePatchQps;
  const verdict = ctx.limiter.take([{ key: `message:${message.messageId}`, limit, windowMs: 1000 }]);
  if (!verdict.ok) throw new EmulatorError(230020, `more than ${limit} patches/s on one message`, { headers: rateHeaders(limit, verdict.resetMs) });
  const card = parseContent(content);
  if (isObject(card) && card.type === 'template') {
    throw subCodeError(200380, TEMPLATE_UNSUPPORTED);
  }
  if (!isObject(card) || card.type === 'card') throw invalid('content must be inline card JSON');
  if (!isShared(parseContent(message.content)) || !isShared(card)) {
    throw invalid('update_multi must be true in the card before and after the update');
  }
  checkInlineCard(ctx, card);
  message.content = content;
  message.updatedAt = now;
  message.updated = true;
}

/**
 * Recall (reference §26): a bot recalls only messages it sent (230026 otherwise; the emulator has no group
 * owners or admins); a second recall answers 230110 "already deleted" (undocumented). The recalled message
 * then answers reply with 230011 and patch with `recalledPatchCode`. CardKit writes to a card entity it
 * carried are not affected: the platform documents nothing for them.
 */
const remove: Route = {
  method: 'DELETE',
  path: '/open-apis/im/v1/messages/:message_id',
  endpoint: 'im.message.delete',
  auth: true,
  scopes: SCOPES.imRecall,
  paramErrorCode: 230001,
  handle(ctx) {
    const message = existingMessage(ctx);
    logged(ctx, message, undefined, () => {
      if (message.appId !== ctx.appId || message.tenantKey !== ctx.tenantKey) throw new EmulatorError(230026, 'a bot can recall only the messages it sent');
      if (message.deleted) throw new EmulatorError(230110, 'the message was already recalled');
      message.deleted = true;
      message.deletedAt = ctx.clock.now();
    });
    return {};
  },
};

export const imRoutes: Route[] = [send, reply, patch, remove];
