/**
 * The writes to one card (reference §2, §3, §7, §8, §13): text (content writes while streaming, element
 * patches once streaming cannot be re-opened), element patches, opening and re-opening streaming mode,
 * and closing it. Each goes through the session's one write path (`Dispatcher`). Text writes re-read
 * the latest text on every attempt, so a retry carries everything appended meanwhile.
 */
import { v4 as uuidv4 } from 'uuid';
import { type FeishuClient, FeishuError, isCardGone } from '../client/index.js';
import type { Clock } from './clock.js';
import { type Dispatcher, StreamingClosed } from './dispatch.js';
import type { ElementText } from './element-text.js';
import type { SessionEvents } from './events.js';
import type { StreamingWindow } from './streaming-window.js';

const CONTENT = 'cardkit.cardElement.content';
const PATCH = 'cardkit.cardElement.patch';
const SETTINGS = 'cardkit.card.settings';
const BATCH = 'cardkit.card.batchUpdate';
const UPDATE = 'cardkit.card.update';
/** Re-opens tried for one write before falling back to patches. */
const MAX_REOPENS_PER_WRITE = 2;

export interface WriterOptions {
  client: FeishuClient;
  cardId: string;
  dispatcher: Dispatcher;
  window: StreamingWindow;
  clock: Clock;
  streamingConfig: Record<string, unknown>;
  /** The card as it should end, for closing through a full update when settings fails; absent for attached cards. */
  finalCard?: (summary: string | undefined) => Record<string, unknown>;
  emit: <K extends keyof SessionEvents>(event: K, ...args: SessionEvents[K]) => void;
}

export class CardWriter {
  reopens = 0;
  readonly #o: WriterOptions;

  constructor(options: WriterOptions) {
    this.#o = options;
  }

  /** Writes the latest text of every element the platform does not have yet; `final` writes it whole. */
  async flush(elements: Iterable<ElementText>, final: boolean): Promise<void> {
    for (const element of elements) if (element.dirty) await this.#flushElement(element, final);
  }

  async patch(elementId: string, partial: Record<string, unknown>): Promise<void> {
    const { client, cardId } = this.#o;
    const uuid = uuidv4();
    await this.#o.dispatcher.send({
      api: PATCH,
      cardId,
      urgent: false,
      keyed: true,
      request: (sequence) => client.cardkit.v1.cardElement.patch({ card_id: cardId, element_id: elementId, partial_element: partial, sequence, uuid }),
    });
  }

  /**
   * Opens streaming mode (again); the window restarts when the request is sent. It goes through
   * batch_update's `partial_update_setting` (reference §4: the settings endpoint's twin), so opening
   * and closing a card draw on two APIs' budgets rather than both on settings'. Resolves false when it
   * could not be opened and the error was not one that ends the session.
   */
  async open(reason: 'start' | 'scheduled' | 'expired'): Promise<boolean> {
    const { client, cardId, clock, window } = this.#o;
    // The window is measured from the first attempt: a repeat may find that one applied (its answer lost).
    let sentAt: number | undefined;
    const uuid = uuidv4();
    try {
      const settings = { config: { streaming_mode: true, streaming_config: this.#o.streamingConfig } };
      const { sequence } = await this.#o.dispatcher.send({
        api: BATCH,
        cardId,
        urgent: reason === 'start',
        keyed: true,
        request: (seq) => {
          sentAt ??= clock.now();
          return client.cardkit.v1.card.batchUpdate({ card_id: cardId, actions: [{ action: 'partial_update_setting', params: { settings } }], sequence: seq, uuid });
        },
      });
      window.opened(sentAt ?? clock.now());
      if (reason !== 'start') {
        this.reopens++;
        this.#o.emit('reopen', { reason, sequence });
      }
      return true;
    } catch (error) {
      // Only what the platform said about this write (or no answer) leaves the session going.
      if (reason === 'start' || isCardGone(error) || !(error instanceof FeishuError) || error.kind !== 'api' && error.kind !== 'network' && error.kind !== 'timeout') throw error;
      return false;
    }
  }

  /**
   * Closes streaming mode and sets the summary in one settings call. If settings keeps failing, the
   * whole card is written once more with streaming off (a full update), so the card still ends.
   */
  async close(summary: string | undefined): Promise<void> {
    const { client, cardId, finalCard, dispatcher, window } = this.#o;
    const config = { streaming_mode: false, ...(summary === undefined ? {} : { summary: { content: summary } }) };
    const uuid = uuidv4();
    try {
      await dispatcher.send({
        api: SETTINGS,
        cardId,
        urgent: true,
        keyed: true,
        closing: true,
        request: (sequence) => client.cardkit.v1.card.settings({ card_id: cardId, settings: { config }, sequence, uuid }),
      });
    } catch (error) {
      if (!finalCard || isCardGone(error)) throw error;
      const updateUuid = uuidv4();
      await dispatcher.send({
        api: UPDATE,
        cardId,
        urgent: true,
        keyed: true,
        closing: true,
        request: (sequence) => client.cardkit.v1.card.update({ card_id: cardId, card: { data: finalCard(summary) }, sequence, uuid: updateUuid }),
      });
    }
    window.closed();
  }

  async #flushElement(element: ElementText, final: boolean): Promise<void> {
    const { client, cardId, dispatcher, window } = this.#o;
    const elementId = element.elementId;
    for (let reopens = 0; ; ) {
      // The version the write covers; a write that held back half a character covers none of it yet.
      let version = element.version;
      let written = '';
      const read = (viaPatch: boolean) => {
        const { text, complete } = element.writable();
        // Emptied while this write waited (setText('')): a content write needs 1+ characters; start over as a patch.
        if (!viaPatch && text === '') throw new EmptiedMeanwhile();
        version = complete ? element.version : 0;
        written = text;
        return written;
      };
      // Content writes need 1+ characters: an emptied element, and every element once streaming is gone, is patched.
      const viaPatch = window.state === 'dead' || element.writable().text === '';
      try {
        const { sequence } = viaPatch
          ? await dispatcher.send({
              api: PATCH,
              cardId,
              urgent: final,
              keyed: false,
              request: (seq) => client.cardkit.v1.cardElement.patch({ card_id: cardId, element_id: elementId, partial_element: { content: read(true) }, sequence: seq }),
            })
          : await dispatcher.send({
              api: CONTENT,
              cardId,
              urgent: final,
              keyed: false,
              request: (seq) => client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: elementId, content: read(false), sequence: seq }),
            });
        element.acknowledge(version);
        this.#o.emit('flush', { elementId, sequence, length: written.length, via: viaPatch ? 'patch' : 'content' });
        return;
      } catch (error) {
        if (error instanceof EmptiedMeanwhile) continue;
        if (!(error instanceof StreamingClosed)) throw error;
        window.closed();
        if (++reopens > MAX_REOPENS_PER_WRITE || !(await this.open('expired'))) window.giveUp();
      }
    }
  }
}

/** The element was emptied between the choice of a content write and its attempt (the sequence it drew stays a gap). */
class EmptiedMeanwhile extends Error {}
