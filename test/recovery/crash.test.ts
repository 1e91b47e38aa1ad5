/**
 * A replica with 20 open cards is killed (SIGKILL, so nothing of it runs again); another process, this one,
 * on the same redis-server closes every one of its cards within the lease time: the text as the replica
 * last wrote it, the interrupted marker after it, streaming off, the summary set. Real processes, a real
 * redis-server, the emulator over loopback.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { FeishuClient } from '../../src/index.js';
import { FairGovernor } from '../../src/governor/index.js';
import { CardRecovery, RECOVERED_MARKER_ID, type RecoveredCard, RedisJournal } from '../../src/recovery/index.js';
import { summarize } from '../../src/session/summary.js';
import { elementText } from '../support/emulator-http.js';
import { type RunningRedis, redisMissing, startRedis } from '../support/redis.js';
import { sleep, waitFor } from '../support/session.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LEASE_MS = 3000;
const COUNT = 20;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Spawns the replica and resolves with its ready line (its cards), rejecting if it fails first. */
function spawnReplica(env: Record<string, string>): Promise<{ child: ChildProcessWithoutNullStreams; cards: string[]; replica: string }> {
  // `node --import tsx`: one process (the tsx binary would run the worker in a child that outlives a SIGKILL).
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/recovery/crash-worker.ts'], { cwd: ROOT, env: { ...process.env, ...env, NO_COLOR: '1' } });
  cleanups.push(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      for (const line of stdout.split('\n').filter((l) => l.startsWith('{'))) {
        const message = JSON.parse(line) as { type: string; cards: string[]; replica: string; message?: string };
        if (message.type === 'ready') resolve({ child, cards: message.cards, replica: message.replica });
        else reject(new Error(`replica failed: ${message.message}`));
      }
    });
    child.once('exit', (code) => reject(new Error(`replica exited (${code}) before it was ready: ${stderr}`)));
  });
}

describe.skipIf(redisMissing('the crashed-replica test'))('cards of a crashed replica', () => {
  it(`a replica with ${COUNT} open cards is SIGKILLed: another process on the same Redis closes all of them within the lease (${LEASE_MS} ms)`, async () => {
    const emulator: Emulator = await startEmulator();
    cleanups.push(() => emulator.close());
    const server = (await startRedis()) as RunningRedis;
    cleanups.push(() => server.stop('SIGTERM'));
    const redis = new Redis(server.url);
    cleanups.push(() => void redis.disconnect());

    // This process is another replica of the same app, already running with its recovery.
    const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain: emulator.url });
    const survivor = new CardRecovery(client, { journal: new RedisJournal(redis), governor: new FairGovernor({ appId: 'cli_x', redis }), leaseMs: LEASE_MS });
    const recovered: { card: RecoveredCard; at: number }[] = [];
    survivor.on('recovered', (card) => recovered.push({ card, at: performance.now() }));
    const errors: Error[] = [];
    survivor.on('error', (error) => errors.push(error));
    await survivor.start();
    cleanups.push(() => survivor.stop());

    const { child, cards, replica } = await spawnReplica({ EMULATOR_URL: emulator.url, REDIS_URL: server.url, LEASE_MS: String(LEASE_MS), COUNT: String(COUNT) });
    expect(new Set(cards).size).toBe(COUNT);
    // While the replica lives and renews, nothing of its is touched, even past a lease.
    await sleep(LEASE_MS + 500);
    expect(recovered).toEqual([]);
    expect(cards.every((cardId) => emulator.card(cardId)!.streaming_mode)).toBe(true);

    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    const killedAt = performance.now();
    await exited;
    await sleep(100); // a write the replica had on the wire has landed
    const lastWritten = new Map(cards.map((cardId) => [cardId, elementText(emulator, cardId)!]));

    await waitFor(() => recovered.length === COUNT, `${COUNT} cards recovered`, LEASE_MS * 3);
    const lastClosedMs = Math.max(...recovered.map((r) => r.at)) - killedAt;
    console.log(`closed ${COUNT} cards of the killed replica ${Math.round(Math.min(...recovered.map((r) => r.at)) - killedAt)}-${Math.round(lastClosedMs)} ms after the kill (lease ${LEASE_MS} ms)`);
    // The leases ran out between 2/3 of a lease (the replica renews every third) and a whole lease after the
    // kill; the closes follow at once, paced by the platform's 50 writes a second per API (0.4 s for 20).
    const firstClosedMs = Math.min(...recovered.map((r) => r.at)) - killedAt;
    expect(firstClosedMs).toBeGreaterThanOrEqual((LEASE_MS * 2) / 3 - 100);
    expect(lastClosedMs).toBeLessThanOrEqual(LEASE_MS + 1500);
    expect(recovered.map((r) => r.card.cardId).sort()).toEqual([...cards].sort());
    for (const cardId of cards) {
      const card = emulator.card(cardId)!;
      const text = lastWritten.get(cardId)!;
      expect(text.length).toBeGreaterThan(50);
      expect(card.streaming_mode).toBe(false);
      expect(elementText(emulator, cardId)).toBe(text); // as last written
      expect(elementText(emulator, cardId, RECOVERED_MARKER_ID)).toBe('_(interrupted)_');
      const ids = (card.card.body as { elements: { element_id: string }[] }).elements.map((element) => element.element_id);
      expect(ids.slice(ids.indexOf('answer'))).toEqual(['answer', RECOVERED_MARKER_ID]);
      expect(card.summary).toBe(summarize(text));
    }
    expect(recovered.every((r) => r.card.outcome === 'closed' && r.card.marked && r.card.replica === replica)).toBe(true);
    expect(emulator.stats().rejected).toEqual({});
    expect(errors).toEqual([]);
    // The journal is empty: nothing left for any replica to close.
    expect((await new RedisJournal(redis).claimExpired('cli_x', 100)).entries).toEqual([]);
  }, 60_000);
});
