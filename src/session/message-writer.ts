/**
 * The writes to a message card (seed 004, reference §11.3): the card lives inline in an interactive
 * message, and every write replaces it whole through `PATCH /open-apis/im/v1/messages/:message_id`.
 * One patch carries every streamed text, so the texts of all elements coalesce into one write; the
 * governor spaces a message's patches to its 5 a second. A message card has no streaming mode and no
 * sequence: nothing to open, re-open or lose, and a repeated patch replaces the card with the same
 * card. Past 4 tables the text continues in an element added to the card; past 30 KB, on a new message.
 */
import type { FeishuClient } from '../client/index.js';
import { CardBudget } from './card-budget.js';
import { type CardOp, applyOps } from './card-ops.js';
import { type Placement, elementsById, renderCard } from './card-template.js';
import { CardFull, type CardWrites, DecideAgain, continuationId, declaredLike, largestText, tableCutOf } from './card-writes.js';
import type { Dispatcher } from './dispatch.js';
import type { ElementText } from './element-text.js';
import type { SessionEvents } from './events.js';
import { jsonBytes } from './markdown-cut.js';

const PATCH = 'im.message.patch';

export interface MessageWriterOptions {
  client: FeishuClient;
  messageId: string;
  dispatcher: Dispatcher;
  /** The card as sent, its streamed elements empty. */
  card: Record<string, unknown>;
  /** Every streamed text of the session. */
  elements: ReadonlyMap<string, ElementText>;
  emit: <K extends keyof SessionEvents>(event: K, ...args: SessionEvents[K]) => void;
}

/** What a patch wrote of one element: the version it covers, the text's length, whether the platform lacked it, and since when. */
interface Written {
  version: number;
  length: number;
  news: boolean;
  lagMs: number;
}

export class MessageWriter implements CardWrites {
  readonly reopens = 0;
  readonly #o: MessageWriterOptions;
  /** The card as sent, with the element properties changed since (`patch`). */
  #card: Record<string, unknown>;
  #budget: CardBudget;
  /** Continuation elements added to the card (past 4 tables), as declared. */
  readonly #added: Record<string, unknown>[] = [];
  /** Texts fixed as an element's last on this card (the card is full and ends). */
  readonly #finals = new Map<ElementText, string>();
  /** The card's structure changed since the last patch (`apply`): the next flush patches even without new text. */
  #changed = false;

  constructor(options: MessageWriterOptions) {
    this.#o = options;
    this.#card = options.card;
    this.#budget = this.#measure();
  }

  async flush(elements: Iterable<ElementText>, final: boolean): Promise<void> {
    const all = [...elements];
    for (;;) {
      // A snapshot replaced a text that had continued in other elements: the next patch leaves them out.
      for (const element of all) element.takeStale();
      this.#continuePastTables(all);
      // Over the card: the largest text goes on in a continuation card (not the first one checked, which may be tiny).
      if (this.#budget.free(all) < 0) throw new CardFull(largestText(all));
      // The card ends with close(), which writes every text and the summary in one patch.
      if ((!all.some((element) => element.dirty) && !this.#changed) || final) return;
      try {
        this.#flushed(await this.#write(false, undefined, true));
        this.#changed = false;
        return;
      } catch (error) {
        if (!(error instanceof DecideAgain)) throw error;
      }
    }
  }

  /** Changes the element's properties on the card (its text stays the session's) and patches the card. */
  async patch(elementId: string, partial: Record<string, unknown>): Promise<void> {
    const card = structuredClone(this.#card);
    const element = elementsById(card).get(elementId);
    if (!element) throw new TypeError(`the card has no element with element_id ${elementId}`);
    const { element_id: _id, ...properties } = structuredClone(partial);
    Object.assign(element, properties);
    // The card changes only once the platform took it: a refused patch leaves it as it was.
    this.#flushed(await this.#write(false, undefined, false, card));
    this.#card = card;
    this.#budget = this.#measure();
  }

  get card(): Readonly<Record<string, unknown>> {
    return this.#card;
  }

  /**
   * Changes the card's structure (a layout's ops); the next patch carries them with the texts. The layout
   * sized them to the card's room; ops past 200 elements make the card full first.
   */
  apply(ops: readonly CardOp[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    const card = structuredClone(this.#card);
    applyOps(card, ops);
    // Texts that outgrow the card are the flush's to roll over.
    const budget = this.#measure(card);
    const all = [...this.#o.elements.values()];
    if (!budget.withinElements) throw new CardFull(largestText(all));
    this.#card = card;
    this.#budget = budget;
    this.#changed = true;
    return Promise.resolve();
  }

  /** A message card has no streaming mode to open. */
  open(): Promise<boolean> {
    return Promise.resolve(true);
  }

  /** Writes every text as it ends on this card, with the summary, in one patch. */
  async close(summary: string | undefined): Promise<void> {
    this.#flushed(await this.#write(true, summary, false));
  }

  /** Fixes the element's last text on this card; `close()` writes it. */
  writeFinal(element: ElementText, text: string): Promise<void> {
    this.#finals.set(element, text);
    return Promise.resolve();
  }

  free(): number {
    return this.#budget.free(this.#o.elements.values());
  }

  room(element: ElementText): number {
    return this.#budget.room(this.#o.elements.values(), element);
  }

  /**
   * Patches the card with every text as it stands when the request leaves (a retry carries what arrived
   * meanwhile); resolves with what each element was written with. `recheck`: a text that changed while
   * the write waited so that it needs another element or card throws `DecideAgain`.
   */
  async #write(urgent: boolean, summary: string | undefined, recheck: boolean, card = this.#card): Promise<Map<ElementText, Written>> {
    const { client, dispatcher, messageId } = this.#o;
    let written = new Map<ElementText, Written>();
    await dispatcher.send({
      api: PATCH,
      messageId,
      urgent,
      keyed: false,
      // Every patch carries the whole card, rendered when it is sent: a retry goes at the message's next slot.
      fullText: true,
      request: () => {
        const rendered = this.#render(card, summary, recheck);
        written = rendered.versions;
        return client.im.v1.message.patch({ message_id: messageId, content: rendered.card });
      },
    });
    for (const [element, entry] of written) entry.lagMs = element.acknowledge(entry.version);
    return written;
  }

  /** A `flush` event for every text a patch carried news of, also one that arrived while the patch waited for its turn. */
  #flushed(written: Map<ElementText, Written>): void {
    for (const [element, { length, news, lagMs }] of written) if (news) this.#o.emit('flush', { elementId: element.elementId, sequence: 0, length, via: 'message', lagMs });
  }

  /** The card with every text where it stands (or as fixed for the end), and what each text was. */
  #render(card: Record<string, unknown>, summary: string | undefined, recheck: boolean) {
    const versions = new Map<ElementText, Written>();
    const placements = new Map<string, Placement>();
    // A text that grew past its element's tables or past the card while the patch waited: decide again.
    if (recheck && this.#budget.free(this.#o.elements.values()) < 0) throw new DecideAgain();
    const present = elementsById(card);
    for (const [id, element] of this.#o.elements) {
      // A text whose element the card does not hold yet (a layout adds it with the next patch) stays unwritten.
      if (!present.has(id)) continue;
      const fixed = this.#finals.get(element);
      const { text, complete } = fixed === undefined ? element.writable() : { text: fixed, complete: true };
      if (recheck && fixed === undefined && tableCutOf(element, text) > 0) throw new DecideAgain();
      element.sending();
      const placement = element.placement();
      placement[placement.length - 1] = { elementId: element.target, text };
      placements.set(id, placement);
      // A write that held back half a character does not cover the latest text.
      versions.set(element, { version: complete ? element.version : 0, length: text.length, news: element.dirty, lagMs: 0 });
    }
    return { card: renderCard(card, placements, summary === undefined ? {} : { summary: { content: summary } }), versions };
  }

  /** A markdown text past the tables one element may hold continues in a new element right after it (added with the next patch). */
  #continuePastTables(elements: readonly ElementText[]): void {
    for (const element of elements) {
      for (let cut = tableCutOf(element, element.writable().text); cut > 0; cut = tableCutOf(element, element.writable().text)) {
        // The part that stays must fit the card, and the card must take one more element; else it is full first.
        if (!this.#fits(element, element.writable().text.slice(0, cut)) || !this.#budget.canAddElement) throw new CardFull(element);
        const taken = new Set([...elementsById(this.#card).keys(), ...this.#added.map((e) => e.element_id as string), ...this.#o.elements.keys()]);
        const from = element.target;
        const to = continuationId(element.elementId, taken);
        const declared = { ...declaredLike(this.#card, element.elementId), element_id: to, content: '' };
        this.#added.push(declared);
        this.#budget.added(declared);
        element.continueIn(to, element.writable().text.slice(0, cut));
        this.#o.emit('rollover', { kind: 'element', elementId: element.elementId, from, to, cardId: null, messageId: this.#o.messageId });
      }
    }
  }

  #fits(element: ElementText, text: string): boolean {
    return jsonBytes(text) <= this.#budget.room(this.#o.elements.values(), element);
  }

  /** The budget of the card as it is now (or `card`), with the continuation elements added so far. */
  #measure(card = this.#card): CardBudget {
    const budget = new CardBudget(card, this.#o.elements.keys());
    for (const element of this.#added) budget.added(element);
    return budget;
  }
}
