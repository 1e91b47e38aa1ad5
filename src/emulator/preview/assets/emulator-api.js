// @ts-check
// The emulator's inspection routes as the page reads them (`/_emulator/cards`, `/_emulator/messages`,
// `/_emulator/stats`), with the shapes of their answers (see src/emulator/inspect.ts).

/**
 * @typedef {object} LogEntry one CardKit write as the emulator logged it
 * @property {number} time emulated epoch ms of arrival
 * @property {string} endpoint e.g. `cardkit.cardElement.content`
 * @property {number | null} sequence
 * @property {string | null} uuid
 * @property {number} code 0 when accepted, else the error code answered
 * @property {string} [element_id]
 * @property {number} [content_length] the text length a content write set
 *
 * @typedef {object} CardSnapshot
 * @property {string} card_id
 * @property {Record<string, any>} card the card JSON with every element's current text
 * @property {boolean} streaming_mode
 * @property {number | null} streaming_closes_at
 * @property {number} sequence
 * @property {string | null} message_id
 * @property {string | null} summary
 * @property {number} created_at
 * @property {number} max_in_flight
 * @property {LogEntry[]} log
 *
 * @typedef {object} MessageSnapshot
 * @property {string} message_id
 * @property {string} chat_id
 * @property {string | null} [sender_user_id] the user who wrote it; null for the bot's
 * @property {string | null} [app_id] the bot that sent it
 * @property {string | null} [parent_id] the message it replies to
 * @property {string | null} [thread_id] the thread it is in
 * @property {string} msg_type
 * @property {string} content JSON text
 * @property {string | null} card_id
 * @property {number} created_at
 * @property {number} updated_at
 * @property {boolean} updated
 * @property {boolean} deleted recalled by its sender (IM delete)
 *
 * @typedef {object} ChatInfo one chat of `/_emulator/chats`
 * @property {string} chatId
 * @property {'p2p' | 'group'} type
 * @property {string} name
 * @property {string[]} userIds
 * @property {string | null} appId the bot of a p2p chat
 *
 * @typedef {object} UserInfo one user of `/_emulator/users`
 * @property {string} userId
 * @property {string} name
 *
 * @typedef {object} CardAction what a click on a card component sends
 * @property {string} tag
 * @property {unknown} value
 * @property {string} [name]
 *
 * @typedef {object} StatsSnapshot
 * @property {number} accepted
 * @property {Record<string, number>} rejected
 */

/**
 * GETs a JSON control route: its body, or null for a 404.
 * @template T
 * @param {string} path
 * @returns {Promise<T | null>}
 */
export async function getJson(path) {
  const response = await fetch(path, { cache: 'no-store', headers: { accept: 'application/json' } });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`${path} answered HTTP ${response.status}`);
  return /** @type {Promise<T>} */ (response.json());
}

/** @param {string} id */
export const cardPath = (id) => `/_emulator/cards/${encodeURIComponent(id)}`;
/** @param {string} id */
export const messagePath = (id) => `/_emulator/messages/${encodeURIComponent(id)}`;

/**
 * POSTs JSON to a control route and returns its JSON answer; an error status throws with the route's message.
 * @param {string} path
 * @param {unknown} body
 * @returns {Promise<any>}
 */
export async function postJson(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new Error(typeof answer?.error === 'string' ? answer.error : `${path} answered HTTP ${response.status}`);
  return answer;
}

/** @param {string} id */
export const chatMessagesPath = (id) => `/_emulator/chats/${encodeURIComponent(id)}/messages`;
/** @param {string} id */
export const actionsPath = (id) => `${messagePath(id)}/actions`;
