/**
 * Runs one planned session against the emulator through the public API only, and writes down what the
 * card must end up holding: the text the session accepted (deltas handed to `append`, or delivered by the
 * source before the abort), whether it ended interrupted, the events it emitted, and how and when its
 * promise settled.
 */
import type { FeishuClient } from '../../src/client/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import {
  CardSession,
  type ReopenEvent,
  type SessionResult,
  SessionStateError,
  type StartOptions,
} from '../../src/session/index.js';
import { seededRandom } from '../../demo/random.js';
import type { SessionPlan } from './plan.js';

/** The session's default marker for an interrupted answer (README, CardSession options: `interruptedText`). */
export const INTERRUPTED = '\n\n_(interrupted)_';

/** After an abort the source says nothing for this long (a model stream that was not cancelled). */
export const SILENT_AFTER_ABORT_MS = 8000;

/** Message of the error a failing source throws; pipe() rejects with it by design. */
export const SOURCE_FAILURE = 'soak: the model stream failed';

/**
 * The one place a soak session is built. The session measures its streaming window on the emulator's
 * clock; if the session API changes how a clock is passed, this is the line to change.
 */
export function startSession(client: FeishuClient, emulator: Emulator, options: StartOptions): Promise<CardSession> {
  return CardSession.start(client, { ...options, clock: emulator.clock });
}

export interface RetryNote {
  api: string;
  attempt: number;
  /** Error name and platform code, e.g. `FeishuApiError 99991400`. */
  error: string;
  category: string;
}

export interface SessionRecord {
  plan: SessionPlan;
  cardId: string | undefined;
  startError: unknown;
  /** Text the session accepted, before any interrupted marker. */
  accepted: string;
  /** The session was ended by an abort (call, signal or failing source) before finish() was called. */
  interrupted: boolean;
  /** Deltas refused after the abort, as they should be. */
  refusedAfterAbort: number;
  /** Deltas accepted after the abort, which they should not be. */
  acceptedAfterAbort: number;
  retries: RetryNote[];
  reopens: ReopenEvent[];
  flushes: number;
  errors: Error[];
  result: SessionResult | undefined;
  /** How the terminal promise (finish, abort or pipe) settled. */
  outcome: 'pending' | 'resolved' | 'rejected';
  failure: unknown;
  /** performance.now() marks. */
  startedAt: number;
  abortCalledAt: number | undefined;
  /** The finish or error event. */
  endedAt: number | undefined;
  settledAt: number | undefined;
  /** Whether the emulator had accepted the write closing streaming mode when the promise settled. */
  closedAtSettle: boolean | undefined;
}

export interface SessionContext {
  client: FeishuClient;
  emulator: Emulator;
  retry: StartOptions['retry'];
  /** Whether the card's streaming mode is off now, judged from the write log and the request bodies. */
  closedNow: (cardId: string) => boolean;
  onCard: (cardId: string, live: boolean) => void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorNote(error: unknown): { error: string; category: string } {
  const e = error as { name?: string; code?: number; category?: string } | null;
  return { error: `${e?.name ?? typeof error}${e?.code === undefined ? '' : ` ${e.code}`}`, category: e?.category ?? e?.name ?? 'unknown' };
}

export async function runSession(ctx: SessionContext, plan: SessionPlan): Promise<SessionRecord> {
  const record: SessionRecord = {
    plan,
    cardId: undefined,
    startError: undefined,
    accepted: '',
    interrupted: false,
    refusedAfterAbort: 0,
    acceptedAfterAbort: 0,
    retries: [],
    reopens: [],
    flushes: 0,
    errors: [],
    result: undefined,
    outcome: 'pending',
    failure: undefined,
    startedAt: performance.now(),
    abortCalledAt: undefined,
    endedAt: undefined,
    settledAt: undefined,
    closedAtSettle: undefined,
  };
  const controller = new AbortController();
  let session: CardSession;
  try {
    session = await startSession(ctx.client, ctx.emulator, {
      ...(plan.to ? { to: plan.to } : {}),
      ...(plan.title === undefined ? {} : { title: plan.title }),
      signal: controller.signal,
      retry: ctx.retry,
    });
  } catch (error) {
    record.startError = error;
    record.outcome = 'rejected';
    return record;
  }
  const cardId = session.cardId!;
  record.cardId = cardId;
  ctx.onCard(cardId, true);
  session.on('retry', (e) => record.retries.push({ api: e.api, attempt: e.attempt, ...errorNote(e.error) }));
  session.on('reopen', (e) => record.reopens.push(e));
  session.on('flush', () => record.flushes++);
  session.on('error', (e) => {
    record.errors.push(e);
    record.endedAt ??= performance.now();
  });
  session.on('finish', (result) => {
    record.result = result;
    record.endedAt ??= performance.now();
  });

  const { ending } = plan;
  const abortAt = ending.kind === 'finish' ? -1 : ending.at;
  const triggerAbort = () => {
    record.abortCalledAt = performance.now();
    record.interrupted = true;
    if (ending.kind === 'abort' && ending.via === 'signal') {
      controller.abort(new Error('soak: the user pressed stop'));
      return undefined;
    }
    return session.abort(new Error('soak: the user pressed stop'));
  };

  let terminal: Promise<unknown>;
  if (plan.mode === 'append' || plan.mode === 'snapshots') {
    terminal = feedDirectly(session, plan, record, abortAt, triggerAbort);
  } else {
    terminal = session.pipe(source(plan, record, abortAt, () => void triggerAbort()?.catch(() => undefined)));
  }
  await terminal.then(
    (value) => {
      record.outcome = 'resolved';
      if (value && typeof value === 'object' && 'cardId' in value) record.result ??= value as SessionResult;
    },
    (error: unknown) => {
      record.outcome = 'rejected';
      record.failure = error;
    },
  );
  record.settledAt = performance.now();
  record.closedAtSettle = ctx.closedNow(cardId);
  ctx.onCard(cardId, false);
  return record;
}

/** append() / setText() from the caller's own loop; resolves or rejects as the session's end does. */
async function feedDirectly(
  session: CardSession,
  plan: SessionPlan,
  record: SessionRecord,
  abortAt: number,
  triggerAbort: () => Promise<SessionResult> | undefined,
): Promise<unknown> {
  for (let i = 0; i <= plan.pieces.length; i++) {
    const gap = plan.gaps[i] ?? 0;
    if (gap > 0) await sleep(gap);
    if (i === abortAt) {
      const aborted = triggerAbort() ?? waitForEnd(session, record);
      // Text after the abort must be refused, and must not reach the card.
      const late = plan.pieces[i] ?? 'late text';
      try {
        if (plan.mode === 'snapshots') session.setText(late);
        else session.append(late);
        record.acceptedAfterAbort++;
      } catch (error) {
        if (error instanceof SessionStateError) record.refusedAfterAbort++;
        else throw error;
      }
      return aborted;
    }
    if (i === plan.pieces.length) break;
    const piece = plan.pieces[i]!;
    try {
      if (plan.mode === 'snapshots') session.setText(piece);
      else session.append(piece);
    } catch (error) {
      // The session failed on its own (an `error` event): finish() reports why.
      if (error instanceof SessionStateError && record.errors.length > 0) return session.finish();
      throw error;
    }
    if (plan.mode === 'snapshots') record.accepted = piece;
    else record.accepted += piece;
  }
  const finished = session.finish();
  // abort() after finish() must not interrupt the answer (the card's text shows whether it did).
  if (plan.ending.kind === 'finish' && plan.ending.lateAbort) session.abort(new Error('soak: too late')).catch(() => undefined);
  return finished;
}

/** The session's end as its events tell it (an abort through the signal has no promise of its own). */
function waitForEnd(session: CardSession, record: SessionRecord): Promise<SessionResult> {
  if (record.errors.length > 0) return Promise.reject(record.errors[0]!);
  return new Promise((resolve, reject) => {
    session.once('finish', resolve);
    session.once('error', reject);
  });
}

/**
 * The source for pipe(): pieces pulled one at a time (nothing is read ahead), each noted as accepted
 * when it is handed over before the abort. At the abort point the abort is triggered from a timer of its
 * own, then the source stays silent for a while before it would speak again.
 */
function source(
  plan: SessionPlan,
  record: SessionRecord,
  abortAt: number,
  triggerAbort: () => void,
): AsyncIterable<unknown> | ReadableStream<Uint8Array> {
  const { pieces, gaps } = plan;
  let aborted = false;
  /** Waits before piece i; at the abort point, aborts and goes silent. */
  const before = async (i: number, total = pieces.length): Promise<'go' | 'stop'> => {
    const gap = gaps[i] ?? 0;
    if (gap > 0) await sleep(gap);
    if (i === abortAt && plan.ending.kind === 'source-fails') {
      record.abortCalledAt = performance.now();
      record.interrupted = true;
      throw new Error(SOURCE_FAILURE);
    }
    if (i === abortAt && !aborted) {
      aborted = true;
      setTimeout(triggerAbort, 0);
      await sleep(SILENT_AFTER_ABORT_MS);
    }
    return i < total ? 'go' : 'stop';
  };
  const hand = (text: string) => {
    if (aborted) return;
    record.accepted += text;
  };

  if (plan.mode === 'pipe-bytes') {
    const bytes = new TextEncoder().encode(plan.text);
    const decoder = new TextDecoder('utf-8');
    const random = seededRandom(bytes.length * 31 + pieces.length);
    // Byte cuts, not UTF-16 ones: about as many chunks as pieces, cut inside UTF-8 sequences.
    const chunks: Uint8Array[] = [];
    const size = Math.max(1, Math.round(bytes.length / Math.max(1, pieces.length)));
    for (let offset = 0; offset < bytes.length; ) {
      const length = 1 + Math.floor(random() * 2 * size);
      chunks.push(bytes.subarray(offset, offset + length));
      offset += length;
    }
    let i = 0;
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          await before(i, chunks.length);
          const chunk = chunks[i++];
          if (chunk === undefined) {
            controller.close();
            return;
          }
          hand(decoder.decode(chunk, { stream: true }));
          controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
  }

  return (async function* () {
    if (plan.mode === 'pipe-chat') yield { choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
    if (plan.mode === 'pipe-responses') yield { type: 'response.created', response: { id: 'resp_soak' } };
    for (let i = 0; ; i++) {
      if ((await before(i)) === 'stop') break;
      const text = pieces[i]!;
      if (plan.mode === 'pipe-chat' && i % 7 === 3) {
        // Reasoning the session does not show (no reasoningElementId): it must not reach the answer.
        yield { choices: [{ index: 0, delta: { reasoning_content: 'thinking…😀' }, finish_reason: null }] };
      }
      hand(text);
      if (plan.mode === 'pipe-chat') yield { choices: [{ index: 0, delta: { content: text }, finish_reason: null }] };
      else if (plan.mode === 'pipe-responses') yield { type: 'response.output_text.delta', delta: text };
      else yield text;
    }
    if (plan.mode === 'pipe-chat') {
      yield { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
      yield { choices: [], usage: { prompt_tokens: 1, completion_tokens: pieces.length } };
    }
    if (plan.mode === 'pipe-responses') yield { type: 'response.completed', response: { id: 'resp_soak' } };
  })();
}
