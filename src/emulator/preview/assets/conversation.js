// @ts-check
// A chat as a conversation: its messages in order, the users' on the right as bubbles, the bot's text
// replies and cards on the left (cards drawn by CardView, their buttons clickable), replies and threads
// marked. Rows are kept per message so streamed cards keep typing across updates.
import { cardActions } from './card-actions.js';
import { CardView } from './card-view.js';
import { el } from './dom.js';
import { clockTime } from './format.js';
import { messageExcerpt } from './sidebar.js';
import { state } from './store.js';

/** @typedef {import('./emulator-api.js').MessageSnapshot} MessageSnapshot */
/** @typedef {{ node: HTMLElement, meta: HTMLElement, body: HTMLElement, view: CardView | null }} Row */

/** @param {string} text */
function parsed(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export class Conversation {
  /** @param {HTMLElement} list the element the rows go in */
  constructor(list) {
    this.list = list;
    /** @type {string | null} */
    this.chatId = null;
    /** @type {Map<string, Row>} by message_id */
    this.rows = new Map();
  }

  /**
   * Shows the chat's messages as the store has them now.
   * @param {string} chatId
   */
  render(chatId) {
    if (chatId !== this.chatId) this.clear();
    this.chatId = chatId;
    const messages = [...state.messages.values()]
      .filter((message) => message.chat_id === chatId)
      .sort((a, b) => a.created_at - b.created_at);
    const ids = new Set(messages.map((message) => message.message_id));
    for (const [id, row] of this.rows) {
      if (ids.has(id)) continue;
      row.view?.dispose();
      row.node.remove();
      this.rows.delete(id);
    }
    // The page scrolls in the stage; one scrolled to the end follows new messages.
    const scroller = this.list.closest('.stage') ?? this.list;
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    messages.forEach((message, index) => {
      const row = this.#row(message);
      if (this.list.children[index] !== row.node) this.list.insertBefore(row.node, this.list.children[index] ?? null);
    });
    if (atBottom) scroller.scrollTop = scroller.scrollHeight;
  }

  /** Forgets every row (another chat, or none, is shown). */
  clear() {
    for (const row of this.rows.values()) row.view?.dispose();
    this.rows.clear();
    this.list.replaceChildren();
    this.chatId = null;
  }

  /**
   * The message's row, made or brought up to date.
   * @param {MessageSnapshot} message
   */
  #row(message) {
    let row = this.rows.get(message.message_id);
    const fromUser = Boolean(message.sender_user_id);
    if (!row) {
      const node = el('li', `conv-row ${fromUser ? 'from-user' : 'from-bot'}`);
      node.dataset.messageId = message.message_id;
      const main = el('div', 'conv-main');
      const meta = el('div', 'conv-meta');
      const body = el('div', 'conv-body');
      main.append(meta, body);
      node.append(el('div', 'avatar', fromUser ? 'You' : 'Bot'), main);
      row = { node, meta, body, view: null };
      this.rows.set(message.message_id, row);
    }
    const sender = fromUser ? (state.users.get(message.sender_user_id ?? '')?.name ?? message.sender_user_id ?? 'user') : (message.app_id ?? 'Bot');
    const parts = [el('span', 'conv-sender', sender), el('time', null, clockTime(message.created_at))];
    if (message.thread_id) parts.push(el('span', 'conv-tag', 'in thread'));
    if (message.deleted) parts.push(el('span', 'conv-tag', 'recalled'));
    else if (message.updated) parts.push(el('span', 'conv-tag', 'edited'));
    row.meta.replaceChildren(...parts);
    const parent = message.parent_id ? state.messages.get(message.parent_id) : undefined;
    row.node.querySelector('.conv-quote')?.remove();
    if (message.parent_id) row.meta.after(el('div', 'conv-quote', `↪ ${parent ? messageExcerpt(parent) : message.parent_id}`));
    this.#content(message, row);
    return row;
  }

  /**
   * A card (CardKit or inline) through a CardView whose buttons click for this message; anything else as a text bubble.
   * @param {MessageSnapshot} message
   * @param {Row} row
   */
  #content(message, row) {
    const content = parsed(message.content);
    const card = message.card_id ? state.cards.get(message.card_id) : undefined;
    const inline = message.msg_type === 'interactive' && !message.card_id && content && typeof content === 'object';
    if (!message.deleted && (card || inline)) {
      if (!row.view) {
        row.body.replaceChildren();
        row.view = new CardView(row.body);
        row.view.onAction = cardActions(message.message_id);
      }
      row.view.update(card ?? { card: content, streaming_mode: false });
      return;
    }
    row.view?.dispose();
    row.view = null;
    const text = message.deleted ? 'This message was recalled.' : typeof content?.text === 'string' ? content.text : messageExcerpt(message);
    const bubble = el('div', 'text-bubble', text);
    const old = row.body.firstElementChild;
    if (!(old instanceof HTMLElement) || old.textContent !== text) row.body.replaceChildren(bubble);
  }
}
