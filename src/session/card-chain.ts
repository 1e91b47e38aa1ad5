/**
 * The cards of one answer: the card being written, and those it filled before (issue 10). A session
 * writes through `chain.core`; when that card is full, the chain rolls the answer over to a continuation
 * card (see rollover.ts) and the session goes on writing, now to the new card. The chain also opens the
 * first card, through the session's transport: a CardKit entity created and sent, or a message card.
 */
import type { EventEmitter } from 'eventemitter3';
import type { FeishuClient } from '../client/index.js';
import type { Governor } from '../governor/index.js';
import { CardCore, type CoreInit, RolledOver } from './card-core.js';
import type { StreamTag } from './card-template.js';
import type { CardLayout } from './card-ops.js';
import type { CardFull, Transport } from './card-writes.js';
import { Dispatcher } from './dispatch.js';
import type { SessionEvents } from './events.js';
import { beginCard, createCard, sendMessageCard } from './open-card.js';
import type { Recipient, ResolvedSessionOptions } from './options.js';
import { type RolledOverTo, rollOver } from './rollover.js';

export interface ChainContext {
  client: FeishuClient;
  o: ResolvedSessionOptions;
  events: EventEmitter<SessionEvents>;
  /** The session's: aborted when it stops taking text from a source. */
  halt: AbortController;
  /** The session ended with the last card. */
  onRelease: () => void;
  /** Where the cards go (absent: created only, or an attached card). */
  to?: Recipient;
  /** Decides every card's structure besides its texts (the agent card). */
  layout?: CardLayout;
}

export interface CardRef {
  /** The card entity, or null for a message card. */
  cardId: string | null;
  messageId: string | null;
}

/** What the first card of an answer is opened with. */
export interface FirstCard {
  transport: Transport;
  card: Record<string, unknown>;
  tags: Map<string, StreamTag>;
  governor: Governor;
  streamingConfig: Record<string, unknown>;
}

export class CardChain {
  /** Every card of the answer so far, in order, with its message. */
  readonly cards: CardRef[] = [];
  readonly #context: ChainContext;
  #core: CardCore | undefined;
  /** The card the session created first: continuation cards are built from it (absent for an attached card, which cannot roll over). */
  #template: Record<string, unknown> | undefined;
  #transport: Transport = 'cardkit';
  /** Writes, retries and re-opens of the cards that are done. */
  readonly #done = { writes: 0, retries: 0, reopens: 0 };

  constructor(context: ChainContext) {
    this.#context = context;
  }

  /** The card being written. */
  get core(): CardCore {
    if (!this.#core) throw new Error('the session has no card yet');
    return this.#core;
  }

  get transport(): Transport {
    return this.#transport;
  }

  /**
   * Opens the first card: creates the entity, opens streaming and sends it (CardKit), or sends the
   * message card. If a step after the creation fails, the card is closed before this rejects.
   */
  async open(first: FirstCard, signal: AbortSignal | undefined): Promise<void> {
    const { transport, card, tags, governor, streamingConfig } = first;
    this.#template = card;
    this.#transport = transport;
    const { core, messageId } = await this.#openCard({ sequence: 0, tags, card, governor, streamingConfig }, signal);
    this.#core = core;
    this.cards.push({ cardId: core.cardId, messageId });
  }

  /**
   * Makes a card through the session's transport: a CardKit card is created, opened and sent (closed
   * again if opening or sending fails), a message card is sent.
   */
  async #openCard(init: Omit<CoreInit, 'halt' | 'target'> & { card: Record<string, unknown> }, signal: AbortSignal | undefined): Promise<RolledOverTo> {
    const { client, to } = this.#context;
    const creator = this.creator(init.governor);
    const transport = this.#transport;
    if (transport === 'message') {
      const messageId = await sendMessageCard(client, creator, init.card, to!, signal);
      return { core: this.#newCore({ ...init, target: { transport, messageId } }), messageId };
    }
    const cardId = await createCard(client, creator, init.card, signal);
    const core = this.#newCore({ ...init, target: { transport, cardId } });
    return { core, messageId: await beginCard(client, core, to, signal) };
  }

  /** The write path of the requests that make a card (create, send): their retries are the session's `retry` events. */
  creator(governor: Governor): Dispatcher {
    const { o, events } = this.#context;
    return new Dispatcher({ governor, sequences: governor.sequences, retry: o.retry, sequence: 0, onRetry: (event) => events.emit('retry', event) });
  }

  /** Takes over a card entity made elsewhere (`CardSession.attach`). */
  adopt(init: Omit<CoreInit, 'halt'> & { target: { transport: 'cardkit'; cardId: string } }, messageId: string | null): void {
    this.#core = this.#newCore(init);
    this.cards.push({ cardId: init.target.cardId, messageId });
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
        this.#wentOn(core);
      }
    }
  }

  /**
   * After a `RolledOver` from `from`: the chain must have gone on to another card. If it has not (the
   * continuation card could not be opened), that failure is thrown rather than trying the same card again.
   */
  #wentOn(from: CardCore): void {
    if (this.core === from) throw from.failure ?? new Error('the card is full and no continuation card could be opened');
  }

  #newCore(init: Omit<CoreInit, 'halt'>): CardCore {
    const { client, o, events, halt, onRelease, layout } = this.#context;
    const onFull = this.#template ? (full: CardFull) => this.#rollOver(full) : undefined;
    return new CardCore(client, o, { ...init, halt, ...(onFull ? { onFull } : {}), ...(layout ? { layout } : {}) }, events, onRelease);
  }

  /** The card is full: the answer goes on in a continuation card, through the same transport. */
  async #rollOver(full: CardFull): Promise<void> {
    const old = this.core;
    const { o, events } = this.#context;
    const layout = this.#context.layout;
    const next = await rollOver({ o, template: this.#template!, ...(layout ? { layout } : {}) }, old, full, (card) =>
      this.#openCard(
        {
          sequence: 0,
          tags: new Map([...old.elements].map(([id, e]) => [id, e.tag])),
          card,
          streamingConfig: (card.config as { streaming_config?: Record<string, unknown> }).streaming_config ?? {},
          governor: old.governor,
          elements: old.elements,
        },
        undefined,
      ),
    );
    this.#done.writes += old.dispatcher.writes;
    this.#done.retries += old.dispatcher.retries;
    this.#done.reopens += old.writer.reopens;
    this.#core = next.core;
    this.cards.push({ cardId: next.core.cardId, messageId: next.messageId });
    events.emit('rollover', { kind: 'card', elementId: full.element.elementId, from: old.key, to: next.core.key, cardId: next.core.cardId, messageId: next.messageId });
    next.core.queueFlush();
  }
}
