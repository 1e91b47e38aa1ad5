export * from './client/index.js';
export * from './session/index.js';
export {
  type Governor,
  type PermitRequest,
  FairGovernor,
  type FairGovernorOptions,
  type GovernorStats,
  type GovernorEvents,
  type BudgetStore,
  MemoryBudgetStore,
  RedisBudgetStore,
  type RedisBudgetStoreOptions,
  type SequenceStore,
  MemorySequenceStore,
  RedisSequenceStore,
  sequencesFor,
  FEISHU_LIMITS,
  type Limits,
  governorFor,
} from './governor/index.js';
export { type StreamSource, type TextPiece, pieceOf, textPieces } from './adapters/index.js';
