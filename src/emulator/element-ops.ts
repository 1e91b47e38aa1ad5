/**
 * The card edits behind the element endpoints and the batch_update actions (reference §4–§9),
 * applied to a draft card. Each throws the platform's code when it cannot apply.
 */
import {
  type Json,
  type JsonObject,
  bodyElements,
  cloneJson,
  deepMerge,
  findElement,
  isObject,
} from './card-tree.js';
import { CONTAINER_TAGS, checkShared, parseElement } from './card-rules.js';
import { EmulatorError, badParam } from './errors.js';

export type InsertType = 'insert_before' | 'insert_after' | 'append';
const INSERT_TYPES = new Set<string>(['insert_before', 'insert_after', 'append']);

export function parseInsertType(raw: unknown): InsertType {
  if (typeof raw !== 'string' || !INSERT_TYPES.has(raw)) {
    throw badParam('type must be insert_before, insert_after or append');
  }
  return raw as InsertType;
}

export function addElements(draft: JsonObject, type: InsertType, targetId: string | undefined, elements: Json): void {
  if (!Array.isArray(elements) || elements.length === 0) throw badParam('elements must be a non-empty array');
  const items = elements.map((e, i) => cloneJson(parseElement(e, `elements[${i}]`)));
  if (targetId === undefined || targetId === '') {
    if (type !== 'append') throw badParam(`target_element_id is required for ${type}`);
    bodyElements(draft).push(...items);
    return;
  }
  const slot = findElement(draft, targetId);
  if (!slot) throw new EmulatorError(300315, `target_element_id ${targetId} not found`);
  if (type === 'append') {
    if (!CONTAINER_TAGS.has(slot.element.tag as string)) {
      throw new EmulatorError(300315, `target ${targetId} is not a container`);
    }
    const children = slot.element.elements;
    (Array.isArray(children) ? children : (slot.element.elements = [])).push(...items);
    return;
  }
  if (!Array.isArray(slot.holder)) throw new EmulatorError(300315, `target ${targetId} is not in an element list`);
  const at = (slot.key as number) + (type === 'insert_after' ? 1 : 0);
  slot.holder.splice(at, 0, ...items);
}

/** Replaces an element whole; the new element's own element_id, if any, becomes its id (reference §19.9). */
export function replaceElement(draft: JsonObject, elementId: string, element: Json, missingCode = 300121): void {
  const replacement = cloneJson(parseElement(element));
  const slot = findElement(draft, elementId);
  if (!slot) throw new EmulatorError(missingCode, `not find elementID : ${elementId}`);
  if (replacement.element_id === undefined) replacement.element_id = elementId;
  (slot.holder as Record<string | number, Json>)[slot.key] = replacement;
}

/** Merges properties into an element; the tag cannot change, an element_id renames it. */
export function patchElement(draft: JsonObject, elementId: string, partial: Json): void {
  if (!isObject(partial)) throw badParam('partial_element must be a JSON object');
  const slot = findElement(draft, elementId);
  if (!slot) throw new EmulatorError(300313, `not find elementID : ${elementId}`);
  if (partial.tag !== undefined && partial.tag !== slot.element.tag) throw new EmulatorError(300312);
  deepMerge(slot.element, partial);
}

export function deleteElements(draft: JsonObject, elementIds: Json): void {
  if (!Array.isArray(elementIds) || elementIds.length === 0) throw badParam('element_ids must be a non-empty array');
  for (const id of elementIds) {
    if (typeof id !== 'string') throw badParam('element_ids must hold strings');
    const slot = findElement(draft, id);
    if (!slot) throw new EmulatorError(300314, `not find elementID : ${id}`);
    if (Array.isArray(slot.holder)) slot.holder.splice(slot.key as number, 1);
    else delete slot.holder[slot.key as string];
  }
}

/**
 * Applies a settings object (`config` and/or `card_link`) to the draft. Returns the streaming mode it
 * sets, if it sets one, so the caller can open or close the streaming window once the write commits.
 */
export function applySettings(draft: JsonObject, settings: Json, acceptFlat: boolean): boolean | undefined {
  if (!isObject(settings)) throw badParam('settings must be a JSON object');
  const { card_link: cardLink, ...others } = settings;
  let { config } = settings;
  const { config: _config, ...rest } = others;
  const restKeys = Object.keys(rest);
  if (restKeys.length > 0) {
    if (!acceptFlat || config !== undefined) {
      throw badParam(`settings holds unknown keys ${restKeys.join(', ')}; wrap card settings in "config"`);
    }
    config = rest;
  }
  if (config === undefined && cardLink === undefined) throw badParam('settings must hold config or card_link');
  if (config !== undefined) {
    if (!isObject(config)) throw badParam('settings.config must be an object');
    checkShared({ config });
    draft.config = deepMerge(isObject(draft.config) ? draft.config : {}, config);
  }
  if (cardLink !== undefined) {
    if (!isObject(cardLink)) throw badParam('settings.card_link must be an object');
    draft.card_link = cloneJson(cardLink);
  }
  return isObject(config) && typeof config.streaming_mode === 'boolean' ? config.streaming_mode : undefined;
}
