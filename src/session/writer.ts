/**
 * Every write to one card, one at a time (reference §12.6, §15): a permit from the governor, a
 * sequence allocated at dispatch, and the platform's answer judged. Text writes re-read the latest
 * text on every attempt, so a retry carries everything appended meanwhile. Streaming mode is
 * re-opened when the platform closed it; if that fails, text lands through element patches.
 */
import { v4 as uuidv4 } from 'uuid';
import { type FeishuClient, FeishuApiError } from '../client/index.js';
import { type Governor, type SequenceStore, delay } from '../governor/index.js';
import type { ElementText } from './element-text.js';
import type { SessionEvents } from './events.js';
import { type RetryPolicy, judge } from './retry.js';

const CONTENT = 'cardkit.cardElement.content';
const PATCH = 'cardkit.cardElement.patch';
const SETTINGS = 'cardkit.card.settings';
const UPDATE = 'cardkit.card.update';
const INT32_MAX = 2_147_483_647;
/** Re-opens tried for one write before falling back to patches. */
const MAX_REOPENS_PER_WRITE = 2;
/** Sequence conflicts tolerated for one write; the jump doubles each time, so 24 cover all of int32. */
const MAX_CONFLICTS = 24;

export interface WriterOptions {
  client: FeishuClient;
  governor: Governor;
  cardId: string;
  /** Last sequence used on the card. */
  sequence: number;
  /** Hands out sequences (shared between replicas when the client has Redis). */
  sequences: SequenceStore;
  retry: RetryPolicy;
  now: () => number;
  /** When streaming mode was last opened (on `now`'s clock), or null if unknown or off. */
  streamingOpenedAt: number | null;
  streamingConfig: Record<string, unknown>;
  /** The card as it should end, for closing through a full update when settings fails; absent for attached cards. */
  finalCard?: (summary: string | undefined) => Record<string, unknown>;
  emit: <K extends keyof SessionEvents>(event: K, ...args: SessionEvents[K]) => void;
}

interface SendSpec {
  api: string;
  urgent: boolean;
  /** Non-idempotent writes carry a uuid kept across attempts. */
  uuid?: string;
  request: (sequence: number) => Promise<unknown>;
}

export class CardWriter {
  sequence: number;
  writes = 0;
  retries = 0;
  reopens = 0;
  streamingOpenedAt: number | null;
  /** Streaming mode could not be re-opened: text goes through element patches from now on. */
  streamingDead = false;
  readonly #o: WriterOptions;

  constructor(options: WriterOptions) {
    this.#o = options;
    this.sequence = options.sequence;
    this.streamingOpenedAt = options.streamingOpenedAt;
  }

  /** Writes the latest text of every dirty element; `final` writes it whole (see `ElementText.writable`). */
  async flush(elements: Iterable<ElementText>, final: boolean): Promise<void> {
    for (const element of elements) {
      if (element.dirty && element.writable(final).text !== '') await this.#flushElement(element, final);
    }
  }

  async patch(elementId: string, partial: Record<string, unknown>): Promise<void> {
    const { client, cardId } = this.#o;
    const uuid = uuidv4();
    await this.#send({
      api: PATCH,
      urgent: false,
      uuid,
      request: (sequence) =>
        client.cardkit.v1.cardElement.patch(
          { card_id: cardId, element_id: elementId, partial_element: partial, sequence, uuid },
        ),
    });
  }

  /** Re-opens streaming mode; false when it could not be re-opened (the caller falls back to patches). */
  async reopen(reason: 'scheduled' | 'expired'): Promise<boolean> {
    const { client, cardId, now } = this.#o;
    let openedAt = now();
    const uuid = uuidv4();
    try {
      const sequence = await this.#send({
        api: SETTINGS,
        urgent: false,
        uuid,
        request: (seq) => {
          openedAt = now();
          return client.cardkit.v1.card.settings(
            {
              card_id: cardId,
              settings: { config: { streaming_mode: true, streaming_config: this.#o.streamingConfig } },
              sequence: seq,
              uuid,
            },
          );
        },
      });
      this.streamingOpenedAt = openedAt;
      this.reopens++;
      this.#o.emit('reopen', { reason, sequence });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Closes streaming mode and sets the summary in one settings call. If settings keeps failing, the
   * whole card is written once more with streaming off (a full update), so the card still ends.
   */
  async close(summary: string | undefined): Promise<void> {
    const { client, cardId, finalCard } = this.#o;
    const config = { streaming_mode: false, ...(summary ? { summary: { content: summary } } : {}) };
    const uuid = uuidv4();
    try {
      await this.#send({
        api: SETTINGS,
        urgent: true,
        uuid,
        request: (sequence) => client.cardkit.v1.card.settings({ card_id: cardId, settings: { config }, sequence, uuid }),
      });
    } catch (error) {
      if (!finalCard || isCardGone(error)) throw error;
      const updateUuid = uuidv4();
      await this.#send({
        api: UPDATE,
        urgent: true,
        uuid: updateUuid,
        request: (sequence) =>
          client.cardkit.v1.card.update({ card_id: cardId, card: { data: finalCard(summary) }, sequence, uuid: updateUuid }),
      });
    }
    this.streamingOpenedAt = null;
  }

  async #flushElement(element: ElementText, final: boolean): Promise<void> {
    const { client, cardId } = this.#o;
    const urgent = final;
    for (let reopens = 0; ; ) {
      // The version the write covers; a write that held back half a character covers none of it yet.
      let version = element.version;
      let written = '';
      const read = () => {
        const { text, complete } = element.writable(final);
        version = complete ? element.version : 0;
        written = text;
        return written;
      };
      if (this.streamingDead) {
        const sequence = await this.#send({
          api: PATCH,
          urgent,
          request: (seq) =>
            client.cardkit.v1.cardElement.patch(
              { card_id: cardId, element_id: element.elementId, partial_element: { content: read() }, sequence: seq },
            ),
        });
        this.#flushed(element, version, written, sequence, 'patch');
        return;
      }
      try {
        const sequence = await this.#send({
          api: CONTENT,
          urgent,
          request: (seq) =>
            client.cardkit.v1.cardElement.content(
              { card_id: cardId, element_id: element.elementId, content: read(), sequence: seq },
            ),
        });
        this.#flushed(element, version, written, sequence, 'content');
        return;
      } catch (error) {
        if (!(error instanceof StreamingClosed)) throw error;
        if (++reopens > MAX_REOPENS_PER_WRITE || !(await this.reopen('expired'))) this.streamingDead = true;
      }
    }
  }

  #flushed(element: ElementText, version: number, written: string, sequence: number, via: 'content' | 'patch'): void {
    element.acknowledge(version);
    this.#o.emit('flush', { elementId: element.elementId, sequence, length: written.length, via });
  }

  /** Sends one write until it is accepted; resolves with the sequence that was accepted. */
  async #send(spec: SendSpec): Promise<number> {
    const { governor, cardId, retry } = this.#o;
    let jump = 16;
    let conflicts = 0;
    let floor = this.sequence;
    for (let attempt = 1; ; attempt++) {
      await governor.acquire({ api: spec.api, cardId, priority: spec.urgent ? 'urgent' : 'normal' });
      const sequence = await this.#nextSequence(floor);
      floor = sequence;
      try {
        await spec.request(sequence);
        this.writes++;
        return sequence;
      } catch (error) {
        const verdict = judge(error, retry, attempt, spec.uuid !== undefined && attempt > 1);
        switch (verdict.kind) {
          case 'applied':
            this.writes++;
            return sequence;
          case 'sequence_conflict':
            // Another writer moved the card's sequence on; jump past it (gaps are allowed).
            if (++conflicts > MAX_CONFLICTS) throw error;
            floor = Math.min(INT32_MAX - 1, sequence + jump);
            jump *= 2;
            attempt--;
            continue;
          case 'streaming_closed':
            throw new StreamingClosed(error as Error);
          case 'fatal':
            throw error;
          case 'rate_limited':
            governor.pause(spec.api, verdict.delayMs);
            break;
          case 'retry':
            break;
        }
        if (attempt >= retry.maxAttempts) throw error;
        this.retries++;
        this.#o.emit('retry', { api: spec.api, attempt, delayMs: verdict.delayMs, error: error as Error });
        if (verdict.kind === 'retry') await delay(verdict.delayMs);
      }
    }
  }

  /** The next sequence, allocated now (at dispatch), above `floor`. */
  async #nextSequence(floor: number): Promise<number> {
    if (floor >= INT32_MAX) throw new RangeError('the card has used every sequence number');
    const sequence = await this.#o.sequences.next(this.#o.cardId, floor);
    this.sequence = Math.max(this.sequence, sequence);
    return sequence;
  }
}

/** A content write was refused because streaming mode is closed (200850, 300309, 200510). */
class StreamingClosed extends Error {
  constructor(cause: Error) {
    super('streaming mode is closed', { cause });
  }
}

/** The card is gone or not ours (reference §17: 200740, 200750, 300311): nothing more can be written to it. */
export function isCardGone(error: unknown): boolean {
  return error instanceof FeishuApiError && (error.code === 200740 || error.code === 200750 || error.code === 300311);
}
