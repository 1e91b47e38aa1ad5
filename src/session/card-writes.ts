/**
 * What a card's core asks of the transport that writes the card, and the rules both transports keep
 * for the texts they write: a markdown element holds at most 4 tables (reference §27), a card at most
 * 30 KB (§14, see card-budget.ts). `CardWriter` writes a CardKit entity element by element;
 * `MessageWriter` replaces a message card whole through IM patch (seed 004).
 */
import type { CardOp } from './card-ops.js';
import type { ElementText } from './element-text.js';
import { elementsById } from './card-template.js';
import { jsonBytes, tableCut } from './markdown-cut.js';

export type Transport = 'cardkit' | 'message';

export interface CardWrites {
  /** Times streaming mode was re-opened (always 0 for message cards, which have no streaming mode). */
  readonly reopens: number;
  /** Writes the latest text of every element the platform does not have yet; `final` writes it whole. */
  flush(elements: Iterable<ElementText>, final: boolean): Promise<void>;
  /** Changes an element's properties, in order with the text. */
  patch(elementId: string, partial: Record<string, unknown>): Promise<void>;
  /** Opens streaming mode (again); resolves false when it could not be opened and the session goes on. */
  open(reason: 'start' | 'scheduled' | 'expired'): Promise<boolean>;
  /** Ends the card: streaming off where there is streaming, the summary set. */
  close(summary: string | undefined): Promise<void>;
  /** Writes `text` as the element's last text on this card (what follows goes elsewhere). */
  writeFinal(element: ElementText, text: string, urgent?: boolean): Promise<void>;
  /** Bytes the element's current part may take on this card. */
  room(element: ElementText): number;
  /** Bytes the card has left with every text as it stands (unbounded for an attached card). */
  free(): number;
  /** The card as the platform has it, its streamed texts aside (undefined for an attached card). */
  readonly card: Readonly<Record<string, unknown>> | undefined;
  /** Changes the card's structure (a layout's ops) before the texts' next write; a card they would overfill is full. */
  apply(ops: readonly CardOp[], urgent?: boolean): Promise<void>;
}

/** Tables a markdown element may hold (reference §27: 4 per markdown component). */
export const TABLES_PER_MARKDOWN = 4;

/** Where the text must leave its markdown element (before its fifth table), or -1. */
export function tableCutOf(element: ElementText, text: string): number {
  return element.tag === 'markdown' ? tableCut(text, TABLES_PER_MARKDOWN) : -1;
}

/** A streamed element as the card declared it, without id and text: a continuation element is declared alike. */
export function declaredLike(card: Record<string, unknown> | undefined, elementId: string): Record<string, unknown> {
  const json = card ? elementsById(card).get(elementId) : undefined;
  if (!json) return { tag: 'markdown' };
  const { element_id: _id, content: _content, ...properties } = json;
  return properties;
}

/** A fresh element id for the continuation of `elementId` (at most 20 characters, unused on the card). */
export function continuationId(elementId: string, taken: ReadonlySet<string>): string {
  for (let n = 2; ; n++) {
    const suffix = `_${n}`;
    const id = `${elementId.slice(0, 20 - suffix.length)}${suffix}`;
    if (!taken.has(id)) return id;
  }
}

/** The element whose current part is the largest: the one a full card's answer continues from. */
export function largestText(elements: Iterable<ElementText>): ElementText {
  let largest: { element: ElementText; bytes: number } | undefined;
  for (const element of elements) {
    const bytes = jsonBytes(element.writable().text);
    if (!largest || bytes > largest.bytes) largest = { element, bytes };
  }
  if (!largest) throw new Error('a card streams at least one element');
  return largest.element;
}

/** The card cannot hold the element's text as it stands: the session continues on a new card. */
export class CardFull extends Error {
  constructor(readonly element: ElementText) {
    super(`the card is full (${element.elementId})`);
  }
}

/** The text changed between the choice of a write and its attempt so that another write is needed. */
export class DecideAgain extends Error {}
