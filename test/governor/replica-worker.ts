/**
 * One replica of a bot, run as its own Node process by replicas.test.ts (`tsx test/governor/replica-worker.ts`).
 * Not a test file: it streams the texts it was given into CardSessions, one card each, all at once,
 * against the emulator, counting its budget in Redis when given a Redis URL and in this process otherwise.
 *
 * Environment:
 *   EMULATOR_URL  base URL of the emulator
 *   REDIS_URL     Redis to share the budget and sequences through; empty or unset: in this process
 *   LIMITS        JSON `{ apiQps, apiQpm, cardQps }`, the same for every replica
 *   TEXTS         JSON array of the texts to stream, one card each
 *   PIECE_CHARS   characters per delta (default 10); GAP_MS pause before each delta (default 100)
 *
 * Protocol on stdout, one JSON object per line: `{"type":"ready"}` once the client has its token, then
 * (after the parent writes a line to stdin, so every replica starts at the same moment)
 * `{"type":"result",...}` and exit 0, or `{"type":"error",...}` and exit 1.
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { CardSession, FeishuClient, type SessionResult } from '../../src/index.js';
import { FairGovernor, type GovernorStats } from '../../src/governor/index.js';

export interface WorkerResult {
  type: 'result';
  pid: number;
  cards: { cardId: string; streamed: string; text: string; sequence: number; writes: number; retries: number }[];
  governor: GovernorStats;
}

function line(value: unknown): Promise<void> {
  return new Promise((resolve) => process.stdout.write(`${JSON.stringify(value)}\n`, () => resolve()));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function* paced(text: string, pieceChars: number, gapMs: number): AsyncGenerator<string> {
  const chars = [...text]; // whole code points, so a delta never ends inside a surrogate pair
  for (let i = 0; i < chars.length; i += pieceChars) {
    await sleep(gapMs);
    yield chars.slice(i, i + pieceChars).join('');
  }
}

async function main(): Promise<void> {
  const env = process.env;
  const domain = env.EMULATOR_URL;
  if (!domain) throw new Error('EMULATOR_URL is required');
  const limits = JSON.parse(env.LIMITS ?? '{}') as { apiQps?: number; apiQpm?: number; cardQps?: number };
  const texts = JSON.parse(env.TEXTS ?? '[]') as string[];
  const pieceChars = Number(env.PIECE_CHARS ?? 10);
  const gapMs = Number(env.GAP_MS ?? 100);
  const redis = env.REDIS_URL ? new Redis(env.REDIS_URL) : undefined;

  try {
    const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain });
    // One governor for the replica's sessions: the app's limits, and its budget and sequences in Redis when given.
    const governor = new FairGovernor({ limits, appId: 'cli_x', ...(redis ? { redis } : {}) });
    await client.tenantAccessToken();
    await line({ type: 'ready' });
    await waitForGo();

    const results: SessionResult[] = await Promise.all(
      texts.map(async (text) => {
        // Rate-limited writes are retried after the wait the platform asks for; allow many, so the
        // run without Redis (which is rate-limited on purpose) still ends every card.
        const session = await CardSession.start(client, { governor, retry: { maxAttempts: 40, baseDelayMs: 50, maxDelayMs: 1000 } });
        return session.pipe(paced(text, pieceChars, gapMs));
      }),
    );
    const result: WorkerResult = {
      type: 'result',
      pid: process.pid,
      cards: results.map((r, i) => ({ cardId: r.cardId!, streamed: texts[i]!, text: r.text, sequence: r.sequence, writes: r.writes, retries: r.retries })),
      governor: governor.stats(),
    };
    await line(result);
  } finally {
    await redis?.quit().catch(() => undefined);
  }
}

function waitForGo(): Promise<void> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin });
    rl.once('line', () => {
      rl.close();
      resolve();
    });
  });
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    await line({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  },
);
