// @ts-check
// Keeping the store current: the emulator's server-sent events (`/_emulator/events`) say which card or
// message changed, and the page fetches it; on (re)connect it reloads everything. Two polls cover what
// sends no event: a streaming window that runs out, and a reset.
import { cardPath, getJson, messagePath } from './emulator-api.js';
import { isShown, newestFirst, state } from './store.js';

/** @typedef {import('./emulator-api.js').CardSnapshot} CardSnapshot */
/** @typedef {import('./emulator-api.js').MessageSnapshot} MessageSnapshot */
/** @typedef {import('./emulator-api.js').StatsSnapshot} StatsSnapshot */
/**
 * What the live updates ask of the rest of the page.
 * @typedef {object} LiveHooks
 * @property {() => void} listsChanged the sidebar needs redrawing
 * @property {() => void} stageChanged the selected card or message changed
 * @property {(id: string) => void} firstCard a card arrived while nothing was selected
 */

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Live {
  /** @param {LiveHooks} hooks */
  constructor(hooks) {
    this.hooks = hooks;
    /** @type {Map<string, { again: boolean, promise: Promise<void> | null }>} card fetches in flight */
    this.refreshing = new Map();
    /** @type {EventSource | null} */
    this.source = null;
    this.retryMs = 500;
    this.lastAnswered = 0;
  }

  /** Opens the event stream and starts the polls. */
  start() {
    this.#connect();
    // Streaming mode can also end by itself (the 10-minute window), which sends no event: look again now and then.
    setInterval(() => {
      for (const card of state.cards.values()) if (card.streaming_mode) void this.refreshCard(card.card_id);
    }, 3000);
    // A reset (`POST /_emulator/reset`) sends no event either, but it zeroes the request counters.
    setInterval(() => void this.#checkReset(), 2000);
  }

  /**
   * Re-fetches one card; calls while one is in flight coalesce into one more fetch after it.
   * @param {string} id
   * @returns {Promise<void>}
   */
  refreshCard(id) {
    const running = this.refreshing.get(id);
    if (running?.promise) {
      running.again = true;
      return running.promise;
    }
    /** @type {{ again: boolean, promise: Promise<void> | null }} */
    const entry = { again: false, promise: null };
    this.refreshing.set(id, entry);
    entry.promise = (async () => {
      try {
        do {
          entry.again = false;
          // Cards nobody is looking at need not keep up with every write.
          if (!isShown('card', id)) await sleep(300);
          /** @type {CardSnapshot | null} */
          const snapshot = await getJson(cardPath(id));
          if (snapshot) this.#applyCard(snapshot);
          else this.#removeCard(id);
        } while (entry.again);
      } catch (error) {
        this.#showProblem(error);
      } finally {
        this.refreshing.delete(id);
      }
    })();
    return entry.promise;
  }

  /** @param {CardSnapshot} snapshot */
  #applyCard(snapshot) {
    state.cards.set(snapshot.card_id, snapshot);
    this.hooks.listsChanged();
    if (!state.selection) this.hooks.firstCard(snapshot.card_id);
    else if (isShown('card', snapshot.card_id)) this.hooks.stageChanged();
  }

  /** @param {string} id */
  #removeCard(id) {
    if (!state.cards.delete(id)) return;
    this.hooks.listsChanged();
    if (isShown('card', id)) this.hooks.stageChanged();
  }

  /** @param {string} id */
  async #refreshMessage(id) {
    try {
      /** @type {MessageSnapshot | null} */
      const message = await getJson(messagePath(id));
      const shownBefore = isShown('message', id);
      if (message) state.messages.set(message.message_id, message);
      else state.messages.delete(id);
      if (message && !state.chats.some((chat) => chat.chatId === message.chat_id)) await this.#loadDirectory();
      this.hooks.listsChanged();
      if (shownBefore || isShown('message', id)) this.hooks.stageChanged();
    } catch (error) {
      this.#showProblem(error);
    }
  }

  /** Fetches the chats and users (they change only when apps, users or groups are added). */
  async #loadDirectory() {
    /** @type {[{ chats: import('./store.js').ChatInfo[] } | null, { users: import('./store.js').UserInfo[] } | null]} */
    const [chats, users] = await Promise.all([getJson('/_emulator/chats'), getJson('/_emulator/users')]);
    state.chats = chats?.chats ?? [];
    state.users = new Map((users?.users ?? []).map((user) => [user.userId, user]));
  }

  /** Fetches every card and message afresh. */
  async reloadAll() {
    try {
      await this.#loadDirectory();
      /** @type {[{ cards: CardSnapshot[] } | null, { messages: MessageSnapshot[] } | null]} */
      const [cards, messages] = await Promise.all([getJson('/_emulator/cards'), getJson('/_emulator/messages')]);
      // A card fetched on its own meanwhile may be newer than the list's copy: keep the one with more writes.
      state.cards = new Map(
        (cards?.cards ?? []).map((card) => {
          const known = state.cards.get(card.card_id);
          return [card.card_id, known && known.created_at === card.created_at && known.log.length > card.log.length ? known : card];
        }),
      );
      state.messages = new Map((messages?.messages ?? []).map((message) => [message.message_id, message]));
      this.hooks.listsChanged();
      const newest = newestFirst(state.cards.values())[0];
      if (!state.selection && newest) this.hooks.firstCard(newest.card_id);
      else this.hooks.stageChanged();
    } catch (error) {
      this.#showProblem(error);
    }
  }

  async #checkReset() {
    try {
      /** @type {StatsSnapshot | null} */
      const stats = await getJson('/_emulator/stats');
      const answered = (stats?.accepted ?? 0) + Object.values(stats?.rejected ?? {}).reduce((sum, n) => sum + n, 0);
      if (answered < this.lastAnswered) void this.reloadAll();
      this.lastAnswered = answered;
      // Apps and users registered later bring chats, which send no event either.
      const known = state.chats.length;
      await this.#loadDirectory();
      if (state.chats.length !== known) this.hooks.listsChanged();
    } catch {
      // The event stream reports an unreachable emulator.
    }
  }

  #connect() {
    this.source?.close();
    setConnection('connecting', 'connecting…');
    const events = new EventSource('/_emulator/events');
    this.source = events;
    events.addEventListener('open', () => {
      this.retryMs = 500;
      setConnection('live', 'live');
      // Whatever changed while we were away: start from a fresh picture.
      void this.reloadAll();
    });
    events.addEventListener('change', (event) => {
      /** @type {{ type?: unknown, cardId?: unknown, messageId?: unknown } | null} */
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      if (data?.type === 'card' && typeof data.cardId === 'string') void this.refreshCard(data.cardId);
      else if (data?.type === 'message' && typeof data.messageId === 'string') void this.#refreshMessage(data.messageId);
    });
    events.addEventListener('error', () => {
      if (this.source !== events) return;
      setConnection('reconnecting', 'reconnecting…');
      if (events.readyState === EventSource.CLOSED) {
        events.close();
        setTimeout(() => {
          if (this.source === events) this.#connect();
        }, this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, 10_000);
      }
    });
  }

  /** @param {unknown} error */
  #showProblem(error) {
    setConnection('problem', `emulator unreachable: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The connection badge in the top bar.
 * @param {string} stateName `connecting`, `live`, `reconnecting` or `problem`
 * @param {string} text
 */
function setConnection(stateName, text) {
  const node = document.getElementById('connection');
  if (!node) return;
  node.dataset.state = stateName;
  node.textContent = text;
}
