/**
 * Changes to a card's structure that a layout (the agent card) asks for, beside the streamed texts:
 * elements added, replaced whole, or patched (reference §4–§7). The same list is applied to the JSON a
 * writer keeps of its card (what a message card is patched to, what a full update closes with) and sent
 * to a CardKit card: one op through its element endpoint, several due together in one batch_update.
 */
import type { BatchAction } from '../client/index.js';
import { elementsById } from './card-template.js';

type JsonObject = Record<string, unknown>;

export type CardOp =
  /** Adds `element` before or after the element `anchor`, or at the end of the body when `anchor` is absent. */
  | { kind: 'add'; element: JsonObject; anchor?: { elementId: string; position: 'insert_before' | 'insert_after' } }
  /** Replaces the element `elementId` whole (its children too). */
  | { kind: 'replace'; elementId: string; element: JsonObject }
  /** Sets some properties of the element `elementId` (given whole at their top level: `header`, not `header.title`). */
  | { kind: 'patch'; elementId: string; partial: JsonObject }
  /** Removes the element `elementId` (and what it holds). */
  | { kind: 'delete'; elementId: string };

/** What decides a card's structure besides its texts: asked for its changes before each write of the card. */
export interface CardLayout {
  /**
   * The changes `card` (as its writer knows it, every op applied so far) needs now; `final` for the card's
   * last write before it is closed; `free`, the bytes the card has left with every text as it stands.
   * Called in the card's queue, right before its texts are written.
   */
  ops(card: Readonly<JsonObject>, final: boolean, free: number): CardOp[];
  /** The ops of the last `ops()` call are on the card (a card that was full first never got them: asked again on the next card). */
  applied(): void;
  /** The changes a card needs before it is closed while the answer goes on in a continuation card. */
  closing(card: Readonly<JsonObject>): CardOp[];
  /** The last `ops()` left out what the card had no room for: the answer goes on in a continuation card, where it is shown. */
  readonly full: boolean;
}

/** Applies `ops` to `card` in place (the ops were built against it; an op whose element is missing is a bug). */
export function applyOps(card: JsonObject, ops: readonly CardOp[]): void {
  for (const op of ops) {
    if (op.kind === 'add') {
      const element = structuredClone(op.element);
      if (!op.anchor) {
        bodyList(card).push(element);
        continue;
      }
      const { list, index } = locate(card, op.anchor.elementId);
      list.splice(index + (op.anchor.position === 'insert_after' ? 1 : 0), 0, element);
    } else if (op.kind === 'replace') {
      const { list, index } = locate(card, op.elementId);
      list[index] = structuredClone(op.element);
    } else if (op.kind === 'delete') {
      const { list, index } = locate(card, op.elementId);
      list.splice(index, 1);
    } else {
      const element = elementsById(card).get(op.elementId);
      if (!element) throw new Error(`no element ${op.elementId} to patch`);
      Object.assign(element, structuredClone(op.partial));
    }
  }
}

/** The op as a batch_update action (reference §4). */
export function batchAction(op: CardOp): BatchAction {
  switch (op.kind) {
    case 'add':
      return {
        action: 'add_elements',
        params: op.anchor
          ? { type: op.anchor.position, target_element_id: op.anchor.elementId, elements: [op.element] }
          : { type: 'append', elements: [op.element] },
      };
    case 'replace':
      return { action: 'update_element', params: { element_id: op.elementId, element: op.element } };
    case 'patch':
      return { action: 'partial_update_element', params: { element_id: op.elementId, partial_element: op.partial } };
    case 'delete':
      return { action: 'delete_elements', params: { element_ids: [op.elementId] } };
  }
}

/** Several layouts over one card (the agent card and the Stop button): their ops in order, full when one is. */
export function combineLayouts(layouts: readonly CardLayout[]): CardLayout {
  if (layouts.length === 1) return layouts[0]!;
  return {
    ops: (card, final, free) => layouts.flatMap((layout) => layout.ops(card, final, free)),
    applied: () => layouts.forEach((layout) => layout.applied()),
    closing: (card) => layouts.flatMap((layout) => layout.closing(card)),
    get full() {
      return layouts.some((layout) => layout.full);
    },
  };
}

/** The body's element list of a Card JSON 2.0 card. */
function bodyList(card: JsonObject): unknown[] {
  const body = (card.body ??= {}) as JsonObject;
  return (body.elements ??= []) as unknown[];
}

/** The list holding the element `elementId` (at any depth) and its index there. */
function locate(card: JsonObject, elementId: string): { list: unknown[]; index: number } {
  const found = search(card.body, elementId, 0);
  if (!found) throw new Error(`no element ${elementId} on the card`);
  return found;
}

function search(node: unknown, elementId: string, depth: number): { list: unknown[]; index: number } | undefined {
  if (depth > 64 || typeof node !== 'object' || node === null) return undefined;
  if (Array.isArray(node)) {
    const index = node.findIndex((item) => typeof item === 'object' && item !== null && (item as JsonObject).element_id === elementId);
    if (index >= 0) return { list: node, index };
  }
  for (const child of Object.values(node)) {
    const found = search(child, elementId, depth + 1);
    if (found) return found;
  }
  return undefined;
}
