/**
 * Heap growth over many finished sessions on one client and one governor: a bot that runs for weeks
 * must hold as much after its millionth answer as after its thousandth. The sessions write to a stub
 * transport in this process (create answers a card_id, everything else success), so what is measured
 * is the library's heap, not a server's.
 */
import { CardSession, FairGovernor, FeishuClient, type Transport } from '../src/index.js';

export interface HeapGrowth {
  sessions: number;
  warmup: number;
  /** heapUsed after every session finished, minus heapUsed after the first `warmup`, bytes (after full GCs). */
  growthBytes: number;
  /** What the governor keeps per card at the end (bounded maps). */
  tracked: { counters: number; spacing: number };
}

/** Answers like the platform does when everything succeeds, at once. */
function stubTransport(): Transport {
  let cards = 7_000_000_000_000_000;
  return {
    managesTokens: true,
    send(request) {
      const create = request.method === 'POST' && request.path === '/open-apis/cardkit/v1/cards';
      const data = create ? { card_id: String(++cards) } : {};
      return Promise.resolve({ status: 200, header: () => undefined, body: { code: 0, msg: 'success', data } });
    },
  };
}

/** Per-request timeout of the client: each request's timer lives this long, answered or not. */
const REQUEST_TIMEOUT_MS = 1000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * heapUsed once the timers of the requests just made have run out, after full GCs; between them the
 * finalizers run (AbortSignal.any forgets a collected signal in one), so what is freed is counted freed.
 */
async function heapUsed(gc: () => void): Promise<number> {
  await pause(REQUEST_TIMEOUT_MS + 200);
  for (let i = 0; i < 3; i++) {
    gc();
    await pause(50);
  }
  gc();
  return process.memoryUsage().heapUsed;
}

export async function finishedSessionsHeap(sessions = 100_000, warmup = 1_000, concurrency = 50): Promise<HeapGrowth> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the benchmark with node --expose-gc (npm run bench does)');
  // Each request's AbortSignal.timeout holds a timer (and its signal) for the whole timeout even once
  // answered: in-flight memory, bounded by rate x timeout, so it is let run out before each measurement.
  const client = new FeishuClient({ transport: stubTransport(), timeoutMs: REQUEST_TIMEOUT_MS });
  // Limits out of the way: the budget is not what is measured here. The governor keeps each call of
  // the last minute (its sliding window, at most apiQpm of them: 1,000 at Feishu's limits); at this
  // run's thousands of calls a second that would be ~1 MB of window, not of leak, so its clock runs
  // 1000x fast and its minute passes in 60 ms.
  const governor = new FairGovernor({
    limits: { apiQps: 1e9, apiQpm: 1e12, cardQps: 1e9 },
    safetyMarginMs: 0,
    now: () => performance.now() * 1000,
  });
  const conversation = async (i: number) => {
    const session = await CardSession.start(client, { governor });
    session.append(`answer ${i}: `);
    session.append('一段文字 and some text.');
    await session.finish();
  };
  const run = async (from: number, to: number) => {
    for (let i = from; i < to; i += concurrency) {
      await Promise.all(Array.from({ length: Math.min(concurrency, to - i) }, (_, k) => conversation(i + k)));
    }
  };
  await run(0, warmup);
  const before = await heapUsed(gc);
  await run(warmup, sessions);
  const after = await heapUsed(gc);
  return { sessions, warmup, growthBytes: after - before, tracked: governor.stats().tracked };
}
