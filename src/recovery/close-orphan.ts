/**
 * Closing a card whose replica died (issue 13): the text stays as the replica last wrote it, the
 * interrupted marker is added after it as an element of its own (the replica's text is not known here, and
 * need not be), the elements the session would have removed are removed (a Stop button), streaming mode goes off
 * and the summary is set, in one batch_update under one sequence. If the platform refuses that, barer closes
 * follow: without the removals, through settings, and streaming off alone (a card too full for the summary). The
 * writes go through the governor as urgent closing writes, like a session's close.
 */
import { v4 as uuidv4 } from 'uuid';
import { type BatchAction, FeishuApiError, type FeishuClient, isCardGone } from '../client/index.js';
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
  const closed = { config: { streaming_mode: false, summary: { content: summary } } };
  const done = (outcome: RecoveredCard['outcome'], marked: boolean, sequence: number): RecoveredCard => ({ cardId, replica: entry.replica, outcome, marked, sequence });
  const batch = (actions: BatchAction[]) => (sequence: number, uuid: string) => client.cardkit.v1.card.batchUpdate({ card_id: cardId, actions, sequence, uuid });
  const settings = (config: Record<string, unknown>) => (sequence: number, uuid: string) => client.cardkit.v1.card.settings({ card_id: cardId, settings: { config }, sequence, uuid });
  // From the fullest close to the barest, each tried when the platform refuses the one before: the marker with
  // the elements the session would have removed (its Stop button) gone, the marker alone, the settings alone,
  // and streaming off without the summary (a card too full to take it).
  const attempts: { api: string; marked: boolean; send: (sequence: number, uuid: string) => Promise<unknown> }[] = [];
  if (marker.trim() !== '') {
    const add: BatchAction = { action: 'add_elements', params: { type: 'insert_after', target_element_id: entry.elementId, elements: [{ tag: 'markdown', element_id: RECOVERED_MARKER_ID, content: marker.trim() }] } };
    const close: BatchAction = { action: 'partial_update_setting', params: { settings: closed } };
    const gone = entry.deleteElementIds ?? [];
    if (gone.length > 0) attempts.push({ api: BATCH, marked: true, send: batch([{ action: 'delete_elements', params: { element_ids: [...gone] } }, add, close]) });
    attempts.push({ api: BATCH, marked: true, send: batch([add, close]) });
  }
  attempts.push({ api: SETTINGS, marked: false, send: settings(closed.config) });
  attempts.push({ api: SETTINGS, marked: false, send: settings({ streaming_mode: false }) });
  for (const [i, attempt] of attempts.entries()) {
    const uuid = uuidv4();
    try {
      const { sequence } = await dispatcher.send({ api: attempt.api, cardId, urgent: true, keyed: true, closing: true, request: (sequence) => attempt.send(sequence, uuid) });
      return done('closed', attempt.marked, sequence);
    } catch (error) {
      if (isCardGone(error)) return done('gone', false, 0);
      // Only a refusal of the change itself (the marker's target gone, the card full) falls through to a barer
      // close; an outage, a rate limit past its deadline or a credentials problem is the sweep's to report.
      const refused = error instanceof StreamingClosed || (error instanceof FeishuApiError && (error.category === 'fatal' || error.category === 'too_large'));
      if (!refused || i === attempts.length - 1) throw error;
    }
  }
  throw new Error('unreachable');
}

const BATCH = 'cardkit.card.batchUpdate';
const SETTINGS = 'cardkit.card.settings';
