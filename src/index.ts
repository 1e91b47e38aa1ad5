export * from './client/index.js';
export * from './session/index.js';
export { type Governor, type PermitRequest, LocalGovernor, type LocalGovernorOptions, FEISHU_LIMITS, type Limits, governorFor } from './governor/index.js';
export { type StreamSource, textPieces } from './adapters/index.js';
