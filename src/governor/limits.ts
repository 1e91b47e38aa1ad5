/** The platform's rate limits a governor keeps (reference §16). */
export interface Limits {
  /** Calls per second per app per API. Default 50. */
  apiQps: number;
  /** Calls per minute per app per API. Default 1000. */
  apiQpm: number;
  /** Operations per second on one card. Default 10. */
  cardQps: number;
}

export const FEISHU_LIMITS: Readonly<Limits> = { apiQps: 50, apiQpm: 1000, cardQps: 10 };

export function resolveLimits(limits: Partial<Limits> = {}): Limits {
  const given = Object.entries(limits).filter(([, value]) => value !== undefined);
  const resolved = { ...FEISHU_LIMITS, ...Object.fromEntries(given) };
  for (const [name, value] of Object.entries(resolved)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(`limits.${name} must be a number above 0; received ${String(value)}`);
    }
  }
  return resolved;
}
