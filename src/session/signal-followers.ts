/**
 * Sessions following one caller signal (a process-wide shutdown signal given to every session) share a
 * single listener on it: the signal holds no session, finished or not, and never collects more than one
 * listener from us (so no MaxListenersExceededWarning, however many sessions run at once).
 */
const followers = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `onAbort` when `signal` aborts; returns a function that stops following it. */
export function follow(signal: AbortSignal, onAbort: () => void): () => void {
  let set = followers.get(signal);
  if (!set) {
    const created = new Set<() => void>();
    set = created;
    followers.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        const waiting = [...created];
        created.clear();
        for (const callback of waiting) callback();
      },
      { once: true },
    );
  }
  const own = set;
  own.add(onAbort);
  return () => own.delete(onAbort);
}
