// @ts-check
// The sidebar's chats: every chat of the emulated tenant (p2p chats named after their bot), each a button
// that opens its conversation.
import { el } from './dom.js';
import { isSelected, state } from './store.js';

/** @typedef {import('./emulator-api.js').ChatInfo} ChatInfo */

/**
 * A chat's name as the page shows it: a p2p chat is the conversation with its bot.
 * @param {ChatInfo} chat
 */
export function chatName(chat) {
  return chat.type === 'p2p' && chat.appId ? chat.appId : chat.name;
}

export class ChatList {
  /**
   * @param {HTMLElement} list
   * @param {HTMLElement} empty
   * @param {(id: string) => void} select
   */
  constructor(list, empty, select) {
    this.list = list;
    this.empty = empty;
    this.select = select;
    /** @type {string | null} what the list shows now, to redraw only on a change */
    this.shown = null;
  }

  /** Redraws the list from the store (chats are few and change rarely). */
  render() {
    const counts = state.chats.map((chat) => [...state.messages.values()].filter((message) => message.chat_id === chat.chatId).length);
    const shown = JSON.stringify([state.chats, counts, state.selection]);
    if (shown === this.shown) return;
    this.shown = shown;
    this.list.replaceChildren(...state.chats.map((chat, index) => this.#item(chat, counts[index] ?? 0)));
    this.empty.hidden = state.chats.length > 0;
  }

  /**
   * @param {ChatInfo} chat
   * @param {number} count its messages
   */
  #item(chat, count) {
    const item = el('li', 'item chat-item');
    item.dataset.chatId = chat.chatId;
    item.classList.toggle('selected', isSelected('chat', chat.chatId));
    const button = el('button', 'item-button');
    button.type = 'button';
    button.addEventListener('click', () => this.select(chat.chatId));
    button.append(
      el('span', 'item-title', chatName(chat)),
      el('span', 'item-state', chat.type),
      el('span', 'item-meta', `${chat.chatId}${count ? ` · ${count} message${count === 1 ? '' : 's'}` : ''}`),
    );
    item.append(button);
    return item;
  }
}
