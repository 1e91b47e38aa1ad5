/** `FeishuClient`: tenant tokens, typed CardKit and IM endpoints, classified errors. */
import { CardApi, CardElementApi } from './cardkit.js';
import { deadline } from './deadline.js';
import { type Domain, resolveDomain } from './domain.js';
import { MessageApi } from './im.js';
import { Secrets } from './redact.js';
import { type CallOptions, Requester } from './requester.js';
import { StoreAppTokens } from './store-app.js';
import { ProvidedTokenSource, TenantTokenManager, type TokenProvider, type TokenSource } from './token.js';
import { type FetchLike, type Transport, fetchTransport } from './transport.js';
import { describe, requireTimeout } from './validate.js';

export interface FeishuClientOptions {
  /** App id (`cli_…`). Required unless `tenantAccessToken` or a token-managing `transport` is given. */
  appId?: string;
  /**
   * App secret. Kept in a private field; never logged, and redacted (`[redacted]`) from any error text,
   * such as a custom `fetch`'s error quoting the token request's body.
   */
  appSecret?: string;
  /**
   * `'feishu'` (https://open.feishu.cn, default), `'lark'` (https://open.larksuite.com) or an http(s) base
   * URL (the emulator, a reverse proxy), without `user:password@`, query or fragment.
   */
  domain?: Domain;
  /** A `fetch` to use instead of the global one (a proxy agent, instrumentation). */
  fetch?: FetchLike;
  /** Per-request timeout in ms, above 0 and at most 2_147_483_647 (Node's timer limit); each endpoint call overridable. Default 10000. */
  timeoutMs?: number;
  /**
   * Supplies tenant tokens instead of the built-in manager (store apps, a cache shared across processes).
   * Called with `forceRefresh: true` after the platform rejected the previous token. The tokens it
   * returns are redacted from errors like the built-in manager's.
   */
  tenantAccessToken?: TokenProvider;
  /**
   * `'custom'` (a self-built app, default) or `'store'` (an app store app, installed in many tenants: its requests
   * act in one tenant, through `client.tenant(tenantKey)`; it needs the tickets of its `app_ticket` events, given
   * to `client.setAppTicket(ticket)`; reference §25).
   */
  appType?: 'custom' | 'store';
  /**
   * Store apps: how long a request waits for an `app_ticket` after asking the platform to push one
   * (`app_ticket/resend`; Feishu pushes it within 2 minutes). Default 120000.
   */
  appTicketTimeoutMs?: number;
  /** Advanced: how requests are sent; see `feishu-card-session/lark-sdk` for the official SDK client. */
  transport?: Transport;
  /**
   * The clock token lifetimes are measured on, epoch ms. Default `Date.now`. Tests pass the emulator's
   * (`() => emulator.clock.now()`) to exercise renewal without waiting two hours.
   */
  now?: () => number;
}

interface TokenAnswer {
  tenant_access_token: string;
  expire: number;
}

export class FeishuClient {
  /** Base URL requests go to. */
  readonly domain: string;
  readonly appId: string | undefined;
  readonly appType: 'custom' | 'store';
  /** The tenant a store app's client acts in (`client.tenant(tenantKey)`); undefined otherwise. */
  readonly tenantKey: string | undefined;
  readonly cardkit: { readonly v1: { readonly card: CardApi; readonly cardElement: CardElementApi } };
  readonly im: { readonly v1: { readonly message: MessageApi } };
  readonly #requester: Requester;
  readonly #tokens: TokenSource | undefined;
  /** The app secret and every tenant token this client has held: redacted from errors. */
  readonly #secrets: Secrets;
  /** A store app's ticket and app token, shared with its tenants' clients. */
  readonly #store: StoreAppTokens | undefined;
  /** A store app's clients, one per tenant. */
  readonly #tenants = new Map<string, FeishuClient>();
  readonly #options: FeishuClientOptions;

  constructor(options: FeishuClientOptions, tenant?: TenantOf) {
    if (typeof options !== 'object' || options === null) throw new TypeError('new FeishuClient(options) needs an options object');
    refuseMovedOptions(options);
    const timeoutMs = requireTimeout(options.timeoutMs ?? 10_000, 'options.timeoutMs');
    if (options.fetch !== undefined && typeof options.fetch !== 'function') {
      throw new TypeError(`options.fetch must be a function; received ${describe(options.fetch)}`);
    }
    this.domain = resolveDomain(options.domain);
    this.appId = options.appId;
    this.appType = options.appType ?? 'custom';
    if (this.appType !== 'custom' && this.appType !== 'store') throw new TypeError(`options.appType must be 'custom' or 'store'; received ${describe(options.appType)}`);
    this.#options = options;
    this.#secrets = tenant?.secrets ?? new Secrets();
    this.#secrets.addSecret(options.appSecret);
    const transport = options.transport ?? fetchTransport(this.domain, options.fetch);
    this.#requester = new Requester(transport, timeoutMs, this.#secrets);
    this.tenantKey = tenant?.tenantKey;
    this.#store = tenant?.store ?? (this.appType === 'store' && !transport.managesTokens ? this.#storeTokens(options) : undefined);
    this.#tokens = transport.managesTokens ? undefined : tenant ? tenant.store.tenant(tenant.tenantKey, options.now) : this.#tokenSource(options);
    this.#requester.tokens = this.#tokens;
    this.cardkit = { v1: { card: new CardApi(this.#requester), cardElement: new CardElementApi(this.#requester) } };
    this.im = { v1: { message: new MessageApi(this.#requester) } };
  }

  /**
   * The tenant access token requests are sent with now (cached; renewed inside the 30-minute window).
   * Rejects with a `TypeError` when a transport manages tokens, a `RangeError` for a bad `timeoutMs`.
   */
  async tenantAccessToken(options: CallOptions = {}): Promise<string> {
    if (!this.#tokens) throw new TypeError('this client sends requests through a transport that manages its own tokens');
    const limit = deadline(requireTimeout(options.timeoutMs ?? this.#requester.defaultTimeoutMs, 'timeoutMs'), options.signal);
    try {
      const token = await this.#tokens.token(limit.signal);
      this.#secrets.addToken(token);
      return token;
    } finally {
      limit.dispose();
    }
  }

  /**
   * A store app's client acting in one tenant (one per tenant key, made once): its requests carry that tenant's
   * token, bought with the app token; sessions started on it keep the tenant's budget (the platform counts it per
   * app and tenant) apart from the other tenants'.
   * @example CardSession.start(client.tenant(event.header.tenant_key), { to: { chat_id } })
   */
  tenant(tenantKey: string): FeishuClient {
    if (!this.#store || this.tenantKey !== undefined) {
      throw new TypeError(this.tenantKey !== undefined ? 'client.tenant() is called on the store app\'s client, not on a tenant\'s' : "client.tenant() is for store apps (appType: 'store')");
    }
    if (typeof tenantKey !== 'string' || !/^[\w-]{1,64}$/.test(tenantKey)) throw new TypeError(`tenantKey must be a tenant_key (letters, digits, _ or -, at most 64); received ${describe(tenantKey)}`);
    let client = this.#tenants.get(tenantKey);
    if (!client) this.#tenants.set(tenantKey, (client = new FeishuClient(this.#options, { tenantKey, store: this.#store, secrets: this.#secrets })));
    return client;
  }

  /** A store app: the ticket of an `app_ticket` event (pushed hourly, and after `app_ticket/resend`). */
  setAppTicket(ticket: string): void {
    if (!this.#store) throw new TypeError("setAppTicket() is for store apps (appType: 'store')");
    if (typeof ticket !== 'string' || ticket === '') throw new TypeError(`the app_ticket must be a non-empty string; received ${describe(ticket)}`);
    this.#secrets.addToken(ticket);
    this.#store.setTicket(ticket);
  }

  #storeTokens(options: FeishuClientOptions): StoreAppTokens {
    if (options.tenantAccessToken !== undefined) throw new TypeError("options.tenantAccessToken and appType: 'store' do not go together: the client buys each tenant's token itself");
    if (typeof options.appId !== 'string' || options.appId === '') throw new TypeError(`options.appId must be a non-empty string; received ${describe(options.appId)}`);
    if (typeof options.appSecret !== 'string' || options.appSecret === '') throw new TypeError('options.appSecret must be a non-empty string');
    const ticketTimeoutMs = requireTimeout(options.appTicketTimeoutMs ?? 120_000, 'options.appTicketTimeoutMs');
    return new StoreAppTokens({ requester: this.#requester, appId: options.appId, appSecret: options.appSecret, ticketTimeoutMs, ...(options.now ? { now: options.now } : {}) });
  }

  #tokenSource(options: FeishuClientOptions): TokenSource {
    if (this.#store) return STORE_ROOT;
    if (options.tenantAccessToken !== undefined) {
      if (typeof options.tenantAccessToken !== 'function') {
        throw new TypeError(`options.tenantAccessToken must be a function; received ${describe(options.tenantAccessToken)}`);
      }
      return new ProvidedTokenSource(options.tenantAccessToken);
    }
    if (typeof options.appId !== 'string' || options.appId === '') {
      throw new TypeError(`options.appId must be a non-empty string; received ${describe(options.appId)}`);
    }
    if (typeof options.appSecret !== 'string' || options.appSecret === '') {
      throw new TypeError('options.appSecret must be a non-empty string');
    }
    const body = { app_id: options.appId, app_secret: options.appSecret };
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new TypeError(`options.now must be a function; received ${describe(options.now)}`);
    }
    return new TenantTokenManager(async () => {
      const answer = await this.#requester.call<TokenAnswer>({
        endpoint: 'auth.tenantAccessToken.internal',
        method: 'POST',
        path: '/open-apis/auth/v3/tenant_access_token/internal',
        body,
        tokenRequest: true,
      });
      this.#secrets.addToken(answer.tenant_access_token);
      return { token: answer.tenant_access_token, expireSec: answer.expire };
    }, options.now);
  }

  /** Keeps the secret and tokens out of `console.log(client)` and JSON. */
  toJSON(): { domain: string; appId: string | undefined; tenantKey?: string } {
    return { domain: this.domain, appId: this.appId, ...(this.tenantKey === undefined ? {} : { tenantKey: this.tenantKey }) };
  }
}

/** What a store app's tenant client shares with the app's client. */
interface TenantOf {
  tenantKey: string;
  store: StoreAppTokens;
  secrets: Secrets;
}

/** A store app's own client has no tenant: its requests are refused at the call, pointing at `tenant()`. */
const STORE_ROOT: TokenSource = {
  token: () => Promise.reject(new TypeError("a store app's requests act in a tenant: send them through client.tenant(tenantKey)")),
  invalidate: () => undefined,
};

/** Options that moved to the governor; the client never used them. */
const MOVED = {
  limits: 'options.limits moved to the governor: pass new FairGovernor({ limits }) as a session\'s `governor`',
  redis: 'options.redis moved to the governor: pass new FairGovernor({ limits, redis }) as a session\'s `governor`',
} as const;

function refuseMovedOptions(options: object): void {
  for (const [name, message] of Object.entries(MOVED)) {
    if ((options as Record<string, unknown>)[name] !== undefined) throw new TypeError(`${message}; FeishuClient no longer takes it`);
  }
}
