/**
 * The engine's own cost: CPU per appended delta, and heap per idle session, each beside a baseline
 * measured in the same run. Sessions are attached to a governor that never grants, so no write (and
 * no network) runs during the measurement.
 */
import { MemorySequenceStore } from '../src/governor/index.js';
import { CardSession, FeishuClient, type Governor } from '../src/index.js';

const neverGrants: Governor = {
  sequences: new MemorySequenceStore(),
  acquire: () => new Promise(() => undefined),
  pause: () => undefined,
  forget: () => undefined,
};
const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain: 'http://127.0.0.1:9' });

function cpuMicros(run: () => void): number {
  const before = process.cpuUsage();
  run();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

export function appendCost(deltas = 500_000): { engineUs: number; concatUs: number; pushUs: number } {
  const pieces = Array.from({ length: 1000 }, (_, i) => `t${i % 10}k`);
  const measure = (makeAppend: () => (delta: string) => void) => {
    const append = makeAppend();
    for (let i = 0; i < 20_000; i++) append(pieces[i % 1000]!); // warm up
    const fresh = makeAppend();
    return cpuMicros(() => {
      for (let i = 0; i < deltas; i++) fresh(pieces[i % 1000]!);
    }) / deltas;
  };
  const engineUs = measure(() => {
    const session = CardSession.attach(client, { cardId: '7000000000000000001', governor: neverGrants });
    return (delta) => session.append(delta);
  });
  const concatUs = measure(() => {
    let text = '';
    return (delta) => {
      text += delta;
      if (text.length < 0) throw new Error('unreachable');
    };
  });
  const pushUs = measure(() => {
    const parts: string[] = [];
    return (delta) => void parts.push(delta);
  });
  return { engineUs, concatUs, pushUs };
}

export function idleSessionHeap(count = 10_000): { engineBytes: number; baselineBytes: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the benchmark with node --expose-gc (npm run bench does)');
  const measure = (make: (i: number) => unknown) => {
    gc();
    gc();
    const before = process.memoryUsage().heapUsed;
    const kept = Array.from({ length: count }, (_, i) => make(i));
    gc();
    gc();
    const after = process.memoryUsage().heapUsed;
    if (kept.length !== count) throw new Error('unreachable');
    return (after - before) / count;
  };
  const engineBytes = measure((i) => CardSession.attach(client, { cardId: String(7_000_000_000_000_000 + i), governor: neverGrants }));
  // Baseline: what a minimal per-card record needs (id, sequence, text, a pending flag).
  const baselineBytes = measure((i) => ({ cardId: String(7_000_000_000_000_000 + i), sequence: 0, text: '', pending: false }));
  return { engineBytes, baselineBytes };
}
