// @ts-check
// A click on a card's interactive component: posted to the emulator as the user's click on the message's
// card (`POST /_emulator/messages/:message_id/actions`); the bot's answer comes back as a toast.
import { actionsPath, postJson } from './emulator-api.js';
import { showToast } from './toast.js';

const TOAST_TYPES = new Set(['info', 'success', 'error', 'warning']);

/**
 * The click handler for the buttons of the card `messageId` shows.
 * @param {string} messageId
 * @returns {(action: import('./emulator-api.js').CardAction) => void}
 */
export function cardActions(messageId) {
  return (action) => {
    postJson(actionsPath(messageId), { action }).then(
      (answer) => {
        const toast = answer?.toast;
        if (toast && typeof toast.content === 'string') showToast(toast.content, TOAST_TYPES.has(toast.type) ? toast.type : 'info');
      },
      (error) => showToast(`The click failed: ${error instanceof Error ? error.message : String(error)}`, 'error'),
    );
  };
}
