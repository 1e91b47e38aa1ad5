/**
 * A replica that will be killed, run as its own Node process by crash.test.ts (`node --import tsx test/recovery/crash-worker.ts`).

 * Not a test file: it opens COUNT sessions against the emulator, with its budget, sequences and journal in
 * Redis, and streams into them until it is killed.
 *
 * Environment: EMULATOR_URL, REDIS_URL, LEASE_MS, COUNT.
 * Protocol on stdout, one JSON object per line: `{"type":"ready","cards":[…],"replica":"…"}` once every
 * card holds some text and is recorded in the journal.
 */
import { Redis } from 'ioredis';
import { CardSession, FeishuClient } from '../../src/index.js';
import { FairGovernor } from '../../src/governor/index.js';
import { CardRecovery, RedisJournal } from '../../src/recovery/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const { EMULATOR_URL: domain, REDIS_URL: url } = process.env;
  if (!domain || !url) throw new Error('EMULATOR_URL and REDIS_URL are required');
  const leaseMs = Number(process.env.LEASE_MS ?? 3000);
  const count = Number(process.env.COUNT ?? 20);
  const redis = new Redis(url);
  const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain });
  const governor = new FairGovernor({ appId: 'cli_x', redis });
  const recovery = new CardRecovery(client, { journal: new RedisJournal(redis), governor, leaseMs });
  await recovery.start();
  const sessions = await Promise.all(Array.from({ length: count }, (_, i) => CardSession.start(client, { governor, to: { chat_id: `oc_crash_${i}` } })));
  let written = 0;
  for (const session of sessions) session.on('flush', () => written++);
  // Every session streams a delta every 100 ms until the process is killed.
  const words = ['卡片', 'stream', '😀', 'replica', 'ёлка', '𠮷', 'lease', 'Redis'];
  let tick = 0;
  const stream = setInterval(() => {
    tick++;
    for (const [i, session] of sessions.entries()) session.append(`${words[(tick + i) % words.length]} ${tick} · `);
  }, 100);
  void stream;
  while (written < count * 3 || recovery.recorded().length < count || tick < 10) await sleep(50);
  process.stdout.write(`${JSON.stringify({ type: 'ready', cards: sessions.map((session) => session.cardId), replica: recovery.replica })}\n`);
}

main().catch((error: unknown) => {
  process.stdout.write(`${JSON.stringify({ type: 'error', message: error instanceof Error ? error.message : String(error) })}\n`);
  process.exit(1);
});
