/** Helpers for a bot's event handlers: the Stop button's callback, and redelivered events. */
export { type StopAnswer, type StopFromActionOptions, stopFromAction } from './stop-from-action.js';
export { EventDeduper, type EventDeduperOptions } from './event-deduper.js';
