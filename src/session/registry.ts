/**
 * The open sessions of this process: by the messages their cards are in (a card callback, a click on a Stop
 * button, finds the session that streams the card) and by client (`shutdown()` closes them before the
 * process exits). A session is listed from its start until it ends. Watchers (`watchSessions`: crash
 * recovery's journal, telemetry) hear of each session as it opens and as it ends.
 */
import type { SessionEvents } from './events.js';

export interface OpenSession {
  /** The client the session writes through (`shutdown({ client })` closes that client's sessions). */
  readonly client: object;
  /** Settles once the session ended: finished, aborted or failed, its card closed (or given up). */
  readonly ended: Promise<void>;
  /** `finished`, `aborted` or `failed` once ended. */
  readonly state: string;
  stop(): Promise<unknown>;
  abort(reason?: unknown): Promise<unknown>;
  /** `cardkit` or `message`. */
  readonly transport: string;
  /** Every card of the answer so far, in order. */
  readonly cards: readonly { cardId: string | null; messageId: string | null }[];
  /** The main element's text so far. */
  readonly text: string;
  /** The element of the card being written that holds the end of the main text. */
  readonly answerElementId: string;
  /** The last sequence used on the card being written. */
  readonly sequence: number;
  /** The main text as the card being written holds it. */
  readonly cardText: string;
  /** Elements the session removes from its card when it closes it. */
  readonly ephemeralElementIds: readonly string[];
  on<K extends keyof SessionEvents>(event: K, listener: (...args: SessionEvents[K]) => void): unknown;
  off<K extends keyof SessionEvents>(event: K, listener?: (...args: SessionEvents[K]) => void): unknown;
}

/** Told of every session of the process as it opens (its card created and opened) and once it ended. */
export interface SessionWatcher {
  opened?(session: OpenSession): void;
  ended?(session: OpenSession): void;
}

const watchers = new Set<SessionWatcher>();

/**
 * Calls `watcher` for each session opened from now on and each that ends; returns the function that stops
 * it. A watcher that throws becomes a process warning (`SessionWatcherError`), never the session's failure.
 */
export function watchSessions(watcher: SessionWatcher): () => void {
  watchers.add(watcher);
  return () => watchers.delete(watcher);
}

function tell(event: keyof SessionWatcher, session: OpenSession): void {
  for (const watcher of watchers) {
    try {
      watcher[event]?.(session);
    } catch (error) {
      process.emitWarning(error instanceof Error ? error : String(error), 'SessionWatcherError');
    }
  }
}

const open = new Set<OpenSession>();
const byMessage = new Map<string, OpenSession>();
const messagesOf = new Map<OpenSession, string[]>();

export function openSession(session: OpenSession): void {
  open.add(session);
  tell('opened', session);
}

export function listSession(messageId: string, session: OpenSession): void {
  byMessage.set(messageId, session);
  messagesOf.set(session, [...(messagesOf.get(session) ?? []), messageId]);
}

export function unlistSession(session: OpenSession): void {
  const wasOpen = open.delete(session);
  for (const messageId of messagesOf.get(session) ?? []) if (byMessage.get(messageId) === session) byMessage.delete(messageId);
  messagesOf.delete(session);
  if (wasOpen) tell('ended', session);
}

/** The open session whose card is in `messageId`, if it is in this process. */
export function sessionOfMessage(messageId: string): OpenSession | undefined {
  return byMessage.get(messageId);
}

/** The open sessions (of `client`, when given). */
export function openSessions(client?: object): OpenSession[] {
  return [...open].filter((session) => client === undefined || session.client === client);
}
