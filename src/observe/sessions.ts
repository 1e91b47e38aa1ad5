/**
 * Following every session of the process for telemetry: each as it opens, its events while it runs,
 * and its end with its result (or its failure). Built on `watchSessions`, whose `ended` comes just
 * before the session emits `finish`: the end is told once that has been emitted too.
 */
import { type OpenSession, openSessions, watchSessions } from '../session/registry.js';
import type { FlushEvent, ReopenEvent, RolloverEvent, SessionResult } from '../session/events.js';

export type { OpenSession };

/** How a session ended: its result (finished or aborted), or the error that failed it. */
export interface SessionEnd {
  result: SessionResult | undefined;
  error: Error | undefined;
  /** `performance.now()` when it was first seen open. */
  openedAt: number;
}

export interface SessionFollower {
  opened?(session: OpenSession): void;
  flush?(session: OpenSession, event: FlushEvent): void;
  reopen?(session: OpenSession, event: ReopenEvent): void;
  rollover?(session: OpenSession, event: RolloverEvent): void;
  ended?(session: OpenSession, end: SessionEnd): void;
}

/**
 * Calls `follower` for each session opened from now on (and, with `current`, for those open already);
 * returns the function that stops it. A session's listeners stay until it ends, and are silent once stopped.
 */
export function followSessions(follower: SessionFollower, options: { current?: boolean } = {}): () => void {
  let active = true;
  const followed = new Map<OpenSession, SessionEnd>();
  const follow = (session: OpenSession) => {
    if (followed.has(session)) return;
    const end: SessionEnd = { result: undefined, error: undefined, openedAt: performance.now() };
    followed.set(session, end);
    if (follower.flush) session.on('flush', (event) => active && follower.flush?.(session, event));
    if (follower.reopen) session.on('reopen', (event) => active && follower.reopen?.(session, event));
    if (follower.rollover) session.on('rollover', (event) => active && follower.rollover?.(session, event));
    session.on('error', (error) => (end.error = error));
    session.on('finish', (result) => (end.result = result));
    follower.opened?.(session);
  };
  const unwatch = watchSessions({
    opened: (session) => {
      if (active) follow(session);
    },
    ended: (session) => {
      const end = followed.get(session);
      if (!end) return;
      followed.delete(session);
      // `finish` is emitted right after this, synchronously: its result is in by the next microtask.
      queueMicrotask(() => {
        if (!active) return;
        try {
          follower.ended?.(session, end);
        } catch (error) {
          process.emitWarning(error instanceof Error ? error : String(error), 'ObserverError');
        }
      });
    },
  });
  if (options.current) for (const session of openSessions()) follow(session);
  return () => {
    active = false;
    unwatch();
    followed.clear();
  };
}
