/** Everything the emulator remembers: apps, tokens, card entities, messages and counters. */
import { Directory } from './directory.js';
import { EventEmitter } from 'node:events';
import type { JsonObject } from './card-tree.js';
import type { CheckedApp } from './options.js';

/** One write (or attempted write) to a card, as `GET /_emulator/cards/:card_id` reports it. */
export interface WriteLogEntry {
  /** Emulated time of arrival, epoch ms. */
  time: number;
  /** Endpoint name, e.g. `cardkit.cardElement.content`. */
  endpoint: string;
  sequence: number | null;
  uuid: string | null;
  /** 0 when accepted, else the platform error code answered. */
  code: number;
  element_id?: string;
  /** For writes that set an element's text (content, or a patch with `content`): its length in UTF-16 units. */
  content_length?: number;
}

/**
 * One write (or attempted write) to an IM message, as `GET /_emulator/messages/:message_id` reports it: the send
 * or reply that made the message, then every patch and recall that reached it, accepted or refused by the
 * handler. Refusals that come before the handler are not recorded, as for cards: token errors, a missing scope
 * (99991672), the per-app gateway limit (99991400) and faults injected through `emulator.faults`. A send or reply
 * answered from the uuid dedupe (reference §11.1) is not recorded either: it wrote nothing.
 */
export interface MessageLogEntry {
  /** Emulated time of arrival, epoch ms. */
  time: number;
  /** `im.message.create`, `im.message.reply`, `im.message.patch` or `im.message.delete`. */
  endpoint: string;
  /** 0 when accepted, else the platform error code answered (230020, 230011, 230031, 230099 …). */
  code: number;
  /**
   * For sends, replies and patches that carried a `content` string: its length in UTF-8 bytes, the unit of
   * IM's size limits (30 KB for a card, 150 KB for text, reference §11.1).
   */
  content_bytes?: number;
}

export interface StreamingState {
  /** Streaming mode as last set (create, settings, full update); the window may have run out since. */
  open: boolean;
  /** Emulated time streaming mode was last opened. */
  openedAt: number;
  /** True once the window ran out and a content write was told so with 200850. */
  timeoutReported: boolean;
}

export interface CardEntity {
  cardId: string;
  appId: string;
  /** The tenant whose token created it: only that (app, tenant) may write to it (300311 otherwise). */
  tenantKey: string;
  json: JsonObject;
  /** Last accepted sequence; 0 before the first write. */
  sequence: number;
  uuids: Set<string>;
  createdAt: number;
  expiresAt: number;
  streaming: StreamingState;
  messageId: string | null;
  interactionUntil: number;
  log: WriteLogEntry[];
}

export interface Message {
  messageId: string;
  /** The app that sent it; '' for a user's message (`senderUserId`). */
  appId: string;
  /** The tenant it belongs to: the sending token's tenant, or the chat's for a user's message. */
  tenantKey: string;
  /** The user who sent it (a message typed into the emulator, issue 12); null for an app's message. */
  senderUserId: string | null;
  chatId: string;
  receiveId: string;
  receiveIdType: string;
  msgType: string;
  content: string;
  /** The card entity the message shows, when sent as `{"type":"card","data":{"card_id"}}`. */
  cardId: string | null;
  rootId: string | null;
  parentId: string | null;
  threadId: string | null;
  createdAt: number;
  updatedAt: number;
  updated: boolean;
  uuid: string | null;
  /** True once the sender recalled it (`DELETE /open-apis/im/v1/messages/:message_id`, reference §26). */
  deleted: boolean;
  /** Emulated time of the recall, epoch ms; null while not recalled. */
  deletedAt: number | null;
  log: MessageLogEntry[];
}

/** An app as the emulator knows it: its secret, type and tenants, its scopes (null: every scope), and where its events go. */
export interface RegisteredApp {
  secret: string;
  /** Custom (self-built, one tenant) or store (ISV, installed in tenants; reference §25). */
  type: 'custom' | 'store';
  /** The tenants the app is in, the default one first; a store app's grows as it is installed. */
  tenantKeys: string[];
  scopes: ReadonlySet<string> | null;
  /** Put in every event's `header.token` and in the URL challenge. */
  verificationToken: string;
  /** When set, events are pushed encrypted and signed with it. */
  encryptKey: string | null;
  /** Where events are POSTed (HTTP event subscription); null: nowhere. */
  eventUrl: string | null;
  /** Where card callbacks are POSTed; null: to `eventUrl`. */
  callbackUrl: string | null;
}

/** A tenant access token (`t-…`): it acts for one app in one tenant. */
export interface Token {
  appId: string;
  tenantKey: string;
  expiresAt: number;
  revoked: boolean;
}

/** A store app's app access token (`a-…`): it only buys tenant tokens (reference §25.1). */
export interface AppToken {
  appId: string;
  expiresAt: number;
  revoked: boolean;
}

/** Counts of answered API requests: accepted, rejected by code, and both per endpoint. */
export interface RequestCounts {
  accepted: number;
  rejected: Map<number, number>;
  byEndpoint: Map<string, { accepted: number; rejected: number }>;
}

/** Who made an authenticated request: the app and the tenant of its token. */
export interface Caller {
  appId: string;
  tenantKey: string;
}

/** What changed, for live views (the preview page) and tests that wait on the emulator. */
export type StateEvent =
  | { type: 'card'; cardId: string; entry: WriteLogEntry | null }
  | { type: 'message'; messageId: string; entry: MessageLogEntry | null };

/** Per-card and per-message write logs keep at most this many entries each; older ones are dropped first. */
export const MAX_LOG_ENTRIES = 20_000;

export class EmulatorState {
  readonly apps = new Map<string, RegisteredApp>();
  /** Tenant access tokens (`t-…`), by token. */
  readonly tokens = new Map<string, Token>();
  /** Store apps' app access tokens (`a-…`), by token. */
  readonly appTokens = new Map<string, AppToken>();
  /** Store apps' app tickets, by ticket: valid 3 h from when they were pushed (reference §25.2). */
  readonly appTickets = new Map<string, { appId: string; expiresAt: number }>();
  readonly cards = new Map<string, CardEntity>();
  readonly messages = new Map<string, Message>();
  /** The tenant's users and chats (issue 12). */
  readonly directory = new Directory();
  /** IM send/reply idempotency: `${appId}\n${uuid}` to the message it produced and when. */
  readonly sendUuids = new Map<string, { messageId: string; at: number }>();
  readonly stats: RequestCounts = newCounts();
  /** The same counts per app and tenant, for authenticated requests (the caller is known): app id, then tenant key. */
  readonly tenantStats = new Map<string, Map<string, RequestCounts>>();
  /**
   * State changes. Each live-preview subscriber (`/_emulator/events`) and each `onChange()` caller is one
   * listener that removes itself when it goes away, so any number of them is normal, not a leak: Node's
   * ten-listener warning is switched off for this emitter.
   */
  readonly events = new EventEmitter<{ change: [StateEvent] }>().setMaxListeners(0);
  /** Requests per card_id between arrival and answer, and the most seen at once. */
  readonly inFlight = new Map<string, { now: number; max: number }>();

  /** A request naming `cardId` arrived; returns the function to call when it is answered. */
  enter(cardId: string): () => void {
    let counter = this.inFlight.get(cardId);
    if (!counter) this.inFlight.set(cardId, (counter = { now: 0, max: 0 }));
    counter.now++;
    counter.max = Math.max(counter.max, counter.now);
    return () => {
      counter.now--;
    };
  }

  /**
   * Counts one answered API request; `endpoint` is absent when no route matched, `caller` when the request was
   * not authenticated (token endpoints, refusals before the token check).
   */
  count(code: number, endpoint?: string, caller?: Caller): void {
    addCount(this.stats, code, endpoint);
    if (caller === undefined) return;
    let tenants = this.tenantStats.get(caller.appId);
    if (!tenants) this.tenantStats.set(caller.appId, (tenants = new Map<string, RequestCounts>()));
    let counts = tenants.get(caller.tenantKey);
    if (!counts) tenants.set(caller.tenantKey, (counts = newCounts()));
    addCount(counts, code, endpoint);
  }

  /** Registers `app` (already checked), replacing an app of the same id. */
  addApp(app: CheckedApp): void {
    this.apps.set(app.appId, {
      secret: app.appSecret,
      type: app.type,
      tenantKeys: [...app.tenantKeys],
      scopes: app.scopes === undefined ? null : new Set(app.scopes),
      verificationToken: app.verificationToken ?? `v_${app.appId}`,
      encryptKey: app.encryptKey ?? null,
      eventUrl: app.eventUrl ?? null,
      callbackUrl: app.callbackUrl ?? null,
    });
    this.directory.addApp(app.appId, app.tenantKeys);
  }

  logWrite(card: CardEntity, entry: WriteLogEntry): void {
    appendBounded(card.log, entry);
    this.events.emit('change', { type: 'card', cardId: card.cardId, entry });
  }

  /** Records a write to a message and announces the change. */
  logMessage(message: Message, entry: MessageLogEntry): void {
    appendBounded(message.log, entry);
    this.events.emit('change', { type: 'message', messageId: message.messageId, entry });
  }

  /** Forgets cards, messages, tokens, tickets and counters; registered apps (and their tenants) stay. */
  reset(): void {
    this.tokens.clear();
    this.appTokens.clear();
    this.appTickets.clear();
    this.tenantStats.clear();
    this.cards.clear();
    this.messages.clear();
    this.sendUuids.clear();
    this.inFlight.clear();
    this.stats.accepted = 0;
    this.stats.rejected.clear();
    this.stats.byEndpoint.clear();
  }
}

function newCounts(): RequestCounts {
  return { accepted: 0, rejected: new Map(), byEndpoint: new Map() };
}

function addCount(counts: RequestCounts, code: number, endpoint: string | undefined): void {
  if (code === 0) counts.accepted++;
  else counts.rejected.set(code, (counts.rejected.get(code) ?? 0) + 1);
  if (endpoint === undefined) return;
  let perEndpoint = counts.byEndpoint.get(endpoint);
  if (!perEndpoint) counts.byEndpoint.set(endpoint, (perEndpoint = { accepted: 0, rejected: 0 }));
  if (code === 0) perEndpoint.accepted++;
  else perEndpoint.rejected++;
}

function appendBounded<T>(log: T[], entry: T): void {
  log.push(entry);
  if (log.length > MAX_LOG_ENTRIES) log.splice(0, log.length - MAX_LOG_ENTRIES);
}
