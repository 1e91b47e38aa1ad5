/**
 * Custom apps' tokens (reference §11.4, §18, §25.1) and the token check of every other API. A custom app lives in
 * one tenant, its own: `tenant_access_token/internal` and `app_access_token/internal` answer the tenant token of
 * that tenant (the latter in both fields, as its page's example shows). Store apps use `store-auth.ts`.
 */
import type { RequestContext, Services } from '../context.js';
import { EmulatorError } from '../errors.js';
import type { Caller, RegisteredApp } from '../state.js';
import { expireSeconds, tenantToken } from '../tokens.js';
import type { Route } from './route.js';

/** A token endpoint: POST, no bearer token (it takes the app's credentials), its fields at the top level. */
export function tokenRoute(path: string, endpoint: string, handle: Route['handle']): Route {
  return { method: 'POST', path: `/open-apis/auth/v3/${path}`, endpoint, auth: false, topLevel: true, handle };
}

/** The app `app_id` and `app_secret` name, or 10003 (missing, unknown app) / 10015 (wrong secret). */
export function appByCredentials(ctx: RequestContext): { appId: string; app: RegisteredApp } {
  const { app_id: appId, app_secret: appSecret } = ctx.body;
  if (typeof appId !== 'string' || typeof appSecret !== 'string' || !appId || !appSecret) {
    throw new EmulatorError(10003, 'app_id and app_secret are required');
  }
  const app = ctx.state.apps.get(appId);
  if (app === undefined) throw new EmulatorError(10003, 'app_id is not registered with the emulator');
  if (app.secret !== appSecret) throw new EmulatorError(10015);
  return { appId, app };
}

/** A custom app by its credentials; a store app is told where its tokens come from (10003, the emulator's choice). */
function customApp(ctx: RequestContext): { appId: string; app: RegisteredApp } {
  const found = appByCredentials(ctx);
  if (found.app.type === 'store') {
    throw new EmulatorError(10003, 'a store app gets its tenant tokens from app_access_token (with an app_ticket) and tenant_access_token (with a tenant_key)');
  }
  return found;
}

/** A custom app's tenant token (of its one tenant) and the seconds it has left. */
function customTenantToken(ctx: RequestContext): { token: string; expire: number } {
  const { appId, app } = customApp(ctx);
  const now = ctx.clock.now();
  const issued = tenantToken(ctx, appId, app.tenantKeys[0]!, now);
  return { token: issued.token, expire: expireSeconds(issued, now) };
}

const tenantTokenInternal = tokenRoute('tenant_access_token/internal', 'auth.tenantAccessToken.internal', (ctx) => {
  const { token, expire } = customTenantToken(ctx);
  return { code: 0, msg: 'ok', tenant_access_token: token, expire };
});

/** A custom app's app_access_token is its tenant token: the page's example shows one `t-…` value in both fields. */
const appTokenInternal = tokenRoute('app_access_token/internal', 'auth.appAccessToken.internal', (ctx) => {
  const { token, expire } = customTenantToken(ctx);
  return { code: 0, msg: 'ok', app_access_token: token, expire, tenant_access_token: token };
});

/**
 * The app and tenant a bearer token acts for, or the gateway's token error (HTTP 400, reference §17): none
 * 99991661; a store app's app_access_token where a tenant token is needed 99991671; unknown, expired or
 * revoked 99991663.
 */
export function authenticate(services: Services, header: string | undefined): Caller {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) throw new EmulatorError(99991661);
  const token = match[1]!;
  const info = services.state.tokens.get(token);
  if (!info || info.revoked || info.expiresAt <= services.clock.now()) {
    throw new EmulatorError(services.state.appTokens.has(token) ? 99991671 : 99991663);
  }
  return { appId: info.appId, tenantKey: info.tenantKey };
}

export const authRoutes: Route[] = [tenantTokenInternal, appTokenInternal];
