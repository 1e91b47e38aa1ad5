/** An app registered with the emulator: what `tenant_access_token/internal` accepts. */
export interface EmulatorApp {
  appId: string;
  appSecret: string;
}

/** Rate limits the emulator enforces. Defaults are Feishu's (reference §16). */
export interface EmulatorLimits {
  /** Calls per second, per app, per API (sliding 1 s window). Default 50. */
  apiQps: number;
  /** Calls per minute, per app, per API (sliding 60 s window). Default 1000. */
  apiQpm: number;
  /** Operations per second on one card entity, across every CardKit write endpoint. Default 10. */
  cardQps: number;
  /** IM card patches per second on one message. Default 5. */
  messagePatchQps: number;
  /** IM sends and replies per second into one chat or to one user. Default 5. */
  chatSendQps: number;
}

export interface EmulatorOptions {
  /** Interface to bind. Default `127.0.0.1`: the emulator is a test tool, not a public server. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  /** Apps that may request tokens. Default one app, `cli_x` / `s_x`. */
  apps?: EmulatorApp[];
  /** Lifetime of a tenant token in seconds. Default 7200. */
  tokenLifetimeSec?: number;
  /**
   * A token request mints a new token only when the current one has less than this many seconds left;
   * before that it returns the same token with the remaining lifetime. Default 1800 (30 minutes).
   */
  tokenRenewWindowSec?: number;
  /** Streaming mode closes itself this long after it was last opened (writes do not extend it). Default 600000. */
  streamingTimeoutMs?: number;
  /** A card entity lives this long after creation. Default 14 days. */
  cardLifetimeMs?: number;
  /** Rate limits; any subset overrides the defaults. */
  limits?: Partial<EmulatorLimits>;
  /**
   * Code answered when the per-card 10/s limit is hit. Undocumented on the platform (reference §19.3);
   * 230020 follows the official plugin. Default 230020.
   */
  cardRateLimitCode?: 230020 | 99991400;
  /** Maximum card size in UTF-8 bytes of its serialized JSON. Default 30720 (30 KB). */
  maxCardBytes?: number;
  /** Request bodies above this many bytes are refused with HTTP 413. Default 4 MiB. */
  maxBodyBytes?: number;
  /** How long a control call keeps a card "in interaction" (writes get 200810) by default. Default 3000 ms. */
  interactionLockMs?: number;
  /**
   * Accept the flat settings form `{"streaming_mode":true}` that the official openclaw plugin sends, besides the
   * documented `{"config":{…}}`. Default false: the documented form only (reference §19.6).
   */
  acceptFlatSettings?: boolean;
  /** Initial speed of the emulator clock relative to real time. Default 1. */
  clockSpeed?: number;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  apps: EmulatorApp[];
  tokenLifetimeMs: number;
  tokenRenewWindowMs: number;
  streamingTimeoutMs: number;
  cardLifetimeMs: number;
  limits: EmulatorLimits;
  cardRateLimitCode: number;
  maxCardBytes: number;
  maxBodyBytes: number;
  interactionLockMs: number;
  acceptFlatSettings: boolean;
  clockSpeed: number;
}

export const DEFAULT_LIMITS: EmulatorLimits = {
  apiQps: 50,
  apiQpm: 1000,
  cardQps: 10,
  messagePatchQps: 5,
  chatSendQps: 5,
};

const DAY_MS = 24 * 60 * 60 * 1000;

/** Fills defaults and rejects nonsense up front, naming the option and what was received. */
export function resolveOptions(options: EmulatorOptions = {}): ResolvedOptions {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    positiveInteger(`limits.${name}`, value);
  }
  const apps = options.apps ?? [{ appId: 'cli_x', appSecret: 's_x' }];
  if (!Array.isArray(apps) || apps.length === 0) {
    throw new TypeError('options.apps must be a non-empty array of { appId, appSecret }');
  }
  for (const app of apps) {
    if (typeof app?.appId !== 'string' || !app.appId || typeof app.appSecret !== 'string' || !app.appSecret) {
      throw new TypeError(`options.apps entries need non-empty string appId and appSecret; received ${describe(app)}`);
    }
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`options.port must be an integer 0..65535; received ${String(port)}`);
  }
  const cardRateLimitCode = options.cardRateLimitCode ?? 230020;
  if (cardRateLimitCode !== 230020 && cardRateLimitCode !== 99991400) {
    throw new RangeError(`options.cardRateLimitCode must be 230020 or 99991400; received ${String(cardRateLimitCode)}`);
  }
  return {
    host: options.host ?? '127.0.0.1',
    port,
    apps: apps.map((a) => ({ appId: a.appId, appSecret: a.appSecret })),
    tokenLifetimeMs: positiveNumber('tokenLifetimeSec', options.tokenLifetimeSec ?? 7200) * 1000,
    tokenRenewWindowMs: nonNegativeNumber('tokenRenewWindowSec', options.tokenRenewWindowSec ?? 1800) * 1000,
    streamingTimeoutMs: positiveNumber('streamingTimeoutMs', options.streamingTimeoutMs ?? 600_000),
    cardLifetimeMs: positiveNumber('cardLifetimeMs', options.cardLifetimeMs ?? 14 * DAY_MS),
    limits,
    cardRateLimitCode,
    maxCardBytes: positiveInteger('maxCardBytes', options.maxCardBytes ?? 30 * 1024),
    maxBodyBytes: positiveInteger('maxBodyBytes', options.maxBodyBytes ?? 4 * 1024 * 1024),
    interactionLockMs: nonNegativeNumber('interactionLockMs', options.interactionLockMs ?? 3000),
    acceptFlatSettings: options.acceptFlatSettings ?? false,
    clockSpeed: positiveNumber('clockSpeed', options.clockSpeed ?? 1),
  };
}

function positiveNumber(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`options.${name} must be a finite number above 0; received ${describe(value)}`);
  }
  return value;
}

function nonNegativeNumber(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`options.${name} must be a finite number >= 0; received ${describe(value)}`);
  }
  return value;
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RangeError(`options.${name} must be a positive integer; received ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
  } catch {
    return typeof value;
  }
}
