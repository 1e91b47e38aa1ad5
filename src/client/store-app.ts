/**
 * Store (ISV) apps (reference §25): one app installed in many tenants. The platform pushes the app an
 * `app_ticket` (hourly, and soon after `app_ticket/resend`); the app trades id, secret and ticket for an app
 * access token, and the app token and a `tenant_key` for that tenant's tenant token. `StoreAppTokens` holds the
 * ticket and the app token; each tenant's token is a `TenantTokenManager` of its own.
 */
import { FeishuApiError } from './errors.js';
import type { Requester } from './requester.js';
import { type FetchedToken, TenantTokenManager, raceAbort } from './token.js';

interface AppTokenAnswer {
  app_access_token: string;
  expire: number;
}

interface TenantTokenAnswer {
  tenant_access_token: string;
  expire: number;
}

/** A store app's ticket is missing or was refused, and none arrived in time after asking for one. */
export class AppTicketTimeoutError extends Error {
  constructor(appId: string, waitedMs: number) {
    super(
      `store app ${appId}: no app_ticket within ${waitedMs} ms of asking the platform to push one (app_ticket/resend); ` +
        'pass the ticket of each app_ticket event to client.setAppTicket(ticket)',
    );
    this.name = 'AppTicketTimeoutError';
  }
}

export class StoreAppTokens {
  readonly #requester: Requester;
  readonly #appId: string;
  readonly #appSecret: string;
  readonly #ticketTimeoutMs: number;
  readonly #appToken: TenantTokenManager;
  #ticket: string | undefined;
  /** Callers waiting for a ticket to be pushed. */
  #waiting: (() => void)[] = [];
  #resending: Promise<void> | undefined;

  constructor(o: { requester: Requester; appId: string; appSecret: string; ticketTimeoutMs: number; now?: () => number }) {
    this.#requester = o.requester;
    this.#appId = o.appId;
    this.#appSecret = o.appSecret;
    this.#ticketTimeoutMs = o.ticketTimeoutMs;
    this.#appToken = new TenantTokenManager(() => this.#fetchAppToken(), o.now);
  }

  /** The ticket of an `app_ticket` event; a newer one replaces it. */
  setTicket(ticket: string): void {
    this.#ticket = ticket;
    for (const wake of this.#waiting.splice(0)) wake();
  }

  /** A token source for one tenant: its tenant token, bought with the app token. */
  tenant(tenantKey: string, now?: () => number): TenantTokenManager {
    return new TenantTokenManager(() => this.#fetchTenantToken(tenantKey), now);
  }

  async #fetchTenantToken(tenantKey: string): Promise<FetchedToken> {
    for (let attempt = 0; ; attempt++) {
      const appToken = await this.#appToken.token(AbortSignal.timeout(this.#ticketTimeoutMs + 30_000));
      try {
        const answer = await this.#requester.call<TenantTokenAnswer>({
          endpoint: 'auth.tenantAccessToken.create',
          method: 'POST',
          path: '/open-apis/auth/v3/tenant_access_token',
          body: { app_access_token: appToken, tenant_key: tenantKey },
          tokenRequest: true,
        });
        this.#requester.secrets.addToken(answer.tenant_access_token);
        return { token: answer.tenant_access_token, expireSec: answer.expire };
      } catch (error) {
        // The app token was refused (expired, revoked): buy a new one, once.
        if (attempt > 0 || !(error instanceof FeishuApiError) || error.code !== 99991664) throw error;
        this.#appToken.invalidate(appToken);
      }
    }
  }

  async #fetchAppToken(): Promise<FetchedToken> {
    for (let attempt = 0; ; attempt++) {
      const ticket = this.#ticket ?? (await this.#awaitTicket());
      try {
        const answer = await this.#requester.call<AppTokenAnswer>({
          endpoint: 'auth.appAccessToken.create',
          method: 'POST',
          path: '/open-apis/auth/v3/app_access_token',
          body: { app_id: this.#appId, app_secret: this.#appSecret, app_ticket: ticket },
          tokenRequest: true,
        });
        this.#requester.secrets.addToken(answer.app_access_token);
        return { token: answer.app_access_token, expireSec: answer.expire };
      } catch (error) {
        // The ticket is unknown or expired (10012): ask for a new one and try once more with it.
        if (attempt > 0 || !(error instanceof FeishuApiError) || error.code !== 10012) throw error;
        if (this.#ticket === ticket) this.#ticket = undefined;
      }
    }
  }

  /** Asks the platform to push a ticket (once for every caller waiting) and waits for `setTicket`. */
  async #awaitTicket(): Promise<string> {
    const arrived = new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#resending ??= this.#requester
      .call<unknown>({
        endpoint: 'auth.appTicket.resend',
        method: 'POST',
        path: '/open-apis/auth/v3/app_ticket/resend',
        body: { app_id: this.#appId, app_secret: this.#appSecret },
        tokenRequest: true,
      })
      .then(() => undefined)
      .finally(() => (this.#resending = undefined));
    await this.#resending;
    const timeout = AbortSignal.timeout(this.#ticketTimeoutMs);
    try {
      await raceAbort(arrived, timeout);
    } catch {
      throw new AppTicketTimeoutError(this.#appId, this.#ticketTimeoutMs);
    }
    return this.#ticket!;
  }
}
