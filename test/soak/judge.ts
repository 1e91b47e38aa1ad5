/**
 * The soak's invariants, judged on what the emulator recorded (cards, write logs, counters) joined with
 * what the client sent (traffic) and what the soak injected (fault book, chaos log). Every rejection the
 * emulator produced itself is classified: excused (caused by something injected, with the reason) or the
 * engine's.
 */
import type { CardSnapshot, Emulator, WriteLogEntry } from '../../src/emulator/index.js';
import { FeishuApiError, FeishuNetworkError, FeishuTimeoutError } from '../../src/client/index.js';
import type { ChaosLog } from './chaos.js';
import { INTERRUPTED, SOURCE_FAILURE, type SessionRecord } from './run-session.js';
import { describeDifference, dropDanglingHigh, endsInsideCharacter } from './text.js';
import { type Traffic, isInjected } from './traffic.js';

export interface Breach {
  invariant:
    | 'exact-text'
    | 'result-text'
    | 'left-streaming'
    | 'settled-before-close'
    | 'session-failed'
    | 'start-failed'
    | 'pipe-hang'
    | 'hung'
    | 'accepted-after-abort'
    | 'sequence'
    | 'engine-rejection'
    | 'unhandled-rejection';
  session?: string;
  cardId?: string;
  detail: string;
}

export interface Classified {
  code: number;
  endpoint: string;
  cardId: string | null;
  /** `excused: …` or `engine: …`. */
  verdict: string;
}

export interface JudgeConfig {
  speed: number;
  streamingWindowMs: number;
  reopenMarginMs: number;
  /** Real time a session may need to react to a window that a jump moved into its margin. */
  reactionMs: number;
  maxAttempts: number;
  /** pipe() must settle this soon after the session ended. */
  pipeSettleMs: number;
  cardQps: number;
}

const CREATE = 'cardkit.card.create';
const SETTINGS = 'cardkit.card.settings';
const UPDATE = 'cardkit.card.update';
const BATCH = 'cardkit.card.batchUpdate';
/** Writes that may open or close streaming mode. */
const STREAMING_WRITES = new Set([SETTINGS, UPDATE, BATCH]);
/** Codes the per-card limiter never counted (they fail before it, or are its own answer). */
const NOT_COUNTED_PER_CARD = new Set([230020, 10002, 200740, 300311, 200750]);

/** The streamed element's text in a card snapshot. */
export function elementText(card: CardSnapshot, elementId = 'answer'): string | undefined {
  let found: string | undefined;
  const walk = (node: unknown): void => {
    if (found !== undefined || typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    if (record.element_id === elementId && typeof record.content === 'string') {
      found = record.content;
      return;
    }
    for (const child of Object.values(record)) walk(child);
  };
  walk(card.card.body);
  return found;
}

/** Streaming mode as last set by an accepted create, settings or update (the snapshot's own flag also goes off when a window runs out). */
export function streamingOff(log: readonly WriteLogEntry[], cardId: string, traffic: Traffic): boolean {
  let open = false;
  for (const entry of log) {
    if (entry.code !== 0) continue;
    if (entry.endpoint === CREATE) open = true;
    if (!STREAMING_WRITES.has(entry.endpoint)) continue;
    const mode = traffic.requestsFor(cardId, entry.sequence).find((r) => r.endpoint === entry.endpoint)?.streamingMode;
    if (mode !== undefined) open = mode;
  }
  return !open;
}

function isTransient(error: unknown): boolean {
  return (
    error instanceof FeishuNetworkError ||
    error instanceof FeishuTimeoutError ||
    (error instanceof FeishuApiError && error.category === 'retryable')
  );
}

function describeError(error: unknown): string {
  if (error instanceof FeishuApiError) return `${error.name} ${error.code} (${error.category}) on ${error.endpoint ?? '?'}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The attempts of the last write that was retried: its retry events, attempt 1 up to the last. */
function lastWriteRetries(record: SessionRecord): SessionRecord['retries'] {
  const run: SessionRecord['retries'] = [];
  for (let i = record.retries.length - 1; i >= 0; i--) {
    const note = record.retries[i]!;
    run.unshift(note);
    if (note.attempt <= 1) break;
  }
  return run;
}

function tally(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([v, n]) => `${v}×${n}`).join(', ');
}

export interface Judgement {
  breaches: Breach[];
  rejections: Classified[];
  /** Rejections counted by the emulator that no one saw (answers to zombie requests), by code. */
  unseen: Record<string, number>;
  orphans: { excused: number; abandoned: number };
  excusedFailures: string[];
}

export function judge(
  emulator: Emulator,
  traffic: Traffic,
  chaos: ChaosLog,
  injectedByCode: Map<number, number>,
  records: SessionRecord[],
  unhandled: unknown[],
  config: JudgeConfig,
  /** Answers the emulator produced and then threw away (lose_response faults used). */
  lostAnswers: number,
): Judgement {
  const breaches: Breach[] = [];
  const excusedFailures: string[] = [];
  const cards = new Map(emulator.cards().map((card) => [card.card_id, card]));

  // Sessions: exact text, closed, settled in time, no failure.
  for (const record of records) {
    const session = record.plan.name;
    const where = { session, ...(record.cardId ? { cardId: record.cardId } : {}) };
    const mode = `${record.plan.mode}, ${record.plan.ending.kind}${record.plan.ending.kind === 'abort' ? ` by ${record.plan.ending.via}` : ''}`;
    if (record.startError !== undefined) {
      if (isTransient(record.startError)) excusedFailures.push(`${session}: start gave up on transient faults (${describeError(record.startError)})`);
      else breaches.push({ invariant: 'start-failed', ...where, detail: `start() rejected: ${describeError(record.startError)}` });
      continue;
    }
    if (record.outcome === 'pending') {
      breaches.push({ invariant: 'hung', ...where, detail: `${mode}: the session's promise never settled` });
    }
    const cardId = record.cardId!;
    const card = cards.get(cardId);
    const fatal = record.errors[0] ?? (record.outcome === 'rejected' && !(record.failure instanceof Error && record.failure.message === SOURCE_FAILURE) ? record.failure : undefined);
    let checkText = true;
    if (fatal !== undefined) {
      checkText = false;
      const run = lastWriteRetries(record);
      const exhausted = run.length >= config.maxAttempts - 1 && run.every((r) => r.category === 'retryable' || r.category === 'FeishuNetworkError' || r.category === 'FeishuTimeoutError');
      if (isTransient(fatal) && exhausted) {
        excusedFailures.push(`${session}: retry budget spent on injected transient faults (${tally(run.map((r) => r.error))}, then ${describeError(fatal)})`);
      } else {
        const actual = card ? (elementText(card) ?? '') : '';
        const expectedLength = record.accepted.length;
        breaches.push({
          invariant: 'session-failed',
          ...where,
          detail:
            `${mode}: ${describeError(fatal)}; the last write's earlier attempts: ${run.length ? tally(run.map((r) => r.error)) : 'none'}; ` +
            `card holds ${actual.length} of ${expectedLength} accepted units`,
        });
      }
    }
    if (record.acceptedAfterAbort > 0) {
      breaches.push({ invariant: 'accepted-after-abort', ...where, detail: `${record.acceptedAfterAbort} deltas accepted after abort()` });
    }
    if (!card) continue;
    const expected = record.interrupted ? dropDanglingHigh(record.accepted) + INTERRUPTED : record.accepted;
    const actual = elementText(card) ?? '';
    if (checkText && record.outcome !== 'pending' && actual !== expected) {
      const halfSurrogate = record.interrupted && endsInsideCharacter(record.accepted) && actual === record.accepted + INTERRUPTED;
      breaches.push({
        invariant: 'exact-text',
        ...where,
        detail: `${mode}: ${halfSurrogate ? 'half a surrogate pair kept before the interrupted marker; ' : ''}${describeDifference(expected, actual)}`,
      });
    }
    if (checkText && record.result && record.result.text !== expected) {
      breaches.push({ invariant: 'result-text', ...where, detail: `${mode}: finish result text: ${describeDifference(expected, record.result.text)}` });
    }
    if (!streamingOff(card.log, cardId, traffic) || card.streaming_mode) {
      breaches.push({ invariant: 'left-streaming', ...where, detail: `${mode}: the card's streaming mode is still on after the session ended (${describeError(fatal ?? 'no error')})` });
    }
    if (record.closedAtSettle === false) {
      breaches.push({
        invariant: 'settled-before-close',
        ...where,
        detail: `${mode}: the session's promise ${record.outcome} before the emulator had accepted the write closing streaming mode${fatal ? ` (${describeError(fatal)})` : ''}`,
      });
    }
    const piped = record.plan.mode.startsWith('pipe-');
    if (piped && record.interrupted && record.settledAt !== undefined && record.endedAt !== undefined) {
      const late = record.settledAt - record.endedAt;
      if (late > config.pipeSettleMs) {
        breaches.push({ invariant: 'pipe-hang', ...where, detail: `${mode}: pipe() settled ${(late / 1000).toFixed(1)} s after the session had ended, only when the silent source spoke again` });
      }
    }
  }

  // Cards no session owns: created by a start() whose create answer never arrived (no idempotency on create: excused), or abandoned by a failed start.
  const owned = new Set(records.flatMap((r) => (r.cardId ? [r.cardId] : [])));
  const answeredCreates = new Set(traffic.requests.flatMap((r) => (r.createdCardId ? [r.createdCardId] : [])));
  const orphans = { excused: 0, abandoned: 0 };
  for (const card of cards.values()) {
    if (owned.has(card.card_id)) continue;
    if (!answeredCreates.has(card.card_id)) {
      orphans.excused++;
      continue;
    }
    orphans.abandoned++;
    if (!streamingOff(card.log, card.card_id, traffic)) {
      breaches.push({ invariant: 'left-streaming', cardId: card.card_id, detail: 'a card created by a start() that then failed is left in streaming mode' });
    }
  }

  // Sequences, per card.
  for (const card of cards.values()) {
    const log = card.log.filter((e) => e.endpoint !== CREATE);
    const check = (entries: WriteLogEntry[], what: string) => {
      for (let i = 1; i < entries.length; i++) {
        const a = entries[i - 1]!.sequence ?? Number.NaN;
        const b = entries[i]!.sequence ?? Number.NaN;
        if (!(b > a)) {
          breaches.push({ invariant: 'sequence', cardId: card.card_id, detail: `${what}: sequence ${b} (${entries[i]!.endpoint}, code ${entries[i]!.code}) after ${a}` });
          return;
        }
      }
    };
    check(log.filter((e) => e.code === 0), 'accepted writes');
    check(log.filter((e) => !traffic.isZombie(card.card_id, e.sequence)), 'writes the client waited for, in arrival order');
    // A request refused for its token never reached the card; the client resends it as it was (one token retry).
    const sent = traffic.requests.filter((r) => r.cardId === card.card_id && r.sequence !== null && r.code !== 99991663 && r.code !== 99991661);
    for (let i = 1; i < sent.length; i++) {
      if (!(sent[i]!.sequence! > sent[i - 1]!.sequence!)) {
        breaches.push({ invariant: 'sequence', cardId: card.card_id, detail: `dispatch order: sequence ${sent[i]!.sequence} sent after ${sent[i - 1]!.sequence}` });
        break;
      }
    }
  }

  const rejections = classify(traffic, chaos, cards, config);
  const counted = new Map<number, number>();
  for (const r of rejections) counted.set(r.code, (counted.get(r.code) ?? 0) + 1);
  // An answer no one read: to a request the client had given up on, or thrown away by a lose_response fault.
  let unread = traffic.requests.filter((r) => r.outcome === 'aborted').length + lostAnswers;
  const unseen: Record<string, number> = {};
  for (const [code, n] of Object.entries(emulator.stats().rejected)) {
    const rest = n - (injectedByCode.get(Number(code)) ?? 0) - (counted.get(Number(code)) ?? 0);
    if (rest === 0) continue;
    unseen[code] = rest;
    for (let i = 0; i < rest; i++) {
      const excused = unread-- > 0;
      rejections.push({
        code: Number(code),
        endpoint: '?',
        cardId: null,
        verdict: excused ? 'excused: an answer no one read (client timeout or lost response)' : 'engine: a rejection no request accounts for',
      });
    }
  }
  const engine = rejections.filter((r) => r.verdict.startsWith('engine'));
  if (engine.length > 0) {
    const byKind = tally(engine.map((r) => `${r.code} on ${r.endpoint} (${r.verdict.slice('engine: '.length)})`));
    breaches.push({ invariant: 'engine-rejection', detail: `the emulator refused writes because of what the engine did: ${byKind}` });
  }
  for (const reason of unhandled) {
    breaches.push({ invariant: 'unhandled-rejection', detail: describeError(reason) });
  }
  return { breaches, rejections, unseen, orphans, excusedFailures };
}

/** Every rejection the emulator produced itself (not an injected answer), with its verdict. */
function classify(traffic: Traffic, chaos: ChaosLog, cards: Map<string, CardSnapshot>, config: JudgeConfig): Classified[] {
  const out: Classified[] = [];
  const T = config.streamingWindowMs;
  const margin = config.reopenMarginMs;
  // From the write logs: every attempt that reached a card.
  const handled = new Map<string, number[]>(); // endpoint -> real times of non-zombie requests that passed the gateway
  for (const card of cards.values()) {
    const cardId = card.card_id;
    let lastOpen = card.created_at;
    let closedBySession = false;
    card.log.forEach((entry, index) => {
      const real = traffic.logTime(cardId, index) ?? Number.NaN;
      const zombie = entry.endpoint !== CREATE && traffic.isZombie(cardId, entry.sequence);
      if (!zombie) {
        const list = handled.get(entry.endpoint) ?? [];
        list.push(real);
        handled.set(entry.endpoint, list);
      }
      if (entry.code === 0) {
        if (STREAMING_WRITES.has(entry.endpoint)) {
          const mode = traffic.requestsFor(cardId, entry.sequence).find((r) => r.endpoint === entry.endpoint)?.streamingMode;
          if (mode === true) {
            lastOpen = entry.time;
            closedBySession = false;
          } else if (mode === false) closedBySession = true;
        }
        return;
      }
      const verdict = (() => {
        if (zombie) return 'excused: a request the client had given up on (timeout), handled late';
        switch (entry.code) {
          case 300317:
            return 'engine: sequence not above the last accepted one';
          case 200770:
            return card.log.slice(0, index).some((e) => e.code === 0 && e.uuid !== null && e.uuid === entry.uuid)
              ? 'excused: replay of a write whose answer was lost'
              : 'engine: uuid reused';
          case 200810:
            return chaos.locks.some((l) => l.cardId === cardId && entry.time >= l.from && entry.time < l.until)
              ? 'excused: interaction lock'
              : 'engine: 200810 without a lock';
          case 200850:
          case 300309: {
            if (closedBySession) return 'engine: content written after the session closed streaming mode';
            const end = lastOpen + T;
            if (entry.time < end) return 'engine: streaming closed inside an open window';
            let landed = Number.NEGATIVE_INFINITY;
            for (const jump of chaos.jumps) if (jump.after > lastOpen && jump.before < end) landed = Math.max(landed, jump.after);
            const reactionMs = Math.max(0, end - Math.max(end - margin, landed)) / config.speed;
            return reactionMs < config.reactionMs
              ? 'excused: the streaming window ran out (a clock jump left too little time to re-open)'
              : `engine: late re-open, the session had ${(reactionMs / 1000).toFixed(0)} s to re-open`;
          }
          case 230020: {
            const window = card.log.filter(
              (e, i) =>
                i !== index &&
                e.endpoint !== CREATE &&
                !NOT_COUNTED_PER_CARD.has(e.code) &&
                !traffic.isZombie(cardId, e.sequence) &&
                (traffic.logTime(cardId, i) ?? Number.NaN) > real - 1000 &&
                (traffic.logTime(cardId, i) ?? Number.NaN) <= real,
            );
            return window.length >= config.cardQps
              ? `engine: ${window.length} of its own writes to the card within 1 s`
              : 'excused: requests the client had given up on filled the per-card window';
          }
          default:
            return `engine: ${entry.endpoint} refused`;
        }
      })();
      out.push({ code: entry.code, endpoint: entry.endpoint, cardId, verdict });
    });
  }
  // Answers the client saw that never reached a card's log: gateway limits, token checks, IM.
  const zombieEndpoints = new Set(traffic.requests.filter((r) => r.outcome === 'aborted').map((r) => r.endpoint));
  for (const request of traffic.requests) {
    if (request.outcome !== 'answered' || !request.code || isInjected(request.msg)) continue;
    const logged =
      request.cardId !== null &&
      (cards.get(request.cardId)?.log.some((e) => e.sequence === request.sequence && e.endpoint === request.endpoint && e.code === request.code) ?? false);
    if (logged) continue;
    const at = request.endedAt ?? request.startedAt;
    let verdict: string;
    if (request.code === 99991663) {
      verdict =
        chaos.revocations.some((r) => r.real <= at) || chaos.jumps.some((j) => j.real <= at)
          ? 'excused: token revoked or expired by the clock'
          : 'engine: token rejected without a revocation';
    } else if (request.code === 99991400 && request.rateLimitLimit !== undefined) {
      const windowMs = request.rateLimitLimit >= 1000 ? 60_000 : 1000;
      const times = handled.get(request.endpoint) ??
        traffic.requests.filter((r) => r.endpoint === request.endpoint && r.outcome === 'answered' && !isInjected(r.msg) && r.code !== 99991400 && r.code !== 99991663).map((r) => r.endedAt ?? r.startedAt);
      const own = times.filter((t) => t > at - windowMs && t <= at).length;
      verdict =
        own >= request.rateLimitLimit || !zombieEndpoints.has(request.endpoint)
          ? `engine: ${own} of its own calls to ${request.endpoint} within ${windowMs / 1000} s (limit ${request.rateLimitLimit})`
          : 'excused: requests the client had given up on filled the API window';
    } else {
      verdict = `engine: ${request.endpoint} refused`;
    }
    out.push({ code: request.code, endpoint: request.endpoint, cardId: request.cardId, verdict });
  }
  return out;
}
