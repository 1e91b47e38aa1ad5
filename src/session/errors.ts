/** Errors the session raises itself, besides the platform errors it passes on. */
export type SessionState = 'open' | 'finishing' | 'finished' | 'aborted' | 'failed';

/** An operation that the session's state does not allow, such as appending text after `finish()`. */
export class SessionStateError extends Error {
  readonly state: SessionState;

  constructor(operation: string, state: SessionState) {
    super(`cannot ${operation}: the session is ${state}`);
    this.name = 'SessionStateError';
    this.state = state;
  }
}
