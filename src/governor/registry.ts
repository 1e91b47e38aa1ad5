/** One governor per client (one client per app), shared by every session created from it. */
import type { FeishuClient } from '../client/index.js';
import { FairGovernor } from './fair-governor.js';

const governors = new WeakMap<FeishuClient, FairGovernor>();

export function governorFor(client: FeishuClient): FairGovernor {
  let governor = governors.get(client);
  if (!governor) {
    governor = new FairGovernor({ limits: client.limits });
    governors.set(client, governor);
  }
  return governor;
}
