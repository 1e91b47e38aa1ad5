// @ts-check
// What every card component shares: the render context, text slots, element keys and common styling.
import { isObject, textContent } from './card-text.js';

/** @typedef {import('./card-text.js').JsonObject} JsonObject */
/**
 * How a card render talks to its caller.
 * @typedef {object} RenderContext
 * @property {(key: string, mode: 'markdown' | 'plain', text: string, streamable: boolean) => HTMLElement} slot
 *   the node that holds a piece of text (the caller paints it; `streamable` text may be typed out)
 * @property {(key: string, expanded: boolean) => boolean} panelOpen whether a collapsible panel shows open
 * @property {(key: string, open: boolean) => void} setPanelOpen a click opened or closed a panel
 * @property {((action: import('./emulator-api.js').CardAction) => void) | null} [action] a click on an interactive
 *   component (set only for a card a message shows: a card not sent has nobody to call back)
 */

const TEXT_SIZES = new Set([
  'heading-0', 'heading-1', 'heading-2', 'heading-3', 'heading-4', 'heading', 'normal', 'notation',
  'xxxx-large', 'xxx-large', 'xx-large', 'x-large', 'large', 'medium', 'small', 'x-small',
]);
export const ALIGNS = new Set(['left', 'center', 'right']);

/**
 * A text object (`{tag: plain_text|lark_md|markdown, content}`) as a painted slot.
 * @param {unknown} text
 * @param {string} key
 * @param {RenderContext} ctx
 * @param {boolean} streamable
 */
export function textSlot(text, key, ctx, streamable) {
  const tag = isObject(text) ? text.tag : 'plain_text';
  const mode = tag === 'lark_md' || tag === 'markdown' ? 'markdown' : 'plain';
  const id = isObject(text) && typeof text.element_id === 'string' ? text.element_id : key;
  return ctx.slot(id, mode, textContent(text), streamable && tag === 'plain_text' && id !== key);
}

/**
 * The element's `element_id`, else its path in the card.
 * @param {JsonObject} element
 * @param {string} path
 * @returns {string}
 */
export function keyOf(element, path) {
  return typeof element.element_id === 'string' ? element.element_id : path;
}

/**
 * Applies an element's id, `text_align` and `text_size` to its node.
 * @template {HTMLElement} T
 * @param {T} node
 * @param {JsonObject} element
 * @returns {T}
 */
export function styled(node, element) {
  if (typeof element.element_id === 'string') node.dataset.elementId = element.element_id;
  textStyle(node, element);
  return node;
}

/**
 * @param {HTMLElement} node
 * @param {JsonObject} text an element or text object with `text_align` / `text_size`
 */
export function textStyle(node, text) {
  if (ALIGNS.has(text.text_align)) node.classList.add(`align-${text.text_align}`);
  if (TEXT_SIZES.has(text.text_size)) node.classList.add(`ts-${text.text_size}`);
}
