/**
 * Validation of Card JSON 2.0 as CardKit does it (reference §1, §14, §27): schema 2.0 only, shared cards
 * only, no component 2.0 dropped, element_id format and uniqueness, at most 200 elements, the markdown
 * table cap, at most 30 KB.
 */
import { CardContentError, type TableLimit, droppedTag, tablesOverLimit } from './card-content.js';
import { type Json, type JsonObject, countElements, isElement, isObject, walkElements, bodyOf } from './card-tree.js';
import { EmulatorError, badParam } from './errors.js';
import { MAX_DEPTH, parseUntrustedJson } from './json-input.js';

export const ELEMENT_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,19}$/;
export const MAX_ELEMENTS = 200;
/** Tags the content endpoint may stream into (reference §8, §12.3). */
export const STREAMABLE_TAGS = new Set(['markdown', 'plain_text']);
/** Containers whose `elements` array `add_elements` with type `append` may target. */
export const CONTAINER_TAGS = new Set(['collapsible_panel', 'column', 'form', 'interactive_container']);

/** Documented maximum lengths of the JSON-string fields, in characters (reference §1–§7). */
export const JSON_FIELD_MAX: Record<string, number> = {
  data: 1_000_000,
  settings: 100_000,
  actions: 1_000_000,
  elements: 1_000_000,
  element: 1_000_000,
  partial_element: 1_000_000,
};

/** Parses a JSON-string field of a request body (`data`, `settings`, `element` …). */
export function parseJsonField(name: string, raw: unknown, max = JSON_FIELD_MAX[name] ?? 1_000_000): Json {
  if (typeof raw !== 'string') throw badParam(`${name} must be a JSON string`);
  if (raw.length > max && charLength(raw) > max) throw badParam(`${name} is longer than ${max} characters`);
  if (raw.trim() === '') throw new EmulatorError(300307, `${name} is empty`);
  const parsed = parseUntrustedJson(raw);
  if (!parsed.ok) {
    throw new EmulatorError(200220, parsed.reason === 'depth' ? `${name} nests deeper than ${MAX_DEPTH} levels` : `${name} is not valid JSON`);
  }
  return parsed.value as Json;
}

/** Parses and checks a whole card from the `data` string of create or full update. */
export function parseCard(raw: unknown, maxLength = JSON_FIELD_MAX.data): JsonObject {
  const card = parseJsonField('data', raw, maxLength);
  if (!isObject(card)) throw new EmulatorError(200220, 'card JSON must be an object');
  if (Object.keys(card).length === 0) throw new EmulatorError(300307);
  if (card.schema !== '2.0') throw new EmulatorError(300303, `schema is ${JSON.stringify(card.schema ?? null)}`);
  checkShared(card);
  if (card.body !== undefined && !isObject(card.body)) throw new EmulatorError(200220, 'body must be an object');
  const elements = isObject(card.body) ? card.body.elements : undefined;
  if (elements !== undefined && !Array.isArray(elements)) {
    throw new EmulatorError(200220, 'body.elements must be an array');
  }
  return card;
}

/** `config.update_multi:false` is refused: CardKit cards are always shared cards. */
export function checkShared(card: JsonObject): void {
  if (isObject(card.config) && card.config.update_multi === false) throw new EmulatorError(300302);
}

/** Parses one element (`element` of update, `elements` items of add). */
export function parseElement(value: Json, name = 'element'): JsonObject {
  if (!isElement(value)) throw new EmulatorError(200220, `${name} must be an object with a string tag`);
  return value;
}

/** The limits a card is held to; the emulator's resolved options are one. */
export interface CardLimits {
  maxCardBytes: number;
  tableLimit: TableLimit;
}

/**
 * Dropped components (200861), element ids, element count, tables and size: the checks every write re-runs
 * on the resulting card. Content the renderer refuses throws a {@link CardContentError}.
 */
export function checkCardLimits(card: JsonObject, limits: CardLimits): void {
  const dropped = droppedTag(card);
  if (dropped) throw new CardContentError(200861, dropped);
  const seen = new Set<string>();
  walkElements(bodyOf(card), ({ element }) => {
    const id = element.element_id;
    if (id === undefined) return;
    if (typeof id !== 'string' || !ELEMENT_ID_PATTERN.test(id)) {
      throw new EmulatorError(300301, `elementID format error: ${JSON.stringify(id)}`);
    }
    if (seen.has(id)) throw new EmulatorError(300301, `duplicate element_id ${id}`);
    seen.add(id);
  });
  const count = countElements(card);
  if (count > MAX_ELEMENTS) throw new EmulatorError(300305, `${count} elements, at most ${MAX_ELEMENTS}`);
  const tables = tablesOverLimit(card, limits.tableLimit);
  if (tables) throw new CardContentError(limits.tableLimit.cardKitCode, tables);
  const bytes = cardBytes(card);
  if (bytes > limits.maxCardBytes) throw new EmulatorError(200860, `${bytes} bytes, at most ${limits.maxCardBytes}`);
}

/** Size of a card as CardKit is taken to measure it: UTF-8 bytes of its serialized JSON (reference §19.12). */
export function cardBytes(card: JsonObject): number {
  return Buffer.byteLength(JSON.stringify(card), 'utf8');
}

/** Length in characters (code points), the unit the docs use for string limits. */
export function charLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
