/**
 * Each API's calls from this process over the platform's one-second window, each counted from its answer once it
 * has one. The store counts a call when its permit is granted, but the platform counts it when it arrives: a
 * permit granted on time and sent late (a busy event loop, a slow connection) lands nearer the next ones than
 * the store spaced it, and a window of the platform's may then hold one call too many (99991400). A call that
 * got its answer arrived by then, so the next call may leave only once the `size`-th latest of them is a whole
 * window old.
 */

/**
 * A permit never answered (its caller does not report answers, or the request was never sent) is counted from
 * its grant, as the store counts it, and is kept at most this long waiting for an answer that moves it.
 */
const UNANSWERED_KEPT_MS = 60_000;
/** Unanswered permits kept per API at most (the oldest dropped first): a caller that never answers costs nothing. */
const UNANSWERED_KEPT = 1024;

class ArrivalWindow {
  /** Grant times of permits not answered yet, oldest first. */
  readonly #pending: number[] = [];
  /** Answer times, oldest first. */
  readonly #answered: number[] = [];

  constructor(
    readonly size: number,
    readonly spanMs: number,
  ) {}

  granted(now: number): void {
    this.#pending.push(now);
    if (this.#pending.length > UNANSWERED_KEPT) this.#pending.shift();
  }

  /**
   * One permit got its answer. Answers do not say which permit they close, and need not: the oldest one waiting
   * is moved, which leaves the later grant times counting (the latest window of the two choices).
   */
  answered(now: number): void {
    if (this.#pending.length === 0) return;
    this.#pending.shift();
    this.#answered.push(now);
  }

  /** How long the next call must wait at `now`, ms; 0 when fewer than `size` calls are inside a window. */
  remaining(now: number): number {
    const since = now - this.spanMs;
    while (this.#answered.length > 0 && this.#answered[0]! <= since) this.#answered.shift();
    while (this.#pending.length > 0 && this.#pending[0]! <= now - UNANSWERED_KEPT_MS) this.#pending.shift();
    const inside = [...this.#answered, ...this.#pending.filter((at) => at > since)];
    if (inside.length < this.size) return 0;
    inside.sort((a, b) => a - b);
    return Math.max(0, inside[inside.length - this.size]! + this.spanMs - now);
  }

  /** True when nothing is kept: the window may be dropped. */
  get idle(): boolean {
    return this.#pending.length === 0 && this.#answered.length === 0;
  }
}

/** One `ArrivalWindow` per API name, each `size` calls per `spanMs`. */
export class ArrivalWindows {
  readonly #apis = new Map<string, ArrivalWindow>();

  constructor(
    readonly size: number,
    readonly spanMs: number,
  ) {}

  remaining(api: string, now: number): number {
    const window = this.#apis.get(api);
    if (window === undefined) return 0;
    const wait = window.remaining(now);
    if (window.idle) this.#apis.delete(api);
    return wait;
  }

  granted(api: string, now: number): void {
    let window = this.#apis.get(api);
    if (window === undefined) this.#apis.set(api, (window = new ArrivalWindow(this.size, this.spanMs)));
    window.granted(now);
  }

  answered(api: string, now: number): void {
    this.#apis.get(api)?.answered(now);
  }
}
