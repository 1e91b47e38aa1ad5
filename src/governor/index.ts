export type { Governor, PermitRequest } from './governor.js';
export { LocalGovernor, type LocalGovernorOptions, delay } from './local-governor.js';
export { FEISHU_LIMITS, type Limits, resolveLimits } from './limits.js';
export { governorFor } from './registry.js';
