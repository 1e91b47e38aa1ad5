/**
 * Adversarial review of crash recovery (issue 13) with real processes (`node --import tsx
 * test/recovery/adversarial-worker.ts`, so SIGKILL kills the real process), a real redis-server and the
 * emulator over loopback: a replica whose clock is an hour off, a replica killed while it is closing the
 * cards it claimed, a journal that throws in the renewal timer.
 *
 * The tests whose comment says "Was a defect (fixed)" found a defect of the first version, each fixed since:
 * the comment says what was wrong and what is expected.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { CardSession, FeishuClient } from '../../src/index.js';
import { CardRecovery, RECOVERED_MARKER_ID, type RecoveredCard, RedisJournal } from '../../src/recovery/index.js';
import { elementText } from '../support/emulator-http.js';
import { type RunningRedis, closeRedisClients, openRedis, redisMissing, startRedis } from '../support/redis.js';
import { sleep, waitFor } from '../support/session.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Worker {
  child: ChildProcessWithoutNullStreams;
  messages: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function spawnWorker(env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/recovery/adversarial-worker.ts'], { cwd: ROOT, env: { ...process.env, ...env, NO_COLOR: '1' } });
  cleanups.push(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
  const messages: Record<string, unknown>[] = [];
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const lines = stdout.split('\n');
    stdout = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) messages.push(JSON.parse(line) as Record<string, unknown>);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, messages, exited, stderr: () => stderr };
}

async function message(worker: Worker, type: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  let exited = false;
  void worker.exited.then(() => (exited = true));
  await waitFor(() => exited || worker.messages.some((m) => m.type === type || m.type === 'error'), `the worker's ${type}`, timeoutMs);
  const found = worker.messages.find((m) => m.type === type);
  if (!found) throw new Error(`the worker failed: ${JSON.stringify(worker.messages)} ${worker.stderr()}`);
  return found;
}

async function kill(worker: Worker): Promise<void> {
  worker.child.kill('SIGKILL');
  await worker.exited;
}

describe.skipIf(redisMissing('the adversarial process tests'))('adversarial: CardRecovery across processes', () => {
  async function setUp(): Promise<{ emulator: Emulator; server: RunningRedis; client: FeishuClient }> {
    const emulator = await startEmulator();
    cleanups.push(() => emulator.close());
    const server = (await startRedis()) as RunningRedis;
    cleanups.push(() => server.stop('SIGTERM'));
    cleanups.push(closeRedisClients);
    const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain: emulator.url });
    return { emulator, server, client };
  }

  it('replicas whose clocks are an hour ahead and an hour behind are SIGKILLed: their cards are closed once their leases ran out on Redis time, not while they live, not an hour late', async () => {
    const lease = 2000;
    const { emulator, server, client } = await setUp();
    const survivor = new CardRecovery(client, { journal: new RedisJournal(await openRedis(server.url)), leaseMs: lease });
    const recovered: { card: RecoveredCard; at: number }[] = [];
    const errors: Error[] = [];
    survivor.on('recovered', (card) => recovered.push({ card, at: performance.now() }));
    survivor.on('error', (error) => errors.push(error));
    await survivor.start();
    cleanups.push(() => survivor.stop());
    const env = { MODE: 'replica', EMULATOR_URL: emulator.url, REDIS_URL: server.url, LEASE_MS: String(lease), COUNT: '3' };
    const workers = [spawnWorker({ ...env, SKEW_MS: String(3_600_000) }), spawnWorker({ ...env, SKEW_MS: String(-3_600_000) })];
    const ready = (await Promise.all(workers.map((worker) => message(worker, 'ready')))) as unknown as { cards: string[]; replica: string }[];
    const cards = ready.flatMap((r) => r.cards);
    await sleep(lease + 300); // alive and renewing: nothing closed, whatever their clocks say
    expect(recovered).toEqual([]);
    await Promise.all(workers.map(kill));
    const killedAt = performance.now();
    await sleep(100);
    const written = new Map(cards.map((cardId) => [cardId, elementText(emulator, cardId)!]));
    await waitFor(() => recovered.length === cards.length, 'closed', lease * 5);
    expect(Math.min(...recovered.map((r) => r.at))).toBeGreaterThan(killedAt);
    expect(Math.max(...recovered.map((r) => r.at)) - killedAt).toBeLessThanOrEqual(lease + 3000);
    expect(recovered.map((r) => r.card.cardId).sort()).toEqual([...cards].sort());
    for (const cardId of cards) {
      expect(emulator.card(cardId)!.streaming_mode).toBe(false);
      expect(elementText(emulator, cardId)).toBe(written.get(cardId));
      expect(elementText(emulator, cardId, RECOVERED_MARKER_ID)).toBe('_(interrupted)_');
    }
    expect(new Set(recovered.map((r) => r.card.replica))).toEqual(new Set(ready.map((r) => r.replica)));
    expect(emulator.stats().rejected).toEqual({});
    expect(errors).toEqual([]);
  }, 40_000);

  // Was a defect (fixed): the replica that claims expired cards removes them from the journal at the claim (redis-journal.ts
  // CLAIM), before closing them. If it dies while its closes are under way (a write backing off after a 5xx, a
  // rate limit, a slow platform), the cards it claimed are lost: no replica ever closes them, and they stay
  // "[生成中...]". Expected ("nothing is lost"): a claim leases the entry to the claimer (moves its lease forward)
  // and the entry is removed once the card is closed, so another replica closes it after that claim lease.
  it('the replica that claimed the cards is SIGKILLed while closing them: another replica still closes them', async () => {
    const lease = 800;
    const { emulator, server, client } = await setUp();
    // The crashed replica: three cards recorded in Redis, then no more renewals.
    const crashed = new CardRecovery(client, { journal: new RedisJournal(await openRedis(server.url)), leaseMs: lease });
    await crashed.start();
    const sessions = await Promise.all([0, 1, 2].map((i) => CardSession.start(client, { to: { chat_id: `oc_k${i}` } })));
    cleanups.push(() => Promise.all(sessions.map((s) => s.abort().catch(() => undefined))).then(() => undefined));
    sessions.forEach((s, i) => s.append(`Answer ${i}, cut short.`));
    await waitFor(() => crashed.recorded().length === 3 && crashed.recorded().every((e) => e.summary !== ''), 'recorded');
    await sleep(50);
    await crashed.stop();
    // The first closing attempts fail: the sweeper backs off for seconds, and is killed meanwhile.
    emulator.faults.add({ kind: 'fail', endpoint: 'cardkit.card.batchUpdate', count: 3, code: 1500, httpStatus: 500 });
    const worker = spawnWorker({ MODE: 'sweeper', EMULATOR_URL: emulator.url, REDIS_URL: server.url, LEASE_MS: String(lease) });
    // (its start() sweeps at once: the leases may have run out while the process started)
    await waitFor(() => worker.messages.filter((m) => m.type === 'retry').length === 3, 'the sweeper claimed and is backing off', 20_000);
    await kill(worker);
    expect(worker.messages.filter((m) => m.type === 'recovered')).toEqual([]);
    // Another replica runs on.
    const other = new CardRecovery(new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain: emulator.url }), { journal: new RedisJournal(await openRedis(server.url)), leaseMs: lease });
    await other.start();
    cleanups.push(() => other.stop());
    await sleep(lease * 4);
    expect(sessions.filter((s) => emulator.card(s.cardId!)!.streaming_mode).map((s) => s.cardId)).toEqual([]);
  }, 40_000);

  // Was a defect (fixed): the renewal timer calls `this.journal.renew(...).catch(...)` (card-recovery.ts:238); a journal whose
  // renew throws instead of returning a rejected promise (a custom store, a client that throws on a closed pool,
  // or a `journal` object missing `renew`: options are not checked) throws inside setInterval: an uncaught
  // exception that ends the process, with every session in it. The other journal calls are made inside async
  // functions, so there a throw becomes an `error` event. Expected: the same here (wrap the call, e.g.
  // `Promise.resolve().then(() => this.journal.renew(...))`).
  it('a journal whose renew throws (instead of rejecting) is an error event, not the end of the process', async () => {
    const { emulator } = await setUp();
    const worker = spawnWorker({ MODE: 'sync-throw', EMULATOR_URL: emulator.url, LEASE_MS: '600' });
    const exit = await worker.exited;
    expect(worker.stderr()).not.toContain('the store is closed');
    expect(exit).toEqual({ code: 0, signal: null });
    const alive = worker.messages.find((m) => m.type === 'alive') as { errors: number } | undefined;
    expect(alive?.errors).toBeGreaterThan(0);
  }, 30_000);

  // Was a defect (fixed): an `error` listener that throws (a logging bug) ends the process. #report is called from the journal
  // queue's `.catch` (card-recovery.ts:252); the listener's exception rejects the session's queue promise, which
  // nothing handles: an unhandled rejection, fatal under Node's default `--unhandled-rejections=throw`. (The
  // rejected queue also skips that session's next journal operation.) Sessions guard their listeners (a throwing
  // one is a process warning). Expected: the same for CardRecovery's listeners.
  it('an error listener that throws is a warning, not the end of the process', async () => {
    const { emulator } = await setUp();
    const worker = spawnWorker({ MODE: 'error-listener-throws', EMULATOR_URL: emulator.url, LEASE_MS: '600' });
    const exit = await worker.exited;
    // A process warning names it; nothing uncaught or unhandled.
    expect(worker.stderr()).toMatch(/\(node:\d+\) Error: a logger that throws/);
    expect(worker.stderr()).not.toMatch(/Uncaught|unhandled|triggerUncaughtException/i);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(worker.messages.find((m) => m.type === 'alive')).toBeDefined();
  }, 30_000);
});
