/** Errors the session raises itself, besides the platform errors it passes on. */
import { FeishuError } from '../client/index.js';

export type SessionState = 'open' | 'finishing' | 'finished' | 'aborted' | 'failed';

/** An operation that the session's state does not allow, such as appending text after `finish()`. */
export class SessionStateError extends FeishuError {
  readonly kind = 'session_state' as const;
  readonly state: SessionState;

  constructor(operation: string, state: SessionState, why = `the session is ${state}`) {
    super(`cannot ${operation}: ${why}`, undefined);
    this.name = 'SessionStateError';
    this.state = state;
  }

  get retryable(): boolean {
    return false;
  }
}

/** A write kept getting rate-limit answers for longer than `retry.maxThrottledMs`; the session stops. */
export class SessionDeadlineError extends FeishuError {
  readonly kind = 'deadline' as const;
  readonly throttledMs: number;

  constructor(endpoint: string, throttledMs: number, cause: unknown) {
    super(`${endpoint}: still rate-limited after ${Math.round(throttledMs)} ms (retry.maxThrottledMs)`, endpoint, { cause });
    this.name = 'SessionDeadlineError';
    this.throttledMs = throttledMs;
  }

  get retryable(): boolean {
    return false;
  }
}

/** The card has used every sequence up to 2,147,483,646; the last one is kept for closing the card. */
export class SequenceExhaustedError extends FeishuError {
  readonly kind = 'sequence_exhausted' as const;

  constructor(endpoint: string) {
    super(`${endpoint}: the card has used every sequence number (int32); only closing it remains possible`, endpoint);
    this.name = 'SequenceExhaustedError';
  }

  get retryable(): boolean {
    return false;
  }
}
