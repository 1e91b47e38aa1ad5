/** Errors the session raises itself, besides the platform errors it passes on. */
import { FeishuError } from '../client/index.js';

export type SessionState = 'open' | 'finishing' | 'finished' | 'aborted' | 'failed';

/** An operation that the session's state does not allow, such as appending text after `finish()`. */
export class SessionStateError extends FeishuError {
  readonly kind = 'session_state' as const;
  readonly state: SessionState;

  constructor(operation: string, state: SessionState) {
    super(`cannot ${operation}: the session is ${state}`, undefined);
    this.name = 'SessionStateError';
    this.state = state;
  }

  get retryable(): boolean {
    return false;
  }
}
