// @ts-check
// The stage: the selected card (or inline message) as the Feishu client shows it in a chat, its facts
// (card_id, sequence, streaming window …), and its write log.
import { cardActions } from './card-actions.js';
import { CardView } from './card-view.js';
import { textContent } from './card.js';
import { el } from './dom.js';
import { clockTime } from './format.js';
import { LogView } from './log-view.js';
import { chatName } from './chat-list.js';
import { Composer } from './composer.js';
import { Conversation } from './conversation.js';
import { cardLabel, messageExcerpt } from './sidebar.js';
import { state } from './store.js';

/** @typedef {import('./emulator-api.js').CardSnapshot} CardSnapshot */
/** @typedef {import('./emulator-api.js').MessageSnapshot} MessageSnapshot */

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
 * @param {string} label
 * @param {string} value
 */
function fact(label, value) {
  const wrap = el('div', 'fact');
  wrap.append(el('dt', null, label), el('dd', null, value));
  return wrap;
}

export class Stage {
  constructor() {
    /** @type {CardView | null} */
    this.view = null;
    /** @type {string | null} what `view` shows, `kind:id` */
    this.viewKey = null;
    this.log = new LogView(byId('log-body'), byId('log-summary'));
    this.host = byId('card-host');
    this.indicator = byId('streaming-indicator');
    this.facts = byId('facts');
    this.empty = byId('stage-empty');
    this.chat = byId('chat');
    this.title = byId('stage-title');
    this.conversationBox = byId('conversation');
    this.conversation = new Conversation(byId('conversation-list'));
    this.composer = new Composer(
      /** @type {HTMLTextAreaElement} */ (byId('composer-input')),
      /** @type {HTMLButtonElement} */ (byId('composer-send')),
    );
  }

  /** Shows the selection as the store has it now. */
  render() {
    const selection = state.selection;
    if (selection?.kind === 'chat') {
      this.#chat(selection.id);
      return;
    }
    this.conversationBox.hidden = true;
    this.conversation.clear();
    const key = selection ? `${selection.kind}:${selection.id}` : null;
    if (key !== this.viewKey) {
      this.view?.dispose();
      this.view = key ? new CardView(this.host) : null;
      this.viewKey = key;
      this.log.clear('');
    }
    if (!selection || !this.view) {
      this.#waiting(state.cards.size ? 'Select a card on the left.' : 'Waiting for cards: create one through the CardKit API and it appears here live.');
      this.title.textContent = 'Live preview';
      this.log.clear('Select a card to see its writes.');
      return;
    }
    if (selection.kind === 'card') {
      const snapshot = state.cards.get(selection.id);
      if (!snapshot) {
        this.#waiting(`Waiting for card ${selection.id}…`);
        this.title.textContent = selection.id;
        this.log.clear('No such card (yet).');
        return;
      }
      this.#card(snapshot, this.view);
      return;
    }
    const message = state.messages.get(selection.id);
    if (!message) {
      this.#waiting(`Waiting for message ${selection.id}…`);
      return;
    }
    this.#message(message, this.view);
  }

  /**
   * A chat: its conversation and the composer, in place of the single card.
   * @param {string} chatId
   */
  #chat(chatId) {
    this.view?.dispose();
    this.view = null;
    this.viewKey = null;
    const chat = state.chats.find((known) => known.chatId === chatId);
    this.title.textContent = chat ? chatName(chat) : chatId;
    this.empty.hidden = true;
    this.chat.hidden = true;
    this.indicator.hidden = true;
    this.facts.replaceChildren(fact('chat_id', chatId), fact('type', chat?.type ?? 'unknown'));
    this.log.clear('Select a card to see its writes.');
    this.conversationBox.hidden = false;
    if (this.composer.chatId !== chatId) {
      this.composer.chatId = chatId;
      this.composer.input.focus();
    }
    this.conversation.render(chatId);
  }

  /** @param {string} text */
  #waiting(text) {
    this.empty.hidden = false;
    this.empty.textContent = text;
    this.chat.hidden = true;
    this.indicator.hidden = true;
    this.facts.replaceChildren();
  }

  /**
   * @param {CardSnapshot} snapshot
   * @param {CardView} view
   */
  #card(snapshot, view) {
    this.empty.hidden = true;
    this.chat.hidden = false;
    this.title.textContent = cardLabel(snapshot);
    this.indicator.hidden = !snapshot.streaming_mode;
    byId('stage-summary').textContent = snapshot.summary ?? '';
    this.facts.replaceChildren(
      fact('card_id', snapshot.card_id),
      fact('message', snapshot.message_id ?? 'not sent'),
      fact('summary', snapshot.summary ?? '(derived by the client)'),
      fact('sequence', String(snapshot.sequence)),
      fact('streaming', snapshot.streaming_mode ? `on, closes ${clockTime(snapshot.streaming_closes_at)}` : 'off'),
    );
    byId('sender-time').textContent = clockTime(snapshot.created_at);
    // A card sent in a message can be clicked; one not sent has nobody to call back.
    if (snapshot.message_id && !view.onAction) view.onAction = cardActions(snapshot.message_id);
    view.update(snapshot);
    this.log.update(snapshot);
  }

  /**
   * An IM message: an inline card (`interactive`) or a text bubble.
   * @param {MessageSnapshot} message
   * @param {CardView} view
   */
  #message(message, view) {
    this.indicator.hidden = true;
    this.empty.hidden = true;
    this.chat.hidden = false;
    this.title.textContent = messageExcerpt(message);
    this.facts.replaceChildren(fact('message_id', message.message_id), fact('chat', message.chat_id), fact('type', message.msg_type));
    byId('sender-time').textContent = clockTime(message.updated_at);
    this.log.clear('Inline messages have no CardKit write log.');
    /** @type {any} */
    let content = null;
    try {
      content = JSON.parse(message.content);
    } catch {
      content = null;
    }
    if (message.msg_type === 'interactive' && content && typeof content === 'object') {
      view.onAction ??= cardActions(message.message_id);
      view.update({ card: content, streaming_mode: false });
    } else {
      view.dispose();
      const text = typeof content?.text === 'string' ? content.text : textContent(content) || message.content;
      this.host.replaceChildren(el('div', 'text-bubble', text));
    }
  }
}
