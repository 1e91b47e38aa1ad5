// @ts-check
// Reading card JSON: the text of a text object, a card's components, a short label for a card.
// Card JSON comes from the API unchecked, so every access is guarded.

/** @typedef {Record<string, any>} JsonObject card JSON: anything may be missing or of the wrong type */

const MAX_DEPTH = 24;

/**
 * @param {unknown} value
 * @returns {value is JsonObject}
 */
export const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The string content of a text object (`content`, else a localized `i18n_content`).
 * @param {unknown} text
 * @returns {string}
 */
export function textContent(text) {
  if (typeof text === 'string') return text;
  if (!isObject(text)) return '';
  if (typeof text.content === 'string') return text.content;
  const i18n = isObject(text.i18n_content) ? text.i18n_content : isObject(text.i18n) ? text.i18n : null;
  if (i18n) {
    const value = i18n.zh_cn ?? i18n.en_us ?? Object.values(i18n).find((v) => typeof v === 'string');
    if (typeof value === 'string') return value;
  }
  return '';
}

/**
 * The card's components: `body.elements` (2.0) or `elements` (1.0).
 * @param {unknown} card
 * @returns {unknown[]}
 */
export function cardElements(card) {
  if (!isObject(card)) return [];
  if (isObject(card.body) && Array.isArray(card.body.elements)) return card.body.elements;
  if (Array.isArray(card.elements)) return card.elements;
  return [];
}

/**
 * A short label for a card: its header title, else the first text in it.
 * @param {unknown} card
 * @returns {string}
 */
export function cardTitle(card) {
  const header = isObject(card) && isObject(card.header) ? card.header : null;
  const title = header ? textContent(header.title).trim() : '';
  if (title) return title;
  let found = '';
  /**
   * @param {unknown} node
   * @param {number} depth
   */
  const visit = (node, depth) => {
    if (found || depth > MAX_DEPTH) return;
    if (Array.isArray(node)) node.forEach((child) => visit(child, depth + 1));
    else if (isObject(node)) {
      if (['markdown', 'plain_text', 'lark_md'].includes(node.tag) && typeof node.content === 'string' && node.content.trim()) {
        found = node.content.trim();
        return;
      }
      Object.values(node).forEach((child) => visit(child, depth + 1));
    }
  };
  visit(cardElements(card), 0);
  return found.replace(/\s+/g, ' ').slice(0, 80);
}
