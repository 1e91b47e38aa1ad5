export type { Answered, Governor, PermitRequest } from './governor.js';
export { FairGovernor, type FairGovernorOptions, type GovernorStats, type GovernorEvents, type ApiCounters } from './fair-governor.js';
export type { BudgetStore, TakeRequest, TakeResult } from './budget-store.js';
export { MemoryBudgetStore } from './memory-store.js';
export { FEISHU_LIMITS, type Limits, resolveLimits } from './limits.js';
export { defaultGovernor } from './registry.js';
export type { RedisLike } from './redis.js';
export { RedisBudgetStore, type RedisBudgetStoreOptions } from './redis-store.js';
export {
  type SequenceStore,
  type SequenceStoreEvents,
  MemorySequenceStore,
  RedisSequenceStore,
  type RedisSequenceStoreOptions,
} from './sequence-store.js';
export { delay, MAX_TIMER_MS } from './delay.js';
