/**
 * What the platform pushes to store (ISV) apps on its own (reference §25.2, §25.3): an `app_ticket` every hour on
 * the emulator's clock (only while the app has an event URL) and at once on `app_ticket/resend`, each ticket valid
 * for 3 h; and `app_open` when the app is installed in a new tenant. Both are v1 events, pushed to the app's HTTP
 * event URL (store apps have no long connection), encrypted and signed like any event when it has an Encrypt Key.
 */
import { randomBytes } from 'node:crypto';
import type { Services } from '../context.js';
import { openIdOf } from '../directory.js';
import { checkTenantKey } from '../options.js';
import type { Delivery, EventDeliveries } from './delivery.js';
import { appOpened, appTicketIssued } from './envelope.js';
import { InboundError } from './inbound.js';

const HOUR_MS = 60 * 60 * 1000;
/** A ticket is accepted this long after it was pushed (reference §25.2). */
export const APP_TICKET_LIFETIME_MS = 3 * HOUR_MS;
/** The platform pushes a new ticket this often. */
export const APP_TICKET_INTERVAL_MS = HOUR_MS;

export interface PushedTicket {
  /** The ticket, valid for 3 h on the emulator's clock. */
  ticket: string;
  /** Its push to the app (state `unsubscribed` when the app has no event URL); resolves once the first attempt was answered. */
  delivery: Promise<Delivery>;
}

export class StoreApps {
  readonly #services: Services;
  readonly #deliveries: EventDeliveries;
  /** The hourly push of each store app: the cancel function of its next tick. */
  readonly #schedules = new Map<string, () => void>();
  #closed = false;

  constructor(services: Services, deliveries: EventDeliveries) {
    this.#services = services;
    this.#deliveries = deliveries;
    for (const appId of services.state.apps.keys()) this.schedule(appId);
  }

  /**
   * Starts the hourly `app_ticket` push of a store app, counted from now (idempotent); an app that is no longer
   * a store app (re-registered as custom) has its schedule stopped at its next tick.
   */
  schedule(appId: string): void {
    if (this.#closed || this.#schedules.has(appId) || this.#services.state.apps.get(appId)?.type !== 'store') return;
    this.#arm(appId, this.#services.clock.now() + APP_TICKET_INTERVAL_MS);
  }

  /** Mints a ticket valid for 3 h and pushes it to the app as a v1 `app_ticket` event. */
  pushTicket(appId: string): PushedTicket {
    const { state, clock } = this.#services;
    const app = state.apps.get(appId);
    if (app?.type !== 'store') throw new InboundError(`${appId} is not a store app: only store apps get app tickets`);
    const now = clock.now();
    const ticket = randomBytes(16).toString('hex');
    for (const [old, info] of state.appTickets) if (info.expiresAt <= now) state.appTickets.delete(old);
    state.appTickets.set(ticket, { appId, expiresAt: now + APP_TICKET_LIFETIME_MS });
    return { ticket, delivery: this.#deliveries.push(appTicketIssued(appId, app.verificationToken, ticket, now)) };
  }

  /**
   * `app_ticket/resend`: a fresh ticket is pushed right after the answer has gone out (reference §25.2: the answer
   * comes at once, the ticket as an event within 2 minutes on Feishu), unless the emulator closed or the app is no
   * longer a store app by then.
   */
  resend(appId: string): void {
    setImmediate(() => {
      if (!this.#closed && this.#services.state.apps.get(appId)?.type === 'store') void this.pushTicket(appId).delivery;
    });
  }

  /** True when `ticket` was pushed to `appId` less than 3 h ago (every unexpired ticket is accepted, reference §25.2). */
  ticketValid(appId: string, ticket: string): boolean {
    const info = this.#services.state.appTickets.get(ticket);
    return info !== undefined && info.appId === appId && info.expiresAt > this.#services.clock.now();
  }

  /**
   * Installs a store app in a tenant: from now on it may get that tenant's token, its bot is in the tenant's chats,
   * and the app is told with a v1 `app_open` event, naming as installer `installerUserId` (a user of that tenant;
   * default its first user, or an administrator the directory does not list when it has none). Resolves with that
   * push once it was answered. A custom app, an unknown app or user, or a tenant the app is already in is an
   * `InboundError`.
   */
  install(appId: string, tenantKey: string, installerUserId?: string): Promise<Delivery> {
    const { state, clock } = this.#services;
    const app = state.apps.get(appId);
    if (!app) throw new InboundError(`no app ${appId}`);
    if (app.type !== 'store') throw new InboundError(`${appId} is a custom app: it lives in its own tenant and cannot be installed in others`);
    try {
      checkTenantKey(tenantKey, 'tenantKey');
    } catch (error) {
      throw new InboundError(error instanceof Error ? error.message : String(error));
    }
    if (app.tenantKeys.includes(tenantKey)) throw new InboundError(`${appId} is already installed in tenant ${tenantKey}`);
    let installer: string;
    if (installerUserId !== undefined) {
      const user = state.directory.users.get(installerUserId);
      if (!user || user.tenantKey !== tenantKey) throw new InboundError(`no user ${installerUserId} in tenant ${tenantKey}`);
      installer = openIdOf(user.userId, appId);
    } else {
      installer = openIdOf(state.directory.firstUserOf(tenantKey)?.userId ?? `admin@${tenantKey}`, appId);
    }
    app.tenantKeys.push(tenantKey);
    state.directory.addApp(appId, [tenantKey]);
    return this.#deliveries.push(appOpened(appId, app.verificationToken, tenantKey, installer, clock.now()));
  }

  /** Stops every schedule (the emulator is closing). */
  close(): void {
    this.#closed = true;
    for (const cancel of this.#schedules.values()) cancel();
    this.#schedules.clear();
  }

  /**
   * The next tick at `dueAt`. After a clock jump over several ticks one ticket is pushed, the one of the latest
   * tick (the skipped ones would be superseded by it), and the schedule keeps its phase.
   */
  #arm(appId: string, dueAt: number): void {
    const { clock, state } = this.#services;
    const cancel = clock.timer(Math.max(0, dueAt - clock.now()), () => {
      this.#schedules.delete(appId);
      const app = state.apps.get(appId);
      if (this.#closed || app?.type !== 'store') return;
      if (app.eventUrl !== null) void this.pushTicket(appId).delivery;
      const now = clock.now();
      const next = dueAt + APP_TICKET_INTERVAL_MS;
      this.#arm(appId, next > now ? next : next + (Math.floor((now - next) / APP_TICKET_INTERVAL_MS) + 1) * APP_TICKET_INTERVAL_MS);
    });
    this.#schedules.set(appId, cancel);
  }
}
