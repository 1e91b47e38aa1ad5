/**
 * A real `redis-server` for the tests that share a budget between replicas: one private server per
 * caller on a free loopback port, nothing persisted, stopped (and awaited) by the test that started
 * it. Tests talk to it through real `ioredis` clients opened with `openRedis` and closed with
 * `closeRedisClients`.
 *
 * The Debian package `redis-server` provides the binary. CI must have it (`.ci/run` installs it), so
 * there a missing binary is an error; on a developer machine the Redis tests are skipped with a warning.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

const INSTALL_HINT = 'install it with `sudo apt-get install redis-server` (Debian/Ubuntu) or set REDIS_SERVER to its path';

export interface RunningRedis {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Kills the server (SIGKILL by default: a crash, not a shutdown) and resolves once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** The redis-server binary: `$REDIS_SERVER`, else the first on PATH (or in the usual system folders); null if none. */
export function findRedisServer(): string | null {
  const candidates = process.env.REDIS_SERVER
    ? [process.env.REDIS_SERVER]
    : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/local/bin', '/usr/sbin'].map((dir) =>
        join(dir, 'redis-server'),
      );
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * True when there is no redis-server and the Redis tests should be skipped (with a visible warning);
 * throws under CI, where a missing redis-server must fail the run rather than skip it silently.
 * For `describe.skipIf(redisMissing(...))`.
 */
export function redisMissing(what: string): boolean {
  if (findRedisServer() !== null) return false;
  if (process.env.CI) {
    throw new Error(`redis-server is not installed, but CI must run ${what} against a real Redis: ${INSTALL_HINT}`);
  }
  console.warn(`\n⚠ redis-server not found: skipping ${what}. To run them, ${INSTALL_HINT}.\n`);
  return true;
}

/** A TCP port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** Sends PING over a raw socket; true when the answer is +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('utf8');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}

/**
 * Starts `redis-server` on `options.port` (to restart one on the port it had) or on a free port,
 * bound to loopback, with persistence off, and resolves once it answers PING. Resolves null when
 * redis-server is not installed (throws under CI, see `redisMissing`).
 */
export async function startRedis(options: { port?: number } = {}): Promise<RunningRedis | null> {
  const binary = findRedisServer();
  if (binary === null) {
    if (process.env.CI) throw new Error(`redis-server is not installed, but CI must have it: ${INSTALL_HINT}`);
    return null;
  }
  // A free port can be taken between the probe and redis-server's bind: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < (options.port === undefined ? 3 : 1); attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(binary, port);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function launch(binary: string, port: number): Promise<RunningRedis> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir(), '--loglevel', 'warning'];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (spawnError) throw spawnError;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited early (${child.exitCode ?? child.signalCode}): ${output.trim()}`);
    }
    if (await ping(port)) break;
    if (Date.now() > deadline) {
      await kill(child, exited, 'SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within 10 s: ${output.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop: (signal = 'SIGKILL') => kill(child, exited, signal) };
}

async function kill(child: ChildProcess, exited: Promise<void>, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  await exited;
}

/**
 * Options for a client that fails fast while Redis is down. ioredis's defaults queue commands while
 * it reconnects (`enableOfflineQueue`) and retry each one up to 20 reconnections
 * (`maxRetriesPerRequest`), so a `take()` against a dead Redis would hang for many seconds instead
 * of failing, and the governor could not notice the outage and fall back. Here a command on a dead
 * connection rejects at once, and the client keeps reconnecting every 200 ms so it is back soon
 * after Redis is.
 */
export const FAIL_FAST: RedisOptions = { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 200 };

const open = new Set<Redis>();

/** An ioredis client to `url`, connected (resolves when ready), closed by `closeRedisClients()`. */
export async function openRedis(url: string, options: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, ...options });
  // Connection errors while a test has Redis down are expected; commands report them to their callers.
  redis.on('error', () => undefined);
  open.add(redis);
  await redis.connect();
  return redis;
}

/** Closes every client `openRedis` opened (for `afterEach`/`afterAll`). */
export async function closeRedisClients(): Promise<void> {
  const clients = [...open];
  open.clear();
  await Promise.all(
    clients.map(async (redis) => {
      try {
        if (redis.status === 'ready') await redis.quit();
      } catch {
        // the server may be gone already
      }
      redis.disconnect();
    }),
  );
}

/** A private redis-server for a `describe` block, emptied before each test, with an `admin` client to inspect it. */
export interface SharedRedis {
  server: RunningRedis;
  admin: Redis;
}

/**
 * Starts one redis-server for the enclosing `describe` (stopped after it), empties it before each test
 * and closes every client after each; `redis.server` and `redis.admin` are set while a test runs.
 */
export function useRedisServer(): SharedRedis {
  const shared = {} as SharedRedis;
  beforeAll(async () => {
    shared.server = (await startRedis())!;
  });
  afterAll(async () => {
    await closeRedisClients();
    await shared.server?.stop('SIGTERM');
  });
  beforeEach(async () => {
    shared.admin = await openRedis(shared.server.url);
    await shared.admin.flushall();
  });
  afterEach(closeRedisClients);
  return shared;
}
