/** `FeishuClient`: tenant tokens, typed CardKit and IM endpoints, classified errors. */
import { CardApi, CardElementApi } from './cardkit.js';
import { deadline } from './deadline.js';
import { type Domain, resolveDomain } from './domain.js';
import { MessageApi } from './im.js';
import { Secrets } from './redact.js';
import { type CallOptions, Requester } from './requester.js';
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
  readonly cardkit: { readonly v1: { readonly card: CardApi; readonly cardElement: CardElementApi } };
  readonly im: { readonly v1: { readonly message: MessageApi } };
  readonly #requester: Requester;
  readonly #tokens: TokenSource | undefined;
  /** The app secret and every tenant token this client has held: redacted from errors. */
  readonly #secrets = new Secrets();

  constructor(options: FeishuClientOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('new FeishuClient(options) needs an options object');
    refuseMovedOptions(options);
    const timeoutMs = requireTimeout(options.timeoutMs ?? 10_000, 'options.timeoutMs');
    if (options.fetch !== undefined && typeof options.fetch !== 'function') {
      throw new TypeError(`options.fetch must be a function; received ${describe(options.fetch)}`);
    }
    this.domain = resolveDomain(options.domain);
    this.appId = options.appId;
    this.#secrets.addSecret(options.appSecret);
    const transport = options.transport ?? fetchTransport(this.domain, options.fetch);
    this.#requester = new Requester(transport, timeoutMs, this.#secrets);
    this.#tokens = transport.managesTokens ? undefined : this.#tokenSource(options);
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

  #tokenSource(options: FeishuClientOptions): TokenSource {
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
  toJSON(): { domain: string; appId: string | undefined } {
    return { domain: this.domain, appId: this.appId };
  }
}

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
