export { CardSession } from './card-session.js';
export type { StartOptions, AttachOptions, SessionOptions, Recipient, PipeOptions, FinishOptions } from './options.js';
export type { SessionEvents, SessionResult, FlushEvent, RetryEvent, ReopenEvent, RolloverEvent, FallbackEvent, ToolStep, UnhandledEvent } from './events.js';
export type { SessionListeners } from './options.js';
export type { Transport as SessionTransport } from './card-writes.js';
export { SessionStateError, SessionDeadlineError, SequenceExhaustedError, type SessionState } from './errors.js';
export { DEFAULT_STREAMING_CONFIG, DEFAULT_ELEMENT_ID } from './card-template.js';
export type { RetryPolicy } from './retry.js';
export { type Clock, systemClock } from './clock.js';
