// @ts-check
// The sidebar: every card and message, newest first, each a button that selects it; items are kept
// and updated in place so the list does not flicker as writes stream in.
import { el } from './dom.js';
import { cardTitle } from './card.js';
import { clockTime } from './format.js';
import { isSelected, newestFirst, state } from './store.js';

/** @typedef {import('./emulator-api.js').CardSnapshot} CardSnapshot */
/** @typedef {import('./emulator-api.js').MessageSnapshot} MessageSnapshot */
/** @typedef {(kind: 'card' | 'message', id: string) => void} Select */

/**
 * A card's label in lists and titles.
 * @param {CardSnapshot} snapshot
 */
export function cardLabel(snapshot) {
  return cardTitle(snapshot.card) || '(empty card)';
}

/**
 * A message's label: the card it carries, or the start of its text.
 * @param {MessageSnapshot} message
 */
export function messageExcerpt(message) {
  if (message.card_id) {
    const card = state.cards.get(message.card_id);
    return `card ${card ? `“${cardLabel(card)}”` : message.card_id}`;
  }
  try {
    const content = JSON.parse(message.content);
    if (message.msg_type === 'interactive') return `inline card “${cardTitle(content) || 'untitled'}”`;
    if (typeof content?.text === 'string') return content.text;
  } catch {
    // Not JSON: shown as is below.
  }
  return String(message.content ?? '').slice(0, 120);
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

/**
 * The text node of a list item's part.
 * @param {HTMLElement} item
 * @param {string} selector
 */
function part(item, selector) {
  return /** @type {HTMLElement} */ (item.querySelector(selector));
}

export class Sidebar {
  /** @param {Select} select called when the user clicks an item */
  constructor(select) {
    this.select = select;
    this.cardList = byId('card-list');
    this.messageList = byId('message-list');
    /** @type {Map<string, HTMLElement>} */
    this.cardItems = new Map();
    /** @type {Map<string, HTMLElement>} */
    this.messageItems = new Map();
  }

  /** Brings both lists in line with the store. */
  render() {
    const cards = newestFirst(state.cards.values());
    sync(this.cardList, this.cardItems, cards.map((card) => [card.card_id, () => this.#cardItem(card)]));
    byId('card-count').textContent = cards.length ? String(cards.length) : '';
    byId('no-cards').hidden = cards.length > 0;
    const messages = newestFirst(state.messages.values());
    sync(this.messageList, this.messageItems, messages.map((message) => [message.message_id, () => this.#messageItem(message)]));
    byId('message-count').textContent = messages.length ? String(messages.length) : '';
    byId('no-messages').hidden = messages.length > 0;
  }

  /** Marks the selected item. */
  markSelection() {
    for (const [id, item] of this.cardItems) item.classList.toggle('selected', isSelected('card', id));
    for (const [id, item] of this.messageItems) item.classList.toggle('selected', isSelected('message', id));
  }

  /** @param {CardSnapshot} snapshot */
  #cardItem(snapshot) {
    let item = this.cardItems.get(snapshot.card_id);
    if (!item) {
      item = el('li', 'item card-item');
      item.dataset.cardId = snapshot.card_id;
      const button = el('button', 'item-button');
      button.type = 'button';
      button.addEventListener('click', () => this.select('card', snapshot.card_id));
      button.append(el('span', 'item-title'), el('span', 'item-state'), el('span', 'item-summary'), el('span', 'item-meta'));
      item.append(button);
      this.cardItems.set(snapshot.card_id, item);
    }
    part(item, '.item-title').textContent = cardLabel(snapshot);
    const badge = part(item, '.item-state');
    badge.textContent = snapshot.streaming_mode ? 'streaming' : 'closed';
    badge.classList.toggle('live', snapshot.streaming_mode === true);
    const summary = part(item, '.item-summary');
    summary.textContent = snapshot.summary ?? 'no summary';
    summary.classList.toggle('none', snapshot.summary === null || snapshot.summary === undefined);
    part(item, '.item-meta').textContent = `${snapshot.card_id} · ${clockTime(snapshot.created_at)} · seq ${snapshot.sequence}`;
    item.classList.toggle('selected', isSelected('card', snapshot.card_id));
    return item;
  }

  /** @param {MessageSnapshot} message */
  #messageItem(message) {
    let item = this.messageItems.get(message.message_id);
    if (!item) {
      item = el('li', 'item message-item');
      item.dataset.messageId = message.message_id;
      const button = el('button', 'item-button');
      button.type = 'button';
      button.addEventListener('click', () => {
        // A message that carries a card shows that card.
        const current = state.messages.get(message.message_id);
        if (current?.card_id) this.select('card', current.card_id);
        else this.select('message', message.message_id);
      });
      button.append(el('span', 'item-title'), el('span', 'item-summary'), el('span', 'item-meta'));
      item.append(button);
      this.messageItems.set(message.message_id, item);
    }
    const status = message.deleted ? ' (recalled)' : message.updated ? ' (updated)' : '';
    part(item, '.item-title').textContent = `${message.msg_type}${status} → ${message.chat_id}`;
    item.classList.toggle('recalled', message.deleted === true);
    part(item, '.item-summary').textContent = messageExcerpt(message);
    part(item, '.item-meta').textContent = `${message.message_id} · ${clockTime(message.created_at)}`;
    item.classList.toggle('selected', isSelected('message', message.message_id));
    return item;
  }
}

/**
 * Makes `list` show exactly `wanted`'s items in order: items of vanished ids removed, the rest updated and moved.
 * @param {HTMLElement} list
 * @param {Map<string, HTMLElement>} items
 * @param {[string, () => HTMLElement][]} wanted id and a function that returns its up-to-date item
 */
function sync(list, items, wanted) {
  const ids = new Set(wanted.map(([id]) => id));
  for (const [id, item] of items) {
    if (!ids.has(id)) {
      item.remove();
      items.delete(id);
    }
  }
  wanted.forEach(([, render], index) => {
    const item = render();
    if (list.children[index] !== item) list.insertBefore(item, list.children[index] ?? null);
  });
}
