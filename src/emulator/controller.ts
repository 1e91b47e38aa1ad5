/**
 * Inspection and control of a running emulator: the typed helpers of `startEmulator()`'s handle and
 * the `/_emulator/…` HTTP routes both go through this one object.
 */
import type { Services } from './context.js';
import { type ActiveFault, type FaultSpec, Faults } from './faults.js';
import {
  type CardSnapshot,
  type MessageSnapshot,
  type StatsSnapshot,
  cardSnapshot,
  messageSnapshot,
  statsSnapshot,
} from './inspect.js';
import type { EmulatorChat, EmulatorUser } from './directory.js';
import { type Delivery, EventDeliveries } from './events/delivery.js';
import { type CardClick, type CardClickResult, clickCard } from './events/card-actions.js';
import { InboundError, type UserMessageInput, postUserMessage } from './events/inbound.js';
import { StoreApps } from './events/store-apps.js';
import { type EmulatorApp, type GroupInput, checkApp, checkEventUrl, checkGroup, checkUser } from './options.js';
import { LongConnections } from './ws/long-connection.js';
import { ENDPOINTS } from './routes/index.js';
import type { StateEvent } from './state.js';

export class Controller {
  readonly faults = new Faults(ENDPOINTS);
  readonly deliveries: EventDeliveries;
  /** The official SDK's long connections (`WSClient`). */
  readonly connections: LongConnections;
  /** Store apps' tickets and installations. */
  readonly storeApps: StoreApps;

  constructor(readonly services: Services) {
    this.connections = new LongConnections(services);
    this.deliveries = new EventDeliveries(services, this.connections);
    this.storeApps = new StoreApps(services, this.deliveries);
  }

  users(): Required<EmulatorUser>[] {
    return [...this.services.state.directory.users.values()].map((user) => ({ ...user }));
  }

  addUser(user: EmulatorUser): void {
    const checked = checkUser(user, 'addUser');
    try {
      this.services.state.directory.addUser(checked);
    } catch (error) {
      throw new TypeError(error instanceof Error ? error.message : String(error));
    }
  }

  addGroup(group: GroupInput): EmulatorChat {
    const checked = checkGroup(group, 'addGroup');
    try {
      const chat = this.services.state.directory.addGroup(checked);
      return { ...chat, userIds: [...chat.userIds] };
    } catch (error) {
      throw new TypeError(error instanceof Error ? error.message : String(error));
    }
  }

  chats(): EmulatorChat[] {
    return [...this.services.state.directory.chats.values()].map((chat) => ({ ...chat, userIds: [...chat.userIds] }));
  }

  /**
   * A user writes `text` in a chat: the message is stored and each bot of the chat gets an
   * `im.message.receive_v1` event. Resolves once every bot's first push was answered (or failed).
   */
  async postMessage(chatId: string, input: UserMessageInput): Promise<{ messageId: string; deliveries: Delivery[] }> {
    let posted;
    try {
      posted = postUserMessage(this.services, this.deliveries, chatId, input);
    } catch (error) {
      throw error instanceof InboundError ? new TypeError(error.message) : error;
    }
    const deliveries = await posted.deliveries;
    return { messageId: posted.message.messageId, deliveries: deliveries.map((d) => structuredClone(d)) };
  }

  /**
   * A user clicks a component of the card `messageId` shows: the app gets `card.action.trigger` at its
   * callback URL; the card is in interaction (200810) until it answers or 3 s pass; its answer is applied.
   */
  async clickCard(messageId: string, click: CardClick): Promise<CardClickResult> {
    try {
      const result = await clickCard(this.services, this.deliveries, messageId, click);
      return { ...result, delivery: structuredClone(result.delivery) };
    } catch (error) {
      throw error instanceof InboundError ? new TypeError(error.message) : error;
    }
  }

  /**
   * Sets where an app's events go (HTTP event subscription), after the URL answered the `url_verification`
   * challenge (unless `verify: false`); `url: null` unsubscribes. Rejects with the challenge's failure.
   */
  async subscribe(appId: string, subscription: { url: string | null; callbackUrl?: string | null; verify?: boolean }): Promise<void> {
    const app = this.services.state.apps.get(appId);
    if (!app) throw new TypeError(`no app ${appId}`);
    if (subscription.callbackUrl !== undefined) {
      app.callbackUrl = subscription.callbackUrl === null ? null : checkEventUrl(subscription.callbackUrl, 'callbackUrl');
    }
    if (subscription.url === null) {
      app.eventUrl = null;
      return;
    }
    const url = checkEventUrl(subscription.url, 'url');
    if (subscription.verify !== false) {
      const verdict = await this.deliveries.challenge(appId, url);
      if (!verdict.ok) throw new Error(`the URL did not pass the url_verification challenge: ${verdict.detail}`);
    }
    app.eventUrl = url;
  }

  card(cardId: string): CardSnapshot | undefined {
    const card = this.services.state.cards.get(cardId);
    return card && cardSnapshot(this.services, card);
  }

  cards(): CardSnapshot[] {
    return [...this.services.state.cards.values()].map((card) => cardSnapshot(this.services, card));
  }

  message(messageId: string): MessageSnapshot | undefined {
    const message = this.services.state.messages.get(messageId);
    return message && messageSnapshot(message);
  }

  messages(): MessageSnapshot[] {
    return [...this.services.state.messages.values()].map(messageSnapshot);
  }

  stats(): StatsSnapshot {
    return statsSnapshot(this.services);
  }

  addFault(spec: FaultSpec): ActiveFault {
    return this.faults.add(spec);
  }

  /**
   * Revokes tokens: all, an app's, a tenant's (its tenant tokens only), or one; tenant tokens and store apps' app
   * tokens alike. Revoked tenant tokens get 99991663, revoked app tokens 99991664, from then on. Returns how many.
   */
  revokeTokens(filter: { appId?: string; tenantKey?: string; token?: string } = {}): number {
    let revoked = 0;
    const { tokens, appTokens } = this.services.state;
    const all: [string, { appId: string; tenantKey?: string; revoked: boolean }][] = [...tokens, ...appTokens];
    for (const [token, info] of all) {
      if (info.revoked) continue;
      if (filter.token !== undefined && token !== filter.token) continue;
      if (filter.appId !== undefined && info.appId !== filter.appId) continue;
      if (filter.tenantKey !== undefined && info.tenantKey !== filter.tenantKey) continue;
      info.revoked = true;
      revoked++;
    }
    return revoked;
  }

  /**
   * Installs a store app in another tenant; the app is told with a v1 `app_open` event (pushed to its event URL).
   * Resolves with that push once its first attempt was answered (state `unsubscribed` without a URL).
   */
  async installApp(appId: string, tenantKey: string, options: { installerUserId?: string } = {}): Promise<Delivery> {
    let delivery;
    try {
      delivery = this.storeApps.install(appId, tenantKey, options.installerUserId);
    } catch (error) {
      throw error instanceof InboundError ? new TypeError(error.message) : error;
    }
    return structuredClone(await delivery);
  }

  /** Pushes a store app a fresh `app_ticket` now, as `app_ticket/resend` does; resolves once the push was answered. */
  async pushAppTicket(appId: string): Promise<{ ticket: string; delivery: Delivery }> {
    let pushed;
    try {
      pushed = this.storeApps.pushTicket(appId);
    } catch (error) {
      throw error instanceof InboundError ? new TypeError(error.message) : error;
    }
    return { ticket: pushed.ticket, delivery: structuredClone(await pushed.delivery) };
  }

  /** Puts a card "in interaction" (a user's callback in progress): writes get 200810 until it ends. */
  lockCard(cardId: string, ms = this.services.options.interactionLockMs): boolean {
    const card = this.services.state.cards.get(cardId);
    if (!card) return false;
    card.interactionUntil = this.services.clock.now() + ms;
    return true;
  }

  registerApp(app: EmulatorApp): void {
    const checked = checkApp(app, 'registerApp');
    this.services.state.addApp(checked);
    this.storeApps.schedule(checked.appId);
  }

  /** Forgets cards, messages, tokens, counters, faults and rate-limit windows. Apps stay registered. */
  reset(): void {
    this.services.state.reset();
    this.services.limiter.clear();
    this.deliveries.reset();
    this.faults.clear();
  }

  onChange(listener: (event: StateEvent) => void): () => void {
    this.services.state.events.on('change', listener);
    return () => this.services.state.events.off('change', listener);
  }
}
