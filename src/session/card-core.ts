/**
 * The write side of a session: the card's texts, its one queue (concurrency 1, so writes reach the
 * platform in the order they were asked for), the one write path, the streaming window, and what a
 * fatal error does (nothing more is sent, the card is closed if it can be). `CardSession` is the
 * public face: its states, text intake and endings.
 */
import type { EventEmitter } from 'eventemitter3';
import PQueue from 'p-queue';
import { type FeishuClient, isCardGone } from '../client/index.js';
import type { Governor } from '../governor/index.js';
import type { StreamTag } from './card-template.js';
import { Dispatcher } from './dispatch.js';
import { ElementText } from './element-text.js';
import type { SessionEvents } from './events.js';
import type { ResolvedSessionOptions } from './options.js';
import { StreamingWindow } from './streaming-window.js';
import type { CardLayout } from './card-ops.js';
import { CardFull, type CardWrites, largestText } from './card-writes.js';
import { MessageWriter } from './message-writer.js';
import { CardWriter } from './writer.js';

/** What a core writes: a CardKit card entity, or the card of a message (the message transport). */
export type CardTarget = { transport: 'cardkit'; cardId: string } | { transport: 'message'; messageId: string };

export interface CoreInit {
  target: CardTarget;
  /** The last sequence used on the card. */
  sequence: number;
  tags: Map<string, StreamTag>;
  streamingConfig: Record<string, unknown>;
  /** The card as created (or sent, for a message card), when the session made it. */
  card?: Record<string, unknown>;
  governor: Governor;
  /** Aborted when the session stops taking text from a source (abort, failure): the session's, shared by its cards. */
  halt: AbortController;
  /** The texts, when they go on from a card that was full. */
  elements?: Map<string, ElementText>;
  /** The card is full: the session continues on a new card (absent: a full card is an error). */
  onFull?: (full: CardFull) => Promise<void>;
  /** Decides the card's structure besides its texts (the agent card): asked before each write. */
  layout?: CardLayout;
}

/** The card filled up (or had, when this was queued): the operation goes on with the continuation card. */
export class RolledOver extends Error {}

export class CardCore {
  readonly target: CardTarget;
  readonly elements = new Map<string, ElementText>();
  readonly dispatcher: Dispatcher;
  readonly window: StreamingWindow;
  readonly writer: CardWrites;
  /** Aborted when the session stops taking text from a source (abort, failure). */
  readonly halt: AbortController;
  /** The session went on to a continuation card: nothing more is written to this one. */
  retired = false;
  /** The fatal error that stopped the session, if any. */
  failure: Error | undefined;
  /** Settles once the close that a failure started has landed or definitively failed. */
  closing: Promise<void> = Promise.resolve();
  /** The ending's writes have begun: no more scheduled re-opens. */
  ending = false;
  readonly governor: Governor;
  readonly #events: EventEmitter<SessionEvents>;
  readonly #onRelease: () => void;
  readonly #queue = new PQueue({ concurrency: 1 });
  readonly #onFull: ((full: CardFull) => Promise<void>) | undefined;
  readonly #layout: CardLayout | undefined;
  #flushQueued = false;
  #reopenQueued = false;

  constructor(client: FeishuClient, o: ResolvedSessionOptions, init: CoreInit, events: EventEmitter<SessionEvents>, onRelease: () => void) {
    this.target = init.target;
    this.#onRelease = onRelease;
    this.governor = init.governor;
    this.#events = events;
    this.halt = init.halt;
    this.#onFull = init.onFull;
    this.#layout = init.layout;
    for (const [id, tag] of init.tags) this.elements.set(id, init.elements?.get(id) ?? new ElementText(id, tag));
    // Listeners are guarded where they are added (CardSession.on): one that throws cannot break a write.
    const emit = <K extends keyof SessionEvents>(event: K, ...args: SessionEvents[K]) => {
      events.emit(event, ...(args as never));
    };
    this.dispatcher = new Dispatcher({
      governor: init.governor,
      sequences: init.governor.sequences,
      retry: o.retry,
      sequence: init.sequence,
      onRetry: (event) => emit('retry', event),
    });
    this.window = new StreamingWindow({ clock: o.clock, windowMs: o.streamingWindowMs, marginMs: o.reopenMarginMs, onDue: () => this.#queueReopen() });
    const { target, card } = init;
    if (target.transport === 'message') {
      if (!card) throw new Error('a message card needs the card it was sent with');
      this.writer = new MessageWriter({ client, messageId: target.messageId, dispatcher: this.dispatcher, card, elements: this.elements, emit });
    } else {
      this.writer = new CardWriter({
        client,
        cardId: target.cardId,
        dispatcher: this.dispatcher,
        window: this.window,
        clock: o.clock,
        streamingConfig: init.streamingConfig,
        ...(card === undefined ? {} : { card }),
        elements: this.elements,
        emit,
      });
    }
  }

  /** The card entity written, or null for a message card. */
  get cardId(): string | null {
    return this.target.transport === 'cardkit' ? this.target.cardId : null;
  }

  /** The card entity's or the message's id: what the governor keeps budgets and sequences under. */
  get key(): string {
    return this.target.transport === 'cardkit' ? this.target.cardId : this.target.messageId;
  }

  texts(): Map<string, string> {
    return new Map([...this.elements].map(([id, element]) => [id, element.text]));
  }


  /**
   * Runs an operation in the card's queue; after a fatal error nothing more is sent. The failure is
   * recorded inside the queued job, before the next job starts, so nothing queued behind it runs.
   */
  run(operation: () => Promise<void>, failsSession: (error: unknown) => boolean = () => true): Promise<void> {
    return this.#queue.add(async () => {
      if (this.failure) throw this.failure;
      // Queued before the card filled up: the caller goes on with the continuation card.
      if (this.retired) throw new RolledOver();
      try {
        await operation();
      } catch (error) {
        if (!(error instanceof RolledOver) && failsSession(error)) this.fail(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
    });
  }

  /** At most one text flush waits in the queue; it reads the text when it runs, so it carries every delta. */
  queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    this.run(async () => {
      this.#flushQueued = false;
      await this.#flushOrRollOver(false);
    }).catch(() => undefined); // recorded by run(); finish() reports it
  }

  /** Writes what the card lacks; when the card is full, the session goes on to a continuation card (and says so with `RolledOver` when ending). */
  async #flushOrRollOver(final: boolean): Promise<void> {
    try {
      // The layout's changes first: an element a text streams into may be one it adds.
      const card = this.writer.card;
      if (this.#layout && card) {
        await this.writer.apply(this.#layout.ops(card, final, this.writer.free()), final);
        this.#layout.applied();
        if (this.#layout.full) throw new CardFull(largestText(this.elements.values()));
      }
      await this.writer.flush(this.elements.values(), final);
    } catch (error) {
      if (!(error instanceof CardFull) || !this.#onFull) throw error;
      await this.#onFull(error);
      if (final) throw new RolledOver();
    }
  }

  /**
   * Writes the final text of every element and closes streaming mode with the summary, read once the
   * texts are final (a dangling half character dropped).
   */
  async end(summary: () => string): Promise<void> {
    this.ending = true;
    // The last text (with the interrupted marker, on an abort) may be in a write already waiting for its turn: it goes first now.
    this.dispatcher.ending = true;
    this.window.stop();
    for (const element of this.elements.values()) element.settle();
    await this.run(async () => {
      await this.#flushOrRollOver(true);
      await this.writer.close(summary());
    });
  }

  /** The session went on to a continuation card: nothing more is written to this one, and nothing kept for it. */
  retire(): void {
    this.retired = true;
    this.window.stop();
    this.#forget();
  }

  /** A fatal error: nothing more is sent but the close, which never leaves the card on "[生成中...]". */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.window.stop();
    this.closing = isCardGone(error) ? Promise.resolve() : this.#queue.add(() => this.writer.close(undefined)).catch(() => undefined);
    void this.closing.then(() => this.release());
    this.halt.abort(error);
    this.#events.emit('error', error);
  }

  /** The session ended: drop what is kept for the card. */
  release(): void {
    this.window.stop();
    this.#onRelease();
    this.#forget();
  }

  /** The governor may drop what it keeps for this card (a custom governor that throws here is only warned about). */
  #forget(): void {
    try {
      this.governor.forget(this.key);
    } catch (error) {
      process.emitWarning(error instanceof Error ? error : String(error), 'GovernorForgetFailed');
    }
  }

  /** The streaming window is about to close: re-open it, unless a write already did or the session is ending. */
  #queueReopen(): void {
    if (this.#reopenQueued || this.ending || this.failure || this.retired) return;
    this.#reopenQueued = true;
    this.run(async () => {
      this.#reopenQueued = false;
      if (this.ending || !this.window.due) return;
      // A failed scheduled re-open is not the end of streaming: the window may still have a minute and a
      // half, and a write the platform refuses as closed re-opens it (or falls back to patches) then.
      await this.writer.open('scheduled');
    }).catch(() => undefined); // recorded by run()
  }
}
