// @ts-check
// Card JSON 2.0 (and the 1.0 shapes inline messages still use) → DOM, the way the Feishu client
// lays a card out: header (title, subtitle, tags, template colour), then the body's components.
// Every piece of card text goes through a text slot the caller paints (so streamed elements can be
// typed out); nothing here ever parses card content as HTML.
import { el } from './dom.js';
import { renderButtons, renderDiv, renderImage, renderNote } from './card-components.js';
import { renderColumns, renderPanel } from './card-containers.js';
import { keyOf, styled, textSlot } from './card-parts.js';
import { cardElements, isObject, textContent } from './card-text.js';
import { colourName } from './safe-values.js';

export { paintText } from './card-paint.js';
export { cardTitle, textContent } from './card-text.js';

/** @typedef {import('./card-text.js').JsonObject} JsonObject */
/** @typedef {import('./card-parts.js').RenderContext} RenderContext */

/** Components nest at most this deep; deeper ones are not shown. */
const MAX_DEPTH = 24;

/**
 * Renders a card. `ctx.slot(key, mode, text, streamable)` returns the node holding a piece of text
 * (the caller paints it); `ctx.panelOpen(key, expanded)` / `ctx.setPanelOpen(key, open)` keep the
 * collapsible panels' state across re-renders.
 * @param {unknown} card
 * @param {RenderContext} ctx
 * @returns {HTMLElement}
 */
export function renderCard(card, ctx) {
  const root = el('div', 'fs-card');
  const config = isObject(card) && isObject(card.config) ? card.config : {};
  const width = ['compact', 'fill'].includes(config.width_mode) ? config.width_mode : 'default';
  root.classList.add(`width-${width}`);
  if (isObject(card) && isObject(card.header)) root.append(renderHeader(card.header, ctx));
  const body = el('div', 'fs-body');
  const bodyJson = isObject(card) && isObject(card.body) ? card.body : {};
  if (bodyJson.direction === 'horizontal') body.classList.add('horizontal');
  renderElements(cardElements(card), body, ctx, 'body', 0);
  root.append(body);
  return root;
}

/**
 * @param {JsonObject} header
 * @param {RenderContext} ctx
 */
function renderHeader(header, ctx) {
  const box = el('div', 'fs-header');
  const template = colourName(header.template);
  box.classList.add(`tpl-${template && template !== 'default' ? template : 'default'}`);
  const titles = el('div', 'fs-header-titles');
  const titleRow = el('div', 'fs-header-title-row');
  const title = el('div', 'fs-header-title');
  title.append(textSlot(header.title, 'header.title', ctx, false));
  titleRow.append(title);
  if (Array.isArray(header.text_tag_list)) {
    for (const tag of header.text_tag_list.slice(0, 3)) {
      if (!isObject(tag)) continue;
      const pill = el('span', 'md-text-tag', textContent(tag.text));
      pill.classList.add(`tag-${colourName(tag.color) ?? 'neutral'}`);
      titleRow.append(pill);
    }
  }
  titles.append(titleRow);
  if (header.subtitle !== undefined && textContent(header.subtitle) !== '') {
    const subtitle = el('div', 'fs-header-subtitle');
    subtitle.append(textSlot(header.subtitle, 'header.subtitle', ctx, false));
    titles.append(subtitle);
  }
  box.append(titles);
  return box;
}

/**
 * @param {unknown} elements
 * @param {HTMLElement} parent
 * @param {RenderContext} ctx
 * @param {string} path
 * @param {number} depth
 */
function renderElements(elements, parent, ctx, path, depth) {
  if (!Array.isArray(elements)) return;
  elements.forEach((element, index) => {
    const node = renderElement(element, ctx, `${path}.${index}`, depth);
    if (node) parent.append(node);
  });
}

/**
 * One component, or null for what is not a component at all.
 * @param {unknown} element
 * @param {RenderContext} ctx
 * @param {string} path
 * @param {number} depth
 * @returns {HTMLElement | null}
 */
function renderElement(element, ctx, path, depth) {
  if (!isObject(element) || depth > MAX_DEPTH) return null;
  /** @type {(elements: unknown, parent: HTMLElement, childPath: string) => void} */
  const renderChildren = (elements, parent, childPath) => renderElements(elements, parent, ctx, childPath, depth + 1);
  const tag = typeof element.tag === 'string' ? element.tag : '';
  switch (tag) {
    case 'markdown': {
      const box = styled(el('div', 'fs-markdown'), element);
      const text = typeof element.content === 'string' ? element.content : textContent(element);
      box.append(ctx.slot(keyOf(element, path), 'markdown', text, true));
      return box;
    }
    case 'plain_text':
    case 'lark_md': {
      const box = styled(el('div', tag === 'plain_text' ? 'fs-plain' : 'fs-markdown'), element);
      box.append(ctx.slot(keyOf(element, path), tag === 'plain_text' ? 'plain' : 'markdown', textContent(element), tag === 'plain_text'));
      return box;
    }
    case 'div':
      return renderDiv(element, ctx, path);
    case 'hr':
      return styled(el('hr', 'fs-hr'), element);
    case 'collapsible_panel':
      return renderPanel(element, ctx, path, renderChildren);
    case 'button':
      return renderButtons([element], ctx, path);
    case 'action': {
      // Card 1.0's button row.
      const actions = Array.isArray(element.actions) ? element.actions.filter((/** @type {unknown} */ a) => isObject(a) && a.tag === 'button') : [];
      return renderButtons(actions, ctx, path);
    }
    case 'note':
      return renderNote(element, ctx, path);
    case 'column_set':
      return renderColumns(element, path, renderChildren);
    case 'column': {
      const column = styled(el('div', 'fs-column'), element);
      renderChildren(element.elements, column, `${path}.elements`);
      return column;
    }
    case 'img':
      return renderImage(element);
    case 'form':
    case 'interactive_container': {
      const box = styled(el('div', `fs-container fs-${tag.replace('_', '-')}`), element);
      renderChildren(element.elements, box, `${path}.elements`);
      return box;
    }
    default: {
      const box = styled(el('div', 'fs-unsupported'), element);
      box.textContent = `[${tag || 'untagged'}] not shown by the preview`;
      return box;
    }
  }
}
