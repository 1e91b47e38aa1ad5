// @ts-check
// The composer under a conversation: a text box and a send button (Enter sends, Shift+Enter is a new
// line); the text is posted as the default user's message in the chat, and the bot gets its event.
import { chatMessagesPath, postJson } from './emulator-api.js';
import { showToast } from './toast.js';

export class Composer {
  /**
   * @param {HTMLTextAreaElement} input
   * @param {HTMLButtonElement} send
   */
  constructor(input, send) {
    this.input = input;
    this.sendButton = send;
    /** @type {string | null} the chat the text goes to */
    this.chatId = null;
    send.addEventListener('click', () => void this.send());
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void this.send();
      }
    });
  }

  /** Posts the text box's text to the chat. */
  async send() {
    const text = this.input.value;
    if (!this.chatId || text.trim() === '') return;
    this.input.value = '';
    this.sendButton.disabled = true;
    try {
      await postJson(chatMessagesPath(this.chatId), { text });
    } catch (error) {
      this.input.value = text;
      showToast(`Not sent: ${error instanceof Error ? error.message : String(error)}`, 'error');
    } finally {
      this.sendButton.disabled = false;
      this.input.focus();
    }
  }
}
