/**
 * Small helpers for `CardSession` tests against the emulator: the events a session emitted, a card's
 * write log, paced async sources and bounded waits.
 */
import type { Emulator, WriteLogEntry } from '../../src/emulator/index.js';
import type { CardSession, FlushEvent, ReopenEvent, RetryEvent, SessionResult } from '../../src/session/index.js';

/** Short backoffs, so retry tests stay fast. */
export const FAST_RETRY = { baseDelayMs: 20, maxDelayMs: 200 } as const;

/** The session's default marker for an interrupted answer. */
export const INTERRUPTED = '\n\n_(interrupted)_';

export interface Recorded {
  flush: FlushEvent[];
  retry: RetryEvent[];
  reopen: ReopenEvent[];
  error: Error[];
  finish: SessionResult[];
}

/** Records every event a session emits from now on. */
export function record(session: CardSession): Recorded {
  const events: Recorded = { flush: [], retry: [], reopen: [], error: [], finish: [] };
  session.on('flush', (e) => events.flush.push(e));
  session.on('retry', (e) => events.retry.push(e));
  session.on('reopen', (e) => events.reopen.push(e));
  session.on('error', (e) => events.error.push(e));
  session.on('finish', (e) => events.finish.push(e));
  return events;
}

/**
 * Every write attempt that reached the card after `CardSession.start()` created it and opened
 * streaming mode (its first accepted batch_update), in arrival order. Faults of kind `fail` and
 * `drop` are answered before the handler, so they are not in it.
 */
export function cardLog(emulator: Emulator, cardId: string): WriteLogEntry[] {
  const card = emulator.card(cardId);
  if (!card) throw new Error(`the emulator has no card ${cardId}`);
  const log = card.log.filter((entry) => entry.endpoint !== 'cardkit.card.create');
  const opened = log.findIndex((entry) => entry.endpoint === 'cardkit.card.batchUpdate' && entry.code === 0);
  return opened === -1 ? log : log.slice(opened + 1);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms; rejects naming `what` when it is still false after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Yields `pieces` (strings or model chunks) with `gapMs` before each; throws `failure` after the last one when given. */
export async function* paced<T = string>(pieces: readonly T[], gapMs: number, failure?: Error): AsyncGenerator<T> {
  for (const piece of pieces) {
    if (gapMs > 0) await sleep(gapMs);
    yield piece;
  }
  if (failure) throw failure;
}


/** A card of one's own: a collapsible panel with a `thinking` markdown element above the `answer`. */
export const REASONING_CARD: Record<string, unknown> = {
  schema: '2.0',
  config: { update_multi: true },
  body: {
    elements: [
      {
        tag: 'collapsible_panel',
        element_id: 'thinking_panel',
        header: { title: { tag: 'markdown', content: 'Thinking' } },
        elements: [{ tag: 'markdown', element_id: 'thinking', content: '' }],
      },
      { tag: 'markdown', element_id: 'answer', content: '' },
    ],
  },
};

export { seededRandom as seeded } from '../../demo/random.js';
