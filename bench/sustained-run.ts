/**
 * One run of the sustained benchmark (bench/sustained.ts): conversations starting at given times (a
 * Poisson process, or all at once) against a fresh emulator with Feishu's limits and 30-80 ms injected
 * latency, one contender (a strategy and the governor it is given). Measured on the emulator's side,
 * the same way for every contender: what each accepted write left in the card's answer, so a text
 * written through any API (content, element patch, element update, batch_update, element create)
 * counts, with the API it went through.
 */
import { seededRandom as random } from '../demo/random.js';
import { startEmulator } from '../src/emulator/index.js';
import { type FairGovernor, FeishuClient } from '../src/index.js';
import { LIMITS, answerParts, percentiles } from './scenario.js';
import type { Strategy } from './strategies.js';
import { type TimedDelta, answer, model, tokens } from './workload.js';

export const CONTENT = 'cardkit.cardElement.content';

/** A strategy and the governor it is given (baselines get one too and ignore it). */
export interface Contender {
  /** Short name for `--strategies`: `spill-on`, `spill-off`, `per-delta` … */
  id: string;
  name: string;
  strategy: Strategy;
  governor: () => FairGovernor;
  /** What was asked of the governor; undefined for the baselines, which use none. */
  spill?: boolean;
}

export type Percentiles = ReturnType<typeof percentiles>;

export interface MinuteWindow {
  /** Seconds from the first arrival. */
  fromS: number;
  toS: number;
  /** Writes accepted in the window, by API. */
  accepted: Record<string, number>;
  /** The same as a share of one API's minute budget, scaled to a minute when the window is shorter. */
  share: Record<string, number>;
}

export interface RunResult {
  contender: string;
  /**
   * `on` / `off` as asked; `requested, not implemented` when the governor has no `spill` property (the
   * option was ignored: both engine rows are the same engine); null for the baselines.
   */
  spill: 'on' | 'off' | 'requested, not implemented' | null;
  conversations: number;
  /** Answers streaming at once (their models producing): time-averaged over the arrival span, and the most. */
  concurrency: { mean: number; peak: number };
  /** From the first arrival to the last conversation's end, s. */
  seconds: number;
  /** Accepted requests by API (the emulator's counts). */
  writesByApi: Record<string, number>;
  /** Refused requests by platform code, and by API. */
  rejected: Record<string, number>;
  rejectedByApi: Record<string, number>;
  /** Accepted writes that changed the answer's text, by API. */
  textWrites: Record<string, number>;
  /** `textWrites` through the content API over all of them. */
  contentShare: number;
  minutes: MinuteWindow[];
  /** Per delta: from the model producing it to the emulator accepting a write that holds it, ms. */
  lag: Percentiles;
  /** The engine's own measure, per write: the sessions' `flush` events' `lagMs`. Null for the baselines. */
  flushLag: Percentiles | null;
  /** `concurrency / (apiQpm / 60)`: a card's wait for its turn when every streaming card wants to write through one API. */
  fairShareBoundMs: number;
  /** Deltas that never landed (conversations that failed count all of theirs). */
  lost: number;
  exactCards: number;
  /** Conversations whose strategy threw. */
  failed: number;
}

/** The slot of one card: 10 writes per second with the governor's 100 ms margin on the window. */
export const CARD_SLOT_MS = (1000 + 100) / LIMITS.cardQps;

/** Conversation `i` of a run seeded `seed`: the bench's answer, its tokens and the model's speed (as bench/scenario.ts). */
export function conversation(seed: number, i: number): { text: string; pieces: string[]; tokensPerSecond: number } {
  const text = answer(seed * 1000 + i);
  return { text, pieces: tokens(text, seed * 7 + i), tokensPerSecond: 50 + random(seed * 13 + i)() * 50 };
}

/**
 * The writes an answer wants: one per card slot while its model streams, plus the last. It is what a
 * session does alone (the engine writes whenever the card's spacing allows and text is pending), and
 * the most the platform lets one card take, through any API.
 */
export function writesWanted(pieces: number, tokensPerSecond: number): number {
  return Math.floor(((pieces / tokensPerSecond) * 1000) / CARD_SLOT_MS) + 1;
}

interface TextWrite {
  time: number;
  /** Characters of the whole answer (its elements joined) after the write. */
  length: number;
}

/** Runs `contender` with a conversation starting at each of `arrivalsMs` (from the run's start). */
export async function runConversations(
  contender: Contender,
  arrivalsMs: readonly number[],
  options: {
    seed: number;
    /** The arrival span, ms: the minute windows and the mean concurrency are taken over it. Default until the last delta produced. */
    spanMs?: number;
    /** Answers at once for the fair-share bound; default the mean concurrency. */
    boundConcurrency?: number;
  },
): Promise<RunResult> {
  const { seed } = options;
  const emulator = await startEmulator({ limits: LIMITS });
  emulator.faults.add({ kind: 'latency', latencyMs: 30, latencyMaxMs: 80 });
  const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain: emulator.url });
  const governor = contender.governor();
  const spill = contender.spill === undefined ? null : (governor as { spill?: unknown }).spill === undefined ? 'requested, not implemented' : contender.spill ? 'on' : 'off';

  const accepted: { endpoint: string; time: number }[] = [];
  const textWrites: Record<string, number> = {};
  const written = new Map<string, TextWrite[]>();
  const unsubscribe = emulator.onChange((event) => {
    if (!event.entry || event.entry.code !== 0) return;
    accepted.push({ endpoint: event.entry.endpoint, time: event.entry.time });
    if (event.type !== 'card') return;
    const card = emulator.card(event.cardId);
    const length = card ? answerParts(card.card).reduce((sum, part) => sum + part.text.length, 0) : 0;
    const list = written.get(event.cardId) ?? [];
    if (length === (list.at(-1)?.length ?? 0)) return;
    list.push({ time: event.entry.time, length });
    written.set(event.cardId, list);
    textWrites[event.entry.endpoint] = (textWrites[event.entry.endpoint] ?? 0) + 1;
  });
  const flushLags: number[] = [];
  const onFlush = contender.spill === undefined ? undefined : (event: { lagMs: number }) => flushLags.push(event.lagMs);

  const now = () => emulator.clock.now();
  const t0 = now();
  const started = performance.now();
  const runs = arrivalsMs.map(async (at, i) => {
    const wait = at - (performance.now() - started);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const { text, pieces, tokensPerSecond } = conversation(seed, i);
    const deltas: TimedDelta[] = [];
    const outcome = await contender.strategy.run({
      client,
      governor,
      chatId: `oc_sustained_${i}`,
      source: () => model(pieces, tokensPerSecond, seed + i, now, deltas),
      ...(onFlush ? { onFlush } : {}),
    });
    return { text, deltas, outcome };
  });
  const results = await Promise.allSettled(runs);
  const seconds = (performance.now() - started) / 1000;
  unsubscribe();

  const lags: number[] = [];
  const streaming: [number, number][] = [];
  let lost = 0;
  let exactCards = 0;
  for (const result of results) {
    if (result.status === 'rejected') continue;
    const { text, deltas, outcome } = result.value;
    if (deltas.length > 0) streaming.push([deltas[0]!.at - t0, deltas.at(-1)!.at - t0]);
    const writes = written.get(outcome.cardId) ?? [];
    let length = 0;
    let cursor = 0;
    for (const delta of deltas) {
      length += delta.text.length;
      while (cursor < writes.length && (writes[cursor]!.length < length || writes[cursor]!.time < delta.at)) cursor++;
      if (cursor < writes.length) lags.push(writes[cursor]!.time - delta.at);
      else lost++;
    }
    const card = emulator.card(outcome.cardId);
    if (card && answerParts(card.card).map((part) => part.text).join('') === text) exactCards++;
  }
  const failed = results.filter((r) => r.status === 'rejected').length;
  for (const [i, result] of results.entries()) if (result.status === 'rejected') lost += conversation(seed, i).pieces.length;

  const stats = emulator.stats();
  await emulator.close();
  const spanMs = options.spanMs ?? Math.max(0, ...streaming.map(([, to]) => to));
  const concurrency = concurrencyOf(streaming, spanMs);
  const textTotal = Object.values(textWrites).reduce((a, b) => a + b, 0);
  return {
    contender: contender.name,
    spill,
    conversations: arrivalsMs.length,
    concurrency,
    seconds,
    writesByApi: Object.fromEntries(Object.entries(stats.endpoints).map(([api, c]) => [api, c.accepted])),
    rejected: stats.rejected,
    rejectedByApi: Object.fromEntries(Object.entries(stats.endpoints).filter(([, c]) => c.rejected > 0).map(([api, c]) => [api, c.rejected])),
    textWrites,
    contentShare: textTotal === 0 ? Number.NaN : (textWrites[CONTENT] ?? 0) / textTotal,
    minutes: minuteWindows(accepted, t0, spanMs),
    lag: percentiles(lags),
    flushLag: contender.spill === undefined ? null : percentiles(flushLags),
    fairShareBoundMs: ((options.boundConcurrency ?? concurrency.mean) / (LIMITS.apiQpm / 60)) * 1000,
    lost,
    exactCards,
    failed,
  };
}

/** Answers streaming at once over [0, spanMs): the time-weighted mean and the peak. */
function concurrencyOf(intervals: [number, number][], spanMs: number): { mean: number; peak: number } {
  const edges = intervals.flatMap(([from, to]): [number, number][] => [
    [from, 1],
    [to, -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let active = 0;
  let peak = 0;
  for (const [, step] of edges) peak = Math.max(peak, (active += step));
  const busyMs = intervals.reduce((sum, [from, to]) => sum + Math.max(0, Math.min(to, spanMs) - Math.max(from, 0)), 0);
  return { mean: spanMs > 0 ? busyMs / spanMs : 0, peak };
}

/** Accepted writes per API in consecutive windows of a minute (or of the whole span, when shorter) from the first arrival. */
function minuteWindows(accepted: { endpoint: string; time: number }[], t0: number, spanMs: number): MinuteWindow[] {
  const windowMs = Math.min(60_000, spanMs);
  const windows: MinuteWindow[] = [];
  for (let from = 0; from + windowMs <= spanMs + 1; from += windowMs) {
    const counts: Record<string, number> = {};
    for (const { endpoint, time } of accepted) {
      if (time - t0 >= from && time - t0 < from + windowMs) counts[endpoint] = (counts[endpoint] ?? 0) + 1;
    }
    const perMinute = LIMITS.apiQpm * (windowMs / 60_000);
    windows.push({
      fromS: from / 1000,
      toS: (from + windowMs) / 1000,
      accepted: counts,
      share: Object.fromEntries(Object.entries(counts).map(([api, count]) => [api, count / perMinute])),
    });
  }
  return windows;
}
