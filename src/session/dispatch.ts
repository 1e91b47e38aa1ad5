/**
 * The one write path (reference §12.6, §15, §16, §17): every request a session makes, creating the
 * card, sending it, and each write to it, goes through `Dispatcher.send`: a permit from the governor,
 * for card writes a sequence allocated at dispatch, the request, and the platform's answer judged:
 * applied, retried (a text write at the card's next slot, else after a backoff), held for a rate limit,
 * moved past a sequence conflict, or given up.
 */
import { INT32_MAX } from '../client/index.js';
import type { Governor, PermitRequest, SequenceStore } from '../governor/index.js';
import { delay } from '../governor/index.js';
import { WriteWatch, observers } from '../observe/hub.js';
import { SequenceExhaustedError, SessionDeadlineError } from './errors.js';
import type { RetryEvent } from './events.js';
import { type RetryPolicy, backoff, judge, textRetryDelay } from './retry.js';

/** Sequence conflicts tolerated for one write; the jump doubles each time, so 24 cover all of int32. */
const MAX_CONFLICTS = 24;

export interface Write<T> {
  /** Endpoint name, e.g. `cardkit.cardElement.content`: what the governor budgets. */
  api: string;
  /** The card written to: the write carries a sequence and counts toward the card's budget. */
  cardId?: string;
  /** The message whose card is patched (IM patch): the write counts toward the message's budget (5/s). */
  messageId?: string;
  /** Finishing writes and the card's creation for a waiting user go first. */
  urgent: boolean;
  /** The request carries an idempotency key kept across attempts, so a refused repeat means applied. */
  keyed: boolean;
  /** The write that closes the card may use the last sequence, kept back for it. */
  closing?: boolean;
  /**
   * The request carries the whole text of what it writes (a content write, a text patch, a message card's
   * patch), read when it is sent: after a transient failure the next attempt supersedes the failed one, so
   * it goes at the card's next slot while the card's failures in a row are few (`textRetryDelay`).
   */
  fullText?: boolean;
  /**
   * Other APIs that can carry this write (a full text through an element patch or batch_update): the governor
   * may grant it through one of them when `api`'s budget would make it wait (spill); `request` is then called
   * with that API's name.
   */
  alternatives?: readonly string[];
  /** Stops waiting (for a permit or a backoff) when aborted. */
  signal?: AbortSignal;
  /** Sends the write with `sequence` through `via` (`api`, or one of the `alternatives` the governor chose). */
  request: (sequence: number, via: string) => Promise<T>;
}

export interface Sent<T> {
  /** The answer, or undefined when a repeat found the write already applied. */
  value: T | undefined;
  /** The sequence the write was accepted with (0 for writes without one). */
  sequence: number;
  /** The API it went through: `api`, or one of its `alternatives` when the governor spilled it. */
  via: string;
}

/** A write refused because streaming mode is closed (200850, 300309, 200510): the caller re-opens it. */
export class StreamingClosed extends Error {
  constructor(cause: unknown) {
    super('streaming mode is closed', { cause });
  }
}

export interface DispatcherOptions {
  governor: Governor;
  sequences: SequenceStore;
  retry: RetryPolicy;
  /** The last sequence used on the card. */
  sequence: number;
  onRetry: (event: RetryEvent) => void;
}

export class Dispatcher {
  /** The highest sequence handed to a write on the card. */
  sequence: number;
  /** Writes to the card the platform accepted (creating and sending it are not counted). */
  writes = 0;
  retries = 0;
  /**
   * The card's transient failures in a row: since its last accepted write, across its writes (a failure of
   * one write and then of the next is a repeat). Rate limits and sequence conflicts neither add nor reset.
   */
  #failing = 0;
  /** The card is ending: every write to it goes first from now on, also one already waiting for its permit. */
  ending = false;
  readonly #o: DispatcherOptions;

  constructor(options: DispatcherOptions) {
    this.#o = options;
    this.sequence = options.sequence;
  }

  send<T>(write: Write<T>): Promise<Sent<T>> {
    // Telemetry (observe/hub.ts): nothing is measured unless an observer is registered.
    return observers.length === 0 ? this.#send(write, undefined) : this.#watched(write);
  }

  /** `send`, told to the observers attempt by attempt. */
  async #watched<T>(write: Write<T>): Promise<Sent<T>> {
    const watch = new WriteWatch(write, this.#o.governor);
    try {
      const sent = await this.#send(write, watch);
      watch.ended(undefined);
      return sent;
    } catch (error) {
      watch.ended(error);
      throw error;
    }
  }

  async #send<T>(write: Write<T>, watch: WriteWatch | undefined): Promise<Sent<T>> {
    const { governor, retry } = this.#o;
    const { api, cardId, messageId, signal } = write;
    // Writes to a card or a message card count; creating and sending a card do not.
    const counted = cardId !== undefined || messageId !== undefined;
    let throttledSince: number | undefined;
    let failures = 0;
    let throttles = 0;
    let conflicts = 0;
    let jump = 16;
    let floor = this.sequence;
    // Read each time the governor chooses: a write waiting when its card starts ending turns urgent.
    const urgent = () => write.urgent || this.ending;
    for (let tries = 0; ; tries++) {
      watch?.begin(tries + 1);
      // One object per attempt: the governor knows the permit it granted by it when told of the answer.
      const permit: PermitRequest = {
        api,
        ...(write.alternatives ? { alternatives: write.alternatives } : {}),
        get priority() {
          return urgent() ? 'urgent' : 'normal';
        },
        ...(cardId === undefined ? {} : { cardId }),
        ...(messageId === undefined ? {} : { messageId }),
        ...(signal ? { signal } : {}),
        reportsAnswer: true,
      };
      const granted = await governor.acquire(permit);
      // The API the governor granted: the write's own, or one of its alternatives (spill).
      const via = typeof granted === 'string' && granted !== api && write.alternatives?.includes(granted) ? granted : api;
      watch?.permitted(via);
      let sequence: number;
      try {
        sequence = cardId === undefined ? 0 : await this.#nextSequence(write, cardId, floor);
      } catch (error) {
        governor.answered?.(permit); // never sent: the permit is not in flight
        throw error;
      }
      floor = Math.max(floor, sequence);
      try {
        // The platform counted the write by the time it answered: the governor keeps the API's and the card's
        // limits from then.
        let value: T;
        try {
          value = await (watch ? watch.issue(sequence, () => write.request(sequence, via)) : write.request(sequence, via));
        } finally {
          governor.answered?.(permit);
        }
        if (counted) this.writes++;
        this.#failing = 0;
        watch?.answered('accepted', undefined, value);
        return { value, sequence, via };
      } catch (error) {
        if (signal?.aborted) {
          watch?.answered('aborted', error);
          throw error;
        }
        const verdict = judge(error, write.keyed && tries > 0);
        watch?.answered(verdict.kind, error);
        let delayMs = 0;
        switch (verdict.kind) {
          case 'applied':
            if (counted) this.writes++;
            this.#failing = 0;
            return { value: undefined, sequence, via };
          case 'streaming_closed':
            throw new StreamingClosed(error);
          case 'fatal':
            throw error;
          case 'sequence_conflict':
            // Another writer moved the card's sequence on: jump past it (gaps are allowed), at once.
            if (cardId === undefined || ++conflicts > MAX_CONFLICTS) throw error;
            floor = Math.min(INT32_MAX - 2, sequence + jump);
            jump *= 2;
            continue;
          case 'rate_limited': {
            // Not a failure: the platform says when to come back. Only a long deadline ends it, counted
            // from the first rate-limit answer, and kept: a wait that would pass it ends the write now.
            throttledSince ??= performance.now();
            delayMs = verdict.retryAfterMs ?? backoff(retry, ++throttles);
            const throttledMs = performance.now() - throttledSince;
            if (throttledMs + delayMs > retry.maxThrottledMs) throw new SessionDeadlineError(via, throttledMs, error);
            governor.pause(via, delayMs);
            break;
          }
          case 'retry':
            this.#failing++;
            if (++failures >= retry.maxAttempts) throw error;
            // A text write's next attempt carries the latest text: no reason to hold it past the card's next slot, until failures repeat.
            delayMs = write.fullText ? textRetryDelay(retry, this.#failing) : backoff(retry, failures);
            break;
        }
        this.retries++;
        watch?.retrying(delayMs);
        this.#o.onRetry({ api: via, attempt: tries + 1, delayMs, error: error as Error });
        // A rate limit is waited out in the governor (the pause holds every card's writes to the API).
        if (verdict.kind === 'retry' && delayMs > 0) await delay(delayMs, signal);
      }
    }
  }

  /** The next sequence above `floor`, allocated now (at dispatch). The last one is kept for closing. */
  async #nextSequence(write: Write<unknown>, cardId: string, floor: number): Promise<number> {
    const limit = write.closing ? INT32_MAX : INT32_MAX - 1;
    if (floor >= limit) throw new SequenceExhaustedError(write.api);
    const sequence = await this.#o.sequences.next(cardId, floor);
    if (sequence > limit) throw new SequenceExhaustedError(write.api);
    this.sequence = Math.max(this.sequence, sequence);
    return sequence;
  }
}
