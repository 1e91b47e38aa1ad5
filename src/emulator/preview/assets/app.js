// @ts-check
// The live preview: the emulator's cards and messages in a sidebar, the selected card rendered the
// way the Feishu client shows it (streamed text typed out), and its write log, all kept current
// through the emulator's server-sent events. Only the emulator is ever contacted.
// This module wires the parts together and routes: the selection lives in the URL fragment
// (`#card=<card_id>`, `#message=<message_id>` or `#chat=<chat_id>`).
import { ChatList } from './chat-list.js';
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
  const chat = params.get('chat');
  if (chat) return { kind: 'chat', id: chat };
  return null;
}

/**
 * Selects a card, message or chat and records it in the URL, so back and forward work.
 * @param {'card' | 'message' | 'chat'} kind
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
  chatList.render();
  stage.render();
  if (selection?.kind === 'card') void live.refreshCard(selection.id);
}

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node;
}

const sidebar = new Sidebar(select);
const chatList = new ChatList(byId('chat-list'), byId('no-chats'), (id) => select('chat', id));
const stage = new Stage();
const live = new Live({
  listsChanged: () => {
    sidebar.render();
    chatList.render();
  },
  stageChanged: () => stage.render(),
  firstCard: (id) => applySelection({ kind: 'card', id }),
});

window.addEventListener('hashchange', () => applySelection(selectionFromHash()));
window.addEventListener('popstate', () => applySelection(selectionFromHash()));

applySelection(selectionFromHash());
live.start();
