/**
 * The cards of one answer: the card being written, and those it filled before (issue 10). A session
 * writes through `chain.core`; when that card is full, the chain rolls the answer over to a continuation
 * card (see rollover.ts) and the session goes on writing, now to the new card.
 */
import type { EventEmitter } from 'eventemitter3';
import type { FeishuClient } from '../client/index.js';
import { CardCore, type CoreInit, RolledOver } from './card-core.js';
import type { SessionEvents } from './events.js';
import type { Recipient, ResolvedSessionOptions } from './options.js';
import { rollOver } from './rollover.js';
import type { CardFull } from './writer.js';

export interface ChainContext {
  client: FeishuClient;
  o: ResolvedSessionOptions;
  events: EventEmitter<SessionEvents>;
  /** The session's: aborted when it stops taking text from a source. */
  halt: AbortController;
  /** The session ended with the last card. */
  onRelease: () => void;
  /** Where continuation cards go (absent for an attached card, which cannot roll over: its size is not known). */
  to?: Recipient;
}

export interface CardRef {
  cardId: string;
  messageId: string | null;
}

export class CardChain {
  /** The card being written. */
  core: CardCore;
  /** Every card of the answer so far, in order, with its message. */
  readonly cards: CardRef[] = [];
  readonly #context: ChainContext;
  /** The card the session created first: continuation cards are built from it. */
  readonly #template: Record<string, unknown> | undefined;
  /** Writes, retries and re-opens of the cards that are done. */
  readonly #done = { writes: 0, retries: 0, reopens: 0 };

  constructor(context: ChainContext, first: Omit<CoreInit, 'halt'>) {
    this.#context = context;
    this.#template = first.card;
    this.core = this.#newCore(first);
  }

  /** The first card went out (its message id, when it was sent). */
  sent(messageId: string | null): void {
    this.cards.push({ cardId: this.core.cardId, messageId });
  }

  /** Writes, retries and re-opens over every card of the answer. */
  totals(): { writes: number; retries: number; reopens: number } {
    const { dispatcher, writer } = this.core;
    return {
      writes: this.#done.writes + dispatcher.writes,
      retries: this.#done.retries + dispatcher.retries,
      reopens: this.#done.reopens + writer.reopens,
    };
  }

  /** Runs an operation in the current card's queue; when that card filled up meanwhile, on the continuation card. */
  async run(operation: (core: CardCore) => Promise<void>, failsSession?: (error: unknown) => boolean): Promise<void> {
    for (;;) {
      const core = this.core;
      try {
        await core.run(() => operation(core), failsSession);
        return;
      } catch (error) {
        if (!(error instanceof RolledOver)) throw error;
      }
    }
  }

  #newCore(init: Omit<CoreInit, 'halt'>): CardCore {
    const { client, o, events, halt, onRelease } = this.#context;
    const onFull = this.#template ? (full: CardFull) => this.#rollOver(full) : undefined;
    return new CardCore(client, o, { ...init, halt, ...(onFull ? { onFull } : {}) }, events, onRelease);
  }

  /** The card is full: the answer goes on in a continuation card. */
  async #rollOver(full: CardFull): Promise<void> {
    const old = this.core;
    const { client, o, to, events } = this.#context;
    const next = await rollOver(
      { client, o, template: this.#template!, to, newCore: (init) => this.#newCore({ ...init, governor: old.governor, elements: old.elements }) },
      old,
      full,
    );
    this.#done.writes += old.dispatcher.writes;
    this.#done.retries += old.dispatcher.retries;
    this.#done.reopens += old.writer.reopens;
    this.core = next.core;
    this.cards.push({ cardId: next.core.cardId, messageId: next.messageId });
    events.emit('rollover', { kind: 'card', elementId: full.element.elementId, from: old.cardId, to: next.core.cardId, cardId: next.core.cardId, messageId: next.messageId });
    next.core.queueFlush();
  }
}
