/**
 * The clock a session measures the streaming window on and schedules its re-open with. The default is
 * real time; a test or the demo passes the emulator's clock (`emulator.clock`), which runs faster or
 * jumps, so a session crosses a 10-minute window in seconds without estimating how fast time runs.
 */
import { MAX_TIMER_MS } from '../governor/index.js';

export interface Clock {
  /** Current time, epoch milliseconds. */
  now(): number;
  /** Calls `callback` once this clock has advanced by `ms`; returns a function that cancels it. The timer must not keep the process alive. */
  timer(ms: number, callback: () => void): () => void;
}


/** Real time: `Date.now` and unref'd timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  timer(ms, callback) {
    const due = Date.now() + ms;
    let handle: ReturnType<typeof setTimeout>;
    const arm = () => {
      const left = due - Date.now();
      handle = setTimeout(left > MAX_TIMER_MS ? arm : callback, Math.max(0, Math.min(left, MAX_TIMER_MS)));
      handle.unref?.();
    };
    arm();
    return () => clearTimeout(handle);
  },
};

export function isClock(value: unknown): value is Clock {
  const clock = value as Partial<Clock> | null;
  return typeof clock === 'object' && clock !== null && typeof clock.now === 'function' && typeof clock.timer === 'function';
}
