/**
 * Per-card (and per-message) maps that cannot grow without end: a bot runs for weeks and writes to
 * millions of cards, most of which it never hears of again (a session that ends calls `forget`, but
 * nothing relies on it).
 */

/** Keeps the `capacity` most recently touched keys; touching the oldest one beyond that drops it. */
export class RecentMap<V> {
  readonly #map = new Map<string, V>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.#map.size;
  }

  get(key: string): V | undefined {
    return this.#map.get(key);
  }

  /** Sets `key` as the most recent, dropping the least recent key when over capacity. */
  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.capacity) this.#map.delete(this.#map.keys().next().value!);
  }

  /** The value of `key` (made the most recent), created by `create` when absent. */
  touch(key: string, create: () => V): V {
    const value = this.#map.get(key) ?? create();
    this.set(key, value);
    return value;
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  entries(): IterableIterator<[string, V]> {
    return this.#map.entries();
  }
}

/**
 * Times until which a card or a message is held (its spacing), dropped once passed: swept whenever the
 * map has doubled since the last sweep, so it stays within about twice the keys held at once.
 */
export class Deadlines {
  readonly #until = new Map<string, number>();
  #sweepAt = 1024;

  get size(): number {
    return this.#until.size;
  }

  /** How long `key` is still held at `now`, ms; 0 when it is not. */
  remaining(key: string, now: number): number {
    const until = this.#until.get(key);
    return until === undefined ? 0 : Math.max(0, until - now);
  }

  hold(key: string, until: number, now: number): void {
    this.#until.set(key, until);
    if (this.#until.size >= this.#sweepAt) {
      this.sweep(now);
      this.#sweepAt = Math.max(1024, 2 * this.#until.size);
    }
  }

  /** Drops every deadline passed at `now`. */
  sweep(now: number): void {
    for (const [key, until] of this.#until) if (until <= now) this.#until.delete(key);
  }

  /** Drops `key` unless it is still held at `now` (a hold protects the next write, whoever makes it). */
  release(key: string, now: number): void {
    if (this.remaining(key, now) === 0) this.#until.delete(key);
  }
}

/**
 * The times of the last `size` writes to each card or message, each moved to when its answer came
 * back. The platform counts a write when it arrives, some time between its permit and its answer, so
 * the next write may leave only once the `size`-th latest answer is a whole window old: however late a
 * slow write arrived, no window of the platform's holds more than `size`. Swept like `Deadlines`.
 */
export class AnswerWindows {
  readonly #times = new Map<string, number[]>();
  #sweepAt = 1024;

  /** `windowOf(key)`: how many writes one window of `key` holds, and how long it lasts, ms. */
  constructor(readonly windowOf: (key: string) => { size: number; spanMs: number }) {}

  /** Keys kept. */
  get keys(): number {
    return this.#times.size;
  }

  /** How long `key`'s next write must still wait at `now`, ms; 0 when it may go. */
  remaining(key: string, now: number): number {
    const times = this.#times.get(key);
    const { size, spanMs } = this.windowOf(key);
    if (times === undefined || times.length < size) return 0;
    return Math.max(0, times[0]! + spanMs - now);
  }

  /** A write to `key` leaves at `now`. */
  sent(key: string, now: number): void {
    const times = this.#times.get(key) ?? [];
    times.push(now);
    while (times.length > this.windowOf(key).size) times.shift();
    this.#times.set(key, times);
    if (this.#times.size >= this.#sweepAt) {
      this.sweep(now);
      this.#sweepAt = Math.max(1024, 2 * this.#times.size);
    }
  }

  /** The latest write to `key` got its answer at `now`: it was counted no later than that. */
  answered(key: string, now: number): void {
    const times = this.#times.get(key);
    if (times !== undefined && times.length > 0) times[times.length - 1] = Math.max(times.at(-1)!, now);
  }

  /** Drops every key whose latest write is a whole window old at `now`. */
  sweep(now: number): void {
    for (const [key, times] of this.#times) if (times.at(-1)! + this.windowOf(key).spanMs <= now) this.#times.delete(key);
  }

  /** Drops `key` unless its window still holds the next write at `now`. */
  release(key: string, now: number): void {
    if (this.remaining(key, now) === 0) this.#times.delete(key);
  }
}
