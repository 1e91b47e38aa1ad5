/** `FairGovernor`'s options, their defaults and bounds, checked at construction. */
import { type BudgetStore, MAX_MARGIN_MS } from './budget-store.js';
import { duration, positiveInteger, show } from './checks.js';
import { type Limits, resolveLimits } from './limits.js';
import { MemoryBudgetStore } from './memory-store.js';
import { type RedisLike, assertRedis } from './redis.js';
import { RedisBudgetStore } from './redis-store.js';
import { MemorySequenceStore, RedisSequenceStore, type SequenceStore } from './sequence-store.js';

export interface FairGovernorOptions {
  /**
   * The app's rate limits (reference §16). Default Feishu's:
   * `{ apiQps: 50, apiQpm: 1000, cardQps: 10, messageQps: 5 }` (tenants on other plans have other
   * levels). Each must be finite and allow at least one call a minute (`apiQps`, `cardQps`,
   * `messageQps` >= 1/60, `apiQpm` >= 1), else a RangeError.
   */
  limits?: Partial<Limits>;
  /**
   * An `ioredis` client: the budget and the card sequences are then shared with every replica of the
   * bot through Redis (keys `fcs:<appId>:…`). Default: counted in this process.
   * @example new FairGovernor({ redis: new Redis(process.env.REDIS_URL), appId })
   */
  redis?: RedisLike;
  /**
   * Spill: when a card's text write would wait for the content API's budget (at least 250 ms), and another API
   * that carries a full text (the request's `alternatives`: element patch, batch_update) has budget and no write
   * of its own waiting, the write goes through it. The content API stays the first choice (it drives the
   * typewriter); nothing spills from or onto an API the platform paused (a rate-limit answer). Default true;
   * false keeps every text write on the content API.
   */
  spill?: boolean;
  /** Names the app's budget and sequences in Redis; replicas of one bot use the same. Default `app`. */
  appId?: string;
  /**
   * A store app's tenant (`client.tenant(tenantKey)`): the platform counts each tenant's calls apart (reference
   * §25.4), so each tenant has a governor of its own; in Redis its budget is kept under `<appId>/<tenantKey>`.
   */
  tenantKey?: string;
  /** Advanced: where the budget is counted, instead of the one `redis` (or memory) gives. */
  store?: BudgetStore;
  /** Advanced: where card sequences are counted, instead of the one `redis` (or memory) gives. */
  sequences?: SequenceStore;
  /**
   * When the budget's store fails (Redis unreachable), the governor counts locally with the limits
   * divided by this many replicas, says so with a `fallback` event, and goes back to the store once it
   * answers again. Default 2.
   */
  fallbackReplicas?: number;
  /** Safety margin added to every window, ms, from 0 to 10000. Default 100. */
  safetyMarginMs?: number;
  /** Monotonic clock, ms. Default `performance.now`. */
  now?: () => number;
  /**
   * How long one Redis call (a budget check, a sequence) may take before the governor counts locally,
   * ms, from 1 to 60000. Default 1000.
   */
  redisTimeoutMs?: number;
}

export interface ResolvedGovernorOptions {
  limits: Limits;
  spill: boolean;
  marginMs: number;
  now: () => number;
  replicas: number;
  store: BudgetStore;
  sequences: SequenceStore;
}

export function resolveGovernorOptions(options: FairGovernorOptions): ResolvedGovernorOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError(`FairGovernor options must be an object; received ${show(options)}`);
  const limits = resolveLimits(options.limits, 'options.limits');
  const marginMs = duration(options.safetyMarginMs ?? 100, 'options.safetyMarginMs', 0, MAX_MARGIN_MS);
  if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError(`options.now must be a function; received ${show(options.now)}`);
  const now = options.now ?? (() => performance.now());
  const replicas = positiveInteger(options.fallbackReplicas ?? 2, 'options.fallbackReplicas');
  const timeoutMs = duration(options.redisTimeoutMs ?? 1000, 'options.redisTimeoutMs', 1, 60_000);
  const app = options.appId ?? 'app';
  if (typeof app !== 'string' || app === '') throw new TypeError(`options.appId must be a non-empty string; received ${show(app)}`);
  const { tenantKey } = options;
  if (tenantKey !== undefined && (typeof tenantKey !== 'string' || !/^[\w-]{1,64}$/.test(tenantKey))) {
    throw new TypeError(`options.tenantKey must be a tenant_key (letters, digits, _ or -, at most 64); received ${show(tenantKey)}`);
  }
  // Card sequences are the card's own; only the budget is the tenant's, but one namespace keeps both apart.
  const appId = tenantKey === undefined ? app : `${app}/${tenantKey}`;
  const { redis } = options;
  if (redis !== undefined) assertRedis(redis, 'options.redis');
  for (const name of ['store', 'sequences'] as const) {
    const given = options[name] as { take?: unknown; next?: unknown } | undefined;
    const method = name === 'store' ? 'take' : 'next';
    if (given !== undefined && typeof given?.[method] !== 'function') {
      throw new TypeError(`options.${name} must have a ${method}() method; received ${show(given)}`);
    }
  }
  const spill = options.spill ?? true;
  if (typeof spill !== 'boolean') throw new TypeError(`options.spill must be a boolean; received ${show(spill)}`);
  return {
    limits,
    spill,
    marginMs,
    now,
    replicas,
    store:
      options.store ??
      (redis ? new RedisBudgetStore(redis, limits, { appId, marginMs, timeoutMs }) : new MemoryBudgetStore(limits, { marginMs, now })),
    sequences: options.sequences ?? (redis ? new RedisSequenceStore(redis, { appId, timeoutMs, now }) : new MemorySequenceStore()),
  };
}
