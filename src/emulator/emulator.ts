/** `startEmulator()`: a running emulator on loopback, with typed helpers for inspection, faults and the clock. */
import type { AddressInfo } from 'node:net';
import { EmulatorClock } from './clock.js';
import type { Services } from './context.js';
import { Controller } from './controller.js';
import type { EmulatorChat, EmulatorUser } from './directory.js';
import type { Delivery } from './events/delivery.js';
import type { CardClick, CardClickResult } from './events/card-actions.js';
import type { UserMessageInput } from './events/inbound.js';
import type { ActiveFault, FaultSpec } from './faults.js';
import type { CardSnapshot, MessageSnapshot, StatsSnapshot } from './inspect.js';
import { type EmulatorApp, type EmulatorOptions, type GroupInput, type ResolvedOptions, resolveOptions } from './options.js';
import { RateLimiter } from './rate-limit.js';
import { createEmulatorServer } from './server.js';
import { EmulatorState, type StateEvent } from './state.js';

export interface Emulator {
  /** Base URL, e.g. `http://127.0.0.1:41234`; pass it as the client's `domain`. */
  readonly url: string;
  readonly port: number;
  readonly options: Readonly<ResolvedOptions>;
  /** Stops listening and closes every open connection. Calling it again returns the same promise. */
  close(): Promise<void>;
  /** A card entity as it is now, or undefined. */
  card(cardId: string): CardSnapshot | undefined;
  cards(): CardSnapshot[];
  message(messageId: string): MessageSnapshot | undefined;
  messages(): MessageSnapshot[];
  stats(): StatsSnapshot;
  faults: {
    /** Adds a fault; see {@link FaultSpec}. */
    add(spec: FaultSpec): ActiveFault;
    list(): ActiveFault[];
    clear(): void;
  };
  clock: {
    /** Emulated time, epoch ms. */
    now(): number;
    advance(ms: number): void;
    setSpeed(speed: number): void;
    readonly speed: number;
    /**
     * Calls `callback` once emulated time has advanced by `ms`, following `setSpeed` and `advance`;
     * returns a cancel function. The handle satisfies the library's `Clock`, so a session under test
     * can run on the emulator's time.
     */
    timer(ms: number, callback: () => void): () => void;
  };
  /**
   * Revokes tokens (all by default; or an app's, a tenant's tenant tokens, or one token), tenant tokens and store
   * apps' app tokens alike; returns how many.
   */
  revokeTokens(filter?: { appId?: string; tenantKey?: string; token?: string }): number;
  /** Puts a card "in interaction" for `ms` (default `interactionLockMs`): writes get 200810. */
  lockCard(cardId: string, ms?: number): boolean;
  /**
   * Registers an app (or replaces one of the same id), e.g. `{ appId: 'cli_im', appSecret: 's', scopes: ['im:message'] }`
   * for an app without CardKit permission. Tokens it already has keep working, with the new scopes.
   */
  registerApp(app: EmulatorApp): void;
  /** Forgets cards, messages, tokens, counters, faults and rate-limit windows. */
  reset(): void;
  /** Calls `listener` on every state change; returns the unsubscribe function. */
  onChange(listener: (event: StateEvent) => void): () => void;
  /** The users, each with its tenant (the default one is `u_you` in `emulator_tenant`). */
  users(): Required<EmulatorUser>[];
  /**
   * Adds a user of a tenant (default `emulator_tenant`; a p2p chat with every bot of that tenant comes with it);
   * a TypeError for a bad or taken id.
   */
  addUser(user: EmulatorUser): void;
  /**
   * Adds a group chat of a tenant (default `emulator_tenant`): every bot of that tenant is in it; its users default
   * to the tenant's first user and must be of that tenant. A TypeError for a bad or taken id.
   */
  addGroup(group: GroupInput): EmulatorChat;
  /** The chats, each with its tenant: each user's p2p chat with each bot of the user's tenant, and the group chats. */
  chats(): EmulatorChat[];
  /**
   * Installs a store app in another tenant (`tenantKey`): it may then get that tenant's token, its bot is in the
   * tenant's chats, and it gets a v1 `app_open` event at its event URL naming the installer (`installerUserId`, a
   * user of that tenant; default the tenant's first user). Resolves with that push once its first attempt was
   * answered (state `unsubscribed` when the app has no event URL). A custom or unknown app, or a tenant the app is
   * already in, is a TypeError.
   */
  installApp(appId: string, tenantKey: string, options?: { installerUserId?: string }): Promise<Delivery>;
  /**
   * Pushes a store app a fresh `app_ticket` (valid 3 h) now, as `app_ticket/resend` does; resolves with the ticket
   * and its push once the push was answered. The platform also pushes one every hour while the app has an event URL.
   */
  pushAppTicket(appId: string): Promise<{ ticket: string; delivery: Delivery }>;
  /**
   * A user writes `text` in `chatId` (default user: the chat's first): the message is stored (its id can be
   * replied to) and each bot of the chat gets an `im.message.receive_v1` event; resolves once every bot's first
   * push was answered or failed. A bad chat, user, text or reply_to is a TypeError.
   */
  postMessage(chatId: string, input: UserMessageInput): Promise<{ messageId: string; deliveries: Delivery[] }>;
  /**
   * Sets where an app's events are POSTed, once the URL passed the `url_verification` challenge (unless
   * `verify: false`); `url: null` stops. Encrypted and signed when the app has an `encryptKey`.
   */
  subscribe(appId: string, subscription: { url: string | null; callbackUrl?: string | null; verify?: boolean }): Promise<void>;
  /**
   * A user clicks a component of the card message `messageId` shows (`{ action: { tag: 'button', value } }`):
   * the app gets `card.action.trigger` at its callback URL (default its event URL); CardKit writes to the card
   * get 200810 until it answers or 3 s pass; a `{ toast }` answer is returned, a `{ card: { type: 'raw', data } }`
   * answer replaces the card.
   */
  clickCard(messageId: string, click: CardClick): Promise<CardClickResult>;
  /** How many long connections (the SDK's `WSClient`) an app has open; while it has one, its events go there. */
  longConnections(appId: string): number;
  /** Every event pushed, with its attempts (redeliveries follow Feishu's 15 s, 5 min, 1 h, 6 h on the emulator's clock). */
  deliveries(): Delivery[];
}

/**
 * Starts a Feishu open-platform emulator on `127.0.0.1` (port 0 picks a free port).
 *
 * @example
 * const emulator = await startEmulator({ apps: [{ appId: 'cli_test', appSecret: 'secret' }] });
 * // … point a client at emulator.url …
 * expect(emulator.card(cardId)?.streaming_mode).toBe(false);
 * await emulator.close();
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const resolved = resolveOptions(options);
  const services: Services = {
    state: new EmulatorState(),
    options: resolved,
    clock: new EmulatorClock({ speed: resolved.clockSpeed }),
    limiter: new RateLimiter(),
  };
  for (const app of resolved.apps) services.state.addApp(app);
  for (const user of resolved.users) services.state.directory.addUser(user);
  for (const group of resolved.groups) services.state.directory.addGroup(group);
  const controller = new Controller(services);
  const server = createEmulatorServer(controller);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  const { clock } = services;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    options: resolved,
    close: () => {
      controller.storeApps.close();
      controller.deliveries.close();
      controller.connections.close();
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
    card: (cardId) => controller.card(cardId),
    cards: () => controller.cards(),
    message: (messageId) => controller.message(messageId),
    messages: () => controller.messages(),
    stats: () => controller.stats(),
    faults: {
      add: (spec) => controller.addFault(spec),
      list: () => controller.faults.list(),
      clear: () => controller.faults.clear(),
    },
    clock: {
      now: () => clock.now(),
      advance: (ms) => clock.advance(ms),
      setSpeed: (speed) => clock.setSpeed(speed),
      timer: (ms, callback) => clock.timer(ms, callback),
      get speed() {
        return clock.speed;
      },
    },
    revokeTokens: (filter) => controller.revokeTokens(filter),
    lockCard: (cardId, ms) => controller.lockCard(cardId, ms),
    registerApp: (app) => controller.registerApp(app),
    reset: () => controller.reset(),
    onChange: (listener) => controller.onChange(listener),
    users: () => controller.users(),
    addUser: (user) => controller.addUser(user),
    addGroup: (group) => controller.addGroup(group),
    chats: () => controller.chats(),
    installApp: (appId, tenantKey, installOptions) => controller.installApp(appId, tenantKey, installOptions),
    pushAppTicket: (appId) => controller.pushAppTicket(appId),
    postMessage: (chatId, input) => controller.postMessage(chatId, input),
    subscribe: (appId, subscription) => controller.subscribe(appId, subscription),
    deliveries: () => controller.deliveries.list(),
    clickCard: (messageId, click) => controller.clickCard(messageId, click),
    longConnections: (appId) => controller.connections.count(appId),
  };
}
