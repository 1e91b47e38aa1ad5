/**
 * Adversarial review of crash recovery (issue 13) on a real redis-server: many replicas sweeping one journal,
 * Redis going away (killed and restarted empty; cut off by a TCP proxy with its data kept) and Redis being
 * slow (`CLIENT PAUSE`: commands that time out on the client and still run on the server afterwards).
 * Sessions stream over loopback HTTP into the emulator; each replica has its own client and Redis connection.
 *
 * The tests whose comment says "Was a defect (fixed)" found a defect of the first version, each fixed since:
 * the comment says what was wrong and what is expected.
 */
import { type Server, type Socket, connect, createServer } from 'node:net';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, type FeishuClient } from '../../src/index.js';
import { CardRecovery, type CardRecoveryOptions, RECOVERED_MARKER_ID, type RecoveredCard, RedisJournal } from '../../src/recovery/index.js';
import { clientFor } from '../support/client.js';
import { elementText, useEmulator } from '../support/emulator-http.js';
import { FAIL_FAST, type RunningRedis, closeRedisClients, freePort, openRedis, redisMissing, startRedis, useRedisServer } from '../support/redis.js';
import { sleep, waitFor } from '../support/session.js';


const CARDS_KEY = 'feishu-card-session:journal:{cli_x}:cards';

interface Watched {
  recovery: CardRecovery;
  recovered: RecoveredCard[];
  errors: Error[];
}

const recoveries: CardRecovery[] = [];
const sessions: CardSession[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

/** Stops the recoveries, ends the sessions (the emulator still runs: registered after it, so run before its own). */
async function cleanUp(): Promise<void> {
  await Promise.all(recoveries.splice(0).map((recovery) => recovery.stop()));
  await Promise.all(sessions.splice(0).map((session) => session.abort().catch(() => undefined)));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

function recoveryOf(client: FeishuClient, redis: Redis, options: CardRecoveryOptions & { timeoutMs?: number } = {}): Watched {
  const { timeoutMs, ...rest } = options;
  const recovery = new CardRecovery(client, { journal: new RedisJournal(redis, timeoutMs === undefined ? {} : { timeoutMs }), ...rest });
  recoveries.push(recovery);
  const watched: Watched = { recovery, recovered: [], errors: [] };
  recovery.on('recovered', (card) => watched.recovered.push(card));
  recovery.on('error', (error) => watched.errors.push(error));
  return watched;
}

function outline(emulator: Emulator, cardId: string): string[] {
  const body = emulator.card(cardId)!.card.body as { elements: { element_id?: string }[] };
  return body.elements.map((element) => element.element_id ?? '?');
}

/** A TCP proxy in front of Redis that can cut every connection (and refuse new ones) and come back on the same port. */
class RedisProxy {
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;

  private constructor(
    readonly port: number,
    readonly target: number,
  ) {}

  static async start(target: number): Promise<RedisProxy> {
    const proxy = new RedisProxy(await freePort(), target);
    await proxy.restore();
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  restore(): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = connect(this.target, '127.0.0.1');
      for (const socket of [inbound, outbound]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  cut(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

describe.skipIf(redisMissing('the adversarial recovery tests on Redis'))('adversarial: CardRecovery on a real redis-server', () => {
  let emulator: Emulator;
  useEmulator((s) => ({ emulator } = s));
  const redis = useRedisServer();
  afterEach(cleanUp);

  /** A replica whose recovery records `count` sessions (text landed), then "crashes" (stops renewing). */
  async function crashed(count: number, leaseMs: number, text: (i: number) => string) {
    const { client } = clientFor(emulator);
    const before = recoveryOf(client, await openRedis(redis.server.url), { leaseMs });
    await before.recovery.start();
    const opened = await Promise.all(Array.from({ length: count }, (_, i) => CardSession.start(client, { to: { chat_id: `oc_${i}` } })));
    sessions.push(...opened);
    opened.forEach((session, i) => session.append(text(i)));
    await waitFor(() => opened.every((s, i) => elementText(emulator, s.cardId!) === text(i)) && before.recovery.recorded().length === count && before.recovery.recorded().every((e) => e.summary !== ''), 'landed', 10_000);
    await sleep(50); // the last puts land
    await before.recovery.stop();
    return { before, opened };
  }

  it('four replicas, each with its own Redis connection, sweep at once: every card closed by exactly one, one batch_update each, nothing refused', async () => {
    const lease = 800;
    const { before, opened } = await crashed(16, lease, (i) => `Card ${i}, interrupted.`);
    const crashedAt = emulator.clock.now();
    const sweepers = await Promise.all([0, 1, 2, 3].map(async () => recoveryOf(clientFor(emulator).client, await openRedis(redis.server.url), { leaseMs: lease, sweepEveryMs: 25 })));
    await Promise.all(sweepers.map((s) => s.recovery.start()));
    await waitFor(() => sweepers.reduce((n, s) => n + s.recovered.length, 0) >= 16, 'all closed', lease * 5);
    await sleep(lease);
    const ids = sweepers.flatMap((s) => s.recovered.map((card) => card.cardId));
    expect(ids.sort()).toEqual(opened.map((s) => s.cardId).sort());
    for (const session of opened) {
      const log = emulator.card(session.cardId!)!.log.filter((entry) => entry.endpoint === 'cardkit.card.batchUpdate' && entry.time >= crashedAt);
      expect(log.map((entry) => entry.code)).toEqual([0]);
      expect(emulator.card(session.cardId!)!.streaming_mode).toBe(false);
      expect(elementText(emulator, session.cardId!, RECOVERED_MARKER_ID)).toBe('_(interrupted)_');
    }
    expect(sweepers.every((s) => s.recovered.every((card) => card.replica === before.recovery.replica))).toBe(true);
    expect(emulator.stats().rejected).toEqual({});
    expect(sweepers.flatMap((s) => s.errors)).toEqual([]);
  });

  /**
   * A replica with a session on a Redis that is killed for a while and restarted empty (no persistence): the
   * renewals and sweeps fail meanwhile. `streaming`: the session keeps appending; else it is idle (a long tool
   * call). Once Redis is back, the replica crashes; another replica should close the card.
   */
  async function redisRestartedEmpty(streaming: boolean) {
    const lease = 1200;
    const server = (await startRedis()) as RunningRedis;
    let current = server;
    cleanups.push(() => current.stop('SIGTERM'));
    cleanups.push(closeRedisClients);
    const { client } = clientFor(emulator);
    const live = recoveryOf(client, await openRedis(server.url, FAIL_FAST), { leaseMs: lease });
    const survivor = recoveryOf(clientFor(emulator).client, await openRedis(server.url, FAIL_FAST), { leaseMs: lease });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    cleanups.push(() => void process.off('unhandledRejection', onUnhandled));
    await live.recovery.start();
    await survivor.recovery.start();
    const session = await CardSession.start(client, { to: { chat_id: 'oc_outage' } });
    sessions.push(session);
    session.append('Before the outage. ');
    let ticks = 0;
    const ticker = setInterval(() => streaming && session.state === 'open' && session.append(`tick ${++ticks} `), 100);
    cleanups.push(() => clearInterval(ticker));
    await waitFor(() => !!live.recovery.recorded()[0]?.summary.startsWith('Before the outage.') && !!elementText(emulator, session.cardId!)?.startsWith('Before the outage. '), 'recorded');
    // Renewals recorded the card as it stands: an idle session's entry no longer changes (its sequence with the
    // headroom for a renewal period of 400 ms: 10 writes a second, + 2).
    if (!streaming) await waitFor(() => live.recovery.recorded()[0]?.sequence === session.sequence + 6, 'recorded as it stands');
    await sleep(lease / 2);
    await server.stop('SIGKILL');
    await sleep(lease * 0.8);
    const errorsDuringOutage = live.errors.length + survivor.errors.length;
    current = (await startRedis({ port: server.port })) as RunningRedis;
    await sleep(lease); // reconnected, three renewals
    // The session goes on untouched by the outage.
    expect(session.state).toBe('open');
    clearInterval(ticker);
    await sleep(200);
    const written = elementText(emulator, session.cardId!)!;
    await live.recovery.stop(); // the replica crashes
    await waitFor(() => survivor.recovered.length === 1, 'closed by the survivor', lease * 4).catch(() => undefined);
    return { session, written, errorsDuringOutage, unhandled, survivor };
  }

  it('Redis killed and restarted empty: errors reported, no unhandled rejection; a streaming session is recorded again and closed after its replica crashes', async () => {
    const { session, written, errorsDuringOutage, unhandled, survivor } = await redisRestartedEmpty(true);
    expect(errorsDuringOutage).toBeGreaterThan(0);
    expect(unhandled).toEqual([]);
    expect(survivor.recovered.map((card) => card.cardId)).toEqual([session.cardId]);
    expect(elementText(emulator, session.cardId!)).toBe(written);
    expect(elementText(emulator, session.cardId!, RECOVERED_MARKER_ID)).toBe('_(interrupted)_');
    expect(emulator.card(session.cardId!)!.streaming_mode).toBe(false);
  });

  // Was a defect (fixed): renewals extend leases with `ZADD XX` and an unchanged entry is only renewed, never written again
  // (card-recovery.ts:235-238, redis-journal.ts RENEW). Once Redis lost the entry (restarted without persistence,
  // a failover to a replica that had not caught up, an eviction), the card of a session that is idle (waiting on
  // a tool, a slow model) is never recorded again: when its replica then crashes, nobody closes it. Expected: a
  // renewal re-records the entries it cannot extend (RENEW returns the missing ids, the recovery puts them back;
  // or it puts after any journal failure).
  it('Redis killed and restarted empty: an idle session is recorded again, and its card closed after its replica crashes', async () => {
    const { session, survivor, unhandled } = await redisRestartedEmpty(false);
    expect(unhandled).toEqual([]);
    expect(survivor.recovered.map((card) => card.cardId)).toEqual([session.cardId]);
  });

  // Was a defect (fixed): a put that times out on the client (Redis slow: `CLIENT PAUSE`, a long script, a failover) still runs
  // on the server afterwards. The recovery only remembers confirmed puts (`tracked.recorded`,
  // card-recovery.ts:225-226) and removes only those (:212), so a session that ends meanwhile leaves an entry
  // behind; its lease runs out and a sweep (another replica's, or this one's) adds "_(interrupted)_" to an answer
  // that ended whole.
  // Expected: on end, remove every card id a put was attempted for (remove is idempotent).
  it('a put that timed out but ran later: the finished card is never marked', async () => {
    const lease = 1200;
    const { client } = clientFor(emulator);
    // The scripts are loaded once, so the paused command is the one that runs later.
    const warm = new RedisJournal(redis.admin);
    await warm.put({ appId: 'warm', cardId: 'w', elementId: 'answer', summary: '', sequence: 1, replica: 'w' }, 10);
    await warm.remove('warm', 'w');
    const live = recoveryOf(client, await openRedis(redis.server.url), { leaseMs: lease, timeoutMs: 150 });
    await live.recovery.start();
    const sweeper = recoveryOf(clientFor(emulator).client, await openRedis(redis.server.url), { leaseMs: lease });
    await sweeper.recovery.start();
    const pausedAt = performance.now();
    await redis.admin.call('CLIENT', 'PAUSE', '2500', 'ALL');
    const session = await CardSession.start(client, { to: { chat_id: 'oc_paused' } });
    sessions.push(session);
    session.append('A whole answer.');
    await session.finish();
    expect(performance.now() - pausedAt).toBeLessThan(2500); // the session ended while Redis was paused
    expect(live.errors.length).toBeGreaterThan(0); // the put timed out
    await sleep(2500 - (performance.now() - pausedAt) + lease * 2.5);
    expect(outline(emulator, session.cardId!)).not.toContain(RECOVERED_MARKER_ID); // marked by the sweeper or the replica's own sweep
    expect(sweeper.recovered).toEqual([]);
    expect(await redis.admin.hlen(CARDS_KEY)).toBe(0);
  });

  // Was a defect (fixed): a claim removes the entries it returns (redis-journal.ts CLAIM: ZREM + HDEL) before any card is
  // closed. When the claim times out on the client but runs on the server (Redis slow), the entries are gone and
  // no replica got them: those cards are never closed. (The same loss happens when the replica that claimed
  // dies before its closes land: adversarial-process.test.ts.) Expected: a claim leases the entries to the
  // claimer (moves their lease forward, marks the claimer) and the entry is removed only once its card was
  // closed, so a lost claim only delays the close by that claim lease.
  it('a claim that timed out but ran later: the claimed cards are still closed', async () => {
    const lease = 800;
    const { opened } = await crashed(3, lease, (i) => `Answer ${i} of the dead replica.`);
    await sleep(lease + 100); // the leases ran out
    const warm = new RedisJournal(redis.admin);
    await warm.claimExpired('warm', 1); // the claim script is loaded
    const connection = await openRedis(redis.server.url);
    await redis.admin.call('CLIENT', 'PAUSE', '600', 'ALL');
    const sweeper = recoveryOf(clientFor(emulator).client, connection, { leaseMs: lease, timeoutMs: 150 });
    expect(await sweeper.recovery.start()).toEqual([]); // its claim timed out
    expect(sweeper.errors.length).toBe(1);
    await sleep(lease * 3);
    expect(opened.filter((s) => emulator.card(s.cardId!)!.streaming_mode).map((s) => s.cardId)).toEqual([]);
  });

  it('Redis unreachable (data kept) while leases run out: sweeps fail with error events, nothing unhandled; once it is back, each card is closed once', async () => {
    const lease = 800;
    const proxy = await RedisProxy.start(redis.server.port);
    cleanups.push(() => proxy.cut());
    const { opened } = await crashed(4, lease, (i) => `Answer ${i}.`);
    const crashedAt = emulator.clock.now();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    cleanups.push(() => void process.off('unhandledRejection', onUnhandled));
    const sweepers = await Promise.all([0, 1].map(async () => recoveryOf(clientFor(emulator).client, await openRedis(proxy.url, FAIL_FAST), { leaseMs: lease })));
    await Promise.all(sweepers.map((s) => s.recovery.start()));
    await proxy.cut();
    await sleep(lease * 2);
    expect(sweepers.every((s) => s.errors.length > 0)).toBe(true);
    expect(opened.every((s) => emulator.card(s.cardId!)!.streaming_mode)).toBe(true);
    await proxy.restore();
    await waitFor(() => sweepers.reduce((n, s) => n + s.recovered.length, 0) >= 4, 'closed after Redis came back', lease * 5);
    await sleep(200);
    for (const session of opened) {
      const log = emulator.card(session.cardId!)!.log.filter((entry) => entry.endpoint === 'cardkit.card.batchUpdate' && entry.time >= crashedAt);
      expect(log.map((entry) => entry.code)).toEqual([0]);
      expect(emulator.card(session.cardId!)!.streaming_mode).toBe(false);
    }
    expect(unhandled).toEqual([]);
  });

  // Was a defect (fixed): after a Redis outage longer than a lease (data kept: a network partition, a paused or overloaded
  // Redis), every lease in the journal has run out, those of live sessions too. The first sweep after Redis comes
  // back (any replica's, including the live replica's own) can run before the live replicas renewed, and closes
  // their running answers with "_(interrupted)_" (their sessions then re-open streaming and go on under the
  // marker). Expected: a replica re-records its own cards before it sweeps after a journal failure, and a sweep
  // that follows journal failures waits a renewal interval (`renewEveryMs`) after the journal answered again
  // before it claims anything. card-recovery.ts:150-168.
  it('a Redis outage longer than a lease: the first sweep once Redis is back does not close the cards of live sessions', async () => {
    const lease = 800;
    // One proxy per replica, so that which replica gets Redis back first is up to the test, not to chance.
    const proxies = [await RedisProxy.start(redis.server.port), await RedisProxy.start(redis.server.port)] as const;
    cleanups.push(() => Promise.all(proxies.map((proxy) => proxy.cut())).then(() => undefined));
    const { client } = clientFor(emulator);
    const connections = [await openRedis(proxies[0].url, FAIL_FAST), await openRedis(proxies[1].url, FAIL_FAST)] as const;
    const live = recoveryOf(client, connections[0], { leaseMs: lease });
    const other = recoveryOf(clientFor(emulator).client, connections[1], { leaseMs: lease });
    await live.recovery.start();
    await other.recovery.start();
    const session = await CardSession.start(client, { to: { chat_id: 'oc_partition' } });
    sessions.push(session);
    session.append('A live answer.');
    await waitFor(() => live.recovery.recorded()[0]?.summary === 'A live answer.', 'recorded');
    await sleep(100);
    await Promise.all(proxies.map((proxy) => proxy.cut()));
    await waitFor(() => connections.every((c) => c.status !== 'ready'), 'disconnected');
    await sleep(lease * 1.5); // Redis is unreachable for everyone, longer than a lease
    await proxies[1].restore();
    await waitFor(() => connections[1].status === 'ready', 'the other replica reconnected', 5000);
    await other.recovery.sweep(); // its first sweep after the outage, before the live replica got Redis back
    await proxies[0].restore();
    await waitFor(() => connections[0].status === 'ready', 'the live replica reconnected', 5000);
    session.append(' It goes on after the outage.');
    await session.finish();
    expect(other.recovered).toEqual([]);
    expect(outline(emulator, session.cardId!)).not.toContain(RECOVERED_MARKER_ID);
  });
});
