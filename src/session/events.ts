/** What a session reports while it works, and what it resolves with. */

export interface FlushEvent {
  elementId: string;
  sequence: number;
  /** Characters (UTF-16 units) of the full text written. */
  length: number;
  /** How the text was written: streamed, or through an element patch once streaming could not be re-opened. */
  via: 'content' | 'patch';
}

export interface RetryEvent {
  /** Endpoint name of the write being retried. */
  api: string;
  /** The attempt that failed, from 1. */
  attempt: number;
  /** How long the session waits before the next attempt. */
  delayMs: number;
  error: Error;
}

export interface ReopenEvent {
  /** `scheduled`: before the 10-minute window closes; `expired`: after the platform said it had. */
  reason: 'scheduled' | 'expired';
  sequence: number;
}

/**
 * The answer outgrew where it was. `element`: a markdown element holds at most 4 tables, so the text
 * continues in a new element added right after it (`from`, `to` are element ids). `card`: the card is
 * full (30 KB), so the answer continues in a continuation card sent right after it (`from`, `to` are
 * card ids; `messageId` is the new card's message).
 */
export type RolloverEvent =
  | {
      kind: 'element';
      /** The streamed element (as you named it) whose text continues. */
      elementId: string;
      from: string;
      to: string;
      cardId: string;
    }
  | {
      kind: 'card';
      /** The streamed element that filled the card. */
      elementId: string;
      from: string;
      to: string;
      cardId: string;
      messageId: string | null;
    };

export interface SessionResult {
  /** The first card (and its message): where the answer starts. */
  cardId: string;
  messageId: string | null;
  /** Every card of the answer in order: more than one when it outgrew a card (30 KB) and continued. */
  cards: { cardId: string; messageId: string | null }[];
  /** Final text of the main element. */
  text: string;
  /** Final text of every streamed element. */
  texts: Record<string, string>;
  /** Last sequence used on the last card. */
  sequence: number;
  /** Writes the platform accepted (content, settings, patches). */
  writes: number;
  retries: number;
  reopens: number;
  /** True when the session ended through `abort()`, its signal, or a failing source. */
  aborted: boolean;
  /** When aborted: the reason given to `abort(reason)`, the signal's reason, or the source's error. */
  abortReason?: unknown;
}

export interface SessionEvents {
  flush: [FlushEvent];
  retry: [RetryEvent];
  reopen: [ReopenEvent];
  rollover: [RolloverEvent];
  /** A fatal error: the session stopped; `finish()` rejects with the same error. */
  error: [Error];
  finish: [SessionResult];
}
