/** What a session reports while it works, and what it resolves with. */
import type { Usage } from '../adapters/index.js';
import type { ToolStep, UnhandledEvent } from './answer-report.js';

export type { ToolStep, UnhandledEvent };

export interface FlushEvent {
  elementId: string;
  sequence: number;
  /** Characters (UTF-16 units) of the full text written. */
  length: number;
  /**
   * How the text was written: streamed (`content`); through an element patch (`patch`: once streaming could not
   * be re-opened, for an empty text, or spilled there while the content API's budget was spent), a full element
   * update (`update`: spilled, on a card the session created) or a batch_update (`batch`: spilled); or with the
   * whole message card (`message`, the message transport; sequence 0).
   */
  via: 'content' | 'patch' | 'update' | 'batch' | 'message';
  /**
   * How long the platform lacked this text, ms: from the oldest change the write carried (an append or a
   * `setText` the platform did not have yet) to the platform accepting the write. The delay a reader sees,
   * short of the card's typewriter animation.
   */
  lagMs: number;
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
 * card ids, or message ids for message cards; `messageId` is the new card's message). `cardId` is null
 * for message cards.
 */
export type RolloverEvent =
  | {
      kind: 'element';
      /** The streamed element (as you named it) whose text continues. */
      elementId: string;
      from: string;
      to: string;
      cardId: string | null;
      /** The message, for a message card. */
      messageId?: string;
    }
  | {
      kind: 'card';
      /** The streamed element that filled the card. */
      elementId: string;
      from: string;
      to: string;
      cardId: string | null;
      messageId: string | null;
    };

/**
 * CardKit refused to create the card for lack of permission (99991672, 99991676), so the session streams
 * through a message card instead (`messageFallback`). `remembered`: an earlier session of the client was
 * refused less than 10 minutes ago, so this one did not ask CardKit again.
 */
export interface FallbackEvent {
  from: 'cardkit';
  to: 'message';
  error: Error;
  remembered: boolean;
}

export interface SessionResult {
  /** How the cards were streamed: CardKit entities, or message cards patched through IM. */
  transport: 'cardkit' | 'message';
  /** The first card entity (and its message): where the answer starts; null for message cards. */
  cardId: string | null;
  messageId: string | null;
  /** Every card of the answer in order: more than one when it outgrew a card (30 KB) and continued. */
  cards: { cardId: string | null; messageId: string | null }[];
  /** Final text of the main element. */
  text: string;
  /** Final text of every streamed element. */
  texts: Record<string, string>;
  /** Last sequence used on the last card (0 for message cards, which have none). */
  sequence: number;
  /** Writes the platform accepted (content, settings, patches). */
  writes: number;
  retries: number;
  reopens: number;
  /** True when the session ended through `abort()`, its signal, or a failing source. */
  aborted: boolean;
  /** When aborted: the reason given to `abort(reason)`, the signal's reason, or the source's error. */
  abortReason?: unknown;
  /** The tool calls the piped sources made, in the order they started, with their status. */
  steps: ToolStep[];
  /** Token usage, when the source reported it. */
  usage?: Usage;
  /** Why the model stopped (`stop`, `tool_calls`, `end_turn` …), when the source said. */
  finishReason?: string;
  /** Chunks of a known source its adapter did not handle, counted by `source: type`. */
  unhandled: Record<string, number>;
}

export interface SessionEvents {
  flush: [FlushEvent];
  retry: [RetryEvent];
  reopen: [ReopenEvent];
  rollover: [RolloverEvent];
  /** The session streams through a message card because CardKit refused (see `messageFallback`). */
  fallback: [FallbackEvent];
  /** A tool call of a piped source started, got its arguments, or ended (a copy of the step as it stands). */
  step: [ToolStep];
  /** The source reported token usage (the totals so far). */
  usage: [Usage];
  /** The source sent a chunk its adapter does not handle (never dropped silently). */
  unhandled: [UnhandledEvent];
  /** A fatal error: the session stopped; `finish()` rejects with the same error. */
  error: [Error];
  finish: [SessionResult];
}
