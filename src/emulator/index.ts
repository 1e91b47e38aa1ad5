/**
 * `feishu-card-session/emulator`: a local, faithful emulator of the Feishu open-platform APIs that
 * stream cards (custom and store apps' tokens, CardKit v1, IM v1 card messages), for tests and demos.
 */
export { startEmulator, type Emulator } from './emulator.js';
export type { EmulatorOptions, EmulatorLimits, EmulatorApp, EmulatorTableLimit, UserInput, GroupInput } from './options.js';
export { DEFAULT_LIMITS, DEFAULT_TABLE_LIMIT, DEFAULT_TENANT_KEY } from './options.js';
export type { FaultSpec, FaultKind, ActiveFault } from './faults.js';
export type { CardSnapshot, MessageSnapshot, StatsSnapshot, RequestCountsSnapshot } from './inspect.js';
export type { WriteLogEntry, MessageLogEntry, StateEvent } from './state.js';
export { ENDPOINTS } from './routes/index.js';
export { STREAMING_SUMMARY } from './streaming.js';
export { ERRORS as EMULATOR_ERROR_MESSAGES } from './errors.js';
export type { EmulatorUser, EmulatorChat } from './directory.js';
export type { Delivery, DeliveryAttempt } from './events/delivery.js';
export { REDELIVERY_DELAYS_MS } from './events/delivery.js';
export type { EventEnvelope, V1EventEnvelope, PushedEnvelope } from './events/envelope.js';
export { APP_TICKET_INTERVAL_MS, APP_TICKET_LIFETIME_MS } from './events/store-apps.js';
export type { UserMessageInput } from './events/inbound.js';
export type { CardClick, CardClickResult, Toast } from './events/card-actions.js';
export type { ClickedAction } from './events/envelope.js';
