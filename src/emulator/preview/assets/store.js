// @ts-check
// What the page knows: the emulator's cards and messages as last fetched, and what the user selected.

/** @typedef {import('./emulator-api.js').CardSnapshot} CardSnapshot */
/** @typedef {import('./emulator-api.js').MessageSnapshot} MessageSnapshot */
/** @typedef {import('./emulator-api.js').ChatInfo} ChatInfo */
/** @typedef {import('./emulator-api.js').UserInfo} UserInfo */
/** @typedef {{ kind: 'card' | 'message' | 'chat', id: string }} Selection */

export const state = {
  /** @type {Map<string, CardSnapshot>} */
  cards: new Map(),
  /** @type {Map<string, MessageSnapshot>} */
  messages: new Map(),
  /** @type {ChatInfo[]} */
  chats: /** @type {ChatInfo[]} */ ([]),
  /** @type {Map<string, UserInfo>} */
  users: new Map(),
  /** @type {Selection | null} from the URL fragment */
  selection: /** @type {Selection | null} */ (null),
};

/**
 * True when `kind`/`id` is what the user is looking at.
 * @param {'card' | 'message' | 'chat'} kind
 * @param {string} id
 */
export function isSelected(kind, id) {
  return state.selection?.kind === kind && state.selection.id === id;
}

/**
 * The snapshots newest first.
 * @template {{ created_at: number }} T
 * @param {Iterable<T>} items
 * @returns {T[]}
 */
export function newestFirst(items) {
  return [...items].sort((a, b) => b.created_at - a.created_at);
}

/**
 * True when the card or message is on screen: selected itself, or part of the selected chat's conversation.
 * @param {'card' | 'message'} kind
 * @param {string} id
 */
export function isShown(kind, id) {
  if (isSelected(kind, id)) return true;
  if (state.selection?.kind !== 'chat') return false;
  const messageId = kind === 'message' ? id : state.cards.get(id)?.message_id;
  return messageId !== null && messageId !== undefined && state.messages.get(messageId)?.chat_id === state.selection.id;
}
