// @ts-check
// A short message floating over the page for a moment, e.g. the toast a bot answered a card click with.
import { el } from './dom.js';

const SHOWN_MS = 2500;

/** @type {number | undefined} */
let hideTimer;

/**
 * Shows `text` (as text, never markup) for a few seconds; a newer toast replaces the one showing.
 * @param {string} text
 * @param {'info' | 'success' | 'error' | 'warning'} [type]
 */
export function showToast(text, type = 'info') {
  let node = document.getElementById('toast');
  if (!node) {
    node = el('div', 'toast');
    node.id = 'toast';
    node.setAttribute('role', 'status');
    document.body.append(node);
  }
  node.textContent = text;
  node.dataset.type = type;
  node.hidden = false;
  clearTimeout(hideTimer);
  const shown = node;
  hideTimer = window.setTimeout(() => {
    shown.hidden = true;
  }, SHOWN_MS);
}
