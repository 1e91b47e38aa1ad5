/** The longest delay `setTimeout` keeps; a longer one fires after 1 ms (Node warns and wraps it). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Sleeps `ms`, or rejects with the signal's reason when it aborts first. A delay longer than a timer
 * can hold is slept in pieces, so it is never cut to 1 ms.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    let left = Number.isNaN(ms) ? 0 : Math.max(0, ms);
    let timer: ReturnType<typeof setTimeout>;
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const wait = () => {
      const step = Math.min(left, MAX_TIMER_MS);
      left -= step;
      timer = setTimeout(() => {
        if (left > 0) return wait();
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, step);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    wait();
  });
}
