/**
 * App scopes (permissions). Each API lists the scopes that let an app call it, any one of them sufficing
 * (reference §0 and line 19; "权限要求（满足任一）" on every API page). An app registered with `scopes`
 * that holds none of an API's scopes is refused by the gateway with 99991672, HTTP 400, right after the
 * token check and before the per-app rate limit [INF: the order of the two gateway checks is not documented].
 * An app registered without `scopes` holds every scope.
 */
import type { RequestContext } from './context.js';
import { EmulatorError } from './errors.js';

/** The scopes each API accepts, any one of them, in the order its page lists them. */
export const SCOPES = {
  /** Every CardKit write: card create, update, settings, batch_update, element create/update/patch/content/delete. */
  cardWrite: ['cardkit:card:write'],
  /** `id_convert` (reference §10). */
  cardRead: ['cardkit:card:read'],
  /** IM send and reply (D-im-create, D-im-reply). */
  imSend: ['im:message', 'im:message:send_as_bot', 'im:message:send'],
  /** IM patch of a card message (seed 004). */
  imPatch: ['im:message', 'im:message:send_as_bot', 'im:message:update'],
  /** IM recall (reference §26). */
  imRecall: ['im:message', 'im:message:recall', 'im:message:send_as_bot'],
} as const satisfies Record<string, readonly string[]>;

/**
 * Refuses the request with 99991672 when the caller's app holds none of `scopes`. The `msg` follows the
 * platform's as field reports quote it (English sentence, then the Chinese one with the console link where the
 * scopes are requested); `error.permission_violations` lists the scopes as `action_scope_required`.
 */
export function requireScope(ctx: RequestContext, scopes: readonly string[] | undefined): void {
  if (scopes === undefined || scopes.length === 0) return;
  const granted = ctx.state.apps.get(ctx.appId)?.scopes ?? null;
  if (granted === null || scopes.some((scope) => granted.has(scope))) return;
  const list = `[${scopes.join(', ')}]`;
  const link = `https://open.feishu.cn/app/${ctx.appId}/auth?q=${scopes.join(',')}&op_from=openapi&token_type=tenant`;
  throw new EmulatorError(99991672, list, {
    msg: `Access denied. One of the following scopes is required: ${list}.应用尚未开通所需的应用身份权限：${list}，点击链接申请并开通任一权限即可：${link}`,
    errorFields: { permission_violations: scopes.map((subject) => ({ type: 'action_scope_required', subject })) },
  });
}
