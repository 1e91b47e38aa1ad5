/**
 * The one owner of a card's streaming window (reference §13): streaming mode closes 10 minutes after
 * it was last opened, writes do not extend it, and settings re-opens it. The window knows when it was
 * opened, schedules a re-open `marginMs` before it closes (also while no text arrives: a model calling
 * tools for minutes), and knows when the session gave up on it (text then lands through patches).
 */
import type { Clock } from './clock.js';

export type WindowState = 'closed' | 'open' | 'dead';

export class StreamingWindow {
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #marginMs: number;
  readonly #onDue: () => void;
  #openedAt: number | null = null;
  #dead = false;
  #cancel: (() => void) | undefined;

  constructor(options: { clock: Clock; windowMs: number; marginMs: number; onDue: () => void }) {
    this.#clock = options.clock;
    this.#windowMs = options.windowMs;
    this.#marginMs = options.marginMs;
    this.#onDue = options.onDue;
  }

  get state(): WindowState {
    return this.#dead ? 'dead' : this.#openedAt === null ? 'closed' : 'open';
  }

  /** When it was last opened (on the session clock), or null while closed or unknown. */
  get openedAt(): number | null {
    return this.#openedAt;
  }

  /** Streaming mode was opened at `at` (the moment the opening request was sent: never later than the platform's). */
  opened(at: number): void {
    this.#openedAt = at;
    this.#dead = false;
    this.#schedule();
  }

  /** Streaming mode is off: closed by the session, or said closed by the platform. */
  closed(): void {
    this.#openedAt = null;
    this.#unschedule();
  }

  /** It could not be re-opened: the session writes text through element patches from now on. */
  giveUp(): void {
    this.#dead = true;
    this.closed();
  }

  /** True when a re-open is due now. */
  get due(): boolean {
    return this.#openedAt !== null && this.#clock.now() >= this.#openedAt + this.#windowMs - this.#marginMs;
  }

  /** Stops scheduling (the session ended). */
  stop(): void {
    this.#unschedule();
  }

  #schedule(): void {
    this.#unschedule();
    if (this.#openedAt === null) return;
    const wait = this.#openedAt + this.#windowMs - this.#marginMs - this.#clock.now();
    this.#cancel = this.#clock.timer(Math.max(0, wait), () => {
      this.#cancel = undefined;
      this.#onDue();
    });
  }

  #unschedule(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }
}
