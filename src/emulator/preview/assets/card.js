// Card JSON 2.0 (and the 1.0 shapes inline messages still use) → DOM, the way the Feishu client
// lays a card out: header (title, subtitle, tags, template colour), then the body's components.
// Every piece of card text goes through a text slot the caller paints (so streamed elements can be
// typed out); nothing here ever parses card content as HTML.
import { colourName, renderMarkdown } from './markdown.js';

const TEXT_SIZES = new Set([
  'heading-0', 'heading-1', 'heading-2', 'heading-3', 'heading-4', 'heading', 'normal', 'notation',
  'xxxx-large', 'xxx-large', 'xx-large', 'x-large', 'large', 'medium', 'small', 'x-small',
]);
const ALIGNS = new Set(['left', 'center', 'right']);
const BUTTON_TYPES = new Set(['default', 'primary', 'danger', 'text', 'primary_text', 'danger_text', 'primary_filled', 'danger_filled', 'laser']);
const MAX_DEPTH = 24;
const CARET_HOSTS = new Set(['P', 'UL', 'OL', 'LI', 'BLOCKQUOTE', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6']);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The string content of a text object (`content`, else a localized `i18n_content`). */
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

/** The card's components: `body.elements` (2.0) or `elements` (1.0). */
export function cardElements(card) {
  if (!isObject(card)) return [];
  if (isObject(card.body) && Array.isArray(card.body.elements)) return card.body.elements;
  if (Array.isArray(card.elements)) return card.elements;
  return [];
}

/** A short label for a card: its header title, else the first text in it. */
export function cardTitle(card) {
  const header = isObject(card) && isObject(card.header) ? card.header : null;
  const title = header ? textContent(header.title).trim() : '';
  if (title) return title;
  let found = '';
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

/** Paints a text slot: markdown rendered, plain text as is; an optional typing caret at the end. */
export function paintText(node, mode, text, caret) {
  node.replaceChildren();
  if (mode === 'markdown') node.append(renderMarkdown(text));
  else node.textContent = text;
  if (!caret) return;
  const mark = el('span', 'caret');
  mark.setAttribute('aria-hidden', 'true');
  // The caret goes after the last text: inside the last paragraph or list item, not below it (and
  // not inside a link or code span either).
  let host = node;
  for (;;) {
    const last = host.lastElementChild;
    if (!last || !(CARET_HOSTS.has(last.tagName) || last.classList.contains('md-tight'))) break;
    host = last;
  }
  host.append(mark);
}

/**
 * Renders a card. `ctx.slot(key, mode, text, streamable)` returns the node holding a piece of text
 * (the caller paints it); `ctx.panelOpen(key, expanded)` / `ctx.setPanelOpen(key, open)` keep the
 * collapsible panels' state across re-renders.
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

/** A text object (`{tag: plain_text|lark_md|markdown, content}`) as a painted slot. */
function textSlot(text, key, ctx, streamable) {
  const tag = isObject(text) ? text.tag : 'plain_text';
  const mode = tag === 'lark_md' || tag === 'markdown' ? 'markdown' : 'plain';
  const id = isObject(text) && typeof text.element_id === 'string' ? text.element_id : key;
  return ctx.slot(id, mode, textContent(text), streamable && tag === 'plain_text' && id !== key);
}

function renderElements(elements, parent, ctx, path, depth) {
  if (!Array.isArray(elements)) return;
  elements.forEach((element, index) => {
    const node = renderElement(element, ctx, `${path}.${index}`, depth);
    if (node) parent.append(node);
  });
}

function keyOf(element, path) {
  return typeof element.element_id === 'string' ? element.element_id : path;
}

function styled(node, element) {
  if (typeof element.element_id === 'string') node.dataset.elementId = element.element_id;
  if (ALIGNS.has(element.text_align)) node.classList.add(`align-${element.text_align}`);
  if (TEXT_SIZES.has(element.text_size)) node.classList.add(`ts-${element.text_size}`);
  return node;
}

function renderElement(element, ctx, path, depth) {
  if (!isObject(element) || depth > MAX_DEPTH) return null;
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
      return renderPanel(element, ctx, path, depth);
    case 'button':
      return renderButtons([element], ctx, path);
    case 'action': {
      // Card 1.0's button row.
      const actions = Array.isArray(element.actions) ? element.actions.filter((a) => isObject(a) && a.tag === 'button') : [];
      return renderButtons(actions, ctx, path);
    }
    case 'note': {
      const note = styled(el('div', 'fs-note'), element);
      (Array.isArray(element.elements) ? element.elements : []).forEach((child, index) => {
        if (!isObject(child)) return;
        if (child.tag === 'img') note.append(el('span', 'fs-note-img', '▣'));
        else note.append(textSlot(child, `${path}.elements.${index}`, ctx, false));
      });
      return note;
    }
    case 'column_set':
      return renderColumns(element, ctx, path, depth);
    case 'column': {
      const column = styled(el('div', 'fs-column'), element);
      renderElements(element.elements, column, ctx, `${path}.elements`, depth + 1);
      return column;
    }
    case 'img':
      return renderImage(element);
    case 'form':
    case 'interactive_container': {
      const box = styled(el('div', `fs-container fs-${tag.replace('_', '-')}`), element);
      renderElements(element.elements, box, ctx, `${path}.elements`, depth + 1);
      return box;
    }
    default: {
      const box = styled(el('div', 'fs-unsupported'), element);
      box.textContent = `[${tag || 'untagged'}] not shown by the preview`;
      return box;
    }
  }
}

function renderDiv(element, ctx, path) {
  const box = styled(el('div', 'fs-div'), element);
  const colour = colourName(element.text?.text_color ?? element.text_color);
  if (colour) box.classList.add(`c-${colour}`);
  if (isObject(element.text)) {
    const text = element.text;
    if (ALIGNS.has(text.text_align)) box.classList.add(`align-${text.text_align}`);
    if (TEXT_SIZES.has(text.text_size)) box.classList.add(`ts-${text.text_size}`);
    const holder = el('div', text.tag === 'plain_text' ? 'fs-plain' : 'fs-markdown');
    const key = typeof text.element_id === 'string' ? text.element_id : `${keyOf(element, path)}/text`;
    const mode = text.tag === 'lark_md' ? 'markdown' : 'plain';
    holder.append(ctx.slot(key, mode, textContent(text), text.tag === 'plain_text'));
    box.append(holder);
  }
  if (Array.isArray(element.fields)) {
    const fields = el('div', 'fs-fields');
    element.fields.forEach((field, index) => {
      if (!isObject(field)) return;
      const cell = el('div', field.is_short ? 'fs-field short' : 'fs-field');
      cell.append(textSlot(field.text, `${path}.fields.${index}`, ctx, false));
      fields.append(cell);
    });
    box.append(fields);
  }
  return box;
}

function renderPanel(element, ctx, path, depth) {
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
  renderElements(element.elements, body, ctx, `${path}.elements`, depth + 1);
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

function renderButtons(buttons, ctx, path) {
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
    node.title = 'Buttons are inert in the preview: callbacks are not emulated';
    node.append(textSlot(isObject(button.text) ? button.text : { tag: 'plain_text', content: '' }, `${path}.${index}.text`, ctx, false));
    row.append(node);
  });
  return row;
}

function renderColumns(element, ctx, path, depth) {
  const set = styled(el('div', 'fs-column-set'), element);
  if (element.background_style === 'grey') set.classList.add('bg-grey');
  const spacing = element.horizontal_spacing;
  if (['small', 'large', 'extra_large', '0px'].includes(spacing)) set.classList.add(`gap-${spacing.replace('_', '-')}`);
  (Array.isArray(element.columns) ? element.columns : []).forEach((column, index) => {
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
    renderElements(column.elements, node, ctx, `${path}.columns.${index}.elements`, depth + 1);
    set.append(node);
  });
  return set;
}

function renderImage(element) {
  const box = styled(el('div', 'fs-img'), element);
  const label = textContent(element.alt) || textContent(element.title) || (typeof element.img_key === 'string' ? element.img_key : 'image');
  const icon = el('span', 'fs-img-icon');
  icon.setAttribute('aria-hidden', 'true');
  box.append(icon, el('span', 'fs-img-label', label));
  if (typeof element.img_key === 'string') box.title = element.img_key;
  return box;
}
