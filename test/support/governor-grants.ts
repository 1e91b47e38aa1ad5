/**
 * A `FairGovernor` on vitest's fake clock that records each permit it grants: the API asked for, the API it went
 * through (spill), the card, and when. For the governor's spill tests.
 */
import { vi } from 'vitest';
import { FairGovernor, type FairGovernorOptions, type PermitRequest } from '../../src/governor/index.js';

export interface Grant {
  /** The API the request named. */
  asked: string;
  /** The API it was granted through: `asked`, or one of its alternatives. */
  api: string;
  cardId: string | undefined;
  at: number;
}

/** `stepMs`: how far `drain` moves the clock at a time, until every permit asked for was granted. */
export function grantHarness(options: FairGovernorOptions, stepMs: number) {
  const governor = new FairGovernor({ ...options, now: () => Date.now() });
  const grants: Grant[] = [];
  let pending = 0;
  const acquire = (request: PermitRequest): Promise<void> => {
    pending++;
    return governor.acquire(request).then((granted) => {
      pending--;
      grants.push({ asked: request.api, api: granted ?? request.api, cardId: request.cardId, at: Date.now() });
    });
  };
  const drain = async (step = stepMs): Promise<void> => {
    for (let i = 0; pending > 0 && i < 10_000; i++) await vi.advanceTimersByTimeAsync(step);
  };
  return { governor, grants, acquire, drain };
}

/** The grants that went through `api`. */
export const through = (grants: Grant[], api: string) => grants.filter((grant) => grant.api === api);
