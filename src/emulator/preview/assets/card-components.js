// @ts-check
// Card components that hold no other components: text blocks (div with fields), buttons, notes and images.
import { el } from './dom.js';
import { keyOf, styled, textSlot, textStyle } from './card-parts.js';
import { isObject, textContent } from './card-text.js';
import { colourName } from './safe-values.js';

/** @typedef {import('./card-text.js').JsonObject} JsonObject */
/** @typedef {import('./card-parts.js').RenderContext} RenderContext */

const BUTTON_TYPES = new Set(['default', 'primary', 'danger', 'text', 'primary_text', 'danger_text', 'primary_filled', 'danger_filled', 'laser']);

/**
 * `div`: a text (plain or lark_md) and short or long fields.
 * @param {JsonObject} element
 * @param {RenderContext} ctx
 * @param {string} path
 */
export function renderDiv(element, ctx, path) {
  const box = styled(el('div', 'fs-div'), element);
  const colour = colourName(element.text?.text_color ?? element.text_color);
  if (colour) box.classList.add(`c-${colour}`);
  if (isObject(element.text)) {
    const text = element.text;
    textStyle(box, text);
    const holder = el('div', text.tag === 'plain_text' ? 'fs-plain' : 'fs-markdown');
    const key = typeof text.element_id === 'string' ? text.element_id : `${keyOf(element, path)}/text`;
    const mode = text.tag === 'lark_md' ? 'markdown' : 'plain';
    holder.append(ctx.slot(key, mode, textContent(text), text.tag === 'plain_text'));
    box.append(holder);
  }
  if (Array.isArray(element.fields)) {
    const fields = el('div', 'fs-fields');
    element.fields.forEach((/** @type {unknown} */ field, /** @type {number} */ index) => {
      if (!isObject(field)) return;
      const cell = el('div', field.is_short ? 'fs-field short' : 'fs-field');
      cell.append(textSlot(field.text, `${path}.fields.${index}`, ctx, false));
      fields.append(cell);
    });
    box.append(fields);
  }
  return box;
}

/**
 * A row of buttons. A button with a callback value (Card 2.0 `behaviors: [{ type: 'callback', value }]`, or
 * 1.0's `value`) is clickable when `ctx.action` is set; otherwise buttons are inert.
 * @param {JsonObject[]} buttons
 * @param {RenderContext} ctx
 * @param {string} path
 */
export function renderButtons(buttons, ctx, path) {
  const row = el('div', 'fs-buttons');
  buttons.forEach((button, index) => {
    const node = el('button', 'fs-button');
    node.type = 'button';
    const type = BUTTON_TYPES.has(button.type) ? button.type : 'default';
    node.classList.add(`btn-${type}`);
    if (['tiny', 'small', 'large'].includes(button.size)) node.classList.add(`btn-${button.size}`);
    if (button.width === 'fill') node.classList.add('btn-fill');
    if (typeof button.element_id === 'string') node.dataset.elementId = button.element_id;
    if (button.disabled === true) node.disabled = true;
    const value = callbackValue(button);
    const action = ctx.action;
    if (action && value !== undefined && button.disabled !== true) {
      node.classList.add('clickable');
      const name = typeof button.name === 'string' ? button.name : undefined;
      node.addEventListener('click', () => action({ tag: 'button', value, ...(name === undefined ? {} : { name }) }));
    } else {
      node.title = action ? 'This button has no callback' : 'Buttons of a card not sent in a message are inert';
    }
    node.append(textSlot(isObject(button.text) ? button.text : { tag: 'plain_text', content: '' }, `${path}.${index}.text`, ctx, false));
    row.append(node);
  });
  return row;
}

/**
 * The value a button's callback carries, or undefined for a button without one.
 * @param {JsonObject} button
 * @returns {unknown}
 */
function callbackValue(button) {
  if (Array.isArray(button.behaviors)) {
    const callback = button.behaviors.find((/** @type {unknown} */ b) => isObject(b) && b.type === 'callback');
    if (isObject(callback)) return callback.value ?? {};
  }
  return button.value;
}

/**
 * `note`: small grey texts and icons in a row.
 * @param {JsonObject} element
 * @param {RenderContext} ctx
 * @param {string} path
 */
export function renderNote(element, ctx, path) {
  const note = styled(el('div', 'fs-note'), element);
  (Array.isArray(element.elements) ? element.elements : []).forEach((/** @type {unknown} */ child, /** @type {number} */ index) => {
    if (!isObject(child)) return;
    if (child.tag === 'img') note.append(el('span', 'fs-note-img', '▣'));
    else note.append(textSlot(child, `${path}.elements.${index}`, ctx, false));
  });
  return note;
}

/**
 * `img`: a placeholder with the image's alt text (the emulator stores no images).
 * @param {JsonObject} element
 */
export function renderImage(element) {
  const box = styled(el('div', 'fs-img'), element);
  const label = textContent(element.alt) || textContent(element.title) || (typeof element.img_key === 'string' ? element.img_key : 'image');
  const icon = el('span', 'fs-img-icon');
  icon.setAttribute('aria-hidden', 'true');
  box.append(icon, el('span', 'fs-img-label', label));
  if (typeof element.img_key === 'string') box.title = element.img_key;
  return box;
}
