/**
 * The checks every CardKit write to an existing card passes, in one place (reference §15, §16):
 * the card exists and is the caller's, it has not expired, the per-card rate limit, a valid and
 * strictly increasing `sequence` compared in arrival order, an unused `uuid`, no interaction lock,
 * then the write itself applied to a copy and re-validated (dropped components, ids, 200 elements, the
 * table cap, 30 KB) before it is committed. Every attempt that reaches a card is recorded in that card's log.
 */
import { type JsonObject, cloneJson } from './card-tree.js';
import { charLength, checkCardLimits } from './card-rules.js';
import type { RequestContext, Services } from './context.js';
import { EmulatorError, badParam } from './errors.js';
import type { Caller, CardEntity, WriteLogEntry } from './state.js';

const INT32_MAX = 2_147_483_647;

export interface CardWrite<P> {
  elementId?: string;
  /** Reads and checks the endpoint's own body fields (10002, 200220 …) before anything else. */
  parse(): P;
  /** The length of the text this write sets, for the log. */
  contentLength?(parsed: P): number | undefined;
  /** Mutates `draft` (a copy of the card JSON). May return an effect to run once the write commits. */
  apply(draft: JsonObject, parsed: P, card: CardEntity, now: number): (() => void) | void;
}

/**
 * The caller's card, or the error CardKit answers: 200740 unknown, 300311 not the creator, 200750 expired. The
 * creator is the app and the tenant of the token that created it: another app, or the same store app acting in
 * another tenant, gets 300311 (reference §0 "only the app that created the card entity"; per tenant, the emulator's
 * reading of §25.3).
 */
export function ownedCard(services: Services, caller: Caller, cardId: string | undefined): CardEntity {
  const card = cardId === undefined ? undefined : services.state.cards.get(cardId);
  if (!card) throw new EmulatorError(200740, `card_id ${JSON.stringify(cardId ?? '')}`);
  if (card.appId !== caller.appId) throw new EmulatorError(300311);
  if (card.tenantKey !== caller.tenantKey) throw new EmulatorError(300311, `the card was created in another tenant than ${caller.tenantKey}`);
  if (services.clock.now() >= card.expiresAt) throw new EmulatorError(200750);
  return card;
}

export function writeCard<P>(ctx: RequestContext, write: CardWrite<P>): void {
  const { body } = ctx;
  const now = ctx.clock.now();
  const target = ctx.state.cards.get(ctx.params.card_id ?? '');
  const entry: WriteLogEntry = {
    time: now,
    endpoint: ctx.endpoint,
    sequence: typeof body.sequence === 'number' ? body.sequence : null,
    uuid: typeof body.uuid === 'string' ? body.uuid : null,
    code: 0,
    ...(write.elementId === undefined ? {} : { element_id: write.elementId }),
  };
  try {
    const parsed = write.parse();
    const contentLength = write.contentLength?.(parsed);
    if (contentLength !== undefined) entry.content_length = contentLength;
    const sequence = parseSequence(body.sequence);
    const uuid = parseUuid(body.uuid, 64);
    const card = ownedCard(ctx, ctx, ctx.params.card_id);
    const perCard = ctx.limiter.take([{ key: `card:${card.cardId}`, limit: ctx.options.limits.cardQps, windowMs: 1000 }]);
    if (!perCard.ok) {
      const code = ctx.options.cardRateLimitCode;
      const headers = rateHeaders(ctx.options.limits.cardQps, perCard.resetMs);
      throw new EmulatorError(code, 'per-card limit', code === 99991400 ? { httpStatus: 429, headers } : { headers });
    }
    if (sequence <= card.sequence) {
      throw new EmulatorError(300317, `sequence ${sequence} is not greater than ${card.sequence}`);
    }
    if (uuid !== null && card.uuids.has(uuid)) throw new EmulatorError(200770);
    if (now < card.interactionUntil) throw new EmulatorError(200810);
    const draft = cloneJson(card.json);
    const effect = write.apply(draft, parsed, card, now);
    checkCardLimits(draft, ctx.options);
    card.json = draft;
    card.sequence = sequence;
    if (uuid !== null) card.uuids.add(uuid);
    effect?.();
  } catch (error) {
    entry.code = error instanceof EmulatorError ? error.code : 1500;
    throw error;
  } finally {
    // Every attempt on an existing card is recorded in its log, accepted or not.
    if (target) ctx.state.logWrite(target, entry);
  }
}

export function parseSequence(raw: unknown): number {
  if (raw === undefined) throw badParam('sequence is required');
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > INT32_MAX) {
    throw badParam(`sequence must be an integer in 1..${INT32_MAX}`);
  }
  return raw;
}

export function parseUuid(raw: unknown, maxLength: number): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string' || raw.length < 1 || (raw.length > maxLength && charLength(raw) > maxLength)) {
    throw badParam(`uuid must be a string of 1..${maxLength} characters`);
  }
  return raw;
}

/** The gateway's rate-limit headers: the window's cap, and whole seconds until a slot frees. */
export function rateHeaders(limit: number, resetMs: number): Record<string, string> {
  return {
    'x-ogw-ratelimit-limit': String(limit),
    'x-ogw-ratelimit-reset': String(Math.max(1, Math.ceil(resetMs / 1000))),
  };
}
