/**
 * Each API's calls from this process over the platform's one-second window, each counted from when the platform
 * may have counted it. The store counts a call when its permit is granted, but the platform counts it when it
 * arrives: a permit granted on time and sent late (a busy event loop, a slow connection) lands nearer the next
 * ones than the store spaced it, and a window of the platform's may then hold one call too many (99991400).
 *
 * A call whose caller reports its answer (`PermitRequest.reportsAnswer`, as a session does) may arrive at any
 * moment until that answer: it counts as arriving now while in flight, and from its answer once answered. A
 * call nobody will answer for counts from its grant, as the store counts it.
 */

/** The longest a call waits for its answer before it counts from its grant again (a request that never settles). */
export const IN_FLIGHT_KEPT_MS = 120_000;
/** Calls kept per API at most, the oldest dropped first: however many permits are never answered, memory is flat. */
const KEPT = 4096;

/** One call, as the window counts it. */
export interface Arrival {
  readonly grantedAt: number;
  /** True while its answer is awaited (its caller reports answers). */
  inFlight: boolean;
  /** When its answer came, if it came. */
  answeredAt: number | undefined;
}

class ArrivalWindow {
  /** In grant order. */
  #calls: Arrival[] = [];

  constructor(
    readonly size: number,
    readonly spanMs: number,
  ) {}

  granted(now: number, awaited: boolean): Arrival {
    const call: Arrival = { grantedAt: now, inFlight: awaited, answeredAt: undefined };
    this.#calls.push(call);
    if (this.#calls.length > KEPT) this.#calls.shift();
    return call;
  }

  /** How long the next call must wait at `now`, ms; 0 when fewer than `size` calls may be inside a window. */
  remaining(now: number): number {
    // Fewer calls kept than a window holds: nothing to count (the common case below the budget, on every grant).
    if (this.#calls.length < this.size) return 0;
    const since = now - this.spanMs;
    const times: number[] = [];
    this.#calls = this.#calls.filter((call) => {
      const at = countedAt(call, now);
      if (at <= since) return false;
      times.push(at);
      return true;
    });
    if (times.length < this.size) return 0;
    times.sort((a, b) => a - b);
    return Math.max(1, times[times.length - this.size]! + this.spanMs - now);
  }

  get idle(): boolean {
    return this.#calls.length === 0;
  }
}

/** When the platform may have counted `call`, as late as it may be: now for a call in flight. */
function countedAt(call: Arrival, now: number): number {
  if (call.answeredAt !== undefined) return call.answeredAt;
  if (call.inFlight && now - call.grantedAt < IN_FLIGHT_KEPT_MS) return now;
  return call.grantedAt;
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

  /** A call of `api` was granted at `now`; `awaited`: its answer will be reported (`answered`). */
  granted(api: string, now: number, awaited: boolean): Arrival {
    let window = this.#apis.get(api);
    if (window === undefined) this.#apis.set(api, (window = new ArrivalWindow(this.size, this.spanMs)));
    return window.granted(now, awaited);
  }

  /** `call` got its answer at `now`: it arrived by then. */
  answered(call: Arrival, now: number): void {
    if (call.answeredAt !== undefined) return;
    call.answeredAt = Math.max(call.grantedAt, now);
    call.inFlight = false;
  }
}
