/** One governor per client (one client per app), shared by every session created from it. */
import type { FeishuClient } from '../client/index.js';
import type { Governor } from './governor.js';
import { LocalGovernor } from './local-governor.js';

const governors = new WeakMap<FeishuClient, Governor>();

export function governorFor(client: FeishuClient): Governor {
  let governor = governors.get(client);
  if (!governor) {
    governor = new LocalGovernor({ limits: client.limits });
    governors.set(client, governor);
  }
  return governor;
}
