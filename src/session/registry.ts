/**
 * The open sessions of this process: by the messages their cards are in (a card callback, a click on a Stop
 * button, finds the session that streams the card) and by client (`shutdown()` closes them before the
 * process exits). A session is listed from its start until it ends.
 */
export interface OpenSession {
  /** The client the session writes through (`shutdown({ client })` closes that client's sessions). */
  readonly client: object;
  /** Settles once the session ended: finished, aborted or failed, its card closed (or given up). */
  readonly ended: Promise<void>;
  /** `finished`, `aborted` or `failed` once ended. */
  readonly state: string;
  stop(): Promise<unknown>;
  abort(reason?: unknown): Promise<unknown>;
}

const open = new Set<OpenSession>();
const byMessage = new Map<string, OpenSession>();
const messagesOf = new Map<OpenSession, string[]>();

export function openSession(session: OpenSession): void {
  open.add(session);
}

export function listSession(messageId: string, session: OpenSession): void {
  byMessage.set(messageId, session);
  messagesOf.set(session, [...(messagesOf.get(session) ?? []), messageId]);
}

export function unlistSession(session: OpenSession): void {
  open.delete(session);
  for (const messageId of messagesOf.get(session) ?? []) if (byMessage.get(messageId) === session) byMessage.delete(messageId);
  messagesOf.delete(session);
}

/** The open session whose card is in `messageId`, if it is in this process. */
export function sessionOfMessage(messageId: string): OpenSession | undefined {
  return byMessage.get(messageId);
}

/** The open sessions (of `client`, when given). */
export function openSessions(client?: object): OpenSession[] {
  return [...open].filter((session) => client === undefined || session.client === client);
}
