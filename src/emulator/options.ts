import type { TableLimit } from './card-content.js';

/**
 * The tenant (company) custom apps, users and chats belong to unless told otherwise, and where a store app is
 * installed by default. Every event's `header.tenant_key` carried this value before the emulator modelled tenants.
 */
export const DEFAULT_TENANT_KEY = 'emulator_tenant';

/** An app registered with the emulator: what the token endpoints accept. */
export interface EmulatorApp {
  appId: string;
  appSecret: string;
  /**
   * `'custom'` (default): a custom (self-built) app, living in one tenant, that gets its tenant token from
   * `tenant_access_token/internal` with its id and secret. `'store'`: a store (ISV) app, installed in any number
   * of tenants, that gets an `app_ticket` pushed to its event URL, trades it for an `app_access_token`
   * (`a-…`) and that for one tenant token per tenant (`tenant_access_token` with a `tenant_key`), reference §25.
   */
  type?: 'custom' | 'store';
  /**
   * The tenants the app is in, by `tenant_key` (letters, digits, `_`, `-`, at most 64), e.g. `['tk_a', 'tk_b']`.
   * A custom app is in exactly one, its own; a store app in those it is installed in (more at run time with
   * `emulator.installApp()`). The first is the app's default tenant. Default `['emulator_tenant']`.
   */
  tenantKeys?: string[];
  /**
   * The scopes (permissions) the app has been granted, e.g. `['im:message']` for an app without CardKit.
   * Default: absent, the app has every scope. When given, an API whose scopes (any one of them, as its page
   * lists them) the app lacks answers 99991672 right after the token check (reference §0, §17; see
   * `src/emulator/scopes.ts` for the table). `[]` is an app with no scope at all.
   */
  scopes?: string[];
  /** The app's Verification Token, sent in every event's `header.token` and the URL challenge. Default `v_<appId>`. */
  verificationToken?: string;
  /** The app's Encrypt Key: events are pushed encrypted and signed with it. Default none (plain, unsigned). */
  encryptKey?: string;
  /** Where the app's events are POSTed (HTTP event subscription). Default none; see `emulator.subscribe()`. */
  eventUrl?: string;
  /** Where the app's card callbacks (`card.action.trigger`) are POSTed. Default `eventUrl`. */
  callbackUrl?: string;
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

/** How many markdown tables a card may hold, and what CardKit answers beyond that (reference §14, §27). */
export interface EmulatorTableLimit {
  /** Most tables allowed. Default 4, the documented cap per markdown component. */
  max?: number;
  /**
   * What `max` counts. `'markdown'` (default, documented [DOC D-md]): tables in each markdown component on
   * its own. `'card'` (field reports [OBS], e.g. `{ max: 5, per: 'card' }`): markdown tables in every
   * markdown component plus `table` components, across the whole card.
   */
  per?: 'markdown' | 'card';
  /**
   * Top-level code CardKit writes answer when a write leaves too many tables (undocumented, reference §27.4).
   * Default 200220 ("Failed to generate card content", the code every CardKit write page lists for card
   * content it cannot build); 11310 answers the sub-code itself. The msg carries
   * `ErrCode: 11310; ErrMsg: card table number over limit; ErrorValue: table;` either way.
   */
  cardKitCode?: 200220 | 11310;
}

export interface EmulatorOptions {
  /** Interface to bind. Default `127.0.0.1`: the emulator is a test tool, not a public server. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  /** Apps that may request tokens. Default one app, `cli_x` / `s_x`. */
  apps?: EmulatorApp[];
  /**
   * Users besides the default one (`u_you`), e.g. `[{ userId: 'u_ana', name: 'Ana' }]`; each gets a p2p chat with
   * every bot of its tenant. `tenantKey` defaults to `emulator_tenant`.
   */
  users?: UserInput[];
  /**
   * Group chats besides the default one, e.g. `[{ chatId: 'oc_team', name: 'Team', userIds: ['u_you', 'u_ana'] }]`;
   * every bot of the group's tenant is in it. `tenantKey` defaults to `emulator_tenant`; `userIds` to the tenant's
   * first user, and must be users of that tenant.
   */
  groups?: GroupInput[];
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
  /** The markdown table cap; any subset overrides the defaults `{ max: 4, per: 'markdown', cardKitCode: 200220 }`. */
  tableLimit?: EmulatorTableLimit;
  /**
   * What IM patch answers for a message recalled through `DELETE /open-apis/im/v1/messages/:message_id`.
   * The patch page lists both 230011 "recalled" and 230110 "deleted" without saying which a recall gives
   * (reference §26). Default 230011. Reply always answers 230011, as its page says.
   */
  recalledPatchCode?: 230011 | 230110;
}

/** An app after `checkApp`: its type and tenants filled in. */
export type CheckedApp = EmulatorApp & { type: 'custom' | 'store'; tenantKeys: string[] };

/** A user to add: a tenant-wide `userId`, a name, and its tenant (default `emulator_tenant`). */
export interface UserInput {
  userId: string;
  name: string;
  tenantKey?: string;
}

/** A group chat to add: `oc_…` id, name, its users (default the tenant's first user) and tenant (default `emulator_tenant`). */
export interface GroupInput {
  chatId: string;
  name: string;
  userIds?: string[];
  tenantKey?: string;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  apps: CheckedApp[];
  users: Required<UserInput>[];
  groups: (GroupInput & { tenantKey: string })[];
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
  tableLimit: TableLimit;
  recalledPatchCode: number;
}

export const DEFAULT_LIMITS: EmulatorLimits = {
  apiQps: 50,
  apiQpm: 1000,
  cardQps: 10,
  messagePatchQps: 5,
  chatSendQps: 5,
};

export const DEFAULT_TABLE_LIMIT: TableLimit = { max: 4, per: 'markdown', cardKitCode: 200220 };

const DAY_MS = 24 * 60 * 60 * 1000;

/** Fills defaults and rejects nonsense up front, naming the option and what was received. */
export function resolveOptions(options: EmulatorOptions = {}): ResolvedOptions {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    positiveInteger(`limits.${name}`, value);
  }
  const apps = options.apps ?? [{ appId: 'cli_x', appSecret: 's_x' }];
  if (!Array.isArray(apps) || apps.length === 0) {
    throw new TypeError('options.apps must be a non-empty array of { appId, appSecret, scopes? }');
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`options.port must be an integer 0..65535; received ${String(port)}`);
  }
  const cardRateLimitCode = options.cardRateLimitCode ?? 230020;
  if (cardRateLimitCode !== 230020 && cardRateLimitCode !== 99991400) {
    throw new RangeError(`options.cardRateLimitCode must be 230020 or 99991400; received ${String(cardRateLimitCode)}`);
  }
  const recalledPatchCode = options.recalledPatchCode ?? 230011;
  if (recalledPatchCode !== 230011 && recalledPatchCode !== 230110) {
    throw new RangeError(`options.recalledPatchCode must be 230011 or 230110; received ${String(recalledPatchCode)}`);
  }
  return {
    host: options.host ?? '127.0.0.1',
    port,
    apps: apps.map((app) => checkApp(app, 'options.apps')),
    users: (options.users ?? []).map((user) => checkUser(user, 'options.users')),
    groups: (options.groups ?? []).map((group) => checkGroup(group, 'options.groups')),
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
    tableLimit: resolveTableLimit(options.tableLimit),
    recalledPatchCode,
  };
}

function resolveTableLimit(option: EmulatorTableLimit | undefined): TableLimit {
  if (option !== undefined && (typeof option !== 'object' || option === null)) {
    throw new TypeError(`options.tableLimit must be an object { max?, per?, cardKitCode? }; received ${describe(option)}`);
  }
  const given = Object.entries(option ?? {}).filter(([, value]) => value !== undefined);
  const limit = { ...DEFAULT_TABLE_LIMIT, ...(Object.fromEntries(given) as EmulatorTableLimit) };
  if (typeof limit.max !== 'number' || !Number.isInteger(limit.max) || limit.max < 0) {
    throw new RangeError(`options.tableLimit.max must be an integer >= 0; received ${describe(limit.max)}`);
  }
  if (limit.per !== 'markdown' && limit.per !== 'card') {
    throw new RangeError(`options.tableLimit.per must be 'markdown' or 'card'; received ${describe(limit.per)}`);
  }
  if (limit.cardKitCode !== 200220 && limit.cardKitCode !== 11310) {
    throw new RangeError(`options.tableLimit.cardKitCode must be 200220 or 11310; received ${describe(limit.cardKitCode)}`);
  }
  return limit;
}

/**
 * A copy of `app` after checking it: non-empty string `appId` and `appSecret`, `scopes`, when given, an
 * array of non-empty strings, `type` custom or store, and `tenantKeys` (exactly one for a custom app), both
 * filled in with their defaults. `where` names the option or the call in the TypeError.
 */
export function checkApp(app: EmulatorApp, where: string): CheckedApp {
  if (typeof app?.appId !== 'string' || !app.appId || typeof app.appSecret !== 'string' || !app.appSecret) {
    throw new TypeError(`${where}: appId and appSecret must be non-empty strings; received ${describe(app)}`);
  }
  const { scopes } = app;
  if (scopes !== undefined && (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string' && scope !== ''))) {
    throw new TypeError(`${where}: scopes, when given, must be an array of non-empty strings; received ${describe(scopes)}`);
  }
  for (const key of ['verificationToken', 'encryptKey'] as const) {
    if (app[key] !== undefined && (typeof app[key] !== 'string' || app[key] === '')) throw new TypeError(`${where}: ${key}, when given, must be a non-empty string`);
  }
  if (app.eventUrl !== undefined) checkEventUrl(app.eventUrl, `${where}: eventUrl`);
  if (app.callbackUrl !== undefined) checkEventUrl(app.callbackUrl, `${where}: callbackUrl`);
  const type = app.type ?? 'custom';
  if (type !== 'custom' && type !== 'store') throw new TypeError(`${where}: type must be 'custom' or 'store'; received ${describe(app.type)}`);
  const tenantKeys = app.tenantKeys ?? [DEFAULT_TENANT_KEY];
  if (!Array.isArray(tenantKeys) || tenantKeys.length === 0) {
    throw new TypeError(`${where}: tenantKeys, when given, must be a non-empty array of tenant keys; received ${describe(app.tenantKeys)}`);
  }
  for (const key of tenantKeys) checkTenantKey(key, `${where}: tenantKeys`);
  if (new Set(tenantKeys).size !== tenantKeys.length) throw new TypeError(`${where}: tenantKeys has a tenant twice; received ${describe(tenantKeys)}`);
  if (type === 'custom' && tenantKeys.length !== 1) {
    throw new TypeError(`${where}: a custom app belongs to exactly one tenant (its own); received tenantKeys ${describe(tenantKeys)}. Use type: 'store' for an app installed in several tenants`);
  }
  return {
    appId: app.appId,
    appSecret: app.appSecret,
    type,
    tenantKeys: [...tenantKeys],
    ...(scopes === undefined ? {} : { scopes: [...scopes] }),
    ...(app.verificationToken === undefined ? {} : { verificationToken: app.verificationToken }),
    ...(app.encryptKey === undefined ? {} : { encryptKey: app.encryptKey }),
    ...(app.eventUrl === undefined ? {} : { eventUrl: app.eventUrl }),
    ...(app.callbackUrl === undefined ? {} : { callbackUrl: app.callbackUrl }),
  };
}

/** A tenant key: letters, digits, `_` or `-`, at most 64 (real ones are 16 hex digits, e.g. `2ed263bf32cf1651`). */
export function checkTenantKey(key: unknown, where: string): string {
  if (typeof key !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(key)) {
    throw new TypeError(`${where}: a tenant key is letters, digits, _ or -, at most 64; received ${describe(key)}`);
  }
  return key;
}

/** A user: a user_id (letters, digits, `_`, `-`, at most 64), a name, and a tenant (default `emulator_tenant`). */
export function checkUser(user: unknown, where: string): Required<UserInput> {
  const u = user as { userId?: unknown; name?: unknown; tenantKey?: unknown } | null;
  if (typeof u?.userId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(u.userId) || typeof u.name !== 'string' || u.name.trim() === '') {
    throw new TypeError(`${where}: a user needs a userId (letters, digits, _ or -, at most 64) and a non-blank name; received ${describe(user)}`);
  }
  return { userId: u.userId, name: u.name, tenantKey: u.tenantKey === undefined ? DEFAULT_TENANT_KEY : checkTenantKey(u.tenantKey, `${where}: tenantKey`) };
}

/** A group chat: a chat_id (`oc_` and letters, digits, `_`), a name, optionally its users, and a tenant (default `emulator_tenant`). */
export function checkGroup(group: unknown, where: string): GroupInput & { tenantKey: string } {
  const g = group as { chatId?: unknown; name?: unknown; userIds?: unknown; tenantKey?: unknown } | null;
  if (typeof g?.chatId !== 'string' || !/^oc_[A-Za-z0-9_]{1,61}$/.test(g.chatId) || typeof g.name !== 'string' || g.name.trim() === '') {
    throw new TypeError(`${where}: a group needs a chatId (oc_ and letters, digits or _) and a non-blank name; received ${describe(group)}`);
  }
  if (g.userIds !== undefined && (!Array.isArray(g.userIds) || !g.userIds.every((id) => typeof id === 'string'))) {
    throw new TypeError(`${where}: userIds, when given, must be an array of user ids`);
  }
  return {
    chatId: g.chatId,
    name: g.name,
    tenantKey: g.tenantKey === undefined ? DEFAULT_TENANT_KEY : checkTenantKey(g.tenantKey, `${where}: tenantKey`),
    ...(g.userIds === undefined ? {} : { userIds: [...g.userIds] }),
  };
}

/** An event URL: http or https, absolute. */
export function checkEventUrl(url: unknown, where: string): string {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new TypeError(`${where} must be an absolute http(s) URL; received ${describe(url)}`);
  }
  return url as string;
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
