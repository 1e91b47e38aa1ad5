/**
 * What a card may still hold (reference §14: 30 KB and 200 elements per card). The session measures the card it is
 * writing before each write: the card as created (with its streamed elements empty), the elements the
 * text continued in, and every streamed text where it stands. A write that would not fit rolls the
 * answer over to a continuation card instead of being refused with 200860.
 */
import type { ElementText } from './element-text.js';
import { MAX_ELEMENTS, countElements } from './card-template.js';
import { jsonBytes } from './markdown-cut.js';

export const MAX_CARD_BYTES = 30 * 1024;
/** Kept free for what the platform adds to the stored card and for the closing settings (summary). */
const MARGIN_BYTES = 1024;

export class CardBudget {
  readonly #base: number;
  #added = 0;
  /** Elements the card holds (reference §14: at most 200). */
  #elements: number;

  /** @param card the card as created; @param streamed the ids of the elements whose text is measured separately */
  constructor(card: Record<string, unknown>, streamed: Iterable<string>) {
    const ids = new Set(streamed);
    const empty = JSON.stringify(card, (key, value: unknown) => {
      if (typeof value === 'object' && value !== null && ids.has((value as { element_id?: string }).element_id ?? '')) {
        return { ...value, content: '' };
      }
      return value;
    });
    this.#base = Buffer.byteLength(empty);
    this.#elements = countElements(card);
  }

  /** An element was added to the card (a continuation element). */
  added(element: Record<string, unknown>): void {
    this.#added += Buffer.byteLength(JSON.stringify(element)) + 1;
    this.#elements++;
  }

  /** True while the card may take one more element (a text past 4 tables needs one). */
  get canAddElement(): boolean {
    return this.#elements < MAX_ELEMENTS;
  }

  /** True when the card holds no more elements than a card may (reference §14: 200). */
  get withinElements(): boolean {
    return this.#elements <= MAX_ELEMENTS;
  }

  /** Bytes the current part of `element` may take, with every other text as it stands. */
  room(elements: Iterable<ElementText>, element: ElementText): number {
    return this.free(elements) + jsonBytes(element.placement().at(-1)!.text);
  }

  /** Bytes the card has left with every text as it stands (negative: it is over). */
  free(elements: Iterable<ElementText>): number {
    let used = this.#base + this.#added;
    for (const element of elements) for (const { text } of element.placement()) used += jsonBytes(text);
    return MAX_CARD_BYTES - MARGIN_BYTES - used;
  }
}
