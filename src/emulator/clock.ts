/**
 * The emulator's clock. Lifetimes (tokens, the streaming window, card expiry, uuid windows,
 * interaction locks) are measured on it, so tests can cross a 10-minute streaming window in
 * seconds by speeding it up or jumping it forward. Rate-limit windows deliberately use real
 * monotonic time instead: clients pace themselves in real time, and a sped-up clock must not
 * make the emulator look stricter or looser than Feishu.
 */
export class EmulatorClock {
  #epochAtRebase: number;
  #realAtRebase: number;
  #speed: number;
  /** Pending timers, in creation order (the tie-break when two fall due at the same emulated instant). */
  readonly #timers = new Set<PendingTimer>();
  /** One real timer, armed for the earliest pending due time. */
  #realTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: { speed?: number; start?: number } = {}) {
    this.#epochAtRebase = options.start ?? Date.now();
    this.#realAtRebase = performance.now();
    this.#speed = validSpeed(options.speed ?? 1);
  }

  /** Current emulated time, epoch milliseconds. */
  now(): number {
    return this.#epochAtRebase + (performance.now() - this.#realAtRebase) * this.#speed;
  }

  get speed(): number {
    return this.#speed;
  }

  /** Changes how fast emulated time runs relative to real time; continuous at the moment of change. Pending timers follow. */
  setSpeed(speed: number): void {
    const valid = validSpeed(speed);
    this.#rebase();
    this.#speed = valid;
    this.#arm();
  }

  /** Jumps emulated time forward. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`clock.advance(ms) needs a finite, non-negative number; received ${String(ms)}`);
    }
    if (this.now() + ms > MAX_TIME) throw new RangeError(`clock.advance(${ms}) would move past the last valid date`);
    this.#rebase();
    this.#epochAtRebase += ms;
    this.#fireDue();
  }

  /**
   * Calls `callback` once emulated time has advanced by `ms` from now, however it gets there: running at
   * the current speed, after `setSpeed`, or through `advance` (which fires every timer it makes due, in
   * due order, before it returns). Returns a function that cancels the timer; calling it after the timer
   * fired does nothing. The real timer behind it is unref'd, so a pending timer never keeps the process alive.
   *
   * @example
   * const cancel = clock.timer(60_000, () => flush());
   * clock.advance(60_000); // flush() has run
   */
  timer(ms: number, callback: () => void): () => void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`clock.timer(ms) needs a finite, non-negative number; received ${String(ms)}`);
    }
    if (typeof callback !== 'function') {
      throw new TypeError(`clock.timer(ms, callback) needs a function; received ${typeof callback}`);
    }
    const pending: PendingTimer = { dueAt: this.now() + ms, callback, done: false };
    this.#timers.add(pending);
    this.#arm();
    return () => {
      // Also stops a timer that is due in the batch `advance` is firing, if an earlier callback cancels it.
      pending.done = true;
      if (this.#timers.delete(pending)) this.#arm();
    };
  }

  /** Calls, in due order, every pending timer whose time has come; then re-arms for the rest. */
  #fireDue(): void {
    const now = this.now();
    const due = [...this.#timers].filter((pending) => pending.dueAt <= now).sort((a, b) => a.dueAt - b.dueAt);
    for (const pending of due) this.#timers.delete(pending);
    this.#arm();
    // Timers scheduled by these callbacks wait for a real timer even when due at once, so a callback that
    // schedules itself again cannot turn this loop into an endless one.
    let failure: { error: unknown } | undefined;
    for (const pending of due) {
      if (pending.done) continue;
      pending.done = true;
      try {
        pending.callback();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }

  /** (Re)arms the single real timer for the earliest pending timer, at the current speed. */
  #arm(): void {
    if (this.#realTimer !== undefined) clearTimeout(this.#realTimer);
    this.#realTimer = undefined;
    let earliest = Infinity;
    for (const pending of this.#timers) earliest = Math.min(earliest, pending.dueAt);
    if (earliest === Infinity) return;
    const realDelay = Math.max(0, Math.ceil((earliest - this.now()) / this.#speed));
    // Longer delays overflow Node's timer (it would fire after 1 ms); the timer simply re-arms when it wakes early.
    this.#realTimer = setTimeout(() => {
      this.#realTimer = undefined;
      this.#fireDue();
    }, Math.min(realDelay, MAX_REAL_DELAY));
    this.#realTimer.unref();
  }

  #rebase(): void {
    const now = this.now();
    this.#realAtRebase = performance.now();
    this.#epochAtRebase = now;
  }
}

interface PendingTimer {
  readonly dueAt: number;
  readonly callback: () => void;
  /** Fired or cancelled. */
  done: boolean;
}

/** The largest epoch time a Date can hold. */
const MAX_TIME = 8.64e15;
/** The longest delay Node's setTimeout accepts (2^31 - 1 ms, about 24.8 days). */
const MAX_REAL_DELAY = 2 ** 31 - 1;

/** Throws what `setSpeed(speed)` / `advance(ms)` would, without changing anything. */
export function checkClockChange(clock: EmulatorClock, change: { speed?: number; advanceMs?: number }): void {
  if (change.speed !== undefined) validSpeed(change.speed);
  if (change.advanceMs !== undefined) {
    const ms = change.advanceMs;
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advanceMs must be a finite number >= 0; received ${String(ms)}`);
    if (clock.now() + ms > MAX_TIME) throw new RangeError(`advanceMs ${ms} would move past the last valid date`);
  }
}

function validSpeed(speed: number): number {
  if (!Number.isFinite(speed) || speed <= 0) {
    throw new RangeError(`clock speed must be a finite number above 0; received ${String(speed)}`);
  }
  return speed;
}
