/**
 * A replica run as its own Node process by adversarial-process.test.ts
 * (`node --import tsx test/recovery/adversarial-worker.ts`), so that SIGKILL kills the real process.
 * Not a test file. Protocol on stdout: one JSON object per line.
 *
 * Environment: MODE, EMULATOR_URL, REDIS_URL (modes that use Redis), LEASE_MS, COUNT, SKEW_MS.
 * - MODE=replica: opens COUNT sessions recorded in a RedisJournal and streams into them until killed; prints
 *   `{"type":"ready","cards":[…],"replica":"…"}` once every card holds text and is recorded. SKEW_MS shifts this
 *   process's `Date.now` (a replica whose clock is off).
 * - MODE=sweeper: a CardRecovery on the RedisJournal whose closing writes back off 5-10 s after a failure;
 *   prints `{"type":"ready"}` once started and `{"type":"retry","cardId":"…"}` for each retry of a close.
 * - MODE=sync-throw: a CardRecovery whose journal's `renew` throws instead of rejecting, with one idle session;
 *   prints `{"type":"alive","errors":N}` after several renewals and exits 0 (if the process survived them).
 * - MODE=error-listener-throws: a CardRecovery whose journal's `put` rejects once and whose `error` listener
 *   throws once (a logging bug), with one session; prints `{"type":"alive","errors":N}` after a lease and exits 0
 *   (if the process survived).
 */
import { Redis } from 'ioredis';
import { CardSession, FeishuClient } from '../../src/index.js';
import { FairGovernor } from '../../src/governor/index.js';
import { CardRecovery, MemoryJournal, RedisJournal } from '../../src/recovery/index.js';

const skew = Number(process.env.SKEW_MS ?? 0);
if (skew !== 0) {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + skew;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (message: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(message)}\n`);

async function replica(domain: string, url: string, leaseMs: number, count: number): Promise<void> {
  const redis = new Redis(url);
  const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain });
  const governor = new FairGovernor({ appId: 'cli_x', redis });
  const recovery = new CardRecovery(client, { journal: new RedisJournal(redis), governor, leaseMs });
  await recovery.start();
  const sessions = await Promise.all(Array.from({ length: count }, (_, i) => CardSession.start(client, { governor, to: { chat_id: `oc_adv_${i}` } })));
  let tick = 0;
  setInterval(() => {
    tick++;
    for (const [i, session] of sessions.entries()) session.append(`w${i}.${tick} `);
  }, 100);
  while (tick < 5 || recovery.recorded().length < count || recovery.recorded().some((entry) => entry.summary === '')) await sleep(50);
  say({ type: 'ready', cards: sessions.map((session) => session.cardId), replica: recovery.replica });
}

async function sweeper(domain: string, url: string, leaseMs: number): Promise<void> {
  const redis = new Redis(url);
  const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain });
  const recovery = new CardRecovery(client, { journal: new RedisJournal(redis), leaseMs, retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 } });
  recovery.on('retry', (event) => say({ type: 'retry', cardId: event.cardId, delayMs: event.delayMs, at: Date.now(), error: event.error.message }));
  recovery.on('recovered', (card) => say({ type: 'recovered', cardId: card.cardId, at: Date.now() }));
  await recovery.start();
  say({ type: 'ready' });
}

class ThrowingJournal extends MemoryJournal {
  override renew(): Promise<string[]> {
    throw new Error('the store is closed');
  }
}

async function syncThrow(domain: string, leaseMs: number): Promise<void> {
  const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain });
  const recovery = new CardRecovery(client, { journal: new ThrowingJournal(), leaseMs });
  let errors = 0;
  recovery.on('error', () => errors++);
  await recovery.start();
  const session = await CardSession.start(client, { to: { chat_id: 'oc_adv_throw' } });
  session.append('idle');
  await sleep(leaseMs * 2);
  say({ type: 'alive', errors });
  await session.finish();
  await recovery.stop();
  process.exit(0);
}

class FailingPutJournal extends MemoryJournal {
  #failures = 1;
  override put(...args: Parameters<MemoryJournal['put']>): Promise<void> {
    if (this.#failures-- > 0) return Promise.reject(new Error('put failed once'));
    return super.put(...args);
  }
}

async function errorListenerThrows(domain: string, leaseMs: number): Promise<void> {
  const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain });
  const recovery = new CardRecovery(client, { journal: new FailingPutJournal(), leaseMs });
  let errors = 0;
  recovery.on('error', () => {
    if (errors++ === 0) throw new Error('a logger that throws');
  });
  await recovery.start();
  const session = await CardSession.start(client, { to: { chat_id: 'oc_adv_listener' } });
  session.append('text');
  await sleep(leaseMs);
  say({ type: 'alive', errors });
  await session.finish();
  await recovery.stop();
  process.exit(0);
}

async function main(): Promise<void> {
  const { MODE: mode, EMULATOR_URL: domain, REDIS_URL: url } = process.env;
  const leaseMs = Number(process.env.LEASE_MS ?? 1000);
  if (!domain) throw new Error('EMULATOR_URL is required');
  if (mode === 'replica' && url) return replica(domain, url, leaseMs, Number(process.env.COUNT ?? 5));
  if (mode === 'sweeper' && url) return sweeper(domain, url, leaseMs);
  if (mode === 'sync-throw') return syncThrow(domain, leaseMs);
  if (mode === 'error-listener-throws') return errorListenerThrows(domain, leaseMs);
  throw new Error(`unknown MODE ${String(mode)} (or REDIS_URL missing)`);
}

main().catch((error: unknown) => {
  say({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
