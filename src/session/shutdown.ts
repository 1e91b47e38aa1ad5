/**
 * Closing every open card before the process exits (issue 13): `shutdown()` refuses new sessions, lets the
 * answers running finish until a deadline, then aborts the rest (their cards end with the interrupted
 * marker), and resolves once every card is closed, so a deploy never leaves a card on "[生成中...]".
 */
import { openSessions } from './registry.js';

export interface ShutdownOptions {
  /** How long running answers may go on before they are aborted, ms. Default 10,000. */
  deadlineMs?: number;
  /** Kept as the aborted sessions' `abortReason`. Default an Error "shutting down". */
  reason?: unknown;
  /** Only this client's sessions (and only it refuses new ones). Default every session of the process. */
  client?: object;
}

export interface ShutdownResult {
  /** Sessions whose answer ended whole (by themselves, before the deadline or while the close was under way). */
  finished: number;
  /** Sessions aborted: at the deadline, or earlier by their callers. */
  aborted: number;
  /** Sessions that ended on an error. */
  failed: number;
}

let refusingAll = false;
const refusing = new WeakSet<object>();

/** True while `shutdown()` (of every client, or of this one) refuses new sessions. */
export function refusesNewSessions(client: object): boolean {
  return refusingAll || refusing.has(client);
}

/**
 * Refuses new sessions, waits for the open ones to end until `deadlineMs`, aborts the rest and resolves
 * once every card is closed.
 * @example
 * process.once('SIGTERM', () => void shutdown({ deadlineMs: 8000 }).then(() => process.exit(0)));
 */
export async function shutdown(options: ShutdownOptions = {}): Promise<ShutdownResult> {
  if (typeof options !== 'object' || options === null) throw new TypeError('shutdown() takes an options object');
  const deadlineMs = options.deadlineMs ?? 10_000;
  if (typeof deadlineMs !== 'number' || !(deadlineMs >= 0) || deadlineMs > 2_147_483_647) {
    throw new RangeError(`options.deadlineMs must be a number of ms from 0 to 2147483647; received ${String(deadlineMs)}`);
  }
  if (options.client === undefined) refusingAll = true;
  else refusing.add(options.client);
  const sessions = openSessions(options.client);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), deadlineMs)));
  const running = sessions.map((session) => ({ session, done: false }));
  for (const entry of running) void entry.session.ended.then(() => (entry.done = true));
  await Promise.race([Promise.all(sessions.map((session) => session.ended)), deadline]);
  clearTimeout(timer);
  const left = running.filter((entry) => !entry.done);
  const reason = options.reason ?? new Error('shutting down');
  await Promise.all(left.map(({ session }) => session.abort(reason).catch(() => undefined)));
  await Promise.all(left.map(({ session }) => session.ended));
  const count = (state: string) => sessions.filter((session) => session.state === state).length;
  return { finished: count('finished'), aborted: count('aborted'), failed: count('failed') };
}

/** Lets new sessions start again after a `shutdown()` (tests, or a process that keeps serving). */
export function resumeSessions(client?: object): void {
  if (client === undefined) refusingAll = false;
  else refusing.delete(client);
}
