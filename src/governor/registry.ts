/**
 * One governor and one sequence store per client (one client per app), shared by every session
 * created from it: in this process, or in Redis when the client was given `redis`.
 */
import type { FeishuClient } from '../client/index.js';
import { FairGovernor } from './fair-governor.js';
import { resolveLimits } from './limits.js';
import { RedisBudgetStore } from './redis-store.js';
import { MemorySequenceStore, RedisSequenceStore, type SequenceStore } from './sequence-store.js';

const shared = new WeakMap<FeishuClient, { governor: FairGovernor; sequences: SequenceStore }>();

function sharedFor(client: FeishuClient) {
  let entry = shared.get(client);
  if (!entry) {
    const limits = resolveLimits(client.limits);
    const appId = client.appId ?? 'app';
    entry = client.redis
      ? {
          governor: new FairGovernor({ limits, store: new RedisBudgetStore(client.redis, limits, { appId }) }),
          sequences: new RedisSequenceStore(client.redis, `fcs:${appId}`),
        }
      : { governor: new FairGovernor({ limits }), sequences: new MemorySequenceStore() };
    shared.set(client, entry);
  }
  return entry;
}

/** The governor every session of this client shares. */
export function governorFor(client: FeishuClient): FairGovernor {
  return sharedFor(client).governor;
}

/** The sequence store every session of this client shares. */
export function sequencesFor(client: FeishuClient): SequenceStore {
  return sharedFor(client).sequences;
}
