/** One sliding window: at most `limit` events in any `windowMs` span (a log of event times, oldest first). */
class SlidingWindow {
  readonly #times: number[] = [];
  #head = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Milliseconds until one more event fits; 0 when it fits now. */
  waitMs(now: number): number {
    this.#prune(now);
    if (this.size < this.limit) return 0;
    return this.#times[this.#head]! + this.windowMs - now;
  }

  record(now: number): void {
    this.#times.push(now);
  }

  get size(): number {
    return this.#times.length - this.#head;
  }

  #prune(now: number): void {
    while (this.#head < this.#times.length && this.#times[this.#head]! <= now - this.windowMs) this.#head++;
    if (this.#head > 64 && this.#head * 2 > this.#times.length) {
      this.#times.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

/** A limit to apply to one request: the key names what is counted (an app's API, a card, a message). */
export interface LimitSpec {
  key: string;
  limit: number;
  windowMs: number;
}

export type LimitVerdict = { ok: true } | { ok: false; spec: LimitSpec; resetMs: number };

/**
 * Sliding-window rate limits over real monotonic time. A request passes only if every window it
 * touches has room; then it is counted in all of them. Rejected requests are not counted, so a client
 * that waits for the reset it was told gets through.
 */
export class RateLimiter {
  readonly #windows = new Map<string, SlidingWindow>();
  #checksSinceSweep = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  take(specs: LimitSpec[]): LimitVerdict {
    const now = this.now();
    const windows = specs.map((spec) => this.#window(spec));
    for (const [i, window] of windows.entries()) {
      const wait = window.waitMs(now);
      if (wait > 0) return { ok: false, spec: specs[i]!, resetMs: wait };
    }
    for (const window of windows) window.record(now);
    if (++this.#checksSinceSweep >= 10_000) this.#sweep(now);
    return { ok: true };
  }

  clear(): void {
    this.#windows.clear();
  }

  #window(spec: LimitSpec): SlidingWindow {
    const id = `${spec.key}|${spec.windowMs}`;
    let window = this.#windows.get(id);
    if (!window || window.limit !== spec.limit) {
      window = new SlidingWindow(spec.limit, spec.windowMs);
      this.#windows.set(id, window);
    }
    return window;
  }

  /** Forgets windows that hold no events, so keys for finished cards do not accumulate. */
  #sweep(now: number): void {
    this.#checksSinceSweep = 0;
    for (const [id, window] of this.#windows) {
      window.waitMs(now);
      if (window.size === 0) this.#windows.delete(id);
    }
  }
}
