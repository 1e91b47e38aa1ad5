import { show } from './checks.js';

/** The platform's rate limits a governor keeps (reference §16), and the bounds a governor can keep. */
export interface Limits {
  /** Calls per second per app per API. Default 50. At least 1/60 (one call a minute). */
  apiQps: number;
  /** Calls per minute per app per API. Default 1000. At least 1. */
  apiQpm: number;
  /** Operations per second on one card. Default 10. At least 1/60 (one call a minute). */
  cardQps: number;
  /**
   * Updates per second to one message through IM patch (seed 004). Default 5. At least 1/60 (one
   * call a minute). Paces writes whose `PermitRequest.messageId` names the message (reference §16).
   */
  messageQps: number;
}

export const FEISHU_LIMITS: Readonly<Limits> = { apiQps: 50, apiQpm: 1000, cardQps: 10, messageQps: 5 };

/**
 * The slowest rate a governor keeps: one call a minute. Below it the spacing between calls grows
 * past anything a timer, a session or a user waits for, and the card (or message) would stay streaming forever.
 */
const PER_MINUTE: Record<keyof Limits, number> = { apiQps: 60, apiQpm: 1, cardQps: 60, messageQps: 60 };

/**
 * Fills Feishu's defaults for the limits not given (`undefined` counts as not given) and checks the
 * rest: each a finite number allowing at least one call a minute, else a RangeError naming it.
 */
export function resolveLimits(limits: Partial<Limits> = {}, name = 'limits'): Limits {
  if (typeof limits !== 'object' || limits === null) throw new TypeError(`${name} must be an object; received ${String(limits)}`);
  const given = Object.entries(limits).filter(([, value]) => value !== undefined);
  const resolved: Limits = { ...FEISHU_LIMITS, ...Object.fromEntries(given) };
  for (const key of Object.keys(FEISHU_LIMITS) as (keyof Limits)[]) {
    const value: unknown = resolved[key];
    const perMinute = PER_MINUTE[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value * perMinute < 1) {
      const least = perMinute === 1 ? '1' : `1/${perMinute} (one call a minute)`;
      throw new RangeError(`${name}.${key} must be a finite number of at least ${least}; received ${show(value)}`);
    }
  }
  return resolved;
}
