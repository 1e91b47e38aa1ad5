/**
 * Minting access tokens (reference §11.4, §18, §25.1). Every token lives `tokenLifetimeSec` (2 h). Asking again
 * while at least the renewal window (30 min) remains returns the same token with its remaining lifetime; inside
 * the window a new one is minted and the old one stays valid until it expires. A tenant token (`t-…`) is one per
 * (app, tenant); a store app's app token (`a-…`) one per app.
 */
import { randomBytes } from 'node:crypto';
import type { Services } from './context.js';

export interface IssuedToken {
  token: string;
  expiresAt: number;
}

/** The tenant token of `appId` in `tenantKey`: the current one, or a new one inside the renewal window. */
export function tenantToken(services: Services, appId: string, tenantKey: string, now: number): IssuedToken {
  const { tokens } = services.state;
  const current = newestValid(tokens, now, (info) => info.appId === appId && info.tenantKey === tenantKey);
  if (current && current.expiresAt - now >= services.options.tokenRenewWindowMs) return current;
  const issued = { token: `t-${randomBytes(24).toString('hex')}`, expiresAt: now + services.options.tokenLifetimeMs };
  tokens.set(issued.token, { appId, tenantKey, expiresAt: issued.expiresAt, revoked: false });
  return issued;
}

/** A store app's app access token: the current one, or a new one inside the renewal window. */
export function appToken(services: Services, appId: string, now: number): IssuedToken {
  const { appTokens } = services.state;
  const current = newestValid(appTokens, now, (info) => info.appId === appId);
  if (current && current.expiresAt - now >= services.options.tokenRenewWindowMs) return current;
  const issued = { token: `a-${randomBytes(24).toString('hex')}`, expiresAt: now + services.options.tokenLifetimeMs };
  appTokens.set(issued.token, { appId, expiresAt: issued.expiresAt, revoked: false });
  return issued;
}

/** Seconds left, as the token endpoints answer them in `expire`. */
export function expireSeconds(issued: IssuedToken, now: number): number {
  return Math.floor((issued.expiresAt - now) / 1000);
}

/** The unrevoked token of `tokens` that `mine` picks and that expires last; expired tokens are forgotten on the way. */
function newestValid<T extends { expiresAt: number; revoked: boolean }>(
  tokens: Map<string, T>,
  now: number,
  mine: (info: T) => boolean,
): IssuedToken | undefined {
  let newest: IssuedToken | undefined;
  for (const [token, info] of tokens) {
    if (info.expiresAt <= now) tokens.delete(token);
    else if (mine(info) && !info.revoked && (!newest || info.expiresAt > newest.expiresAt)) newest = { token, expiresAt: info.expiresAt };
  }
  return newest;
}
