/**
 * Card JSON 2.0 as a tree of components. Anything in the card body that is an object with a string
 * `tag` is a component or element (a `div`, the `plain_text` inside it, a `collapsible_panel`, a
 * `column` …); this module finds, counts, inserts, replaces and removes them wherever they nest.
 */
export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** Where an element sits: `holder[key]` is the element. */
export interface ElementSlot {
  element: JsonObject;
  holder: Json[] | JsonObject;
  key: number | string;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isElement(value: unknown): value is JsonObject {
  return isObject(value) && typeof value.tag === 'string';
}

/** Visits every element below `root` (depth first, document order), with the slot that holds it. */
export function walkElements(root: Json, visit: (slot: ElementSlot) => void): void {
  const visitChildren = (node: Json[] | JsonObject): void => {
    const entries: [number | string, Json][] = Array.isArray(node) ? [...node.entries()] : Object.entries(node);
    for (const [key, child] of entries) {
      if (typeof child !== 'object' || child === null) continue;
      if (isElement(child)) visit({ element: child, holder: node, key });
      visitChildren(child);
    }
  };
  if (typeof root === 'object' && root !== null) visitChildren(root);
}

/** The card body's elements, or none: `{}` and a card without `body` are valid empty cards. */
export function bodyOf(card: JsonObject): Json {
  return isObject(card.body) ? card.body : null;
}

export function findElement(card: JsonObject, elementId: string): ElementSlot | undefined {
  let found: ElementSlot | undefined;
  walkElements(bodyOf(card), (slot) => {
    if (!found && slot.element.element_id === elementId) found = slot;
  });
  return found;
}

export function countElements(card: JsonObject): number {
  let count = 0;
  walkElements(bodyOf(card), () => count++);
  return count;
}


/** The array of top-level body elements, created if the card has none yet. */
export function bodyElements(card: JsonObject): Json[] {
  const body: JsonObject = isObject(card.body) ? card.body : (card.body = {});
  const elements = body.elements;
  return Array.isArray(elements) ? elements : (body.elements = []);
}

/** Deep copy of plain JSON. */
export function cloneJson<T extends Json>(value: T): T {
  return structuredClone(value);
}

/** Merges `patch` into `target`: nested plain objects merge key by key, everything else is replaced. */
export function deepMerge(target: JsonObject, patch: JsonObject): JsonObject {
  for (const [key, value] of Object.entries(patch)) {
    if (key === '__proto__') continue;
    const current = Object.hasOwn(target, key) ? target[key] : undefined;
    target[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : cloneJson(value);
  }
  return target;
}

