// The live preview: the emulator's cards and messages in a sidebar, the selected card rendered the
// way the Feishu client shows it (streamed text typed out), and its write log, all kept current
// through the emulator's server-sent events. Only the emulator is ever contacted.
import { cardTitle, paintText, renderCard, textContent } from './card.js';
import { Typewriter, streamingSettings } from './typewriter.js';

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const pad = (n, width = 2) => String(Math.floor(n)).padStart(width, '0');

/** Emulated epoch ms as local HH:MM:SS.mmm. */
function clockTime(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

async function getJson(path) {
  const response = await fetch(path, { cache: 'no-store', headers: { accept: 'application/json' } });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`${path} answered HTTP ${response.status}`);
  return response.json();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- the rendered card

/** One card on screen: its DOM, its text slots, the typewriter and the panels' open state. */
class CardView {
  constructor(host) {
    this.host = host;
    this.typewriter = new Typewriter((key) => this.paint(key));
    this.slots = new Map();
    this.panels = new Map();
    this.signature = null;
    this.streaming = false;
    /** How many write-log entries the view has taken into account; null before the first snapshot. */
    this.logSeen = null;
  }

  /**
   * Per element, the text length the writes before the latest one delivered, when one snapshot
   * brings several content writes to an element (they arrived faster than the page fetched).
   */
  received(snapshot) {
    const log = Array.isArray(snapshot.log) ? snapshot.log : null;
    const lengths = new Map();
    if (!log) return lengths;
    // Past the log's cap its length stops growing and this degrades to one write per snapshot.
    const fresh = this.logSeen !== null && log.length > this.logSeen ? log.slice(this.logSeen) : [];
    this.logSeen = log.length;
    const writes = new Map();
    for (const entry of fresh) {
      if (entry.code !== 0 || typeof entry.element_id !== 'string' || typeof entry.content_length !== 'number') continue;
      if (!writes.has(entry.element_id)) writes.set(entry.element_id, []);
      writes.get(entry.element_id).push(entry.content_length);
    }
    for (const [id, list] of writes) if (list.length > 1) lengths.set(id, list[list.length - 2]);
    return lengths;
  }

  /** Applies a card snapshot (`{ card, streaming_mode }`); the first one shows its text at once. */
  update(snapshot) {
    const card = snapshot.card ?? {};
    const streaming = snapshot.streaming_mode === true;
    this.streaming = streaming;
    this.typewriter.configure(streaming, streamingSettings(card));
    const received = this.received(snapshot);
    const slots = new Map();
    const ctx = {
      slot: (key, mode, text, streamable) => {
        const node = el('span', mode === 'markdown' ? 'slot slot-markdown' : 'slot slot-plain');
        node.dataset.slot = key;
        this.typewriter.set(key, text, streamable, received.get(key));
        slots.set(key, { node, mode, painted: null, caret: false });
        return node;
      },
      panelOpen: (key, expanded) => {
        const known = this.panels.get(key);
        // The panel follows the card's `expanded` until that changes; a click overrides it meanwhile.
        if (!known || known.expanded !== expanded) this.panels.set(key, { expanded, open: expanded });
        return this.panels.get(key).open;
      },
      setPanelOpen: (key, open) => {
        const known = this.panels.get(key);
        if (known) known.open = open;
      },
    };
    const root = renderCard(card, ctx);
    const signature = structureOf(card);
    this.typewriter.retain(new Set(slots.keys()));
    if (signature !== this.signature || this.slots.size !== slots.size || ![...slots.keys()].every((key) => this.slots.has(key))) {
      this.signature = signature;
      this.slots = slots;
      this.host.replaceChildren(root);
    }
    root.classList.toggle('streaming', streaming);
    this.host.firstElementChild?.classList.toggle('streaming', streaming);
    for (const key of this.slots.keys()) this.paint(key);
  }

  paint(key) {
    const slot = this.slots.get(key);
    if (!slot) return;
    const text = this.typewriter.displayed(key);
    const caret = this.streaming && this.typewriter.typing(key);
    if (slot.painted === text && slot.caret === caret) return;
    slot.painted = text;
    slot.caret = caret;
    paintText(slot.node, slot.mode, text, caret);
  }

  dispose() {
    this.typewriter.dispose();
    this.host.replaceChildren();
  }
}

/** The card JSON minus every text's content: two cards with the same structure differ only in text. */
function structureOf(card) {
  return JSON.stringify(card, (key, value) => (key === 'content' && typeof value === 'string' ? '' : value));
}

// ---------------------------------------------------------------- the write log

class LogView {
  constructor(body, summary) {
    this.body = body;
    this.summary = summary;
    this.rendered = 0;
    this.first = null;
  }

  static LIMIT = 500;

  update(snapshot) {
    const log = Array.isArray(snapshot?.log) ? snapshot.log : [];
    const first = log[0] ? `${log[0].time}|${log[0].endpoint}` : null;
    const scroller = this.body.closest('.log-scroll');
    const atBottom = !scroller || scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 24;
    if (first !== this.first || log.length < this.rendered) {
      this.body.replaceChildren();
      this.rendered = Math.max(0, log.length - LogView.LIMIT);
      this.first = first;
      if (this.rendered > 0) {
        const row = el('tr', 'log-more');
        const cell = el('td', null, `${this.rendered} earlier writes not shown`);
        cell.colSpan = 4;
        row.append(cell);
        this.body.append(row);
      }
    }
    for (; this.rendered < log.length; this.rendered++) this.body.append(logRow(log[this.rendered]));
    const accepted = log.filter((entry) => entry.code === 0).length;
    this.summary.textContent = log.length
      ? `${log.length} write${log.length === 1 ? '' : 's'} · ${accepted} accepted · ${log.length - accepted} rejected · max in flight ${snapshot.max_in_flight ?? 0}`
      : 'No writes yet.';
    if (atBottom && scroller) scroller.scrollTop = scroller.scrollHeight;
  }

  clear(text) {
    this.body.replaceChildren();
    this.rendered = 0;
    this.first = null;
    this.summary.textContent = text;
  }
}

function logRow(entry) {
  const row = el('tr', entry.code === 0 ? 'ok' : 'rejected');
  row.dataset.sequence = entry.sequence === null || entry.sequence === undefined ? '' : String(entry.sequence);
  row.dataset.code = String(entry.code);
  const endpoint = String(entry.endpoint ?? '').replace(/^cardkit\./, '');
  const what = el('td', 'log-endpoint', endpoint);
  if (entry.element_id) what.append(el('span', 'log-element', ` #${entry.element_id}`));
  if (typeof entry.content_length === 'number') what.append(el('span', 'log-length', ` ${entry.content_length} ch`));
  if (entry.uuid) what.title = `uuid ${entry.uuid}`;
  row.append(
    el('td', 'log-time', clockTime(entry.time)),
    what,
    el('td', 'log-seq', entry.sequence === null || entry.sequence === undefined ? '–' : String(entry.sequence)),
    el('td', 'log-code', entry.code === 0 ? '0 ok' : String(entry.code)),
  );
  return row;
}

// ---------------------------------------------------------------- state and sidebar

const state = {
  cards: new Map(),
  messages: new Map(),
  /** { kind: 'card' | 'message', id } from the URL fragment, or null. */
  selection: null,
};

const ui = {
  cardList: $('card-list'),
  messageList: $('message-list'),
  cardItems: new Map(),
  messageItems: new Map(),
  view: null,
  viewKey: null,
  log: new LogView($('log-body'), $('log-summary')),
};

function selectionFromHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const card = params.get('card');
  if (card) return { kind: 'card', id: card };
  const message = params.get('message');
  if (message) return { kind: 'message', id: message };
  return null;
}

function select(kind, id) {
  const hash = `#${kind}=${encodeURIComponent(id)}`;
  if (location.hash !== hash) history.pushState(null, '', hash);
  applySelection({ kind, id });
}

function applySelection(selection) {
  state.selection = selection;
  for (const [id, item] of ui.cardItems) item.classList.toggle('selected', selection?.kind === 'card' && selection.id === id);
  for (const [id, item] of ui.messageItems) item.classList.toggle('selected', selection?.kind === 'message' && selection.id === id);
  renderStage();
  if (selection?.kind === 'card') void refreshCard(selection.id);
}

function cardLabel(snapshot) {
  return cardTitle(snapshot.card) || '(empty card)';
}

function renderCardItem(snapshot) {
  let item = ui.cardItems.get(snapshot.card_id);
  if (!item) {
    item = el('li', 'item card-item');
    item.dataset.cardId = snapshot.card_id;
    const button = el('button', 'item-button');
    button.type = 'button';
    button.addEventListener('click', () => select('card', snapshot.card_id));
    button.append(el('span', 'item-title'), el('span', 'item-state'), el('span', 'item-summary'), el('span', 'item-meta'));
    item.append(button);
    ui.cardItems.set(snapshot.card_id, item);
  }
  item.querySelector('.item-title').textContent = cardLabel(snapshot);
  const badge = item.querySelector('.item-state');
  badge.textContent = snapshot.streaming_mode ? 'streaming' : 'closed';
  badge.classList.toggle('live', snapshot.streaming_mode === true);
  const summary = item.querySelector('.item-summary');
  summary.textContent = snapshot.summary ?? 'no summary';
  summary.classList.toggle('none', snapshot.summary === null || snapshot.summary === undefined);
  item.querySelector('.item-meta').textContent = `${snapshot.card_id} · ${clockTime(snapshot.created_at)} · seq ${snapshot.sequence}`;
  item.classList.toggle('selected', state.selection?.kind === 'card' && state.selection.id === snapshot.card_id);
  return item;
}

function messageExcerpt(message) {
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

function renderMessageItem(message) {
  let item = ui.messageItems.get(message.message_id);
  if (!item) {
    item = el('li', 'item message-item');
    item.dataset.messageId = message.message_id;
    const button = el('button', 'item-button');
    button.type = 'button';
    button.addEventListener('click', () => {
      const current = state.messages.get(message.message_id);
      if (current?.card_id) select('card', current.card_id);
      else select('message', message.message_id);
    });
    button.append(el('span', 'item-title'), el('span', 'item-summary'), el('span', 'item-meta'));
    item.append(button);
    ui.messageItems.set(message.message_id, item);
  }
  item.querySelector('.item-title').textContent = `${message.msg_type}${message.updated ? ' (updated)' : ''} → ${message.chat_id}`;
  item.querySelector('.item-summary').textContent = messageExcerpt(message);
  item.querySelector('.item-meta').textContent = `${message.message_id} · ${clockTime(message.created_at)}`;
  item.classList.toggle('selected', state.selection?.kind === 'message' && state.selection.id === message.message_id);
  return item;
}

function renderLists() {
  const cards = [...state.cards.values()].sort((a, b) => b.created_at - a.created_at);
  for (const [id, item] of ui.cardItems) {
    if (!state.cards.has(id)) {
      item.remove();
      ui.cardItems.delete(id);
    }
  }
  cards.forEach((card, index) => {
    const item = renderCardItem(card);
    if (ui.cardList.children[index] !== item) ui.cardList.insertBefore(item, ui.cardList.children[index] ?? null);
  });
  $('card-count').textContent = cards.length ? String(cards.length) : '';
  $('no-cards').hidden = cards.length > 0;

  const messages = [...state.messages.values()].sort((a, b) => b.created_at - a.created_at);
  for (const [id, item] of ui.messageItems) {
    if (!state.messages.has(id)) {
      item.remove();
      ui.messageItems.delete(id);
    }
  }
  messages.forEach((message, index) => {
    const item = renderMessageItem(message);
    if (ui.messageList.children[index] !== item) ui.messageList.insertBefore(item, ui.messageList.children[index] ?? null);
  });
  $('message-count').textContent = messages.length ? String(messages.length) : '';
  $('no-messages').hidden = messages.length > 0;
}

// ---------------------------------------------------------------- the stage

function fact(label, value) {
  const wrap = el('div', 'fact');
  wrap.append(el('dt', null, label), el('dd', null, value));
  return wrap;
}

function renderStage() {
  const selection = state.selection;
  const key = selection ? `${selection.kind}:${selection.id}` : null;
  if (key !== ui.viewKey) {
    ui.view?.dispose();
    ui.view = key ? new CardView($('card-host')) : null;
    ui.viewKey = key;
    ui.log.clear('');
  }
  const indicator = $('streaming-indicator');
  const facts = $('facts');
  const empty = $('stage-empty');
  const chat = $('chat');
  if (!selection) {
    empty.hidden = false;
    empty.textContent = state.cards.size ? 'Select a card on the left.' : 'Waiting for cards: create one through the CardKit API and it appears here live.';
    chat.hidden = true;
    indicator.hidden = true;
    facts.replaceChildren();
    $('stage-title').textContent = 'Live preview';
    ui.log.clear('Select a card to see its writes.');
    return;
  }
  if (selection.kind === 'card') {
    const snapshot = state.cards.get(selection.id);
    if (!snapshot) {
      empty.hidden = false;
      empty.textContent = `Waiting for card ${selection.id}…`;
      chat.hidden = true;
      indicator.hidden = true;
      facts.replaceChildren();
      $('stage-title').textContent = selection.id;
      ui.log.clear('No such card (yet).');
      return;
    }
    empty.hidden = true;
    chat.hidden = false;
    $('stage-title').textContent = cardLabel(snapshot);
    indicator.hidden = !snapshot.streaming_mode;
    $('stage-summary').textContent = snapshot.summary ?? '';
    facts.replaceChildren(
      fact('card_id', snapshot.card_id),
      fact('message', snapshot.message_id ?? 'not sent'),
      fact('summary', snapshot.summary ?? '(derived by the client)'),
      fact('sequence', String(snapshot.sequence)),
      fact('streaming', snapshot.streaming_mode ? `on, closes ${clockTime(snapshot.streaming_closes_at)}` : 'off'),
    );
    $('sender-time').textContent = clockTime(snapshot.created_at);
    ui.view.update(snapshot);
    ui.log.update(snapshot);
    return;
  }
  const message = state.messages.get(selection.id);
  indicator.hidden = true;
  if (!message) {
    empty.hidden = false;
    empty.textContent = `Waiting for message ${selection.id}…`;
    chat.hidden = true;
    facts.replaceChildren();
    return;
  }
  empty.hidden = true;
  chat.hidden = false;
  $('stage-title').textContent = messageExcerpt(message);
  facts.replaceChildren(fact('message_id', message.message_id), fact('chat', message.chat_id), fact('type', message.msg_type));
  $('sender-time').textContent = clockTime(message.updated_at);
  ui.log.clear('Inline messages have no CardKit write log.');
  let content = null;
  try {
    content = JSON.parse(message.content);
  } catch {
    content = null;
  }
  if (message.msg_type === 'interactive' && content && typeof content === 'object') {
    ui.view.update({ card: content, streaming_mode: false });
  } else {
    ui.view.dispose();
    const bubble = el('div', 'text-bubble', typeof content?.text === 'string' ? content.text : textContent(content) || message.content);
    $('card-host').replaceChildren(bubble);
  }
}

// ---------------------------------------------------------------- data

const refreshing = new Map();

/** Re-fetches one card; calls while one is in flight coalesce into one more fetch after it. */
function refreshCard(id) {
  const running = refreshing.get(id);
  if (running) {
    running.again = true;
    return running.promise;
  }
  const entry = { again: false, promise: null };
  refreshing.set(id, entry);
  entry.promise = (async () => {
    try {
      do {
        entry.again = false;
        // Cards nobody is looking at need not keep up with every write.
        if (!(state.selection?.kind === 'card' && state.selection.id === id)) await sleep(300);
        const snapshot = await getJson(`/_emulator/cards/${encodeURIComponent(id)}`);
        if (snapshot) applyCard(snapshot);
        else removeCard(id);
      } while (entry.again);
    } catch (error) {
      showProblem(error);
    } finally {
      refreshing.delete(id);
    }
  })();
  return entry.promise;
}

function applyCard(snapshot) {
  state.cards.set(snapshot.card_id, snapshot);
  renderLists();
  if (!state.selection) {
    applySelection({ kind: 'card', id: snapshot.card_id });
    return;
  }
  if (state.selection.kind === 'card' && state.selection.id === snapshot.card_id) renderStage();
}

function removeCard(id) {
  if (!state.cards.delete(id)) return;
  renderLists();
  if (state.selection?.kind === 'card' && state.selection.id === id) renderStage();
}

async function refreshMessage(id) {
  try {
    const message = await getJson(`/_emulator/messages/${encodeURIComponent(id)}`);
    if (message) state.messages.set(message.message_id, message);
    else state.messages.delete(id);
    renderLists();
    if (state.selection?.kind === 'message' && state.selection.id === id) renderStage();
  } catch (error) {
    showProblem(error);
  }
}

async function reloadAll() {
  try {
    const [cards, messages] = await Promise.all([getJson('/_emulator/cards'), getJson('/_emulator/messages')]);
    // A card fetched on its own meanwhile may be newer than the list's copy: keep the one with more writes.
    state.cards = new Map(
      (cards?.cards ?? []).map((card) => {
        const known = state.cards.get(card.card_id);
        return [card.card_id, known && known.created_at === card.created_at && known.log.length > card.log.length ? known : card];
      }),
    );
    state.messages = new Map((messages?.messages ?? []).map((message) => [message.message_id, message]));
    renderLists();
    if (!state.selection && state.cards.size) {
      const newest = [...state.cards.values()].sort((a, b) => b.created_at - a.created_at)[0];
      applySelection({ kind: 'card', id: newest.card_id });
    } else {
      renderStage();
    }
  } catch (error) {
    showProblem(error);
  }
}

function setConnection(stateName, text) {
  const node = $('connection');
  node.dataset.state = stateName;
  node.textContent = text;
}

function showProblem(error) {
  setConnection('problem', `emulator unreachable: ${error instanceof Error ? error.message : String(error)}`);
}

let source = null;
let retryMs = 500;

function connect() {
  source?.close();
  setConnection('connecting', 'connecting…');
  const events = new EventSource('/_emulator/events');
  source = events;
  events.addEventListener('open', () => {
    retryMs = 500;
    setConnection('live', 'live');
    // Whatever changed while we were away: start from a fresh picture.
    void reloadAll();
  });
  events.addEventListener('change', (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (data?.type === 'card' && typeof data.cardId === 'string') void refreshCard(data.cardId);
    else if (data?.type === 'message' && typeof data.messageId === 'string') void refreshMessage(data.messageId);
  });
  events.addEventListener('error', () => {
    if (source !== events) return;
    setConnection('reconnecting', 'reconnecting…');
    if (events.readyState === EventSource.CLOSED) {
      events.close();
      setTimeout(() => {
        if (source === events) connect();
      }, retryMs);
      retryMs = Math.min(retryMs * 2, 10_000);
    }
  });
}

// Streaming mode can also end by itself (the 10-minute window), which sends no event: look again now and then.
setInterval(() => {
  for (const card of state.cards.values()) if (card.streaming_mode) void refreshCard(card.card_id);
}, 3000);

// A reset (`POST /_emulator/reset`) sends no event either, but it zeroes the request counters.
let lastAnswered = 0;
setInterval(async () => {
  try {
    const stats = await getJson('/_emulator/stats');
    const answered = (stats?.accepted ?? 0) + Object.values(stats?.rejected ?? {}).reduce((sum, n) => sum + n, 0);
    if (answered < lastAnswered) void reloadAll();
    lastAnswered = answered;
  } catch {
    // The event stream reports an unreachable emulator.
  }
}, 2000);

window.addEventListener('hashchange', () => applySelection(selectionFromHash()));
window.addEventListener('popstate', () => applySelection(selectionFromHash()));

applySelection(selectionFromHash());
connect();
