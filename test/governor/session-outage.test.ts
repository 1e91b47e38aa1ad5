/**
 * Sessions keep writing while the app's Redis is unreachable. Three sessions share one governor built
 * with `redis` (budget and sequences in Redis, an ioredis client with its defaults: it waits for ever
 * on a Redis that does not answer) and stream into the emulator; redis-server is frozen (SIGSTOP) for
 * a few seconds mid-stream. Every session keeps landing text during the outage, each write with a
 * sequence above the card's last, and every card ends with exactly the text streamed.
 *
 * This needs the session to take its sequences from `governor.sequences` and its permits from the
 * governor; the `sequenceFallback` check fails while a session still counts sequences elsewhere.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { FairGovernor } from '../../src/governor/index.js';
import { CardSession, FeishuClient } from '../../src/index.js';
import { elementText } from '../support/emulator-http.js';
import { type RunningRedis, closeRedisClients, openRedis, redisMissing, startRedis } from '../support/redis.js';
import { sleep } from '../support/session.js';

const SESSIONS = 3;
const DELTAS = 60;
const GAP_MS = 100;
/** The outage: from this delta on, for this long (the rest of the stream and then some). */
const FREEZE_AT = 10;
const OUTAGE_MS = 4000;

const SKIP = redisMissing('the session-during-a-Redis-outage test');

describe.skipIf(SKIP)('sessions on a governor with Redis while redis-server is frozen', () => {
  let server: RunningRedis | undefined;
  let emulator: Emulator | undefined;
  let frozen: number | undefined;

  afterEach(async () => {
    if (frozen !== undefined) process.kill(frozen, 'SIGCONT');
    frozen = undefined;
    await closeRedisClients();
    await server?.stop();
    await emulator?.close();
  });

  it('every session keeps writing during the outage, with increasing sequences, and every card ends exact', async () => {
    server = (await startRedis())!;
    emulator = await startEmulator();
    const redis = await openRedis(server.url);
    const admin = await openRedis(server.url);
    const pid = Number(/process_id:(\d+)/.exec(await admin.info('server'))?.[1]);
    const governor = new FairGovernor({ redis, appId: 'cli_x' });
    const fallbacks: string[] = [];
    governor.on('fallback', () => fallbacks.push('budget'));
    governor.on('sequenceFallback', () => fallbacks.push('sequences'));
    const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain: emulator.url });
    const sessions = await Promise.all(Array.from({ length: SESSIONS }, () => CardSession.start(client, { governor })));

    const texts = sessions.map(() => '');
    let outage = { from: Number.POSITIVE_INFINITY, to: Number.POSITIVE_INFINITY };
    for (let i = 0; i < DELTAS; i++) {
      if (i === FREEZE_AT) {
        process.kill(pid, 'SIGSTOP');
        frozen = pid;
        outage = { from: emulator.clock.now(), to: Number.POSITIVE_INFINITY };
        setTimeout(() => {
          outage.to = emulator!.clock.now();
          process.kill(pid, 'SIGCONT');
          frozen = undefined;
        }, OUTAGE_MS);
      }
      for (const [s, session] of sessions.entries()) {
        const delta = `第${i}段 delta ${i} of card ${s}; `;
        texts[s] += delta;
        session.append(delta);
      }
      await sleep(GAP_MS);
    }
    const results = await Promise.all(sessions.map((session) => session.finish()));
    while (frozen !== undefined) await sleep(50);

    expect(fallbacks).toContain('budget');
    // The session drew its sequences from the governor (through Redis, then locally).
    expect(fallbacks).toContain('sequences');
    for (const [s, result] of results.entries()) {
      const card = emulator.card(result.cardId!)!;
      expect(elementText(emulator, result.cardId!), `card ${s}`).toBe(texts[s]);
      expect(card.streaming_mode).toBe(false);
      const accepted = card.log.filter((e) => e.code === 0 && e.endpoint !== 'cardkit.card.create');
      // Text kept landing while Redis was frozen.
      const during = accepted.filter((e) => e.endpoint === 'cardkit.cardElement.content' && e.time > outage.from && e.time < outage.to);
      expect(during.length, `card ${s}: content writes during the outage`).toBeGreaterThan(0);
      const sequences = accepted.map((e) => e.sequence!);
      for (let k = 1; k < sequences.length; k++) expect(sequences[k], `card ${s}`).toBeGreaterThan(sequences[k - 1]!);
    }
    expect(emulator.stats().rejected).toEqual({});
  }, 60_000);
});
