/**
 * The writes to one card (reference §2, §3, §7, §8, §13): text (content writes while streaming, element
 * patches once streaming cannot be re-opened), element patches, opening and re-opening streaming mode,
 * and closing it. Each goes through the session's one write path (`Dispatcher`). Text writes re-read
 * the latest text on every attempt, so a retry carries everything appended meanwhile.
 */
import { v4 as uuidv4 } from 'uuid';
import { type BatchAction, FeishuApiError, type FeishuClient, FeishuNetworkError, FeishuTimeoutError, isCardGone } from '../client/index.js';
import type { Clock } from './clock.js';
import { type Dispatcher, StreamingClosed } from './dispatch.js';
import type { ElementText } from './element-text.js';
import type { SessionEvents } from './events.js';
import { CardBudget } from './card-budget.js';
import { type CardOp, applyOps, batchAction } from './card-ops.js';
import { elementsById, finalCard } from './card-template.js';
import { CardFull, type CardWrites, DecideAgain, continuationId, declaredLike, largestText, tableCutOf } from './card-writes.js';
import { jsonBytes } from './markdown-cut.js';
import type { StreamingWindow } from './streaming-window.js';

const CONTENT = 'cardkit.cardElement.content';
const PATCH = 'cardkit.cardElement.patch';
const SETTINGS = 'cardkit.card.settings';
const BATCH = 'cardkit.card.batchUpdate';
const ADD_ELEMENT = 'cardkit.cardElement.create';
const UPDATE = 'cardkit.card.update';
const UPDATE_ELEMENT = 'cardkit.cardElement.update';
/**
 * Where a content write may be spilled: APIs that carry an element's full text on budgets of their own. A full
 * element update replaces the whole element, so it is one only when the writer knows the element's declaration.
 */
const SPILL_APIS: readonly string[] = [PATCH, BATCH];
const SPILL_APIS_WITH_UPDATE: readonly string[] = [PATCH, UPDATE_ELEMENT, BATCH];
/** The `flush` event's `via` for each API a text write went through. */
const VIA = { [CONTENT]: 'content', [PATCH]: 'patch', [UPDATE_ELEMENT]: 'update', [BATCH]: 'batch' } as const;
/** The endpoint of a layout change sent alone. */
const SINGLE_OP_API = { add: ADD_ELEMENT, replace: UPDATE_ELEMENT, patch: PATCH, delete: 'cardkit.cardElement.delete' } as const;
/** Re-opens tried for one write before falling back to patches. */
const MAX_REOPENS_PER_WRITE = 2;

export interface WriterOptions {
  client: FeishuClient;
  cardId: string;
  dispatcher: Dispatcher;
  window: StreamingWindow;
  clock: Clock;
  streamingConfig: Record<string, unknown>;
  /**
   * The card as created, when the session created it: for closing through a full update when settings
   * fails, and to declare the elements a text continues in like the streamed one. Absent for attached cards.
   */
  card?: Record<string, unknown>;
  /** Every streamed text of the session. */
  elements: ReadonlyMap<string, ElementText>;
  emit: <K extends keyof SessionEvents>(event: K, ...args: SessionEvents[K]) => void;
}

export class CardWriter implements CardWrites {
  reopens = 0;
  readonly #o: WriterOptions;
  /** The card as the platform has it, its streamed texts aside: as created, with every element added or changed since. */
  #card: Record<string, unknown> | undefined;
  /** What the card may still hold; absent for attached cards (their size is not known). */
  #budget: CardBudget | undefined;
  /** The element ids `#card` holds: derived from it whenever it changes, so a flush does not walk the card. */
  #held: Set<string> | undefined;
  /** The element ids the card holds, once a continuation element is needed. */
  #taken: Set<string> | undefined;

  constructor(options: WriterOptions) {
    this.#o = options;
    if (options.card) {
      this.#card = structuredClone(options.card);
      this.#budget = new CardBudget(this.#card, options.elements.keys());
      this.#held = new Set(elementsById(this.#card).keys());
    }
  }

  get card(): Readonly<Record<string, unknown>> | undefined {
    return this.#card;
  }

  /**
   * Changes the card's structure (a layout's ops), in order with the texts: one op through its element
   * endpoint, several in one batch_update. The layout sized them to the card's room; ops past 200 elements
   * make the card full first.
   */
  async apply(ops: readonly CardOp[], urgent = false): Promise<void> {
    if (ops.length === 0) return;
    const { client, cardId, dispatcher } = this.#o;
    const card = this.#card;
    if (!card) throw new Error('an attached card has no layout');
    const next = structuredClone(card);
    applyOps(next, ops);
    // Texts that outgrow the card are the texts' write's to roll over.
    const budget = new CardBudget(next, this.#o.elements.keys());
    if (!budget.withinElements) throw this.#full();
    const uuid = uuidv4();
    const [op] = ops;
    await dispatcher.send({
      api: ops.length > 1 ? BATCH : SINGLE_OP_API[op!.kind],
      cardId,
      urgent,
      keyed: true,
      request: (sequence) => {
        if (ops.length > 1) return client.cardkit.v1.card.batchUpdate({ card_id: cardId, actions: ops.map(batchAction), sequence, uuid });
        const one = op!;
        if (one.kind === 'replace') return client.cardkit.v1.cardElement.update({ card_id: cardId, element_id: one.elementId, element: one.element, sequence, uuid });
        if (one.kind === 'patch') return client.cardkit.v1.cardElement.patch({ card_id: cardId, element_id: one.elementId, partial_element: one.partial, sequence, uuid });
        if (one.kind === 'delete') return client.cardkit.v1.cardElement.delete({ card_id: cardId, element_id: one.elementId, sequence, uuid });
        const where = one.anchor ? { type: one.anchor.position, target_element_id: one.anchor.elementId } : { type: 'append' as const };
        return client.cardkit.v1.cardElement.create({ card_id: cardId, ...where, elements: [one.element], sequence, uuid });
      },
    });
    this.#card = next;
    this.#budget = budget;
    this.#held = new Set(elementsById(next).keys());
  }

  /** Writes the latest text of every element the platform does not have yet; `final` writes it whole. */
  async flush(elements: Iterable<ElementText>, final: boolean): Promise<void> {
    for (const element of elements) {
      if (!element.dirty) continue;
      // A text whose element the card does not hold yet: a layout adds it (the reasoning panel) before the
      // next write, which the text's arrival queued. An empty one has nothing to write.
      if (this.#held && !this.#held.has(element.elementId)) {
        const { text, complete } = element.writable();
        if (text === '' && complete) element.acknowledge(element.version);
        continue;
      }
      await this.#flushElement(element, final);
    }
  }

  async patch(elementId: string, partial: Record<string, unknown>): Promise<void> {
    const { client, cardId } = this.#o;
    const uuid = uuidv4();
    await this.#o.dispatcher.send({
      api: PATCH,
      cardId,
      urgent: false,
      keyed: true,
      request: (sequence) => client.cardkit.v1.cardElement.patch({ card_id: cardId, element_id: elementId, partial_element: partial, sequence, uuid }),
    });
  }

  /**
   * Opens streaming mode (again); the window restarts when the request is sent. It goes through
   * batch_update's `partial_update_setting` (reference §4: the settings endpoint's twin), so opening
   * and closing a card draw on two APIs' budgets rather than both on settings'. Resolves false when it
   * could not be opened and the error was not one that ends the session.
   */
  async open(reason: 'start' | 'scheduled' | 'expired'): Promise<boolean> {
    const { client, cardId, clock, window } = this.#o;
    // The window is measured from the first attempt: a repeat may find that one applied (its answer lost).
    let sentAt: number | undefined;
    const uuid = uuidv4();
    try {
      const settings = { config: { streaming_mode: true, streaming_config: this.#o.streamingConfig } };
      const { sequence } = await this.#o.dispatcher.send({
        api: BATCH,
        cardId,
        urgent: reason === 'start',
        keyed: true,
        request: (seq) => {
          sentAt ??= clock.now();
          return client.cardkit.v1.card.batchUpdate({ card_id: cardId, actions: [{ action: 'partial_update_setting', params: { settings } }], sequence: seq, uuid });
        },
      });
      window.opened(sentAt ?? clock.now());
      if (reason !== 'start') {
        this.reopens++;
        this.#o.emit('reopen', { reason, sequence });
      }
      return true;
    } catch (error) {
      // Only what the platform said about this write (or no answer) leaves the session going.
      const platform = error instanceof FeishuApiError || error instanceof FeishuNetworkError || error instanceof FeishuTimeoutError;
      if (reason === 'start' || !platform || isCardGone(error)) throw error;
      return false;
    }
  }

  /**
   * Closes streaming mode and sets the summary in one settings call. If settings keeps failing, the
   * whole card is written once more with streaming off (a full update), so the card still ends.
   */
  async close(summary: string | undefined): Promise<void> {
    const { client, cardId, dispatcher, window } = this.#o;
    const card = this.#card;
    const config = { streaming_mode: false, ...(summary === undefined ? {} : { summary: { content: summary } }) };
    const uuid = uuidv4();
    try {
      await dispatcher.send({
        api: SETTINGS,
        cardId,
        urgent: true,
        keyed: true,
        closing: true,
        request: (sequence) => client.cardkit.v1.card.settings({ card_id: cardId, settings: { config }, sequence, uuid }),
      });
    } catch (error) {
      if (!card || isCardGone(error)) throw error;
      const placements = new Map([...this.#o.elements].map(([id, element]) => [id, element.placement()]));
      const updateUuid = uuidv4();
      await dispatcher.send({
        api: UPDATE,
        cardId,
        urgent: true,
        keyed: true,
        closing: true,
        request: (sequence) => client.cardkit.v1.card.update({ card_id: cardId, card: { data: finalCard(card, placements, summary) }, sequence, uuid: updateUuid }),
      });
    }
    window.closed();
  }

  async #flushElement(element: ElementText, final: boolean): Promise<void> {
    // A snapshot replaced a text that had continued in other elements: those are emptied first.
    for (const stale of element.takeStale()) await this.writeFinal(element, '', final, stale);
    for (let reopens = 1; ; ) {
      const { text, complete } = element.writable();
      const checked = element.version;
      // More tables than a markdown element may hold: the text before the next one stays, the rest continues in a new element.
      const tableAt = tableCutOf(element, text);
      if (tableAt > 0) {
        // The part that stays must fit the card too, and the card must take one more element; else it is full first.
        if (!this.#fits(element, text.slice(0, tableAt))) throw this.#full();
        if (this.#budget?.canAddElement === false) throw new CardFull(element);
        await this.#continueInNewElement(element, text.slice(0, tableAt), tableAt, final);
        continue;
      }
      if (!this.#fits(element, text)) throw this.#full();
      // Content writes need 1+ characters: an emptied element, and every element once streaming is gone, is patched.
      const viaPatch = this.#o.window.state === 'dead' || text === '';
      // The version the write covers; a write that held back half a character covers none of it yet.
      let version = complete ? checked : 0;
      let written = text;
      const target = element.target;
      const read = () => {
        element.sending();
        if (element.version === checked) return text;
        const now = element.writable();
        // Changed while this write waited: emptied (setText('')) when a content write needs 1+ characters, grown
        // past the tables an element may hold, or past the card, or replaced by a snapshot that moved it back to
        // its own element. Decide again (the sequence drawn stays a gap).
        if (element.target !== target || (!viaPatch && now.text === '') || tableCutOf(element, now.text) > 0 || !this.#fits(element, now.text)) {
          throw new DecideAgain();
        }
        version = now.complete ? element.version : 0;
        written = now.text;
        return written;
      };
      try {
        const { sequence, via } = await this.#sendText(target, viaPatch, final, read);
        const lagMs = element.acknowledge(version);
        this.#o.emit('flush', { elementId: element.elementId, sequence, length: written.length, via: VIA[via as keyof typeof VIA] ?? 'content', lagMs });
        return;
      } catch (error) {
        if (error instanceof DecideAgain) continue;
        if (!(error instanceof StreamingClosed)) throw error;
        await this.#streamingClosed(reopens++);
      }
    }
  }

  /**
   * One text write to `target`: content while streaming, an element patch once streaming is gone (or for no
   * text); `text` is read when it is sent, so a retry (at the card's next slot) carries the latest text. A
   * content write may be spilled by the governor to an element patch, a full element update (the element as
   * declared, with the text) or a batch_update, which carry the same full text on budgets of their own, when the
   * content API's would make it wait.
   */
  #sendText(target: string, viaPatch: boolean, urgent: boolean, text: () => string) {
    const { client, cardId, dispatcher } = this.#o;
    // The card as this writer knows it declares the element: it can be replaced whole (no walk of the card here).
    const declared = this.#held?.has(target) === true;
    const patch = (sequence: number) => client.cardkit.v1.cardElement.patch({ card_id: cardId, element_id: target, partial_element: { content: text() }, sequence });
    if (viaPatch) return dispatcher.send({ api: PATCH, cardId, urgent, keyed: false, fullText: true, request: patch });
    return dispatcher.send({
      api: CONTENT,
      cardId,
      urgent,
      keyed: false,
      fullText: true,
      alternatives: declared ? SPILL_APIS_WITH_UPDATE : SPILL_APIS,
      request: (sequence, via) => {
        if (via === PATCH) return patch(sequence);
        if (via === UPDATE_ELEMENT) {
          const element = this.#card ? elementsById(this.#card).get(target) : undefined;
          if (!element) return patch(sequence); // removed from the card while the write waited: the same text, as a patch
          return client.cardkit.v1.cardElement.update({ card_id: cardId, element_id: target, element: { ...element, element_id: target, content: text() }, sequence });
        }
        if (via === BATCH) {
          const actions: BatchAction[] = [{ action: 'partial_update_element', params: { element_id: target, partial_element: { content: text() } } }];
          return client.cardkit.v1.card.batchUpdate({ card_id: cardId, actions, sequence });
        }
        return client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: target, content: text(), sequence });
      },
    });
  }

  /** The platform said streaming mode is closed: re-open it (at most twice for one write), else go on through patches. */
  async #streamingClosed(reopens: number): Promise<void> {
    this.#o.window.closed();
    if (reopens > MAX_REOPENS_PER_WRITE || !(await this.open('expired'))) this.#o.window.giveUp();
  }

  /** The card is full: the largest text goes on in a continuation card (not the one being written, which may be tiny). */
  #full(): CardFull {
    return new CardFull(largestText(this.#o.elements.values()));
  }

  /** True when `text`, as the element's current part, fits the card (always for an attached card: its size is unknown). */
  #fits(element: ElementText, text: string): boolean {
    const budget = this.#budget;
    return budget === undefined || jsonBytes(text) <= budget.room(this.#o.elements.values(), element);
  }

  free(): number {
    return this.#budget?.free(this.#o.elements.values()) ?? Number.POSITIVE_INFINITY;
  }

  /** Bytes the element's current part may take on this card. */
  room(element: ElementText): number {
    return this.#budget?.room(this.#o.elements.values(), element) ?? Number.POSITIVE_INFINITY;
  }

  /** Writes `text` as the element's last text in the element it is in, or in `target` (what follows goes elsewhere). */
  async writeFinal(element: ElementText, text: string, urgent = true, target = element.target): Promise<void> {
    for (let reopens = 1; ; reopens++) {
      try {
        await this.#sendText(target, this.#o.window.state === 'dead' || text === '', urgent, () => text);
        return;
      } catch (error) {
        if (!(error instanceof StreamingClosed)) throw error;
        await this.#streamingClosed(reopens);
      }
    }
  }

  /**
   * The text before `cut` stays in the element it is in (written whole now); a new markdown element,
   * declared like the streamed one, is added right after it, and the text continues there.
   */
  async #continueInNewElement(element: ElementText, kept: string, cut: number, final: boolean): Promise<void> {
    const { client, cardId, dispatcher } = this.#o;
    const declaredIds = this.#held ? [...this.#held] : [];
    const elementIds = (this.#taken ??= new Set([...declaredIds, ...this.#o.elements.keys()]));
    const from = element.target;
    await this.writeFinal(element, kept, final);
    const to = continuationId(element.elementId, elementIds);
    elementIds.add(to);
    const declared = declaredLike(this.#card, element.elementId);
    // The card as this writer knows it holds the continuation element too (a layout anchors on it, a full update keeps it).
    if (this.#card) {
      applyOps(this.#card, [{ kind: 'add', element: { ...declared, element_id: to, content: '' }, anchor: { elementId: from, position: 'insert_after' } }]);
      this.#held?.add(to);
    }
    this.#budget?.added({ ...declared, element_id: to, content: '' });
    const uuid = uuidv4();
    await dispatcher.send({
      api: ADD_ELEMENT,
      cardId,
      urgent: final,
      keyed: true,
      request: (sequence) =>
        client.cardkit.v1.cardElement.create({ card_id: cardId, type: 'insert_after', target_element_id: from, elements: [{ ...declared, element_id: to, content: '' }], sequence, uuid }),
    });
    element.continueIn(to, kept);
    this.#o.emit('rollover', { kind: 'element', elementId: element.elementId, from, to, cardId });
  }
}
