/**
 * Store (ISV) apps' tokens (reference §25): the platform pushes the app an `app_ticket` (hourly, or at once after
 * `app_ticket/resend`); `app_access_token` trades app id, secret and an unexpired ticket for an app token
 * (`a-…`); `tenant_access_token` trades that and a `tenant_key` the app is installed in for a tenant token
 * (`t-…`) that acts for the app in that tenant only. Every token follows the 2 h / 30 min rule (`tokens.ts`).
 * Fields at the top level, no `data`. Where the reference names no code (§25.4) the emulator chooses, as noted.
 */
import type { RequestContext } from '../context.js';
import { EmulatorError } from '../errors.js';
import type { RegisteredApp } from '../state.js';
import { appToken, expireSeconds, tenantToken } from '../tokens.js';
import { appByCredentials, tokenRoute } from './auth.js';
import type { Route } from './route.js';

/** A store app by its credentials; a custom app calling a store endpoint gets 10003 (the emulator's choice). */
function storeApp(ctx: RequestContext): { appId: string; app: RegisteredApp } {
  const found = appByCredentials(ctx);
  if (found.app.type !== 'store') {
    throw new EmulatorError(10003, 'a custom app gets its tokens from tenant_access_token/internal or app_access_token/internal');
  }
  return found;
}

const appAccessToken = tokenRoute('app_access_token', 'auth.appAccessToken.create', (ctx) => {
  const ticket = ctx.body.app_ticket;
  if (typeof ticket !== 'string' || ticket === '') throw new EmulatorError(10003, 'app_id, app_secret and app_ticket are required');
  const { appId } = storeApp(ctx);
  // Undocumented code (reference §25.2): 10012 "get app access token failed", the retryable one; a client
  // should ask for a new ticket (app_ticket/resend) and try again once it arrived.
  if (!ctx.storeApps.ticketValid(appId, ticket)) {
    throw new EmulatorError(10012, 'app_ticket is unknown or expired (tickets are valid for 3 hours); call app_ticket/resend and use the ticket pushed next');
  }
  const now = ctx.clock.now();
  const issued = appToken(ctx, appId, now);
  return { code: 0, msg: 'ok', app_access_token: issued.token, expire: expireSeconds(issued, now) };
});

const appTicketResend = tokenRoute('app_ticket/resend', 'auth.appTicket.resend', (ctx) => {
  const { appId, app } = appByCredentials(ctx);
  if (app.type !== 'store') throw new EmulatorError(10016, 'only store apps get app tickets');
  ctx.storeApps.resend(appId);
  return { code: 0, msg: 'ok' };
});

const tenantAccessToken = tokenRoute('tenant_access_token', 'auth.tenantAccessToken.create', (ctx) => {
  const { app_access_token: token, tenant_key: tenantKey } = ctx.body;
  if (typeof token !== 'string' || typeof tenantKey !== 'string' || !token || !tenantKey) {
    throw new EmulatorError(10003, 'app_access_token and tenant_key are required');
  }
  const now = ctx.clock.now();
  const info = ctx.state.appTokens.get(token);
  if (!info || info.revoked || info.expiresAt <= now) {
    const custom = ctx.state.tokens.get(token);
    if (custom && ctx.state.apps.get(custom.appId)?.type === 'custom') {
      throw new EmulatorError(10003, 'this is a custom app\'s token; custom apps get their tenant token from tenant_access_token/internal');
    }
    throw new EmulatorError(99991664, 'app_access_token is unknown, expired or revoked');
  }
  const app = ctx.state.apps.get(info.appId);
  // Undocumented code: 10013 "get tenant access token failed" for a tenant the app is not installed in.
  if (!app?.tenantKeys.includes(tenantKey)) throw new EmulatorError(10013, `the app is not installed in tenant ${tenantKey}`);
  const issued = tenantToken(ctx, info.appId, tenantKey, now);
  return { code: 0, msg: 'ok', tenant_access_token: issued.token, expire: expireSeconds(issued, now) };
});

export const storeAuthRoutes: Route[] = [appAccessToken, appTicketResend, tenantAccessToken];
