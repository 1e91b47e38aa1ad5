/**
 * The governor a session uses when it is given none: one per client object, in this process, with
 * Feishu's default limits. Nothing is read from the client; an app that sets its limits or shares its
 * budget through Redis builds its own `FairGovernor` and passes it to every session.
 */
import { FairGovernor } from './fair-governor.js';

const defaults = new WeakMap<object, FairGovernor>();

/** The in-memory governor, with Feishu's default limits, that every session of `client` given no governor shares. */
export function defaultGovernor(client: object): FairGovernor {
  let governor = defaults.get(client);
  if (!governor) defaults.set(client, (governor = new FairGovernor()));
  return governor;
}
