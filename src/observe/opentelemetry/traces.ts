/**
 * The spans: one per session (`feishu_card.session`, from its first request to its end) and one per
 * request a session sends (named after its API), a child of its session's span, carrying the
 * platform's log id. A session is known once it opened, after its card was created, opened and sent:
 * requests seen before that (or for a continuation card, before its rollover) are held by the card or
 * message they concern and placed under the session's span once it is known. Requests no session
 * claims within a minute (a session whose start failed) become spans of their own.
 */
import { type Attributes, type Span, SpanKind, SpanStatusCode, type Tracer, context, trace } from '@opentelemetry/api';
import type { ReopenEvent, RolloverEvent } from '../../session/events.js';
import { codeOf, describeError, describeReason } from '../describe.js';
import type { ObservedWrite, WriteAttempt } from '../hub.js';
import type { OpenSession, SessionEnd } from '../sessions.js';

/** Requests held for a card not yet claimed by a session: at most this many cards, each at most this long. */
const MAX_HELD_CARDS = 1000;
const HOLD_MS = 60_000;

export const SESSION_SPAN = 'feishu_card.session';

/** A `performance.now()` as the epoch ms the SDK takes. */
const epoch = (at: number) => performance.timeOrigin + at;

export class SessionTraces {
  readonly #tracer: Tracer;
  /** The span of each session followed, and the card and message ids that lead to it. */
  readonly #spans = new Map<OpenSession, Span>();
  readonly #byId = new Map<string, Span>();
  /** Requests concerning a card or message no session claimed yet, oldest first. */
  readonly #held = new Map<string, { since: number; attempts: WriteAttempt[] }>();
  /** Attempts of a write that names no card yet (a create): until it ends, when the card it made is known. */
  readonly #unplaced = new Map<ObservedWrite, WriteAttempt[]>();

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  attempt(attempt: WriteAttempt): void {
    const { write } = attempt;
    const id = write.cardId ?? write.messageId ?? write.madeId;
    if (id === undefined) {
      const list = this.#unplaced.get(write);
      if (list) list.push(attempt);
      else this.#unplaced.set(write, [attempt]);
      return;
    }
    const parent = this.#byId.get(id);
    if (parent) this.#emit(attempt, parent);
    else this.#hold(id, [attempt]);
  }

  written(write: ObservedWrite): void {
    const attempts = this.#unplaced.get(write);
    if (!attempts) return;
    this.#unplaced.delete(write);
    const id = write.madeId;
    const parent = id === undefined ? undefined : this.#byId.get(id);
    if (parent) for (const attempt of attempts) this.#emit(attempt, parent);
    else if (id !== undefined) this.#hold(id, attempts);
    else for (const attempt of attempts) this.#emit(attempt, undefined);
  }

  opened(session: OpenSession): void {
    const ids = session.cards.flatMap((card) => [card.cardId, card.messageId]).filter((id): id is string => id !== null);
    const held = this.#claim(ids);
    const startedAt = Math.min(performance.now(), ...held.map((attempt) => attempt.startedAt));
    const first = session.cards[0];
    const span = this.#tracer.startSpan(SESSION_SPAN, {
      kind: SpanKind.INTERNAL,
      startTime: epoch(startedAt),
      attributes: {
        'feishu_card.transport': session.transport,
        ...(first?.cardId ? { 'feishu_card.card_id': first.cardId } : {}),
        ...(first?.messageId ? { 'feishu_card.message_id': first.messageId } : {}),
      },
    });
    this.#spans.set(session, span);
    for (const id of ids) this.#byId.set(id, span);
    for (const attempt of held) this.#emit(attempt, span);
  }

  reopen(session: OpenSession, event: ReopenEvent): void {
    this.#spans.get(session)?.addEvent('reopen', { 'feishu_card.reason': event.reason, 'feishu_card.sequence': event.sequence });
  }

  rollover(session: OpenSession, event: RolloverEvent): void {
    const span = this.#spans.get(session);
    if (!span) return;
    span.addEvent('rollover', { 'feishu_card.kind': event.kind, 'feishu_card.from': event.from, 'feishu_card.to': event.to });
    if (event.kind !== 'card') return;
    // The continuation card's requests so far (create, open, send) are held by its ids.
    const ids = [event.to, event.cardId, event.messageId].filter((id): id is string => typeof id === 'string');
    for (const id of ids) this.#byId.set(id, span);
    for (const attempt of this.#claim(ids)) this.#emit(attempt, span);
  }

  ended(session: OpenSession, end: SessionEnd): void {
    const span = this.#spans.get(session);
    if (!span) return;
    this.#spans.delete(session);
    for (const card of session.cards) {
      if (card.cardId !== null) this.#byId.delete(card.cardId);
      if (card.messageId !== null) this.#byId.delete(card.messageId);
    }
    const { result } = end;
    const attributes: Attributes = { 'feishu_card.state': session.state, 'feishu_card.cards': session.cards.length };
    if (result) {
      Object.assign(attributes, {
        'feishu_card.writes': result.writes,
        'feishu_card.retries': result.retries,
        'feishu_card.reopens': result.reopens,
        'feishu_card.aborted': result.aborted,
      });
      if (result.aborted) attributes['feishu_card.abort_reason'] = reasonText(result.abortReason);
      if (result.finishReason !== undefined) attributes['feishu_card.finish_reason'] = result.finishReason;
    }
    span.setAttributes(attributes);
    if (session.state === 'failed') {
      const error = describeError(end.error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.type}: ${error.message}` });
    }
    span.end();
  }

  /** Ends what is open: the sessions' spans (state as it stands), and held requests as spans of their own. */
  stop(): void {
    for (const [session, span] of this.#spans) {
      span.setAttributes({ 'feishu_card.state': session.state, 'feishu_card.cards': session.cards.length });
      span.end();
    }
    this.#spans.clear();
    this.#byId.clear();
    for (const { attempts } of this.#held.values()) for (const attempt of attempts) this.#emit(attempt, undefined);
    this.#held.clear();
    for (const attempts of this.#unplaced.values()) for (const attempt of attempts) this.#emit(attempt, undefined);
    this.#unplaced.clear();
  }

  #hold(id: string, attempts: WriteAttempt[]): void {
    const held = this.#held.get(id);
    if (held) {
      held.attempts.push(...attempts);
      return;
    }
    const now = performance.now();
    this.#held.set(id, { since: now, attempts });
    // The oldest first: a card no session claimed in a minute (or past the bound) never will be.
    for (const [oldId, old] of this.#held) {
      if (this.#held.size <= MAX_HELD_CARDS && old.since > now - HOLD_MS) break;
      this.#held.delete(oldId);
      for (const attempt of old.attempts) this.#emit(attempt, undefined);
    }
  }

  #claim(ids: readonly string[]): WriteAttempt[] {
    const claimed: WriteAttempt[] = [];
    for (const id of ids) {
      const held = this.#held.get(id);
      if (!held) continue;
      this.#held.delete(id);
      claimed.push(...held.attempts);
    }
    return claimed.sort((a, b) => a.startedAt - b.startedAt);
  }

  /** One request's span, under its session's (or on its own). */
  #emit(attempt: WriteAttempt, parent: Span | undefined): void {
    const { write } = attempt;
    const attributes: Attributes = {
      'feishu_card.api': write.api,
      'feishu_card.attempt': attempt.attempt,
      'feishu_card.outcome': attempt.verdict,
      'feishu_card.permit_wait_ms': attempt.permitMs,
    };
    const cardId = write.cardId ?? (write.api === 'cardkit.card.create' ? write.madeId : undefined);
    const messageId = write.messageId ?? (write.api.startsWith('im.') ? write.madeId : undefined);
    if (cardId !== undefined) attributes['feishu_card.card_id'] = cardId;
    if (messageId !== undefined) attributes['feishu_card.message_id'] = messageId;
    if (attempt.sequence > 0) attributes['feishu_card.sequence'] = attempt.sequence;
    if (attempt.logId !== undefined) attributes['feishu_card.log_id'] = attempt.logId;
    if (attempt.verdict !== 'accepted') attributes['feishu_card.code'] = codeOf(attempt.error);
    if (attempt.retried) attributes['feishu_card.retry_delay_ms'] = attempt.delayMs;
    const span = this.#tracer.startSpan(
      write.api,
      { kind: SpanKind.CLIENT, startTime: epoch(attempt.startedAt), attributes, ...(parent ? {} : { root: true }) },
      parent ? trace.setSpan(context.active(), parent) : undefined,
    );
    span.addEvent('sent', epoch(attempt.sentAt));
    for (const refusal of attempt.tokenRefusals) {
      const error = describeError(refusal.error);
      span.addEvent('token refused', { 'feishu_card.code': codeOf(refusal.error), ...(error.logId ? { 'feishu_card.log_id': error.logId } : {}) });
    }
    if (attempt.verdict !== 'accepted' && attempt.verdict !== 'applied') {
      const error = describeError(attempt.error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.type}: ${error.message}` });
    }
    span.end(epoch(attempt.endedAt));
  }
}

function reasonText(reason: unknown): string {
  const described = describeReason(reason);
  return typeof described === 'string' ? described : `${described.type}: ${described.message}`;
}
