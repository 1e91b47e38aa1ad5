// @ts-check
// One card on screen: rendered from each new snapshot, its streamed texts typed out by a Typewriter,
// its DOM replaced only when the card's structure changes (so typing and open panels survive text updates).
import { el } from './dom.js';
import { paintText, renderCard } from './card.js';
import { Typewriter, streamingSettings } from './typewriter.js';

/** @typedef {import('./card-parts.js').RenderContext} RenderContext */
/** @typedef {{ card?: Record<string, any>, streaming_mode?: boolean, log?: import('./emulator-api.js').LogEntry[] }} ViewSnapshot */
/** @typedef {{ node: HTMLElement, mode: 'markdown' | 'plain', painted: string | null, caret: boolean }} Slot */

export class CardView {
  /** @param {HTMLElement} host the element the card is drawn in */
  constructor(host) {
    this.host = host;
    this.typewriter = new Typewriter((key) => this.paint(key));
    /** @type {Map<string, Slot>} */
    this.slots = new Map();
    /** @type {Map<string, { expanded: boolean, open: boolean }>} */
    this.panels = new Map();
    /** @type {string | null} */
    this.signature = null;
    this.streaming = false;
    /** @type {number | null} How many write-log entries the view has taken into account; null before the first snapshot. */
    this.logSeen = null;
    /** @type {((action: import('./emulator-api.js').CardAction) => void) | null} clicks on buttons; null leaves them inert */
    this.onAction = null;
  }

  /**
   * Per element, the text length the writes before the latest one delivered, when one snapshot
   * brings several content writes to an element (they arrived faster than the page fetched).
   * @param {ViewSnapshot} snapshot
   * @returns {Map<string, number>}
   */
  received(snapshot) {
    const log = Array.isArray(snapshot.log) ? snapshot.log : null;
    /** @type {Map<string, number>} */
    const lengths = new Map();
    if (!log) return lengths;
    // Past the log's cap its length stops growing and this degrades to one write per snapshot.
    const fresh = this.logSeen !== null && log.length > this.logSeen ? log.slice(this.logSeen) : [];
    this.logSeen = log.length;
    /** @type {Map<string, number[]>} */
    const writes = new Map();
    for (const entry of fresh) {
      if (entry.code !== 0 || typeof entry.element_id !== 'string' || typeof entry.content_length !== 'number') continue;
      const list = writes.get(entry.element_id) ?? [];
      list.push(entry.content_length);
      writes.set(entry.element_id, list);
    }
    for (const [id, list] of writes) {
      const before = list[list.length - 2];
      if (before !== undefined) lengths.set(id, before);
    }
    return lengths;
  }

  /**
   * Applies a card snapshot (`{ card, streaming_mode }`); the first one shows its text at once.
   * @param {ViewSnapshot} snapshot
   */
  update(snapshot) {
    const card = snapshot.card ?? {};
    const streaming = snapshot.streaming_mode === true;
    this.streaming = streaming;
    this.typewriter.configure(streaming, streamingSettings(card));
    const received = this.received(snapshot);
    /** @type {Map<string, Slot>} */
    const slots = new Map();
    /** @type {RenderContext} */
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
        if (known && known.expanded === expanded) return known.open;
        this.panels.set(key, { expanded, open: expanded });
        return expanded;
      },
      setPanelOpen: (key, open) => {
        const known = this.panels.get(key);
        if (known) known.open = open;
      },
      action: this.onAction,
    };
    const root = renderCard(card, ctx);
    const signature = `${this.onAction ? 'clickable' : 'inert'}:${structureOf(card)}`;
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

  /** @param {string} key */
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

/**
 * The card JSON minus every text's content: two cards with the same structure differ only in text.
 * @param {unknown} card
 */
function structureOf(card) {
  return JSON.stringify(card, (key, value) => (key === 'content' && typeof value === 'string' ? '' : value));
}
