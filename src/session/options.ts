/** Options of `CardSession.start()` and `CardSession.attach()`, with their defaults and checks. */
import { ELEMENT_ID_PATTERN, FeishuClient, INT32_MAX } from '../client/index.js';
import { type Governor, MAX_TIMER_MS } from '../governor/index.js';
import { DEFAULT_ELEMENT_ID } from './card-template.js';
import { type Clock, isClock, systemClock } from './clock.js';
import type { Transport } from './card-writes.js';
import type { SessionEvents } from './events.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import type { AgentCardOptions } from './agent/agent-options.js';
import type { StopButtonOptions } from './stop-button.js';

/** Where the card is sent: one of the IM receive id types, or a reply to a message. */
export type Recipient =
  | { chat_id: string }
  | { open_id: string }
  | { user_id: string }
  | { email: string }
  | { union_id: string }
  | { reply_to: string; in_thread?: boolean };

export interface PipeOptions {
  /** Finish the card when the source ends. Default true. */
  finish?: boolean;
  /** Element for the answer text. Default the session's `elementId`. */
  elementId?: string;
  /** Element for reasoning text (chat `reasoning_content`, Responses reasoning deltas); dropped when unset. */
  reasoningElementId?: string;
}

export interface FinishOptions {
  /** Chat-list summary. Default the first 50 characters of the answer. */
  summary?: string;
}

export interface SessionOptions {
  /** Optional AbortSignal: aborting it is `session.abort(signal.reason)`. */
  signal?: AbortSignal;
  /** The element `append()` and `pipe()` write to. Default `answer` (the default card's markdown element). */
  elementId?: string;
  /** Further markdown/plain_text elements to stream into with `append(delta, elementId)`, e.g. a reasoning panel. */
  extraElementIds?: string[];
  /**
   * The app's rate-limit budget and card sequences, shared by every session of the app (see
   * `FairGovernor`; pass one built with `redis` to share them between replicas). Default: one
   * in-memory governor with Feishu's limits per client (`defaultGovernor(client)`).
   */
  governor?: Governor;
  /**
   * The clock the streaming window is measured and scheduled on. Default real time (`systemClock`);
   * tests and the demo pass the emulator's (`emulator.clock`), which can run faster or jump.
   */
  clock?: Clock;
  /** How long streaming mode stays open after it was opened. Default 600000 (10 minutes, Feishu's). */
  streamingWindowMs?: number;
  /** Re-open streaming mode this long before the window closes. Default 90000. */
  reopenMarginMs?: number;
  /** Appended to the main element when the session is aborted, so readers see the answer was cut. Default `\n\n_(interrupted)_`. */
  interruptedText?: string;
  /** Appended to the main element when the user stopped the answer (`stop()`, the Stop button). Default `\n\n_(stopped)_`. */
  stoppedText?: string;
  /**
   * Appended to the main element of a card that is full (30 KB), before the answer goes on in a
   * continuation card. Default `\n\n_(continued below)_`.
   */
  continuedText?: string;
  /** Retries of transient failures. Default `{ maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 5000, maxThrottledMs: 600000 }`. */
  retry?: Partial<RetryPolicy>;
}

export interface StartOptions extends SessionOptions {
  /** Where to send the card. Omit to create the card only (send it yourself with `session.cardId`); the message transport needs it. */
  to?: Recipient;
  /** Header title of the default card. */
  title?: string;
  /**
   * The agent card: the model's reasoning in a collapsed panel ("Thinking…", then "Thought for N s"),
   * one line per tool step as it runs (with its arguments and result in a collapsed panel), the answer,
   * and an optional footer. `true` for the defaults, or options (see README "The agent card"). Builds
   * its own card: not with `card`, `elementId` or `extraElementIds`.
   */
  agent?: boolean | AgentCardOptions;
  /**
   * A Stop button under the answer (default card and agent card): its callback, handed to
   * `stopFromAction(event)`, stops the session; the card ends with `stoppedText`. `true` or `{ text }`.
   */
  stopButton?: boolean | StopButtonOptions;
  /**
   * Your own card instead of the default one; must contain `elementId` (and `extraElementIds`). Card JSON
   * 2.0; with the message transport also Card JSON 1.0 (no `schema`, elements at the top).
   */
  card?: Record<string, unknown>;
  /**
   * How the card is streamed. `cardkit` (default): a card entity, its text streamed into its elements
   * (CardKit, needs the `cardkit:card:write` scope). `message`: an interactive message with the card
   * inline, replaced whole through IM patch at most 5 times a second (seed 004); needs `to`.
   */
  transport?: Transport;
  /**
   * When CardKit refuses to create the card for lack of permission (99991672, 99991676), stream through
   * a message card instead and say so with a `fallback` event (a refusal is remembered for the client for
   * 10 minutes, so the next sessions go straight to message cards). Needs `to`. Default true.
   */
  messageFallback?: boolean;
  /**
   * Listeners added before the first request (what `session.on` adds after `start()` resolved): the way
   * to hear the `fallback` event and the retries of the start.
   * @example { on: { fallback: ({ error }) => log.warn('streaming through message cards', error) } }
   */
  on?: SessionListeners;
}

/** A listener per event, for `StartOptions.on`. */
export type SessionListeners = { [K in keyof SessionEvents]?: (...args: SessionEvents[K]) => void };

const EVENT_NAMES: readonly (keyof SessionEvents)[] = ['flush', 'retry', 'reopen', 'rollover', 'fallback', 'step', 'usage', 'unhandled', 'error', 'finish'];

/** The checked transport options of `start()`. */
export function checkTransport(options: StartOptions, to: Recipient | undefined): { transport: Transport; messageFallback: boolean; on: SessionListeners } {
  const transport = options.transport ?? 'cardkit';
  if (transport !== 'cardkit' && transport !== 'message') {
    throw new TypeError(`options.transport must be 'cardkit' or 'message'; received ${JSON.stringify(transport) ?? typeOf(transport)}`);
  }
  if (transport === 'message' && to === undefined) throw new TypeError("options.to is required with transport 'message': the card is sent as a message");
  const messageFallback = options.messageFallback ?? true;
  if (typeof messageFallback !== 'boolean') throw new TypeError(`options.messageFallback must be a boolean; received ${typeOf(messageFallback)}`);
  const on: unknown = options.on ?? {};
  if (typeof on !== 'object' || on === null || Array.isArray(on)) throw new TypeError(`options.on must be an object of listeners; received ${typeOf(on)}`);
  for (const [name, listener] of Object.entries(on)) {
    if (!EVENT_NAMES.includes(name as keyof SessionEvents)) throw new TypeError(`options.on.${name} is not a session event; events: ${EVENT_NAMES.join(', ')}`);
    if (typeof listener !== 'function') throw new TypeError(`options.on.${name} must be a function; received ${typeOf(listener)}`);
  }
  return { transport, messageFallback, on };
}

export interface AttachOptions extends SessionOptions {
  /** A card entity created (and sent) elsewhere by the same app: letters, digits, `_` or `-`, at most 64. */
  cardId: string;
  messageId?: string;
  /** The last sequence used on the card, if known. Default 0; a conflict moves it on by itself. */
  sequence?: number;
  /** When streaming mode was last opened, on the `now` clock, if known. Unknown: re-opened only when the platform says it closed. */
  streamingOpenedAt?: number;
  /** The elements' tags, if not markdown. Default markdown for every streamed element. */
  plainTextElementIds?: string[];
}

export interface ResolvedSessionOptions {
  signal: AbortSignal | undefined;
  elementId: string;
  elementIds: string[];
  governor: Governor | undefined;
  clock: Clock;
  streamingWindowMs: number;
  reopenMarginMs: number;
  interruptedText: string;
  stoppedText: string;
  continuedText: string;
  retry: RetryPolicy;
}

export function resolveSessionOptions(options: SessionOptions): ResolvedSessionOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const elementId = options.elementId ?? DEFAULT_ELEMENT_ID;
  const extra = options.extraElementIds ?? [];
  if (!Array.isArray(extra)) throw new TypeError('options.extraElementIds must be an array of element ids');
  const elementIds = [elementId, ...extra];
  for (const id of elementIds) {
    if (typeof id !== 'string' || !ELEMENT_ID_PATTERN.test(id)) {
      throw new TypeError(`element ids must match ${String(ELEMENT_ID_PATTERN)}; received ${JSON.stringify(id)}`);
    }
  }
  if (new Set(elementIds).size !== elementIds.length) throw new TypeError('options.extraElementIds repeats an element id');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError('options.signal must be an AbortSignal');
  }
  if ('now' in options) throw new TypeError('options.now was replaced by options.clock ({ now(), timer(ms, callback) }), e.g. emulator.clock');
  if (options.clock !== undefined && !isClock(options.clock)) {
    throw new TypeError('options.clock must have now() and timer(ms, callback), like systemClock or emulator.clock');
  }
  if (options.governor !== undefined && !isGovernor(options.governor)) {
    throw new TypeError('options.governor must be a Governor (acquire, pause, forget, sequences), e.g. new FairGovernor()');
  }
  const retry = resolveRetry(options.retry);
  const streamingWindowMs = positive('streamingWindowMs', options.streamingWindowMs ?? 600_000);
  const reopenMarginMs = options.reopenMarginMs ?? Math.min(90_000, streamingWindowMs / 4);
  if (typeof reopenMarginMs !== 'number' || !(reopenMarginMs >= 0 && reopenMarginMs < streamingWindowMs)) {
    throw new RangeError(`options.reopenMarginMs must be >= 0 and below streamingWindowMs; received ${String(reopenMarginMs)}`);
  }
  const interruptedText = options.interruptedText ?? '\n\n_(interrupted)_';
  if (typeof interruptedText !== 'string') throw new TypeError('options.interruptedText must be a string');
  const stoppedText = options.stoppedText ?? '\n\n_(stopped)_';
  if (typeof stoppedText !== 'string') throw new TypeError('options.stoppedText must be a string');
  const continuedText = options.continuedText ?? '\n\n_(continued below)_';
  if (typeof continuedText !== 'string' || continuedText.length > 200) throw new TypeError('options.continuedText must be a string of at most 200 characters');
  return {
    signal: options.signal,
    elementId,
    elementIds,
    governor: options.governor,
    clock: options.clock ?? systemClock,
    streamingWindowMs,
    reopenMarginMs,
    interruptedText,
    stoppedText,
    continuedText,
    retry,
  };
}


function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
    throw new RangeError(`options.${name} must be a number above 0 and at most ${MAX_TIMER_MS}; received ${String(value)}`);
  }
  return value;
}

/** The retry policy: `DEFAULT_RETRY` with the given fields, each checked (a RangeError or TypeError at the call). */
export function resolveRetry(given: Partial<RetryPolicy> | undefined): RetryPolicy {
  if (given !== undefined && (typeof given !== 'object' || given === null)) throw new TypeError('options.retry must be an object');
  const retry = { ...DEFAULT_RETRY, ...given };
  if (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 1) {
    throw new RangeError(`options.retry.maxAttempts must be an integer >= 1; received ${String(retry.maxAttempts)}`);
  }
  positive('retry.baseDelayMs', retry.baseDelayMs);
  positive('retry.maxDelayMs', retry.maxDelayMs);
  positive('retry.maxThrottledMs', retry.maxThrottledMs);
  return retry;
}

export function isGovernor(value: unknown): value is Governor {
  const g = value as Partial<Governor> | null;
  return (
    typeof g === 'object' &&
    g !== null &&
    typeof g.acquire === 'function' &&
    typeof g.pause === 'function' &&
    typeof g.forget === 'function' &&
    typeof g.sequences?.next === 'function'
  );
}

/** Card ids are numeric on Feishu; anything that could not be one path segment of a request is refused. */
export const CARD_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The checked card-specific options of `attach()`. */
export function checkAttach(options: AttachOptions, streamed: readonly string[]): { cardId: string; sequence: number; messageId: string | null; streamingOpenedAt: number | undefined } {
  const { cardId, messageId, streamingOpenedAt } = options;
  if (typeof cardId !== 'string' || !CARD_ID_PATTERN.test(cardId)) {
    throw new TypeError(`options.cardId must be a card id (letters, digits, _ or -, 1..64); received ${JSON.stringify(cardId) ?? String(cardId)}`);
  }
  // The last sequence, 2147483647, is kept for closing the card.
  const sequence = options.sequence ?? 0;
  if (!Number.isInteger(sequence) || sequence < 0 || sequence >= INT32_MAX - 1) {
    throw new RangeError(`options.sequence must be an integer in 0..2147483645; received ${String(sequence)}`);
  }
  if (streamingOpenedAt !== undefined && (typeof streamingOpenedAt !== 'number' || !Number.isFinite(streamingOpenedAt))) {
    throw new RangeError(`options.streamingOpenedAt must be a time on the session clock; received ${String(streamingOpenedAt)}`);
  }
  if (messageId !== undefined && (typeof messageId !== 'string' || messageId === '')) {
    throw new TypeError('options.messageId must be a non-empty string');
  }
  const plain: unknown = options.plainTextElementIds;
  if (plain !== undefined && (!Array.isArray(plain) || plain.some((id) => typeof id !== 'string' || !streamed.includes(id)))) {
    throw new TypeError(`options.plainTextElementIds must list streamed element ids (${streamed.join(', ')}); received ${JSON.stringify(plain) ?? typeof plain}`);
  }
  return { cardId, sequence, messageId: messageId ?? null, streamingOpenedAt };
}

/** The IM call that delivers a card entity to `to`. */
export function checkRecipient(to: unknown): Recipient {
  if (typeof to !== 'object' || to === null) throw new TypeError('options.to must be an object such as { chat_id }');
  const keys = Object.keys(to).filter((k) => k !== 'in_thread');
  const key = keys[0];
  const allowed = ['chat_id', 'open_id', 'user_id', 'email', 'union_id', 'reply_to'];
  if (keys.length !== 1 || key === undefined || !allowed.includes(key)) {
    throw new TypeError(`options.to needs exactly one of ${allowed.join(', ')}; received keys ${JSON.stringify(Object.keys(to))}`);
  }
  const value = (to as Record<string, unknown>)[key];
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`options.to.${key} must be a non-empty string`);
  const inThread = (to as { in_thread?: unknown }).in_thread;
  if ('in_thread' in to && key !== 'reply_to') throw new TypeError('options.to.in_thread goes with reply_to only');
  if (inThread !== undefined && typeof inThread !== 'boolean') {
    throw new TypeError(`options.to.in_thread must be a boolean; received ${typeof inThread}`);
  }
  return to as Recipient;
}

export function requireClient(client: unknown): asserts client is FeishuClient {
  if (!(client instanceof FeishuClient)) throw new TypeError('the first argument must be a FeishuClient');
}

/** How a wrong value is named in a TypeError. */
export function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
