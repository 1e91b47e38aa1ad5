/**
 * Telemetry of the sessions: the logger hook (here) and metrics and spans through OpenTelemetry
 * (`feishu-card-session/opentelemetry`, a separate entry so that the main one never loads it).
 */
export { type Logger, setLogger } from './logger.js';
export type { ErrorDescription } from './describe.js';
