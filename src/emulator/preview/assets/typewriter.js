// @ts-check
// The Feishu client's typewriter for streamed text (reference §12, §13). Each write carries the
// element's full text. If the text stored before is a prefix of the new text, only the tail is typed
// out, `print_step` characters every `print_frequency_ms`; otherwise the new text shows at once.
// print_strategy `fast`: text still pending from the previous write appears at once, then the new
// tail is typed; `delay`: typing simply carries on through the old and the new tail.

/** @typedef {{ frequencyMs: number, step: number, strategy: 'fast' | 'delay' }} StreamingSettings */

/** @type {Readonly<StreamingSettings>} */
export const DEFAULT_STREAMING = Object.freeze({ frequencyMs: 70, step: 1, strategy: 'fast' });

/**
 * A number setting given plainly or per platform (`{ default, pc, … }`).
 * @param {unknown} value
 */
function pick(value) {
  if (typeof value === 'number' || typeof value === 'string') return Number(value);
  if (value && typeof value === 'object') {
    const perPlatform = /** @type {{ pc?: unknown, default?: unknown }} */ (value);
    // The preview is a desktop client: `pc` wins over `default`.
    const pc = Number(perPlatform.pc);
    if (Number.isFinite(pc) && pc > 0) return pc;
    return Number(perPlatform.default);
  }
  return NaN;
}

/**
 * The typewriter settings of a card's `config.streaming_config`, defaults filled in.
 * @param {any} card card JSON, unchecked
 * @returns {StreamingSettings}
 */
export function streamingSettings(card) {
  const config = card && typeof card.config === 'object' && card.config ? card.config.streaming_config : undefined;
  const source = config && typeof config === 'object' ? config : {};
  const frequency = pick(source.print_frequency_ms);
  const step = pick(source.print_step);
  return {
    frequencyMs: Number.isFinite(frequency) && frequency > 0 ? Math.min(Math.max(frequency, 1), 10_000) : DEFAULT_STREAMING.frequencyMs,
    step: Number.isFinite(step) && step >= 1 ? Math.min(Math.floor(step), 100_000) : DEFAULT_STREAMING.step,
    strategy: source.print_strategy === 'delay' ? 'delay' : DEFAULT_STREAMING.strategy,
  };
}

/**
 * `index` moved on by `count` code points, never into the middle of a surrogate pair.
 * @param {string} text
 * @param {number} index
 * @param {number} count
 */
export function advance(text, index, count) {
  let at = index;
  for (let n = 0; n < count && at < text.length; n++) {
    const code = text.charCodeAt(at);
    at += code >= 0xd800 && code <= 0xdbff && at + 1 < text.length ? 2 : 1;
  }
  return at;
}

/**
 * `index`, moved back off the second half of a surrogate pair.
 * @param {string} text
 * @param {number} index
 */
function wholeIndex(text, index) {
  const code = text.charCodeAt(index - 1);
  return index > 0 && code >= 0xd800 && code <= 0xdbff ? index - 1 : index;
}

export class Typewriter {
  /** @param {(key: string) => void} paint called when an element's displayed text changed */
  constructor(paint) {
    this.paint = paint;
    /** @type {StreamingSettings} */
    this.settings = { ...DEFAULT_STREAMING };
    this.streaming = false;
    /** @type {Map<string, { target: string, shown: number }>} full stored text, and how much of it is displayed (UTF-16 index) */
    this.texts = new Map();
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
  }

  /**
   * The card's streaming mode and settings, as of the latest snapshot. Leaving streaming mode shows everything.
   * @param {boolean} streaming
   * @param {StreamingSettings} settings
   */
  configure(streaming, settings) {
    this.settings = settings;
    const wasStreaming = this.streaming;
    this.streaming = streaming;
    if (wasStreaming && !streaming) this.flush();
  }

  /**
   * The element's stored text is now `text`. `animate` is false for text that is not streamed
   * (not a markdown/plain_text element). `received` is how much of `text` earlier writes already
   * delivered, when several writes arrived at once: with `fast` that much shows at once, as it would
   * have had the writes been seen one by one.
   * @param {string} key
   * @param {string} text
   * @param {boolean} [animate]
   * @param {number} [received]
   */
  set(key, text, animate = true, received = 0) {
    const state = this.texts.get(key);
    if (!state) {
      this.texts.set(key, { target: text, shown: text.length });
      return;
    }
    if (text === state.target) return;
    if (this.streaming && animate && text.startsWith(state.target)) {
      if (this.settings.strategy === 'fast') state.shown = Math.max(state.target.length, wholeIndex(text, Math.min(received, text.length)));
      state.target = text;
      this.#schedule();
    } else {
      state.target = text;
      state.shown = text.length;
    }
  }

  /**
   * What the element shows now.
   * @param {string} key
   * @param {string} [fallback]
   */
  displayed(key, fallback = '') {
    const state = this.texts.get(key);
    return state ? state.target.slice(0, state.shown) : fallback;
  }

  /**
   * True while some of the element's text is still to be typed.
   * @param {string} key
   */
  typing(key) {
    const state = this.texts.get(key);
    return Boolean(state && state.shown < state.target.length);
  }

  get busy() {
    for (const state of this.texts.values()) if (state.shown < state.target.length) return true;
    return false;
  }

  /** Shows every element's full text at once. */
  flush() {
    for (const [key, state] of this.texts) {
      if (state.shown < state.target.length) {
        state.shown = state.target.length;
        this.paint(key);
      }
    }
    this.#stop();
  }

  /**
   * Forgets elements that are no longer in the card.
   * @param {Set<string>} keys
   */
  retain(keys) {
    for (const key of [...this.texts.keys()]) if (!keys.has(key)) this.texts.delete(key);
  }

  dispose() {
    this.#stop();
    this.texts.clear();
  }

  #schedule() {
    if (this.timer === null) this.timer = setTimeout(() => this.#tick(), this.settings.frequencyMs);
  }

  #stop() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  #tick() {
    this.timer = null;
    let more = false;
    for (const [key, state] of this.texts) {
      if (state.shown >= state.target.length) continue;
      state.shown = advance(state.target, state.shown, this.settings.step);
      this.paint(key);
      if (state.shown < state.target.length) more = true;
    }
    if (more) this.#schedule();
  }
}
