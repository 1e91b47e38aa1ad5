/** Read-only views of emulator state, as `/_emulator/…` answers them and the typed helpers return them. */
import { type JsonObject, cloneJson, isObject } from './card-tree.js';
import type { Services } from './context.js';
import type { CardEntity, Message, MessageLogEntry, RequestCounts, WriteLogEntry } from './state.js';
import { isStreaming, streamingClosesAt, summaryOf } from './streaming.js';

export interface CardSnapshot {
  card_id: string;
  app_id: string;
  /** The tenant of the token that created it; only that app in that tenant may write to it. */
  tenant_key: string;
  /** The current Card JSON 2.0, every element's current text in place, `config.streaming_mode` as it is now. */
  card: JsonObject;
  streaming_mode: boolean;
  /** Emulated epoch ms at which the current streaming window closes; null when streaming is off. */
  streaming_closes_at: number | null;
  /** Last accepted sequence; 0 before the first write. */
  sequence: number;
  message_id: string | null;
  /** Chat-list preview text; "[生成中...]" while streaming without a developer-set summary. */
  summary: string | null;
  created_at: number;
  expires_at: number;
  /**
   * The most requests to this card the emulator has had in flight at once (from arrival, through any
   * injected latency, to the answer). A client that serializes its writes keeps this at 1.
   */
  max_in_flight: number;
  log: WriteLogEntry[];
}

export interface MessageSnapshot {
  message_id: string;
  /** The sending app; '' for a user's message. */
  app_id: string;
  /** The tenant it belongs to: the sending token's, or the chat's for a user's message. */
  tenant_key: string;
  /** The sending user (a message typed into the emulator); null for an app's. */
  sender_user_id: string | null;
  chat_id: string;
  receive_id: string;
  receive_id_type: string;
  msg_type: string;
  content: string;
  card_id: string | null;
  root_id: string | null;
  parent_id: string | null;
  thread_id: string | null;
  created_at: number;
  updated_at: number;
  updated: boolean;
  uuid: string | null;
  /** True once the sender recalled the message (IM delete). */
  deleted: boolean;
  /** Emulated epoch ms of the recall; null while not recalled. */
  deleted_at: number | null;
  /**
   * The send or reply that made the message, then every patch and recall that reached it, oldest first, each
   * with its emulated time and the code answered (at most 20 000 entries, as card logs; the oldest are dropped).
   * Refusals before the handler (token, missing scope 99991672, gateway limit 99991400, injected faults) are
   * not in it. The 5/s patch limit shows as no 1000 ms span holding more than 5 `im.message.patch` entries with
   * code 0; it is counted in real time, so this holds for the emulated times at clock speed 1 without `advance()`.
   */
  log: MessageLogEntry[];
}

/** Answered API requests: accepted, rejected by code, and both per endpoint. */
export interface RequestCountsSnapshot {
  /** API requests answered with code 0. */
  accepted: number;
  /** API requests answered with an error, by code. */
  rejected: Record<string, number>;
  /** The same, per endpoint name (e.g. `auth.tenantAccessToken.internal`). */
  endpoints: Record<string, { accepted: number; rejected: number }>;
}

export interface StatsSnapshot extends RequestCountsSnapshot {
  /**
   * The same counts per app, then per tenant, for the requests that carried a valid tenant token (so the token
   * endpoints and the refusals before the token check are not in them): each tenant's use of its own budget, e.g.
   * `tenants.cli_store.tk_a.endpoints['cardkit.cardElement.content'].accepted`, and `tenants.cli_store.tk_a.rejected['99991400']`
   * for its requests over the per-(API, app, tenant) limit.
   */
  tenants: Record<string, Record<string, RequestCountsSnapshot>>;
}

export function cardSnapshot(services: Services, card: CardEntity): CardSnapshot {
  const now = services.clock.now();
  const timeout = services.options.streamingTimeoutMs;
  const streaming = isStreaming(card, now, timeout);
  const json = cloneJson(card.json);
  if (isObject(json.config) || streaming) {
    json.config = { ...(isObject(json.config) ? json.config : {}), streaming_mode: streaming };
  }
  return {
    card_id: card.cardId,
    app_id: card.appId,
    tenant_key: card.tenantKey,
    card: json,
    streaming_mode: streaming,
    streaming_closes_at: streamingClosesAt(card, now, timeout),
    sequence: card.sequence,
    message_id: card.messageId,
    summary: summaryOf(card, now, timeout),
    created_at: card.createdAt,
    expires_at: card.expiresAt,
    max_in_flight: services.state.inFlight.get(card.cardId)?.max ?? 0,
    log: card.log.map((entry) => ({ ...entry })),
  };
}

export function messageSnapshot(message: Message): MessageSnapshot {
  return {
    message_id: message.messageId,
    app_id: message.appId,
    tenant_key: message.tenantKey,
    sender_user_id: message.senderUserId,
    chat_id: message.chatId,
    receive_id: message.receiveId,
    receive_id_type: message.receiveIdType,
    msg_type: message.msgType,
    content: message.content,
    card_id: message.cardId,
    root_id: message.rootId,
    parent_id: message.parentId,
    thread_id: message.threadId,
    created_at: message.createdAt,
    updated_at: message.updatedAt,
    updated: message.updated,
    uuid: message.uuid,
    deleted: message.deleted,
    deleted_at: message.deletedAt,
    log: message.log.map((entry) => ({ ...entry })),
  };
}

export function statsSnapshot(services: Services): StatsSnapshot {
  const { stats, tenantStats } = services.state;
  return {
    ...countsSnapshot(stats),
    tenants: Object.fromEntries(
      [...tenantStats].map(([appId, tenants]) => [appId, Object.fromEntries([...tenants].map(([tenantKey, counts]) => [tenantKey, countsSnapshot(counts)]))]),
    ),
  };
}

function countsSnapshot(counts: RequestCounts): RequestCountsSnapshot {
  return {
    accepted: counts.accepted,
    rejected: Object.fromEntries([...counts.rejected].map(([code, n]) => [String(code), n])),
    endpoints: Object.fromEntries([...counts.byEndpoint].map(([name, n]) => [name, { ...n }])),
  };
}

