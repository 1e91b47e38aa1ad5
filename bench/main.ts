/**
 * `npm run bench`: the engine against three baselines on the same workload, for N concurrent
 * conversations, against the emulator with 30-80 ms injected latency and Feishu's limits; then the
 * engine's own CPU and memory cost, long answers, shutting down with open cards, sustained load, and
 * the preview's render time. Prints Markdown tables.
 *
 *   npm run bench                        # N = 1, 10, 50, 200, then everything else (sustained: about 45 min)
 *   npm run bench -- --n 1,10            # a subset
 *   npm run bench -- --only long         # only the long-answer scenario (bench/long-answers.ts)
 *   npm run bench -- --only shutdown     # only the shutdown scenario (bench/shutdown.ts)
 *   npm run bench -- --only sustained    # only sustained load, 200 at once and recovery lag (bench/sustained.ts)
 *   npm run bench -- --only sustained --seconds 30 --rates 1 --strategies spill-on,spill-off --concurrent 50 --no-recovery
 *   npm run bench -- --json              # one JSON document on stdout; the tables go to stderr
 */
import { parseArgs } from 'node:util';
import { appendCost, idleSessionHeap } from './cost.js';
import { finishedSessionsHeap } from './heap.js';
import { captureTables, tablesToStderr, writeDocument } from './json-output.js';
import { benchLongAnswers } from './long-answers.js';
import { LIMITS, type Row, scenario } from './scenario.js';
import { benchShutdown } from './shutdown.js';
import { STRATEGIES } from './strategies.js';
import { type SustainedOptions, benchSustained } from './sustained.js';
import { telemetryCost } from './telemetry-cost.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1,10,50,200' },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    rates: { type: 'string' },
    strategies: { type: 'string' },
    concurrent: { type: 'string' },
    'no-recovery': { type: 'boolean', default: false },
  },
});
const ns = values.n.split(',').map(Number);
const sustainedOptions: SustainedOptions = {
  ...(values.seconds === undefined ? {} : { seconds: Number(values.seconds) }),
  ...(values.rates === undefined ? {} : { rates: values.rates.split(',').map(Number) }),
  ...(values.strategies === undefined ? {} : { strategies: values.strategies.split(',') }),
  ...(values.concurrent === undefined ? {} : { concurrent: Number(values.concurrent) }),
  recovery: !values['no-recovery'],
};
/** What ran, by scenario: the document `--json` prints. */
const results: Record<string, unknown> = { limits: LIMITS, startedAt: new Date().toISOString() };
if (values.json) tablesToStderr();

/** Runs a scenario that only prints; under --json its tables are kept as rows. */
async function printed(name: string, run: () => Promise<void>): Promise<void> {
  if (!values.json) return run();
  results[name] = { tables: (await captureTables(run)).tables };
}

const ONLY = {
  long: () => printed('longAnswers', benchLongAnswers),
  shutdown: () => printed('shutdown', benchShutdown),
  sustained: async () => {
    results.sustained = await benchSustained(sustainedOptions);
  },
};
if (values.only !== undefined) {
  if (!Object.hasOwn(ONLY, values.only)) {
    throw new TypeError(`--only must be one of ${Object.keys(ONLY).map((name) => `'${name}'`).join(', ')}, received ${JSON.stringify(values.only)}`);
  }
  await ONLY[values.only as keyof typeof ONLY]();
  if (values.json) await writeDocument(results);
  process.exit(0);
}

const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value)}` : '–');
const pct = (value: number) => (Number.isFinite(value) ? `${Math.round(value * 100)}%` : '–');

function line(row: Row): string {
  const refused = Object.entries(row.rejected).map(([code, count]) => `${code}×${count}`).join(' ') || '0';
  const writes = Object.entries(row.writesByApi)
    .filter(([api]) => api.startsWith('cardkit'))
    .map(([api, count]) => `${api === 'cardkit.cardElement.create' ? 'element.create' : api.split('.').at(-1)} ${count}`)
    .join(', ');
  const overBudget = row.n > 1;
  return `| ${row.n} | ${row.strategy} | ${writes} | ${refused} | ${ms(row.lag.p50)} | ${ms(row.lag.p95)} | ${ms(row.lag.p99)} | ${ms(row.lag.max)} | ${
    overBudget ? pct(row.budgetShare) : '–'
  } | ${overBudget ? (row.lag.p99 / row.fairShareBoundMs).toFixed(2) : '–'} | ${row.exactCards}/${row.n}${row.lost ? ` (${row.lost} deltas never landed)` : ''} | ${row.seconds.toFixed(1)} |`;
}

console.log(`Limits ${JSON.stringify(LIMITS)}, injected latency 30-80 ms, models at 50-100 tokens/s, answers of ~900 characters.\n`);
console.log('| N | strategy | accepted writes | rejected (code×count) | lag p50 ms | p95 | p99 | max | steady share of content budget | p99 / fair-share bound | exact cards | s |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
const concurrent: (Row & { p99OverBound: number })[] = [];
for (const n of ns) {
  for (const strategy of STRATEGIES) {
    const row = await scenario(strategy, n);
    concurrent.push({ ...row, p99OverBound: row.lag.p99 / row.fairShareBoundMs });
    console.log(line(row));
  }
}
results.concurrent = concurrent;

const cpu = appendCost();
const heap = idleSessionHeap();
console.log('\n| engine cost | engine | baseline | ratio | target |');
console.log('|---|---|---|---|---|');
console.log(`| CPU per appended delta | ${cpu.engineUs.toFixed(3)} µs | ${cpu.concatUs.toFixed(3)} µs (string +=), ${cpu.pushUs.toFixed(3)} µs (array push) | ${(cpu.engineUs / cpu.pushUs).toFixed(1)}× push | < 2 µs |`);
console.log(`| heap per idle session (10,000) | ${Math.round(heap.engineBytes)} B | ${Math.round(heap.baselineBytes)} B (bare record) | ${(heap.engineBytes / heap.baselineBytes).toFixed(1)}× | < 4096 B |`);
const growth = await finishedSessionsHeap();
console.log(
  `| heap growth over ${growth.sessions.toLocaleString('en')} finished sessions on one client, beyond the first ${growth.warmup.toLocaleString('en')} | ${(growth.growthBytes / 1e6).toFixed(2)} MB | – | – | < 1 MB |`,
);
results.cost = { appendCpu: cpu, idleSessionHeap: heap, finishedSessionsHeap: growth };
const telemetry = await telemetryCost();
results.telemetryCost = telemetry;
console.log('\n| telemetry cost (issue 13) | off | on: instrument() into the SDK | difference |');
console.log('|---|---|---|---|');
console.log(`| CPU per appended delta, the append alone | ${telemetry.append.offUs.toFixed(3)} µs | ${telemetry.append.onUs.toFixed(3)} µs | – |`);
console.log(
  `| CPU per appended delta with its writes (${telemetry.stream.deltas.toLocaleString('en')} deltas, ${telemetry.stream.writes.toLocaleString('en')} requests) | ${telemetry.stream.offUs.toFixed(1)} µs | ${telemetry.stream.onUs.toFixed(1)} µs | +${(telemetry.stream.onUs - telemetry.stream.offUs).toFixed(1)} µs per delta, ${telemetry.perRequestUs.toFixed(0)} µs per request |`,
);
// Answers of 60 KB, several at once: the engine's rollover against one card (issue 10).
await printed('longAnswers', benchLongAnswers);
// Every open card closed when the process shuts down (issue 13): 100, 200 and 1,000 cards.
await printed('shutdown', benchShutdown);
// Sustained load against the minute budget, 200 answers at once, recovery lag (issue 14).
results.sustained = await benchSustained(sustainedOptions);
await printed('preview', async () => (await import('./preview.js')).benchPreview());
if (values.json) await writeDocument(results);
