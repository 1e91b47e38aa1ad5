export type { Governor, PermitRequest } from './governor.js';
export { FairGovernor, type FairGovernorOptions, type GovernorStats, type GovernorEvents, type ApiCounters } from './fair-governor.js';
export type { BudgetStore, TakeRequest, TakeResult } from './budget-store.js';
export { MemoryBudgetStore } from './memory-store.js';
export { FEISHU_LIMITS, type Limits, resolveLimits } from './limits.js';
export { governorFor, sequencesFor } from './registry.js';
export { RedisBudgetStore, type RedisBudgetStoreOptions } from './redis-store.js';
export { type SequenceStore, MemorySequenceStore, RedisSequenceStore } from './sequence-store.js';
export { delay } from './delay.js';
