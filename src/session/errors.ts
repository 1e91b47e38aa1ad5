/** Errors the session raises itself, besides the platform errors it passes on. All are `FeishuError`s. */
import { FeishuError } from '../client/index.js';

export type SessionState = 'open' | 'finishing' | 'finished' | 'aborted' | 'failed';

/** An error of the session's own: trying the same call again will not help. */
abstract class SessionError extends FeishuError {
  get retryable(): boolean {
    return false;
  }
}

/** An operation that the session's state does not allow, such as appending text after `finish()`. */
export class SessionStateError extends SessionError {
  readonly kind = 'session_state' as const;
  readonly state: SessionState;

  constructor(operation: string, state: SessionState, why = `the session is ${state}`) {
    super(`cannot ${operation}: ${why}`, undefined);
    this.name = 'SessionStateError';
    this.state = state;
  }
}

/** The user stopped the answer (`session.stop()`, the Stop button): the result's `abortReason`, and a piping source's end. */
export class SessionStoppedError extends SessionError {
  readonly kind = 'stopped' as const;

  constructor() {
    super('the user stopped the answer', undefined);
    this.name = 'SessionStoppedError';
  }
}

/** A write kept getting rate-limit answers for longer than `retry.maxThrottledMs`; the session stops. */
export class SessionDeadlineError extends SessionError {
  readonly kind = 'deadline' as const;
  readonly throttledMs: number;

  constructor(endpoint: string, throttledMs: number, cause: unknown) {
    super(`${endpoint}: still rate-limited after ${Math.round(throttledMs)} ms (retry.maxThrottledMs)`, endpoint, { cause });
    this.name = 'SessionDeadlineError';
    this.throttledMs = throttledMs;
  }
}

/** The card has used every sequence up to 2,147,483,646; the last one is kept for closing the card. */
export class SequenceExhaustedError extends SessionError {
  readonly kind = 'sequence_exhausted' as const;

  constructor(endpoint: string) {
    super(`${endpoint}: the card has used every sequence number (int32); only closing it remains possible`, endpoint);
    this.name = 'SequenceExhaustedError';
  }
}
