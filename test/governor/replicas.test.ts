/**
 * Several replicas of one bot, each its own Node process (replica-worker.ts), stream cards into one
 * emulator that enforces the app's limits (reference §16), with limits tight enough that the budget
 * binds: apiQps 5, so the 12 cards' creates, text writes and closes need several seconds per API.
 * Through one Redis the replicas keep one budget and the platform refuses nothing; the control run,
 * the same replicas each counting in their own process, is refused, so Redis is what keeps them within it.
 * Every replica starts at the same moment (it waits on stdin), so the control run collides reliably.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, type WriteLogEntry, startEmulator } from '../../src/emulator/index.js';
import { elementText } from '../support/emulator-http.js';
import { type RunningRedis, redisMissing, startRedis } from '../support/redis.js';
import type { WorkerResult } from './replica-worker.js';
import { busiestWindow } from '../support/windows.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = 'node_modules/.bin/tsx';
const WORKER = 'test/governor/replica-worker.ts';

/** The limits the emulator enforces and every replica is configured with. */
const LIMITS = { apiQps: 5, apiQpm: 600, cardQps: 4 };
const REPLICAS = 3;
const CARDS_PER_REPLICA = 4;
const RATE_LIMITED = ['99991400', '230020'];

/** A few hundred characters, different for every card, with CJK and astral characters. */
function textFor(replica: number, card: number): string {
  const words = ['streaming', '卡片', 'budget', '😀', 'replica', 'Redis', 'ёлка', '𠮷野家', 'limit', 'window', '👩‍👩‍👧‍👦'];
  let text = `replica ${replica}, card ${card}:`;
  for (let i = 0; text.length < 280; i++) text += ` ${words[(i * 7 + replica * 3 + card) % words.length]}`;
  return `${text}.`;
}

interface Worker {
  child: ChildProcessWithoutNullStreams;
  texts: string[];
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

interface Run {
  emulator: Emulator;
  workers: { texts: string[]; code: number | null; result: WorkerResult | undefined; output: string }[];
}

const children: ChildProcessWithoutNullStreams[] = [];
const emulators: Emulator[] = [];
const servers: RunningRedis[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(emulators.splice(0).map((emulator) => emulator.close()));
  await Promise.all(servers.splice(0).map((server) => server.stop('SIGTERM')));
});

function spawnWorker(env: Record<string, string>, texts: string[]): Worker {
  const child = spawn(TSX, [WORKER], { cwd: ROOT, env: { ...process.env, ...env, TEXTS: JSON.stringify(texts), NO_COLOR: '1' } });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, texts, stdout: () => stdout, stderr: () => stderr, exited };
}

function messages(worker: Worker): { type: string }[] {
  return worker
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string });
}

/** Starts the emulator and the replicas, lets them all go at once, and waits until every one has exited. */
async function runReplicas(redisUrl: string | undefined): Promise<Run> {
  const emulator = await startEmulator({ limits: LIMITS });
  emulators.push(emulator);
  const env = { EMULATOR_URL: emulator.url, REDIS_URL: redisUrl ?? '', LIMITS: JSON.stringify(LIMITS), PIECE_CHARS: '10', GAP_MS: '100' };
  const workers = Array.from({ length: REPLICAS }, (_, r) =>
    spawnWorker(env, Array.from({ length: CARDS_PER_REPLICA }, (_, c) => textFor(r, c))),
  );

  const deadline = Date.now() + 30_000;
  while (!workers.every((w) => messages(w).some((m) => m.type === 'ready'))) {
    const dead = workers.find((w) => w.child.exitCode !== null);
    if (dead) throw new Error(`a replica exited before it was ready (${dead.child.exitCode}): ${dead.stdout()} ${dead.stderr()}`);
    if (Date.now() > deadline) throw new Error(`replicas not ready within 30 s: ${workers.map((w) => w.stderr()).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  for (const worker of workers) worker.child.stdin.write('go\n');

  const codes = await Promise.all(workers.map((w) => w.exited));
  return {
    emulator,
    workers: workers.map((w, i) => ({
      texts: w.texts,
      code: codes[i]!,
      result: messages(w).find((m): m is WorkerResult => m.type === 'result'),
      output: `${w.stdout()}\n${w.stderr()}`,
    })),
  };
}


function rateLimitRejections(emulator: Emulator): Record<string, number> {
  const rejected = emulator.stats().rejected;
  return Object.fromEntries(RATE_LIMITED.filter((code) => rejected[code] !== undefined).map((code) => [code, rejected[code]!]));
}

const SKIP = redisMissing('the replicas-sharing-one-budget tests');

describe.skipIf(SKIP)('replicas sharing one budget through Redis (separate processes, one emulator enforcing the limits)', () => {
  it(
    'three replicas with one Redis: every card lands exactly, no write is rate-limited, no API or card exceeds its limit in any second, sequences increase',
    async () => {
      const redis = (await startRedis())!;
      servers.push(redis);
      const { emulator, workers } = await runReplicas(redis.url);

      for (const worker of workers) expect(worker.code, worker.output).toBe(0);
      const cards = workers.flatMap((w) => w.result!.cards);
      expect(cards).toHaveLength(REPLICAS * CARDS_PER_REPLICA);
      expect(new Set(cards.map((c) => c.cardId)).size).toBe(cards.length);
      for (const [i, worker] of workers.entries()) expect(worker.result!.cards.map((c) => c.streamed), `replica ${i}`).toEqual(worker.texts);
      for (const card of cards) {
        expect(card.text).toBe(card.streamed);
        expect(elementText(emulator, card.cardId)).toBe(card.streamed);
        expect(emulator.card(card.cardId)?.streaming_mode).toBe(false);
      }

      // Zero rate-limit rejections, and nothing refused for any other reason either.
      expect(rateLimitRejections(emulator)).toEqual({});
      expect(emulator.stats().rejected).toEqual({});

      const logs = cards.map((c) => emulator.card(c.cardId)!.log);
      const accepted: WriteLogEntry[] = logs.flat().filter((e) => e.code === 0);
      const endpoints = emulator.stats().endpoints;
      for (const api of new Set(accepted.map((e) => e.endpoint))) {
        const arrivals = accepted.filter((e) => e.endpoint === api).map((e) => e.time);
        // The card logs hold every call of the API the emulator accepted.
        expect(arrivals.length, api).toBe(endpoints[api]?.accepted);
        expect(busiestWindow(arrivals, 1000), api).toBeLessThanOrEqual(LIMITS.apiQps);
      }
      for (const [i, log] of logs.entries()) {
        const writes = log.filter((e) => e.endpoint !== 'cardkit.card.create');
        expect(busiestWindow(writes.map((e) => e.time), 1000), cards[i]!.cardId).toBeLessThanOrEqual(LIMITS.cardQps);
        const sequences = writes.filter((e) => e.code === 0).map((e) => e.sequence ?? Number.NaN);
        expect(sequences.length).toBeGreaterThanOrEqual(2);
        for (let s = 1; s < sequences.length; s++) expect(sequences[s], cards[i]!.cardId).toBeGreaterThan(sequences[s - 1]!);
        expect(emulator.card(cards[i]!.cardId)?.sequence).toBe(cards[i]!.sequence);
      }

      // The budget did bind: 12 creates and 12 closes at 5 a second, and text writes from 12 cards,
      // kept every replica waiting for every one of these APIs, and none was told it was rate-limited.
      for (const worker of workers) {
        for (const api of ['cardkit.card.create', 'cardkit.cardElement.content', 'cardkit.card.settings']) {
          expect(worker.result!.governor.apis[api]?.waits, api).toBeGreaterThan(0);
          expect(worker.result!.governor.apis[api]?.rateLimited, api).toBe(0);
        }
        expect(worker.result!.governor.fallback).toBe(false);
      }
      expect(endpoints['cardkit.card.create']?.accepted).toBe(12);
    },
    90_000,
  );

  it(
    'control: the same three replicas without Redis (each counting the same limits in its own process) are rate-limited by the emulator',
    async () => {
      const { emulator, workers } = await runReplicas(undefined);

      // Each replica alone keeps the limits; together they send about three times as much.
      const rejections = rateLimitRejections(emulator);
      expect(rejections['99991400'] ?? 0).toBeGreaterThan(0);
      // The writes were retried after the wait the platform asked for, so the cards still landed.
      for (const worker of workers) expect(worker.code, worker.output).toBe(0);
      const toldRateLimited = workers.flatMap((w) => Object.values(w.result!.governor.apis)).reduce((sum, api) => sum + api.rateLimited, 0);
      expect(toldRateLimited).toBeGreaterThan(0);
      for (const card of workers.flatMap((w) => w.result!.cards)) expect(elementText(emulator, card.cardId)).toBe(card.streamed);
    },
    90_000,
  );
});
