// @ts-check
// The live preview: the emulator's cards and messages in a sidebar, the selected card rendered the
// way the Feishu client shows it (streamed text typed out), and its write log, all kept current
// through the emulator's server-sent events. Only the emulator is ever contacted.
// This module wires the parts together and routes: the selection lives in the URL fragment
// (`#card=<card_id>` or `#message=<message_id>`).
import { Live } from './live.js';
import { Sidebar } from './sidebar.js';
import { Stage } from './stage.js';
import { state } from './store.js';

/** @typedef {import('./store.js').Selection} Selection */

/** @returns {Selection | null} */
function selectionFromHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const card = params.get('card');
  if (card) return { kind: 'card', id: card };
  const message = params.get('message');
  if (message) return { kind: 'message', id: message };
  return null;
}

/**
 * Selects a card or message and records it in the URL, so back and forward work.
 * @param {'card' | 'message'} kind
 * @param {string} id
 */
function select(kind, id) {
  const hash = `#${kind}=${encodeURIComponent(id)}`;
  if (location.hash !== hash) history.pushState(null, '', hash);
  applySelection({ kind, id });
}

/** @param {Selection | null} selection */
function applySelection(selection) {
  state.selection = selection;
  sidebar.markSelection();
  stage.render();
  if (selection?.kind === 'card') void live.refreshCard(selection.id);
}

const sidebar = new Sidebar(select);
const stage = new Stage();
const live = new Live({
  listsChanged: () => sidebar.render(),
  stageChanged: () => stage.render(),
  firstCard: (id) => applySelection({ kind: 'card', id }),
});

window.addEventListener('hashchange', () => applySelection(selectionFromHash()));
window.addEventListener('popstate', () => applySelection(selectionFromHash()));

applySelection(selectionFromHash());
live.start();
