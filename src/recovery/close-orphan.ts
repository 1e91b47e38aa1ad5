/**
 * Closing a card whose replica died (issue 13): the text stays as the replica last wrote it, the
 * interrupted marker is added after it as an element of its own (the replica's text is not known here, and
 * need not be), streaming mode goes off and the summary is set, in one batch_update under one sequence. If
 * the marker cannot be added (its element is gone, the card is full), the card is still closed through
 * settings. The writes go through the governor as urgent closing writes, like a session's close.
 */
import { v4 as uuidv4 } from 'uuid';
import { FeishuApiError, type FeishuClient, isCardGone } from '../client/index.js';
import type { Governor } from '../governor/index.js';
import { Dispatcher, StreamingClosed } from '../session/dispatch.js';
import type { RetryEvent } from '../session/events.js';
import type { RetryPolicy } from '../session/retry.js';
import { summarize } from '../session/summary.js';
import type { JournalEntry } from './journal.js';

/** The element id of the marker a recovery adds. */
export const RECOVERED_MARKER_ID = 'recovered_marker';

/** A card another replica's recovery closed. */
export interface RecoveredCard {
  cardId: string;
  /** The replica that was streaming it. */
  replica: string;
  /** `closed`: streaming off, summary set; `gone`: the card no longer exists (deleted, or past 14 days). */
  outcome: 'closed' | 'gone';
  /** True when the interrupted marker was added after the answer. */
  marked: boolean;
  /** The sequence the card was closed with (0 when gone). */
  sequence: number;
}

export interface CloseOptions {
  client: FeishuClient;
  governor: Governor;
  retry: RetryPolicy;
  /** Markdown shown after the answer, e.g. `_(interrupted)_`; empty: no marker. */
  marker: string;
  onRetry: (event: RetryEvent) => void;
}

export async function closeOrphan(entry: JournalEntry, o: CloseOptions): Promise<RecoveredCard> {
  const { client, governor, retry, marker } = o;
  const cardId = entry.cardId;
  const dispatcher = new Dispatcher({ governor, sequences: governor.sequences, retry, sequence: entry.sequence, onRetry: o.onRetry });
  const summary = entry.summary !== '' ? entry.summary : summarize(marker.replace(/[_*`~]/g, ''));
  const settings = { config: { streaming_mode: false, summary: { content: summary } } };
  const done = (outcome: RecoveredCard['outcome'], marked: boolean, sequence: number): RecoveredCard => ({ cardId, replica: entry.replica, outcome, marked, sequence });
  if (marker.trim() !== '') {
    const element = { tag: 'markdown', element_id: RECOVERED_MARKER_ID, content: marker.trim() };
    const uuid = uuidv4();
    try {
      const { sequence } = await dispatcher.send({
        api: 'cardkit.card.batchUpdate',
        cardId,
        urgent: true,
        keyed: true,
        closing: true,
        request: (sequence) =>
          client.cardkit.v1.card.batchUpdate({
            card_id: cardId,
            actions: [
              { action: 'add_elements', params: { type: 'insert_after', target_element_id: entry.elementId, elements: [element] } },
              { action: 'partial_update_setting', params: { settings } },
            ],
            sequence,
            uuid,
          }),
      });
      return done('closed', true, sequence);
    } catch (error) {
      if (isCardGone(error)) return done('gone', false, 0);
      // Only a refusal of the change itself (the marker's target gone, the card full) falls through to a plain
      // close; an outage, a rate limit past its deadline or a credentials problem is the sweep's to report.
      const refused = error instanceof StreamingClosed || (error instanceof FeishuApiError && (error.category === 'fatal' || error.category === 'too_large'));
      if (!refused) throw error;
    }
  }
  const uuid = uuidv4();
  try {
    const { sequence } = await dispatcher.send({
      api: 'cardkit.card.settings',
      cardId,
      urgent: true,
      keyed: true,
      closing: true,
      request: (sequence) => client.cardkit.v1.card.settings({ card_id: cardId, settings, sequence, uuid }),
    });
    return done('closed', false, sequence);
  } catch (error) {
    if (isCardGone(error)) return done('gone', false, 0);
    throw error;
  }
}
