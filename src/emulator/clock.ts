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

  /** Changes how fast emulated time runs relative to real time; continuous at the moment of change. */
  setSpeed(speed: number): void {
    this.#rebase();
    this.#speed = validSpeed(speed);
  }

  /** Jumps emulated time forward. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`clock.advance(ms) needs a finite, non-negative number; received ${String(ms)}`);
    }
    if (this.now() + ms > MAX_TIME) throw new RangeError(`clock.advance(${ms}) would move past the last valid date`);
    this.#rebase();
    this.#epochAtRebase += ms;
  }

  #rebase(): void {
    const now = this.now();
    this.#realAtRebase = performance.now();
    this.#epochAtRebase = now;
  }
}

/** The largest epoch time a Date can hold. */
const MAX_TIME = 8.64e15;

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
