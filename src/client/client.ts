/** `FeishuClient`: tenant tokens, typed CardKit and IM endpoints, classified errors. */
import { CardApi, CardElementApi } from './cardkit.js';
import { type Domain, resolveDomain } from './domain.js';
import { MessageApi } from './im.js';
import { type CallOptions, Requester } from './requester.js';
import { ProvidedTokenSource, TenantTokenManager, type TokenProvider, type TokenSource } from './token.js';
import { type FetchLike, type Transport, fetchTransport } from './transport.js';
import { describe } from './validate.js';

export interface FeishuClientOptions {
  /** App id (`cli_…`). Required unless `tenantAccessToken` or a token-managing `transport` is given. */
  appId?: string;
  /** App secret. Kept in a private field; never logged, never in an error. */
  appSecret?: string;
  /** `'feishu'` (https://open.feishu.cn, default), `'lark'` (https://open.larksuite.com) or a base URL. */
  domain?: Domain;
  /** A `fetch` to use instead of the global one (a proxy agent, instrumentation). */
  fetch?: FetchLike;
  /** Per-request timeout in ms, each endpoint call overridable. Default 10000. */
  timeoutMs?: number;
  /**
   * Supplies tenant tokens instead of the built-in manager (store apps, a cache shared across processes).
   * Called with `forceRefresh: true` after the platform rejected the previous token.
   */
  tenantAccessToken?: TokenProvider;
  /** Advanced: how requests are sent; see `feishu-card-session/lark-sdk` for the official SDK client. */
  transport?: Transport;
  /**
   * Rate limits of this app, kept by the governor that every session created from this client shares.
   * Default Feishu's: `{ apiQps: 50, apiQpm: 1000, cardQps: 10 }` (tenants on other plans have other levels).
   */
  limits?: ClientLimits;
  /**
   * Share the rate-limit budget and card sequences with every replica of this bot through Redis (an
   * `ioredis` client). Default: counted in this process.
   */
  redis?: RedisLike;
  /**
   * The clock token lifetimes are measured on, epoch ms. Default `Date.now`. Tests pass the emulator's
   * (`() => emulator.clock.now()`) to exercise renewal without waiting two hours.
   */
  now?: () => number;
}

/**
 * The part of an `ioredis` client used to share the rate-limit budget and card sequences between
 * replicas (an optional peer dependency: pass your own `new Redis(…)`).
 */
export interface RedisLike {
  evalsha(sha: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
}

export interface ClientLimits {
  apiQps?: number;
  apiQpm?: number;
  cardQps?: number;
}

interface TokenAnswer {
  tenant_access_token: string;
  expire: number;
}

export class FeishuClient {
  /** Base URL requests go to. */
  readonly domain: string;
  readonly appId: string | undefined;
  /** The rate limits given in the options (defaults are filled by the governor). */
  readonly limits: Readonly<ClientLimits>;
  /** The Redis client given in the options, if any. */
  readonly redis: RedisLike | undefined;
  readonly cardkit: { readonly v1: { readonly card: CardApi; readonly cardElement: CardElementApi } };
  readonly im: { readonly v1: { readonly message: MessageApi } };
  readonly #requester: Requester;
  readonly #tokens: TokenSource | undefined;

  constructor(options: FeishuClientOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('new FeishuClient(options) needs an options object');
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError(`options.timeoutMs must be a finite number above 0; received ${describe(timeoutMs)}`);
    }
    if (options.fetch !== undefined && typeof options.fetch !== 'function') {
      throw new TypeError(`options.fetch must be a function; received ${describe(options.fetch)}`);
    }
    this.domain = resolveDomain(options.domain);
    this.limits = checkLimits(options.limits ?? {});
    if (options.redis !== undefined && (typeof options.redis?.evalsha !== 'function' || typeof options.redis.eval !== 'function')) {
      throw new TypeError('options.redis must be an ioredis client');
    }
    this.redis = options.redis;
    this.appId = options.appId;
    const transport = options.transport ?? fetchTransport(this.domain, options.fetch);
    this.#requester = new Requester(transport, timeoutMs);
    this.#tokens = transport.managesTokens ? undefined : this.#tokenSource(options);
    this.#requester.tokens = this.#tokens;
    this.cardkit = { v1: { card: new CardApi(this.#requester), cardElement: new CardElementApi(this.#requester) } };
    this.im = { v1: { message: new MessageApi(this.#requester) } };
  }

  /** The tenant access token requests are sent with now (cached; renewed inside the 30-minute window). */
  async tenantAccessToken(options: CallOptions = {}): Promise<string> {
    if (!this.#tokens) throw new TypeError('this client sends requests through a transport that manages its own tokens');
    const timeout = AbortSignal.timeout(options.timeoutMs ?? this.#requester.defaultTimeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    return this.#tokens.token(signal);
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
      return { token: answer.tenant_access_token, expireSec: answer.expire };
    }, options.now);
  }

  /** Keeps the secret and tokens out of `console.log(client)` and JSON. */
  toJSON(): { domain: string; appId: string | undefined } {
    return { domain: this.domain, appId: this.appId };
  }
}

function checkLimits(limits: ClientLimits): ClientLimits {
  if (typeof limits !== 'object' || limits === null) throw new TypeError('options.limits must be an object');
  for (const name of ['apiQps', 'apiQpm', 'cardQps'] as const) {
    const value = limits[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)) {
      throw new RangeError(`options.limits.${name} must be a number above 0; received ${describe(value)}`);
    }
  }
  return { ...limits };
}
