/**
 * When CardKit refuses to create a card for lack of permission (the app has no `cardkit:card:write`
 * scope), a session streams through a message card instead (seed 004). The refusal is remembered per
 * client for 10 minutes, so the sessions that follow do not each spend a create call to learn it again,
 * and an app granted the scope meanwhile goes back to CardKit within 10 minutes.
 */
import { FeishuApiError, type FeishuClient } from '../client/index.js';

const REMEMBER_MS = 10 * 60 * 1000;
const refusals = new WeakMap<FeishuClient, { error: FeishuApiError; at: number }>();

/** True when the error says the app may not create CardKit cards (not a refusal of another call, such as the send). */
export function isCardKitRefused(error: unknown): error is FeishuApiError {
  return error instanceof FeishuApiError && error.category === 'permission' && error.endpoint === 'cardkit.card.create';
}

export function rememberRefusal(client: FeishuClient, error: FeishuApiError): void {
  refusals.set(client, { error, at: performance.now() });
}

/** The refusal CardKit answered the client less than 10 minutes ago, if any. */
export function recentRefusal(client: FeishuClient): FeishuApiError | undefined {
  const refusal = refusals.get(client);
  if (refusal && performance.now() - refusal.at < REMEMBER_MS) return refusal.error;
  refusals.delete(client);
  return undefined;
}
