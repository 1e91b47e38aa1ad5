/**
 * The engine's own cost: CPU per appended delta, and heap per idle session, each beside a baseline
 * measured in the same run. Sessions are attached to a governor that never grants, so no write (and
 * no network) runs during the measurement.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/**
 * Heap per idle session, measured on the compiled package as users run it (`tsc` into a temporary folder, then a
 * child `node --expose-gc`): under tsx every function the library creates carries a `name` property of esbuild's
 * (`keepNames`), about 1 KB more per session than the published code holds.
 */
export function idleSessionHeap(count = 10_000): { engineBytes: number; baselineBytes: number } {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const folder = mkdtempSync(join(tmpdir(), 'fcs-heap-'));
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(folder, 'dist')], { stdio: 'inherit' });
    symlinkSync(join(root, 'node_modules'), join(folder, 'node_modules'), 'dir');
    writeFileSync(join(folder, 'package.json'), '{"type":"module"}');
    writeFileSync(join(folder, 'measure.mjs'), MEASURE);
    const output = execFileSync(process.execPath, ['--expose-gc', join(folder, 'measure.mjs'), String(count)], { encoding: 'utf8' });
    return JSON.parse(output) as { engineBytes: number; baselineBytes: number };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** The child's script: `count` sessions attached to a governor that never grants, against a bare record each. */
const MEASURE = `
import { CardSession, FeishuClient } from './dist/index.js';
import { MemorySequenceStore } from './dist/governor/index.js';
const count = Number(process.argv[2]);
const governor = { sequences: new MemorySequenceStore(), acquire: () => new Promise(() => undefined), pause: () => undefined, forget: () => undefined };
const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain: 'http://127.0.0.1:9' });
const measure = (make) => {
  gc(); gc();
  const before = process.memoryUsage().heapUsed;
  const kept = Array.from({ length: count }, (_, i) => make(i));
  gc(); gc();
  const after = process.memoryUsage().heapUsed;
  if (kept.length !== count) throw new Error('unreachable');
  return (after - before) / count;
};
measure((i) => CardSession.attach(client, { cardId: String(6_000_000_000_000_000 + i), governor })); // warm up
const engineBytes = measure((i) => CardSession.attach(client, { cardId: String(7_000_000_000_000_000 + i), governor }));
// Baseline: what a minimal per-card record needs (id, sequence, text, a pending flag).
const baselineBytes = measure((i) => ({ cardId: String(7_000_000_000_000_000 + i), sequence: 0, text: '', pending: false }));
process.stdout.write(JSON.stringify({ engineBytes, baselineBytes }));
`;
