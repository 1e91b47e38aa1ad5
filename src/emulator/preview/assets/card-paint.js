// @ts-check
// Painting one text slot of a card: markdown rendered or plain text as is, and the typing caret.
import { el } from './dom.js';
import { renderMarkdown } from './markdown.js';

/** Elements the caret may go inside of, to sit right after the last text. */
const CARET_HOSTS = new Set(['P', 'UL', 'OL', 'LI', 'BLOCKQUOTE', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6']);

/**
 * Paints a text slot: markdown rendered, plain text as is; an optional typing caret at the end.
 * @param {HTMLElement} node
 * @param {string} mode `markdown` or `plain`
 * @param {string} text
 * @param {boolean} caret
 */
export function paintText(node, mode, text, caret) {
  node.replaceChildren();
  if (mode === 'markdown') node.append(renderMarkdown(text));
  else node.textContent = text;
  if (!caret) return;
  const mark = el('span', 'caret');
  mark.setAttribute('aria-hidden', 'true');
  // The caret goes after the last text: inside the last paragraph or list item, not below it (and
  // not inside a link or code span either).
  /** @type {Element} */
  let host = node;
  for (;;) {
    const last = host.lastElementChild;
    if (!last || !(CARET_HOSTS.has(last.tagName) || last.classList.contains('md-tight'))) break;
    host = last;
  }
  host.append(mark);
}
