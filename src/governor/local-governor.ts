/**
 * An in-process governor: sliding windows per API (per second and per minute) and a minimum
 * spacing per card, each with a safety margin, because writes are counted by the platform when they
 * arrive, and arrival times jitter by the network latency. Not fair between cards under contention:
 * that is the shared governor's job.
 */
import type { Governor, PermitRequest } from './governor.js';
import { type Limits, resolveLimits } from './limits.js';

export interface LocalGovernorOptions {
  limits?: Partial<Limits>;
  /** Added to every window, so jitter in arrival cannot squeeze one call too many into it. Default 100 ms. */
  safetyMarginMs?: number;
  /** Monotonic clock in ms. Default `performance.now`. */
  now?: () => number;
}

class Window {
  readonly #times: number[] = [];

  constructor(
    readonly limit: number,
    readonly spanMs: number,
  ) {}

  /** Ms until one more call fits. */
  waitMs(now: number): number {
    while (this.#times.length > 0 && this.#times[0]! <= now - this.spanMs) this.#times.shift();
    return this.#times.length < this.limit ? 0 : this.#times[0]! + this.spanMs - now;
  }

  record(now: number): void {
    this.#times.push(now);
  }
}

export class LocalGovernor implements Governor {
  readonly limits: Limits;
  readonly #margin: number;
  readonly #now: () => number;
  readonly #apis = new Map<string, { second: Window; minute: Window; pausedUntil: number }>();
  readonly #lastCardWrite = new Map<string, number>();

  constructor(options: LocalGovernorOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.#margin = options.safetyMarginMs ?? 100;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Each waiter sleeps until its constraints may allow it, then checks and records in one tick, so no
   * two waiters can take the same slot and a card waiting on its own spacing never blocks other cards.
   */
  acquire(request: PermitRequest): Promise<void> {
    return this.#waitForRoom(request);
  }

  pause(api: string, ms: number): void {
    const state = this.#api(api);
    state.pausedUntil = Math.max(state.pausedUntil, this.#now() + ms);
  }

  async #waitForRoom(request: PermitRequest): Promise<void> {
    for (;;) {
      request.signal?.throwIfAborted();
      const now = this.#now();
      const wait = this.#waitMs(request, now);
      if (wait <= 0) {
        this.#record(request, now);
        return;
      }
      await delay(wait, request.signal);
    }
  }

  #waitMs(request: PermitRequest, now: number): number {
    const api = this.#api(request.api);
    let wait = Math.max(api.pausedUntil - now, api.second.waitMs(now), api.minute.waitMs(now));
    if (request.cardId !== undefined) {
      const last = this.#lastCardWrite.get(request.cardId);
      if (last !== undefined) wait = Math.max(wait, last + this.#cardSpacing() - now);
    }
    return wait;
  }

  #record(request: PermitRequest, now: number): void {
    const api = this.#api(request.api);
    api.second.record(now);
    api.minute.record(now);
    if (request.cardId !== undefined) this.#lastCardWrite.set(request.cardId, now);
    if (this.#lastCardWrite.size > 10_000) this.#forgetIdleCards(now);
  }

  /** Evenly spaced writes: `cardQps` per second, stretched by the safety margin. */
  #cardSpacing(): number {
    return (1000 + this.#margin) / this.limits.cardQps;
  }

  #api(name: string) {
    let state = this.#apis.get(name);
    if (!state) {
      state = {
        second: new Window(this.limits.apiQps, 1000 + this.#margin),
        minute: new Window(this.limits.apiQpm, 60_000 + this.#margin),
        pausedUntil: 0,
      };
      this.#apis.set(name, state);
    }
    return state;
  }

  #forgetIdleCards(now: number): void {
    for (const [cardId, last] of this.#lastCardWrite) {
      if (now - last > this.#cardSpacing()) this.#lastCardWrite.delete(cardId);
    }
  }
}

/** Sleeps `ms`, or rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
