/**
 * The caller's listeners, made unable to break a write or the close: an exception one throws becomes a
 * process warning (`SessionListenerError`). One guard per listener function, so that `off(event,
 * listener)` finds what `on`/`once` added.
 */
/** One guard per listener function, so that `off(event, listener)` finds what `on`/`once` added. */
const guards = new WeakMap<object, (...args: unknown[]) => void>();

/** The listener, made unable to throw into the session: an exception it throws becomes a process warning. */
export function guard(listener: object): (...args: unknown[]) => void {
  let guarded = guards.get(listener);
  if (!guarded) {
    const call = listener as (...args: unknown[]) => void;
    guarded = (...args: unknown[]) => {
      try {
        call(...args);
      } catch (error) {
        process.emitWarning(error instanceof Error ? error : String(error), 'SessionListenerError');
      }
    };
    guards.set(listener, guarded);
  }
  return guarded;
}
