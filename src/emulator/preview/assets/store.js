// @ts-check
// What the page knows: the emulator's cards and messages as last fetched, and what the user selected.

/** @typedef {import('./emulator-api.js').CardSnapshot} CardSnapshot */
/** @typedef {import('./emulator-api.js').MessageSnapshot} MessageSnapshot */
/** @typedef {{ kind: 'card' | 'message', id: string }} Selection */

export const state = {
  /** @type {Map<string, CardSnapshot>} */
  cards: new Map(),
  /** @type {Map<string, MessageSnapshot>} */
  messages: new Map(),
  /** @type {Selection | null} from the URL fragment */
  selection: /** @type {Selection | null} */ (null),
};

/**
 * True when `kind`/`id` is what the user is looking at.
 * @param {'card' | 'message'} kind
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
