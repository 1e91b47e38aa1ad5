/** One benchmark run: N concurrent conversations of one strategy against a fresh emulator. */
import { startEmulator } from '../src/emulator/index.js';
import { FairGovernor, FeishuClient } from '../src/index.js';
import type { Strategy } from './strategies.js';
import { seededRandom as random } from '../demo/random.js';
import { type TimedDelta, answer, model, tokens } from './workload.js';

export interface Row {
  strategy: string;
  n: number;
  seconds: number;
  writesByApi: Record<string, number>;
  rejected: Record<string, number>;
  /** Lag from a delta's production to the emulator accepting it, ms, over every delta. */
  lag: { p50: number; p95: number; p99: number; max: number };
  /** Deltas that never landed. */
  lost: number;
  exactCards: number;
  /** Steady content writes per minute while the models produced (after the burst), as a share of apiQpm. */
  budgetShare: number;
  /** N / (apiQpm / 60): how long a card waits for its turn when every card wants to write. */
  fairShareBoundMs: number;
}

export const LIMITS = { apiQps: 50, apiQpm: 1000, cardQps: 10 };
const CONTENT = 'cardkit.cardElement.content';

export async function scenario(strategy: Strategy, n: number, seed = 1): Promise<Row> {
  const emulator = await startEmulator({ limits: LIMITS });
  emulator.faults.add({ kind: 'latency', latencyMs: 30, latencyMaxMs: 80 });
  const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain: emulator.url });
  // The content API alone, as every peer writes: the comparison is of strategies on one budget (the sustained
  // benchmark measures spill). Lag is read from the writes that carry a length, which a batch_update does not.
  const governor = new FairGovernor({ limits: LIMITS, appId: 'cli_x', spill: false });
  const now = () => emulator.clock.now();
  const started = performance.now();
  const runs = Array.from({ length: n }, async (_, i) => {
    const text = answer(seed * 1000 + i);
    const pieces = tokens(text, seed * 7 + i);
    const rate = 50 + random(seed * 13 + i)() * 50;
    const deltas: TimedDelta[] = [];
    const outcome = await strategy.run({ client, governor, chatId: `oc_bench_${i}`, source: () => model(pieces, rate, seed + i, now, deltas) });
    return { text, deltas, outcome };
  });
  const results = await Promise.allSettled(runs);
  const seconds = (performance.now() - started) / 1000;

  const lags: number[] = [];
  let lost = 0;
  let exactCards = 0;
  const contentTimes: number[] = [];
  let lastDeltaAt = 0;
  for (const result of results) {
    if (result.status === 'rejected') continue;
    const { text, deltas, outcome } = result.value;
    const card = emulator.card(outcome.cardId);
    // An answer with more than 4 tables continues in answer_2, answer_3 … (the engine's element rollover):
    // a write's length counts from the start of the answer, after the text the earlier elements hold.
    const parts = card ? answerParts(card.card) : [];
    const offset = new Map(parts.map((part, i) => [part.id, parts.slice(0, i).reduce((sum, p) => sum + p.text.length, 0)]));
    const accepted = (card?.log ?? [])
      .filter((e) => e.code === 0 && e.content_length !== undefined)
      .map((e) => ({ ...e, content_length: e.content_length! + (offset.get(e.element_id ?? 'answer') ?? 0) }));
    contentTimes.push(...accepted.filter((e) => e.endpoint === CONTENT).map((e) => e.time));
    let length = 0;
    let cursor = 0;
    lastDeltaAt = Math.max(lastDeltaAt, deltas.at(-1)?.at ?? 0);
    for (const delta of deltas) {
      length += delta.text.length;
      while (cursor < accepted.length && (accepted[cursor]!.content_length < length || accepted[cursor]!.time < delta.at)) cursor++;
      if (cursor < accepted.length) lags.push(accepted[cursor]!.time - delta.at);
      else lost++;
    }
    if (card && parts.map((p) => p.text).join('') === text) exactCards++;
  }
  const stats = emulator.stats();
  await emulator.close();
  return {
    strategy: strategy.name,
    n,
    seconds,
    writesByApi: Object.fromEntries(Object.entries(stats.endpoints).map(([api, c]) => [api, c.accepted])),
    rejected: stats.rejected,
    lag: percentiles(lags),
    lost: lost + (results.length - results.filter((r) => r.status === 'fulfilled').length),
    exactCards,
    budgetShare: share(contentTimes, lastDeltaAt),
    fairShareBoundMs: (n / (LIMITS.apiQpm / 60)) * 1000,
  };
}

/**
 * The steady rate of content writes while the models were producing (demand exceeds the budget then),
 * as a share of the per-minute budget: writes per minute from 2 s after the first write (when the
 * burst allowance a minute may start with is spent) to the last delta produced.
 */
function share(times: number[], until: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  const from = (sorted[0] ?? 0) + 2000;
  const steady = sorted.filter((t) => t > from && t <= until);
  if (until - from < 2000 || steady.length < 2) return Number.NaN;
  return steady.length / ((until - from) / 60_000) / LIMITS.apiQpm;
}

export function percentiles(values: number[]): Row['lag'] {
  if (values.length === 0) return { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.at(-1)! };
}

/** The answer element and the elements it continued in, in card order. */
export function answerParts(card: Record<string, unknown>): { id: string; text: string }[] {
  const elements = (card.body as { elements?: { element_id?: string; content?: string }[] } | undefined)?.elements ?? [];
  return elements
    .filter((e) => e.element_id === 'answer' || /^answer_\d+$/.test(e.element_id ?? ''))
    .map((e) => ({ id: e.element_id!, text: e.content ?? '' }));
}
