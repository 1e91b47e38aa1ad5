/**
 * The shutdown scenario of `npm run bench` (issue 13): N sessions streaming at once into the emulator
 * with Feishu's limits (50/s and 1000/min per API, 10/s per card) and 30-80 ms injected latency, each
 * model endless (a delta of a few tokens of the bench's prose, lists, tables and code about 5 times a
 * second), until the process shuts down: `shutdown({ deadlineMs: 0 })`, `shutdown({ deadlineMs: 2000 })`
 * while a third of the answers end 1 s into it, or the sessions tracked by hand and aborted
 * (`Promise.all(sessions.map((s) => s.abort()))`).
 * Measured: the time until every card is closed, what the cards show, what the platform refused, and
 * the writes the close took.
 *
 *   npx tsx bench/shutdown.ts            # N = 100, 200, 1000
 *   npx tsx bench/shutdown.ts --n 100
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { seededRandom as random } from '../demo/random.js';
import { type Emulator, startEmulator } from '../src/emulator/index.js';
import { CardSession, FairGovernor, FeishuClient, type SessionResult, resumeSessions, shutdown } from '../src/index.js';
import { LIMITS } from './scenario.js';
import { answer, tokens } from './workload.js';

const INTERRUPTED = '\n\n_(interrupted)_';
const DEADLINE_MS = 2000;
/** With a deadline, the answers that end by themselves do so this long after the shutdown began. */
const SHORT_ENDS_AFTER_MS = 1000;
/** The sessions stream this long after the last one opened before the process shuts down. */
const STREAM_MS = 3000;

interface Closer {
  name: string;
  /** A third of the answers end by themselves during the close (the others are endless). */
  someFinish: boolean;
  close(sessions: readonly CardSession[]): Promise<unknown>;
}

const NOW: Closer = { name: 'shutdown({ deadlineMs: 0 })', someFinish: false, close: () => shutdown({ deadlineMs: 0 }) };
const DEADLINE: Closer = {
  name: `shutdown({ deadlineMs: ${DEADLINE_MS} }), a third of the answers ending 1 s in`,
  someFinish: true,
  close: () => shutdown({ deadlineMs: DEADLINE_MS }),
};
/** The peers' way (sessions tracked by hand, each aborted): the same writes as `shutdown()` without a deadline. */
const BY_HAND: Closer = {
  name: 'by hand: Promise.all(sessions.map((s) => s.abort()))',
  someFinish: false,
  close: (sessions) => Promise.all(sessions.map((session) => session.abort())),
};
/** What runs at each N by default; another N runs `shutdown({ deadlineMs: 0 })` only. By hand at 200, as the peer figure of the issue. */
const PLAN = new Map<number, Closer[]>([
  [100, [NOW, DEADLINE, BY_HAND]],
  [200, [NOW, BY_HAND]],
  [1000, [NOW, DEADLINE]],
]);

export interface ShutdownRow {
  n: number;
  closer: string;
  /** From the first start to the last card open, s. */
  openSeconds: number;
  /** From the close's call to its promise resolving, s. */
  closeSeconds: number;
  /** From the close's call to the last card's closing write accepted by the emulator, s. */
  lastClosedSeconds: number;
  /** Cards the emulator shows closed: streaming off by an accepted settings (or full update) write. */
  closed: number;
  /** Sessions that ended whole, their card holding exactly the answer. */
  finishedExact: number;
  finished: number;
  /** Sessions aborted, their card holding exactly what they were given, then the interrupted marker. */
  interruptedExact: number;
  interrupted: number;
  failed: number;
  rejected: Record<string, number>;
  /** Writes the emulator accepted from the close's call on, by API. */
  closeWrites: Record<string, number>;
  unhandled: number;
}

/** An endless model (or one that ends once `endsAt()` has passed): a delta of 1-3 tokens every 150-250 ms. */
async function* endlessModel(seed: number, produced: string[], endsAt: () => number): AsyncGenerator<string> {
  const next = random(seed);
  const pieces = tokens(answer(seed, 3000), seed);
  for (let k = 0; ; ) {
    await new Promise((resolve) => setTimeout(resolve, 150 + next() * 100));
    if (performance.now() >= endsAt()) return;
    const size = 1 + Math.floor(next() * 3);
    let delta = '';
    for (let i = 0; i < size; i++) delta += pieces[k++ % pieces.length]!;
    produced.push(delta);
    yield delta;
  }
}

/** The answer on the emulator's card: the streamed element and those it continued in past 4 tables (`answer_2` …), joined. */
function shownText(emulator: Emulator, cardId: string): string {
  const elements = (emulator.card(cardId)?.card.body as { elements?: { element_id?: string; content?: string }[] } | undefined)?.elements ?? [];
  return elements
    .filter((element) => /^answer(_\d+)?$/.test(element.element_id ?? ''))
    .map((element) => element.content ?? '')
    .join('');
}

function accepted(emulator: Emulator): Record<string, number> {
  return Object.fromEntries(Object.entries(emulator.stats().endpoints).map(([api, count]) => [api, count.accepted]));
}

async function shutdownScenario(n: number, closer: Closer, seed = 1): Promise<ShutdownRow> {
  const emulator = await startEmulator({ limits: LIMITS });
  emulator.faults.add({ kind: 'latency', latencyMs: 30, latencyMaxMs: 80 });
  const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain: emulator.url });
  // The content API alone: the pace of 1000 closes a minute is the one API's (spill would add the others' budgets).
  const governor = new FairGovernor({ limits: LIMITS, appId: 'cli_x', spill: false });
  let unhandled = 0;
  const onUnhandled = () => unhandled++;
  process.on('unhandledRejection', onUnhandled);
  let shortEndAt = Number.POSITIVE_INFINITY;
  const short = (i: number) => closer.someFinish && i % 3 === 0;

  const started = performance.now();
  const produced = Array.from({ length: n }, (): string[] => []);
  const runs = Array.from({ length: n }, async (_, i) => {
    const session = await CardSession.start(client, { governor, to: { chat_id: `oc_shutdown_${i}` } });
    const piping = session.pipe(endlessModel(seed * 1000 + i, produced[i]!, () => (short(i) ? shortEndAt : Number.POSITIVE_INFINITY)));
    return { session, piping: piping.catch((error: unknown) => error) };
  });
  const opened = await Promise.all(runs);
  const openSeconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, STREAM_MS));

  const before = accepted(emulator);
  const closeAt = emulator.clock.now();
  const t0 = performance.now();
  if (closer.someFinish) shortEndAt = t0 + SHORT_ENDS_AFTER_MS;
  await closer.close(opened.map(({ session }) => session));
  const closeSeconds = (performance.now() - t0) / 1000;
  const outcomes = await Promise.all(opened.map(({ piping }) => piping));
  // A late rejection would show up within a turn or two of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 100));
  process.off('unhandledRejection', onUnhandled);

  const after = accepted(emulator);
  const row: ShutdownRow = {
    n,
    closer: closer.name,
    openSeconds,
    closeSeconds,
    lastClosedSeconds: 0,
    closed: 0,
    finishedExact: 0,
    finished: 0,
    interruptedExact: 0,
    interrupted: 0,
    failed: 0,
    rejected: emulator.stats().rejected,
    closeWrites: {},
    unhandled,
  };
  for (const [api, count] of Object.entries(after)) if (count > (before[api] ?? 0)) row.closeWrites[api] = count - (before[api] ?? 0);
  opened.forEach(({ session }, i) => {
    const cardId = session.cardId!;
    const card = emulator.card(cardId);
    const closing = card?.log.filter((entry) => (entry.endpoint === 'cardkit.card.settings' || entry.endpoint === 'cardkit.card.update') && entry.code === 0).at(-1);
    if (card && !card.streaming_mode && closing) {
      row.closed++;
      row.lastClosedSeconds = Math.max(row.lastClosedSeconds, (closing.time - closeAt) / 1000);
    }
    const outcome = outcomes[i];
    const shown = shownText(emulator, cardId);
    const whole = produced[i]!.join('');
    if (session.state === 'finished') {
      row.finished++;
      if (shown === whole) row.finishedExact++;
    } else if (session.state === 'aborted') {
      row.interrupted++;
      // What the session was given (a delta the model produced as the abort came may not have been taken), then the marker.
      const given = (outcome as SessionResult).text;
      if (shown === given && given.endsWith(INTERRUPTED) && whole.startsWith(given.slice(0, -INTERRUPTED.length))) row.interruptedExact++;
    } else row.failed++;
  });
  resumeSessions();
  await emulator.close();
  return row;
}

function line(row: ShutdownRow): string {
  const refused = Object.entries(row.rejected).map(([code, count]) => `${code}×${count}`).join(' ') || '0';
  const writes = Object.entries(row.closeWrites)
    .map(([api, count]) => `${api.replace('cardkit.card.', '').replace('cardkit.cardElement.', 'element.')} ${count}`)
    .join(', ');
  const finished = row.finished === 0 ? '0' : `${row.finished} (${row.finishedExact} exact)`;
  const interrupted = `${row.interrupted} (${row.interruptedExact} exact + marker)`;
  return `| ${row.n} | ${row.closer} | ${row.openSeconds.toFixed(1)} | ${row.closeSeconds.toFixed(1)} | ${row.lastClosedSeconds.toFixed(1)} | ${row.closed}/${row.n} | ${finished} | ${interrupted} | ${row.failed} | ${refused} | ${writes} | ${row.unhandled} |`;
}

export async function benchShutdown(options: { ns?: number[]; seed?: number } = {}): Promise<void> {
  const ns = options.ns ?? [...PLAN.keys()];
  console.log(
    `\nShutdown: N sessions streaming endless answers (a delta of 1-3 tokens of the bench's answers every 150-250 ms) into the emulator with 30-80 ms injected latency ` +
      `and Feishu's limits ${JSON.stringify(LIMITS)}; ${STREAM_MS / 1000} s after the last card opened, the process closes them. ` +
      `Close: from the call until it resolves; last card closed: until the emulator accepted the last closing write.\n`,
  );
  console.log('| N | close | s to open the cards | close s | last card closed s | cards closed | finished | interrupted | failed | rejected (code×count) | writes of the close | unhandled rejections |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const n of ns) {
    for (const closer of PLAN.get(n) ?? [NOW]) console.log(line(await shutdownScenario(n, closer, options.seed)));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { n: { type: 'string', default: [...PLAN.keys()].join(',') }, seed: { type: 'string', default: '1' } } });
  await benchShutdown({ ns: values.n.split(',').map(Number), seed: Number(values.seed) });
}
