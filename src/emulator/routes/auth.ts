/**
 * Tenant access tokens (reference §11.4, §18). A token lives `tokenLifetimeSec`; asking again while
 * more than the renewal window remains returns the same token with its remaining lifetime, and only
 * inside the window is a new one minted, the old one staying valid until it expires.
 */
import { randomBytes } from 'node:crypto';
import type { Services } from '../context.js';
import { EmulatorError } from '../errors.js';
import type { Route } from './route.js';

const tokenInternal: Route = {
  method: 'POST',
  path: '/open-apis/auth/v3/tenant_access_token/internal',
  endpoint: 'auth.tenantAccessToken.internal',
  auth: false,
  topLevel: true,
  handle(ctx) {
    const { app_id: appId, app_secret: appSecret } = ctx.body;
    if (typeof appId !== 'string' || typeof appSecret !== 'string' || !appId || !appSecret) {
      throw new EmulatorError(10003, 'app_id and app_secret are required');
    }
    const app = ctx.state.apps.get(appId);
    if (app === undefined) throw new EmulatorError(10003, 'app_id is not registered with the emulator');
    if (app.secret !== appSecret) throw new EmulatorError(10015);
    const now = ctx.clock.now();
    const { token, expiresAt } = currentOrNewToken(ctx, appId, now);
    return { code: 0, msg: 'ok', tenant_access_token: token, expire: Math.floor((expiresAt - now) / 1000) };
  },
};

function currentOrNewToken(services: Services, appId: string, now: number): { token: string; expiresAt: number } {
  let newest: { token: string; expiresAt: number } | undefined;
  for (const [token, info] of services.state.tokens) {
    if (info.expiresAt <= now) services.state.tokens.delete(token);
    else if (info.appId === appId && !info.revoked && (!newest || info.expiresAt > newest.expiresAt)) {
      newest = { token, expiresAt: info.expiresAt };
    }
  }
  if (newest && newest.expiresAt - now >= services.options.tokenRenewWindowMs) return newest;
  const token = `t-${randomBytes(24).toString('hex')}`;
  const expiresAt = now + services.options.tokenLifetimeMs;
  services.state.tokens.set(token, { appId, expiresAt, revoked: false });
  return { token, expiresAt };
}

/** The app a bearer token belongs to, or the gateway's token error (HTTP 400, reference §17). */
export function authenticate(services: Services, header: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) throw new EmulatorError(99991661);
  const info = services.state.tokens.get(match[1]!);
  if (!info || info.revoked || info.expiresAt <= services.clock.now()) throw new EmulatorError(99991663);
  return info.appId;
}

export const authRoutes: Route[] = [tokenInternal];
