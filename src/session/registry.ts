/**
 * The sessions of this process by the messages their cards are in, so that a card callback (a click on a
 * Stop button) finds the session that streams the card. A session is listed from its start until it ends.
 */
export interface Stoppable {
  stop(): Promise<unknown>;
}

const byMessage = new Map<string, Stoppable>();

export function listSession(messageId: string, session: Stoppable): void {
  byMessage.set(messageId, session);
}

export function unlistSession(session: Stoppable): void {
  for (const [messageId, listed] of byMessage) if (listed === session) byMessage.delete(messageId);
}

/** The open session whose card is in `messageId`, if it is in this process. */
export function sessionOfMessage(messageId: string): Stoppable | undefined {
  return byMessage.get(messageId);
}
