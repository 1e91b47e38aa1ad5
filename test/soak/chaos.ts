/**
 * The soak's fault schedule: every few hundred milliseconds a seeded choice of what goes wrong next,
 * applied through the emulator's own controls (fault injection, interaction locks, token revocation,
 * the emulated clock). Everything injected is written down, so the judge can tell an injected failure
 * from one the emulator produced because of what the engine did.
 */
import type { Emulator, FaultSpec } from '../../src/emulator/index.js';
import { INJECTED_MSG } from './traffic.js';
import { pick } from './plan.js';

export type FaultLabel = 'background_latency' | 'lose_response' | 'drop' | '5xx' | '429_storm' | '230020' | 'slow';

interface BookEntry {
  label: FaultLabel;
  spec: FaultSpec;
  count: number;
  /** Emulator fault id while active. */
  id: number | undefined;
  /** Units used, once settled. */
  used: number | undefined;
}

/**
 * Faults added to the emulator, with how much of each was used. The emulator applies the first matching
 * latency fault, so a slow-request fault goes in front of the background latency: the active list is
 * rebuilt (synchronously, so no request sees it half done) with the new fault first.
 */
export class FaultBook {
  readonly #entries: BookEntry[] = [];

  constructor(private readonly emulator: Emulator) {}

  add(label: FaultLabel, spec: FaultSpec, options: { first?: boolean } = {}): void {
    const count = spec.count ?? (spec.kind === 'latency' ? Number.POSITIVE_INFINITY : 1);
    const entry: BookEntry = { label, spec, count, id: undefined, used: undefined };
    if (!options.first) {
      entry.id = this.emulator.faults.add(spec).id;
      this.#entries.push(entry);
      return;
    }
    const active = this.emulator.faults.list();
    this.emulator.faults.clear();
    entry.id = this.emulator.faults.add(spec).id;
    for (const fault of active) {
      const owner = this.#entries.find((e) => e.id === fault.id);
      const again = this.emulator.faults.add(
        Number.isFinite(fault.remaining) ? { ...fault.spec, count: fault.remaining } : { ...fault.spec },
      );
      if (owner) owner.id = again.id;
    }
    this.#entries.push(entry);
  }

  /** Units of transient faults (lost answers, drops, 5xx, slow requests) still waiting to be used. */
  transientPending(): number {
    const transient = new Set<FaultLabel>(['lose_response', 'drop', '5xx', 'slow']);
    const active = this.emulator.faults.list();
    let pending = 0;
    for (const entry of this.#entries) {
      if (!transient.has(entry.label)) continue;
      pending += active.find((f) => f.id === entry.id)?.remaining ?? 0;
    }
    return pending;
  }

  /** Records how much of every fault was used, then clears them all. */
  settle(): void {
    const active = this.emulator.faults.list();
    for (const entry of this.#entries) {
      if (entry.used !== undefined) continue;
      const remaining = active.find((f) => f.id === entry.id)?.remaining ?? 0;
      entry.used = Number.isFinite(entry.count) ? entry.count - remaining : 0;
    }
    this.emulator.faults.clear();
  }

  /** Injected `fail` answers by platform code (only valid after `settle`). */
  injectedByCode(): Map<number, number> {
    const byCode = new Map<number, number>();
    for (const entry of this.#entries) {
      if (entry.spec.kind !== 'fail' || !entry.used) continue;
      const code = entry.spec.code ?? 300120;
      byCode.set(code, (byCode.get(code) ?? 0) + entry.used);
    }
    return byCode;
  }

  /** Per label: faults added, units added, units used (after `settle`). */
  summary(): Record<string, { faults: number; units: number; used: number }> {
    const out: Record<string, { faults: number; units: number; used: number }> = {};
    for (const entry of this.#entries) {
      if (entry.label === 'background_latency') continue;
      const row = (out[entry.label] ??= { faults: 0, units: 0, used: 0 });
      row.faults++;
      row.units += entry.count;
      row.used += entry.used ?? 0;
    }
    return out;
  }
}

export interface Jump {
  /** performance.now() of the jump. */
  real: number;
  /** Emulated time before and after. */
  before: number;
  after: number;
  /** The card whose re-open margin the jump aimed at, if any. */
  target: string | undefined;
}

export interface ChaosLog {
  jumps: Jump[];
  /** performance.now() of each revocation; `double` marks the second of a quick pair. */
  revocations: { real: number; double: boolean }[];
  locks: { cardId: string; real: number; from: number; until: number }[];
}

export interface ChaosOptions {
  emulator: Emulator;
  book: FaultBook;
  random: () => number;
  /** Cards of the sessions now streaming. */
  liveCards: () => string[];
  /** Client timeout: slow requests take longer than this. */
  timeoutMs: number;
  /** Emulator clock speed, to express real durations on the emulated clock. */
  speed: number;
  streamingWindowMs: number;
  reopenMarginMs: number;
  /** Stop when this returns true. */
  stopped: () => boolean;
  /** Most transient fault units pending at once, so a single write is not failed more times than its retry policy allows. */
  maxTransientPending: number;
}

const CONTENT = 'cardkit.cardElement.content';
const SETTINGS = 'cardkit.card.settings';
/** Settings also travel as batch_update's partial_update_setting. */
const BATCH = 'cardkit.card.batchUpdate';
const CREATE = 'cardkit.card.create';
const SEND = 'im.message.create';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type Action = 'lose_response' | 'drop' | '5xx' | '429_storm' | '230020' | 'slow' | 'lock' | 'revoke' | 'jump' | 'jump_into_margin';

const ACTIONS: readonly (readonly [Action, number])[] = [
  ['lose_response', 10],
  ['drop', 10],
  ['5xx', 12],
  ['429_storm', 8],
  ['230020', 6],
  ['slow', 8],
  ['lock', 8],
  ['revoke', 5],
  ['jump', 5],
  ['jump_into_margin', 5],
];

/** Longest total jump of the emulated clock, far below the 14-day card lifetime. */
const MAX_TOTAL_JUMP_MS = 5 * 24 * 3600_000;

/** Runs the fault schedule until `stopped()`; resolves with what it did. */
export async function runChaos(o: ChaosOptions): Promise<ChaosLog> {
  const log: ChaosLog = { jumps: [], revocations: [], locks: [] };
  const { emulator, book, random } = o;
  let jumped = 0;
  const fail = (label: FaultLabel, endpoint: string, code: number, count: number, extra: Partial<FaultSpec> = {}) =>
    book.add(label, { kind: 'fail', endpoint, code, count, msg: INJECTED_MSG, ...extra });
  const jump = (ms: number, target?: string) => {
    if (ms <= 0 || jumped + ms > MAX_TOTAL_JUMP_MS) return;
    const before = emulator.clock.now();
    emulator.clock.advance(ms);
    jumped += ms;
    log.jumps.push({ real: performance.now(), before, after: emulator.clock.now(), target });
  };
  while (!o.stopped()) {
    await sleep(250 + random() * 650);
    if (o.stopped()) break;
    const action = pick(random, ACTIONS);
    const transientRoom = o.maxTransientPending - book.transientPending();
    const units = (max: number) => Math.min(max, transientRoom);
    switch (action) {
      case 'lose_response':
      case 'drop': {
        const count = units(1 + Math.floor(random() * 2));
        if (count < 1) break;
        const endpoint = pick(random, [[CONTENT, 40], [SETTINGS, 12], [BATCH, 13], [CREATE, 10], [SEND, 10], ['*', 15]] as const);
        book.add(action, { kind: action, endpoint, count });
        break;
      }
      case '5xx': {
        const count = units(1 + Math.floor(random() * 3));
        if (count < 1) break;
        const [code, httpStatus] = pick(random, [[[1500, 500], 3], [[2200, 500], 2], [[300120, 400], 3], [[1663, 500], 1]] as const);
        const endpoint = pick(random, [[CONTENT, 50], [SETTINGS, 10], [BATCH, 10], ['*', 30]] as const);
        fail('5xx', endpoint, code, count, { httpStatus });
        break;
      }
      case 'slow': {
        const count = units(1 + Math.floor(random() * 2));
        if (count < 1) break;
        const latencyMs = o.timeoutMs + 150 + Math.floor(random() * 400);
        const endpoint = pick(random, [[CONTENT, 50], [SETTINGS, 12], [BATCH, 13], ['*', 25]] as const);
        book.add('slow', { kind: 'latency', endpoint, latencyMs, count }, { first: true });
        break;
      }
      case '429_storm': {
        // Heavy-tailed length: mostly a few answers, sometimes a long run.
        const count = 3 + Math.floor(random() ** 2 * 120);
        const reset = random() < 0.7 ? '1' : '2';
        const endpoint = pick(random, [[CONTENT, 50], ['*', 30], [SETTINGS, 10], [BATCH, 10]] as const);
        fail('429_storm', endpoint, 99991400, count, { httpStatus: 429, headers: { 'x-ogw-ratelimit-reset': reset } });
        break;
      }
      case '230020': {
        const count = 1 + Math.floor(random() * 6);
        const endpoint = pick(random, [[CONTENT, 70], [SETTINGS, 15], [BATCH, 15]] as const);
        fail('230020', endpoint, 230020, count, random() < 0.5 ? { headers: { 'x-ogw-ratelimit-reset': '1' } } : {});
        break;
      }
      case 'lock': {
        const cards = o.liveCards();
        const cardId = cards[Math.floor(random() * cards.length)];
        if (cardId === undefined) break;
        const ms = (150 + random() * 750) * o.speed;
        const from = emulator.clock.now();
        if (emulator.lockCard(cardId, ms)) log.locks.push({ cardId, real: performance.now(), from, until: from + ms });
        break;
      }
      case 'revoke': {
        emulator.revokeTokens();
        log.revocations.push({ real: performance.now(), double: false });
        if (random() < 0.4) {
          // A second revocation right behind the first: lands on the fresh token of a request's one token retry.
          await sleep(3 + random() * 60);
          emulator.revokeTokens();
          log.revocations.push({ real: performance.now(), double: true });
        }
        break;
      }
      case 'jump':
        // Anywhere from a minute to past a whole window: some cards land in their re-open margin, some past the end.
        jump(60_000 + Math.floor(random() * (o.streamingWindowMs + 120_000)));
        break;
      case 'jump_into_margin': {
        // Aim one card's window into its re-open margin (never past the end): its scheduled re-open must come in time.
        const cards = o.liveCards();
        const cardId = cards[Math.floor(random() * cards.length)];
        const closesAt = cardId === undefined ? null : (emulator.card(cardId)?.streaming_closes_at ?? null);
        if (closesAt === null || cardId === undefined) break;
        const land = closesAt - o.reopenMarginMs * (0.5 + 0.45 * random());
        jump(Math.floor(land - emulator.clock.now()), cardId);
        break;
      }
    }
  }
  return log;
}
