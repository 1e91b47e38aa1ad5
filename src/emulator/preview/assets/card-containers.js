// @ts-check
// Card components that hold other components: collapsible panels and column sets. Their children are
// rendered by the `renderChildren` the card renderer passes in.
import { el } from './dom.js';
import { keyOf, styled, textSlot } from './card-parts.js';
import { isObject } from './card-text.js';
import { colourName } from './safe-values.js';

/** @typedef {import('./card-text.js').JsonObject} JsonObject */
/** @typedef {import('./card-parts.js').RenderContext} RenderContext */
/** @typedef {(elements: unknown, parent: HTMLElement, path: string) => void} RenderChildren */

/**
 * `collapsible_panel`: a header that opens and closes the body; the open state survives re-renders.
 * @param {JsonObject} element
 * @param {RenderContext} ctx
 * @param {string} path
 * @param {RenderChildren} renderChildren
 */
export function renderPanel(element, ctx, path, renderChildren) {
  const key = keyOf(element, path);
  const panel = styled(el('div', 'fs-panel'), element);
  const header = isObject(element.header) ? element.header : {};
  const border = isObject(element.border) ? colourName(element.border.color) : null;
  if (border) panel.classList.add(`border-${border}`);
  const background = colourName(element.background_color ?? header.background_color);
  if (background && background !== 'default') panel.classList.add(`bg-${background}`);
  const toggle = el('button', 'fs-panel-header');
  toggle.type = 'button';
  const title = el('span', 'fs-panel-title');
  title.append(textSlot(isObject(header.title) ? header.title : { tag: 'plain_text', content: '' }, `${key}/title`, ctx, false));
  const chevron = el('span', 'fs-panel-chevron');
  chevron.setAttribute('aria-hidden', 'true');
  if (header.icon_position === 'left') toggle.append(chevron, title);
  else toggle.append(title, chevron);
  const body = el('div', 'fs-panel-body');
  renderChildren(element.elements, body, `${path}.elements`);
  /** @param {boolean} open */
  const show = (open) => {
    panel.classList.toggle('open', open);
    toggle.setAttribute('aria-expanded', String(open));
    body.hidden = !open;
  };
  show(ctx.panelOpen(key, element.expanded === true));
  toggle.addEventListener('click', () => {
    const open = !panel.classList.contains('open');
    ctx.setPanelOpen(key, open);
    show(open);
  });
  panel.append(toggle, body);
  return panel;
}

/**
 * `column_set`: columns side by side, weighted, fixed (`120px`) or as wide as their content.
 * @param {JsonObject} element
 * @param {string} path
 * @param {RenderChildren} renderChildren
 */
export function renderColumns(element, path, renderChildren) {
  const set = styled(el('div', 'fs-column-set'), element);
  if (element.background_style === 'grey') set.classList.add('bg-grey');
  const spacing = element.horizontal_spacing;
  if (['small', 'large', 'extra_large', '0px'].includes(spacing)) set.classList.add(`gap-${spacing.replace('_', '-')}`);
  (Array.isArray(element.columns) ? element.columns : []).forEach((/** @type {unknown} */ column, /** @type {number} */ index) => {
    if (!isObject(column)) return;
    const node = styled(el('div', 'fs-column'), column);
    const width = typeof column.width === 'string' ? column.width : 'auto';
    const px = /^(\d{1,4})px$/.exec(width);
    if (width === 'weighted') {
      const weight = Math.min(Math.max(Math.round(Number(column.weight) || 1), 1), 5);
      node.classList.add(`weight-${weight}`);
    } else if (px) {
      node.classList.add('fixed');
      node.style.flexBasis = `${Math.min(Number(px[1]), 2000)}px`;
    } else {
      node.classList.add('auto');
    }
    if (['top', 'center', 'bottom'].includes(column.vertical_align)) node.classList.add(`valign-${column.vertical_align}`);
    if (column.background_style === 'grey') node.classList.add('bg-grey');
    renderChildren(column.elements, node, `${path}.columns.${index}.elements`);
    set.append(node);
  });
  return set;
}
