/**
 * `runSoak()`: concurrent CardSessions streaming hostile text into one emulator over loopback while a
 * seeded fault schedule breaks things, for a bounded time; then every card is judged against what its
 * session accepted. The seed decides the sessions (text, cuts, pauses, endings) and the fault schedule;
 * the interleaving is real concurrency and varies from run to run.
 */
import { FeishuClient } from '../../src/client/index.js';
import { startEmulator } from '../../src/emulator/index.js';
import { seededRandom } from '../../demo/random.js';
import { FaultBook, runChaos } from './chaos.js';
import { type Breach, type JudgeConfig, judge, streamingOff } from './judge.js';
import { planSession } from './plan.js';
import { type SessionRecord, runSession } from './run-session.js';
import { Traffic } from './traffic.js';

export interface SoakOptions {
  /** How long new sessions are started, in seconds. */
  seconds: number;
  /** Sessions streaming at once. */
  sessions: number;
  seed: number;
  /** Emulator clock speed. Default 1: windows are crossed by jumps of the clock, margins stay real. */
  speed?: number;
  /** The client's per-request timeout; slow faults exceed it. Default 1000 ms (a loaded machine must not time out ordinary requests). */
  timeoutMs?: number;
  /** Longest wait for running sessions once the time is up. Default 60 s. */
  drainMs?: number;
  /** Progress lines (CLI). */
  log?: (line: string) => void;
}

export interface SoakFigures {
  seed: number;
  seconds: number;
  concurrency: number;
  wallSeconds: number;
  sessions: { started: number; finished: number; aborted: number; sourceFailed: number; failed: number; startFailed: number; hung: number };
  byMode: Record<string, number>;
  text: { deltas: number; units: number };
  writes: { accepted: number; byEndpoint: Record<string, { accepted: number; rejected: number }> };
  retries: number;
  reopens: { scheduled: number; expired: number };
  faults: Record<string, { faults: number; units: number; used: number }>;
  chaos: { jumps: number; jumpedMinutes: number; revocations: number; doubleRevocations: number; locks: number };
  requests: { total: number; zombies: number; zombiesByEndpoint: Record<string, number>; networkErrors: number };
  rejections: { injected: Record<string, number>; excused: Record<string, number>; engine: Record<string, number>; unseen: Record<string, number> };
  orphanCards: { excused: number; abandoned: number };
  excusedFailures: string[];
  unhandledRejections: number;
}

export interface SoakReport {
  ok: boolean;
  figures: SoakFigures;
  breaches: Breach[];
}

/** The session's retry policy in the soak: the default 8 attempts, shorter backoffs. */
const RETRY = { baseDelayMs: 100, maxDelayMs: 1000 } as const;
const MAX_ATTEMPTS = 8;
const WINDOW_MS = 600_000;
const MARGIN_MS = 90_000;

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { seconds, sessions: concurrency, seed } = options;
  if (!(seconds > 0) || !Number.isInteger(concurrency) || concurrency < 1 || !Number.isInteger(seed)) {
    throw new RangeError(`runSoak needs seconds > 0, sessions >= 1 and an integer seed; received ${JSON.stringify({ seconds, concurrency, seed })}`);
  }
  const speed = options.speed ?? 1;
  const timeoutMs = options.timeoutMs ?? 1000;
  const drainMs = options.drainMs ?? 60_000;
  const log = options.log ?? (() => undefined);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);

  const wallStart = performance.now();
  const emulator = await startEmulator({ clockSpeed: speed, streamingTimeoutMs: WINDOW_MS });
  const traffic = new Traffic();
  const unwatch = traffic.watch(emulator);
  const book = new FaultBook(emulator);
  // A little latency on every request, below the governor's 100 ms safety margin.
  book.add('background_latency', { kind: 'latency', latencyMs: 0, latencyMaxMs: 30 });
  const client = new FeishuClient({
    appId: 'cli_x',
    appSecret: 's_x',
    domain: emulator.url,
    timeoutMs,
    now: () => emulator.clock.now(),
    fetch: traffic.fetch,
  });
  const live = new Set<string>();
  const deadline = performance.now() + seconds * 1000;
  const timeUp = () => performance.now() >= deadline;
  const records: SessionRecord[] = [];
  const ctx = {
    client,
    emulator,
    retry: RETRY,
    closedNow: (cardId: string) => {
      const card = emulator.card(cardId);
      return card !== undefined && streamingOff(card.log, cardId, traffic);
    },
    onCard: (cardId: string, isLive: boolean) => (isLive ? live.add(cardId) : live.delete(cardId)),
  };

  const chaos = runChaos({
    emulator,
    book,
    random: seededRandom(seed ^ 0x5eed),
    liveCards: () => [...live],
    timeoutMs,
    speed,
    streamingWindowMs: WINDOW_MS,
    reopenMarginMs: MARGIN_MS,
    stopped: timeUp,
    maxTransientPending: 3,
  });
  const slot = async (index: number) => {
    const random = seededRandom(seed * 7919 + index);
    for (let n = 0; !timeUp(); n++) {
      const plan = planSession(random, `${index}.${n}`);
      const pending = runSession(ctx, plan);
      const record = await pending;
      records.push(record);
    }
  };
  const slots = Array.from({ length: concurrency }, (_, i) => slot(i));
  let lastProgress = 0;
  const progress = setInterval(() => {
    const elapsed = Math.round((performance.now() - wallStart) / 1000);
    if (elapsed - lastProgress < 5) return;
    lastProgress = elapsed;
    log(`  · ${elapsed} s  sessions ${records.length} done, ${live.size} live · requests ${traffic.requests.length} · emulated +${Math.round((emulator.clock.now() - Date.now()) / 60_000)} min`);
  }, 1000);
  progress.unref();

  const chaosLog = await chaos;
  book.settle();
  // Drain: running sessions end by themselves; those that do not within drainMs are reported as hung.
  const drained = await Promise.race([
    Promise.all(slots).then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), drainMs).unref()),
  ]);
  clearInterval(progress);
  // In-flight slow requests reach the emulator's counters a moment later.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const hung = drained ? [] : [...live];
  for (const cardId of hung) log(`  ! card ${cardId}: its session has not settled`);

  const config: JudgeConfig = {
    speed,
    streamingWindowMs: WINDOW_MS,
    reopenMarginMs: MARGIN_MS,
    reactionMs: 10_000,
    maxAttempts: MAX_ATTEMPTS,
    pipeSettleMs: 4000,
    cardQps: 10,
  };
  const verdict = judge(emulator, traffic, chaosLog, book.injectedByCode(), records, unhandled, config, book.summary().lose_response?.used ?? 0);
  for (const cardId of hung) verdict.breaches.push({ invariant: 'hung', cardId, detail: `the session on card ${cardId} did not settle within ${drainMs / 1000} s after the soak ended` });

  const stats = emulator.stats();
  const count = (pred: (r: SessionRecord) => boolean) => records.filter(pred).length;
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const byVerdict = (prefix: string) => {
    const out: Record<string, number> = {};
    for (const r of verdict.rejections.filter((x) => x.verdict.startsWith(prefix))) {
      const key = `${r.code} ${r.verdict.slice(prefix.length + 2)}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  };
  const byMode: Record<string, number> = {};
  for (const r of records) byMode[r.plan.mode] = (byMode[r.plan.mode] ?? 0) + 1;
  const figures: SoakFigures = {
    seed,
    seconds,
    concurrency,
    wallSeconds: Math.round((performance.now() - wallStart) / 100) / 10,
    sessions: {
      started: records.length + hung.length,
      finished: count((r) => r.outcome === 'resolved' && !r.interrupted),
      aborted: count((r) => r.interrupted && r.plan.ending.kind === 'abort'),
      sourceFailed: count((r) => r.plan.ending.kind === 'source-fails' && r.errors.length === 0),
      failed: count((r) => r.errors.length > 0),
      startFailed: count((r) => r.startError !== undefined),
      hung: hung.length,
    },
    byMode,
    text: { deltas: sum(records.map((r) => r.plan.pieces.length)), units: sum(records.map((r) => r.accepted.length)) },
    writes: { accepted: stats.accepted, byEndpoint: stats.endpoints },
    retries: sum(records.map((r) => r.retries.length)),
    reopens: {
      scheduled: sum(records.map((r) => r.reopens.filter((e) => e.reason === 'scheduled').length)),
      expired: sum(records.map((r) => r.reopens.filter((e) => e.reason === 'expired').length)),
    },
    faults: book.summary(),
    chaos: {
      jumps: chaosLog.jumps.length,
      jumpedMinutes: Math.round(sum(chaosLog.jumps.map((j) => j.after - j.before)) / 60_000),
      revocations: chaosLog.revocations.length,
      doubleRevocations: chaosLog.revocations.filter((r) => r.double).length,
      locks: chaosLog.locks.length,
    },
    requests: {
      total: traffic.requests.length,
      zombies: traffic.requests.filter((r) => r.outcome === 'aborted').length,
      zombiesByEndpoint: traffic.requests
        .filter((r) => r.outcome === 'aborted')
        .reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.endpoint]: (acc[r.endpoint] ?? 0) + 1 }), {}),
      networkErrors: traffic.requests.filter((r) => r.outcome === 'network').length,
    },
    rejections: {
      injected: Object.fromEntries([...book.injectedByCode()].map(([code, n]) => [String(code), n])),
      excused: byVerdict('excused'),
      engine: byVerdict('engine'),
      unseen: verdict.unseen,
    },
    orphanCards: verdict.orphans,
    excusedFailures: verdict.excusedFailures,
    unhandledRejections: unhandled.length,
  };

  unwatch();
  await emulator.close();
  process.off('unhandledRejection', onUnhandled);
  return { ok: verdict.breaches.length === 0, figures, breaches: verdict.breaches };
}
