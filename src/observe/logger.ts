/**
 * The logger hook: nothing is logged unless a logger is set. The shape is pino's (`logger.warn(obj, msg)`),
 * so a pino, bunyan-style or console-backed logger fits. Every line carries an `event` name to filter on;
 * errors are described (`err`: type, message, kind, code, log id), never passed as objects, and every
 * text the library did not write is redacted of the app secrets and tokens of every client.
 */
import { codeOf, describeError, describeReason } from './describe.js';
import { type Observer, type WriteAttempt, addObserver } from './hub.js';
import { type OpenSession, type SessionEnd, followSessions } from './sessions.js';

/** A pino-compatible logger: each level a method taking the fields, then the message. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** CardKit refuses to create cards for lack of permission: a session allowed to falls back to a message card. */
const PERMISSION_CODES = new Set([99991672, 99991676]);

let stopCurrent: (() => void) | undefined;

/**
 * Logs what the sessions of this process do through `logger` (pino-compatible), from now on (sessions open
 * already are followed from here): sessions opened (debug) and ended (info; `error` when failed), retried
 * and rate-limited writes (warn), writes refused for good (error), re-opens of streaming mode and rollovers
 * (info). A second call replaces the logger; `setLogger(undefined)` stops logging.
 * @example
 * import pino from 'pino';
 * setLogger(pino({ name: 'bot' }));
 */
export function setLogger(logger: Logger | undefined): void {
  stopCurrent?.();
  stopCurrent = undefined;
  if (logger === undefined) return;
  if (typeof logger !== 'object' || logger === null) throw new TypeError(`setLogger() takes a logger or undefined; received ${logger === null ? 'null' : typeof logger}`);
  for (const level of LEVELS) {
    if (typeof logger[level] !== 'function') throw new TypeError(`setLogger(): logger.${level} must be a function; received ${typeof logger[level]}`);
  }
  const observer: Observer = { attempt: (attempt) => logAttempt(logger, attempt) };
  const removeObserver = addObserver(observer);
  const unfollow = followSessions(
    {
      opened: (session) => logger.debug({ event: 'session_opened', ...ids(session) }, 'card session opened'),
      reopen: (session, event) =>
        logger.info({ event: 'streaming_reopened', ...ids(session), reason: event.reason, sequence: event.sequence }, 'streaming mode re-opened'),
      rollover: (session, event) =>
        logger.info(
          { event: 'rollover', ...ids(session), kind: event.kind, elementId: event.elementId, from: event.from, to: event.to },
          `answer continued in a new ${event.kind}`,
        ),
      ended: (session, end) => logEnd(logger, session, end),
    },
    { current: true },
  );
  stopCurrent = () => {
    removeObserver();
    unfollow();
  };
}

function ids(session: OpenSession): Record<string, unknown> {
  const card = session.cards.at(-1);
  return { transport: session.transport, cardId: card?.cardId ?? null, messageId: card?.messageId ?? null };
}

function logEnd(logger: Logger, session: OpenSession, end: SessionEnd): void {
  const { result, error } = end;
  const fields: Record<string, unknown> = {
    event: 'session_ended',
    ...ids(session),
    state: session.state,
    cards: session.cards.length,
    durationMs: Math.round(performance.now() - end.openedAt),
  };
  if (result) {
    Object.assign(fields, { writes: result.writes, retries: result.retries, reopens: result.reopens, aborted: result.aborted });
    if (result.aborted) fields.abortReason = describeReason(result.abortReason);
  }
  if (session.state === 'failed' || (error && !result)) {
    logger.error({ ...fields, err: describeError(error) }, 'card session failed');
    return;
  }
  logger.info(fields, result?.aborted ? 'card session aborted' : 'card session finished');
}

function logAttempt(logger: Logger, attempt: WriteAttempt): void {
  const { write, verdict, error } = attempt;
  for (const refusal of attempt.tokenRefusals) {
    logger.warn({ event: 'token_refused', api: write.api, code: codeOf(refusal.error), err: describeError(refusal.error) }, 'tenant token refused; the request was sent again with a fresh one');
  }
  if (verdict === 'accepted') return;
  const fields: Record<string, unknown> = {
    event: 'write_retried',
    api: write.api,
    cardId: write.cardId ?? null,
    messageId: write.messageId ?? null,
    attempt: attempt.attempt,
    sequence: attempt.sequence,
    code: codeOf(error),
    logId: attempt.logId ?? null,
    err: describeError(error),
  };
  if (attempt.retried) {
    fields.delayMs = Math.round(attempt.delayMs);
    if (verdict === 'rate_limited') logger.warn({ ...fields, event: 'rate_limited' }, 'card write rate-limited; it waits for the budget');
    else logger.warn(fields, 'card write retried');
    return;
  }
  switch (verdict) {
    case 'applied':
      logger.debug({ ...fields, event: 'write_applied' }, 'card write found applied already (its earlier answer was lost)');
      return;
    case 'aborted':
      logger.debug({ ...fields, event: 'write_aborted' }, 'card write aborted');
      return;
    case 'streaming_closed':
      logger.info({ ...fields, event: 'streaming_closed' }, 'streaming mode was closed; the session re-opens it or writes through patches');
      return;
    default:
      if (write.api === 'cardkit.card.create' && PERMISSION_CODES.has((error as { code?: number } | undefined)?.code ?? 0)) {
        logger.warn({ ...fields, event: 'cardkit_refused' }, 'CardKit refused to create the card (no permission); a session allowed to falls back to a message card');
        return;
      }
      logger.error({ ...fields, event: 'write_failed' }, 'card write refused for good');
  }
}
