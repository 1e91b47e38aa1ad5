/**
 * The card a session streams into: the default one (optional header, one markdown element), or the
 * caller's Card JSON 2.0, checked before it is created (reference §14) so a mistake is a TypeError at
 * the call rather than a platform error after the user is already waiting.
 */
import { ELEMENT_ID_PATTERN } from '../client/index.js';

export type StreamTag = 'markdown' | 'plain_text';
type JsonObject = Record<string, unknown>;

/** Typewriter settings that keep up with a fast model: 3 characters every 20 ms, and `fast` catches up at each write. */
export const DEFAULT_STREAMING_CONFIG = {
  print_frequency_ms: { default: 20 },
  print_step: { default: 3 },
  print_strategy: 'fast',
} as const;

export const DEFAULT_ELEMENT_ID = 'answer';
export const MAX_ELEMENTS = 200;
const MAX_CARD_BYTES = 30 * 1024;
/** Room a card must leave for the answer (else every continuation card would be as full as the first). */
const MIN_TEXT_BYTES = 4 * 1024;

/** The card `CardSession.start()` creates: the caller's (checked), or the default one with its title. */
export function cardToStart(
  options: { card?: unknown; title?: unknown },
  elementId: string,
  elementIds: readonly string[],
  transport: 'cardkit' | 'message' = 'cardkit',
): { card: JsonObject; tags: Map<string, StreamTag> } {
  if (options.card !== undefined) return prepareCard(options.card, elementIds, transport);
  if (options.title !== undefined && typeof options.title !== 'string') throw new TypeError('options.title must be a string');
  if (elementIds.length !== 1 || elementId !== DEFAULT_ELEMENT_ID) {
    throw new TypeError('elementId and extraElementIds name elements of your own card: pass options.card too');
  }
  return prepareCard(defaultCard(options.title), elementIds, transport);
}

export function defaultCard(title: string | undefined): JsonObject {
  return {
    schema: '2.0',
    config: { update_multi: true, streaming_mode: true, streaming_config: DEFAULT_STREAMING_CONFIG },
    ...(title === undefined ? {} : { header: { title: { tag: 'plain_text', content: title } } }),
    body: { elements: [{ tag: 'markdown', element_id: DEFAULT_ELEMENT_ID, content: '' }] },
  };
}

/**
 * Checks a caller's card and returns a copy ready for the transport, plus the tag of each element to
 * stream into. For CardKit: Card JSON 2.0, streaming mode on (and the default streaming_config where it
 * has none). For a message card: Card JSON 2.0 or 1.0 (no `schema`), shared (`update_multi: true`, which
 * IM patch needs before and after, seed 004) and without streaming settings (see `messageCardOf`).
 */
export function prepareCard(card: unknown, elementIds: readonly string[], transport: 'cardkit' | 'message' = 'cardkit'): { card: JsonObject; tags: Map<string, StreamTag> } {
  if (!isObject(card)) throw new TypeError(`options.card must be a Card JSON ${transport === 'cardkit' ? '2.0' : '2.0 or 1.0'} object`);
  if (card.schema !== '2.0' && (transport === 'cardkit' || card.schema !== undefined)) {
    const allowed = transport === 'cardkit' ? '"2.0" (CardKit cards are Card JSON 2.0)' : '"2.0", or absent for Card JSON 1.0';
    throw new TypeError(`options.card.schema must be ${allowed}; received ${JSON.stringify(card.schema)}`);
  }
  const config = isObject(card.config) ? card.config : {};
  if (config.update_multi === false) {
    throw new TypeError(`options.card.config.update_multi must not be false: ${transport === 'cardkit' ? 'CardKit cards are shared cards' : 'IM patch updates shared cards only (seed 004)'}`);
  }
  const elements = new Map<string, JsonObject>();
  const count = countElements(card);
  walk(bodyOf(card), (element) => {
    const id = element.element_id;
    if (id === undefined) return;
    if (typeof id !== 'string' || !ELEMENT_ID_PATTERN.test(id)) {
      throw new TypeError(`options.card has a malformed element_id ${JSON.stringify(id)}`);
    }
    if (elements.has(id)) throw new TypeError(`options.card has the element_id ${id} twice`);
    elements.set(id, element);
  });
  if (count > MAX_ELEMENTS) throw new RangeError(`options.card has ${count} elements; at most ${MAX_ELEMENTS}`);
  const tags = new Map<string, StreamTag>();
  for (const id of elementIds) {
    const tag = elements.get(id)?.tag;
    if (tag !== 'markdown' && tag !== 'plain_text') {
      throw new TypeError(
        tag === undefined
          ? `options.card has no element with element_id ${id} to stream into`
          : `element ${id} is a ${JSON.stringify(tag)}; only markdown and plain_text elements can be streamed`,
      );
    }
    tags.set(id, tag);
  }
  const prepared: JsonObject =
    transport === 'message'
      ? messageCardOf(card)
      : { ...card, config: { ...config, streaming_mode: true, streaming_config: config.streaming_config ?? DEFAULT_STREAMING_CONFIG } };
  const bytes = Buffer.byteLength(JSON.stringify(prepared));
  if (bytes > MAX_CARD_BYTES) throw new RangeError(`options.card is ${bytes} bytes; a card may be at most 30 KB`);
  if (bytes > MAX_CARD_BYTES - MIN_TEXT_BYTES) {
    throw new RangeError(`options.card is ${bytes} bytes; it must leave at least 4 KB of the 30 KB for the streamed text`);
  }
  return { card: prepared, tags };
}

/**
 * The card as a message card: shared (`update_multi: true` before and after every patch, seed 004), and
 * without streaming settings, which belong to CardKit entities (a message card has no streaming mode:
 * each patch replaces it whole, so it can never be left "[生成中...]").
 */
export function messageCardOf(card: JsonObject): JsonObject {
  const { streaming_mode: _mode, streaming_config: _config, ...config } = isObject(card.config) ? card.config : {};
  return { ...card, config: { ...config, update_multi: true } };
}

/** Components and elements of a card (every object with a `tag` in its body), as the 200-element limit counts them. */
export function countElements(card: JsonObject): number {
  let count = 0;
  walk(bodyOf(card), () => count++);
  return count;
}

/** Where a card's elements are: `body` in Card JSON 2.0, `elements` at the top in 1.0. */
function bodyOf(card: JsonObject): unknown {
  return card.schema === '2.0' ? card.body : card.elements;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Visits every object with a string `tag` below `node` (components and elements). */
function walk(node: unknown, visit: (element: JsonObject) => void, depth = 0): void {
  if (depth > 64 || typeof node !== 'object' || node === null) return;
  for (const child of Object.values(node)) {
    if (isObject(child) && typeof child.tag === 'string') visit(child);
    if (typeof child === 'object' && child !== null) walk(child, visit, depth + 1);
  }
}

/** Where a streamed element's text is on the card: its own element, then each element it continued in. */
export type Placement = readonly { elementId: string; text: string }[];

/**
 * The card as it should end: every streamed element holding its final text (and followed by the
 * elements its text continued in), streaming mode off, the summary set. Sent as a full update when
 * closing through settings fails (reference §2: a full update works whether streaming is on or off).
 */
export function finalCard(card: JsonObject, placements: ReadonlyMap<string, Placement>, summary: string | undefined): JsonObject {
  return renderCard(card, placements, { streaming_mode: false, ...(summary === undefined ? {} : { summary: { content: summary } }) });
}

/**
 * The card with every streamed element holding its text, followed by the elements its text continued
 * in, and `config` merged into its config: what a message card is patched to.
 */
export function renderCard(card: JsonObject, placements: ReadonlyMap<string, Placement>, config: JsonObject = {}): JsonObject {
  const copy = structuredClone(card);
  const lists: { element: JsonObject; placement: Placement }[] = [];
  walk(bodyOf(copy), (element) => {
    const id = element.element_id;
    const placement = typeof id === 'string' ? placements.get(id) : undefined;
    if (!placement) return;
    element.content = placement[0]?.text ?? '';
    if (placement.length > 1) lists.push({ element, placement });
  });
  const present = elementsById(copy);
  for (const { element, placement } of lists) {
    const holder = findList(bodyOf(copy), element);
    if (!holder) continue;
    // A continuation element the card already holds gets its text; the others are added right after the element.
    const missing = [];
    for (const { elementId, text } of placement.slice(1)) {
      const existing = present.get(elementId);
      if (existing) existing.content = text;
      else missing.push({ ...element, element_id: elementId, content: text });
    }
    holder.splice(holder.indexOf(element) + 1, 0, ...missing);
  }
  copy.config = { ...(isObject(copy.config) ? copy.config : {}), ...config };
  return copy;
}

/** Every element of a card that has an `element_id`, by id (components inside containers too). */
export function elementsById(card: JsonObject): Map<string, JsonObject> {
  const found = new Map<string, JsonObject>();
  walk(bodyOf(card), (element) => {
    if (typeof element.element_id === 'string') found.set(element.element_id, element);
  });
  return found;
}

/** The array that holds `element` directly, below `node`. */
function findList(node: unknown, element: JsonObject, depth = 0): unknown[] | undefined {
  if (depth > 64 || typeof node !== 'object' || node === null) return undefined;
  if (Array.isArray(node) && (node as unknown[]).includes(element)) return node as unknown[];
  for (const child of Object.values(node)) {
    const found = findList(child, element, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** The card a full card's answer goes on in: the same card, its streamed elements empty, its title marked as continued. */
export function continuationCard(card: JsonObject, streamed: readonly string[]): JsonObject {
  const copy = structuredClone(card);
  walk(bodyOf(copy), (element) => {
    if (typeof element.element_id === 'string' && streamed.includes(element.element_id)) element.content = '';
  });
  const header = isObject(copy.header) ? copy.header : {};
  const title = isObject(header.title) ? header.title : { tag: 'plain_text', content: '' };
  const content = typeof title.content === 'string' && title.content !== '' ? `${title.content} (continued)` : '(continued)';
  copy.header = { ...header, title: { ...title, content } };
  return copy;
}
