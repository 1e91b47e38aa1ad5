/**
 * What the demo shows while it streams: a `Tracker` per conversation (characters, writes, lag, time to
 * first character) and a `LiveLine` that redraws one status line in place on a TTY, or prints one line
 * a second when stdout is a pipe or a file.
 */
import type { FlushEvent, SessionTransport } from '../src/index.js';
import { truncate } from './terminal.js';

/** Deltas appended to one element, oldest first, with the time each arrived. */
class Pending {
  readonly #ends: number[] = [];
  readonly #times: number[] = [];
  #head = 0;
  /** Length of everything appended (UTF-16 units, as flush events count). */
  length = 0;
  /** Length the card has. */
  landed = 0;

  append(text: string, at: number): void {
    this.length += text.length;
    this.#ends.push(this.length);
    this.#times.push(at);
  }

  /** The card now holds `length` units: every delta inside it has landed; returns the oldest one's wait. */
  land(length: number, at: number): number {
    this.landed = Math.max(this.landed, length);
    let oldest = 0;
    while (this.#head < this.#ends.length && this.#ends[this.#head]! <= this.landed) {
      oldest = Math.max(oldest, at - this.#times[this.#head]!);
      this.#head++;
    }
    return oldest;
  }

  /** When the oldest delta that has not landed arrived, or undefined when the card is caught up. */
  get oldest(): number | undefined {
    return this.#head < this.#times.length ? this.#times[this.#head] : undefined;
  }
}

/** One conversation's live numbers. Times are `performance.now()` milliseconds. */
export class Tracker {
  readonly startedAt = performance.now();
  /** The model's first token (answer or reasoning). */
  firstTokenAt: number | undefined;
  /** The first character on the card. */
  firstCharAt: number | undefined;
  endedAt: number | undefined;
  /** How the card streams, once the session started (a message card has no sequence to show). */
  transport: SessionTransport | undefined;
  /** Writes the card accepted so far: text writes and re-opens (the final summary counts every write). */
  writes = 0;
  retries = 0;
  reopens = 0;
  /** Re-opens after the platform said streaming mode had closed (the others were scheduled in time). */
  expiredReopens = 0;
  sequence = 0;
  /** The longest any delta waited between arriving from the model and landing on the card. */
  maxLagMs = 0;
  readonly #elements = new Map<string, Pending>();

  constructor(readonly trackedElements: readonly string[]) {
    for (const id of trackedElements) this.#elements.set(id, new Pending());
  }

  /** A delta for `elementId` arrived from the model (and is being appended to the session). */
  appended(elementId: string, text: string): void {
    const now = performance.now();
    this.firstTokenAt ??= now;
    this.#elements.get(elementId)?.append(text, now);
  }

  flushed(event: FlushEvent): void {
    const now = performance.now();
    this.writes++;
    this.sequence = Math.max(this.sequence, event.sequence);
    const pending = this.#elements.get(event.elementId);
    if (!pending) return;
    if (event.length > 0) this.firstCharAt ??= now;
    this.maxLagMs = Math.max(this.maxLagMs, pending.land(event.length, now));
  }

  /** Characters appended to an element so far. */
  chars(elementId: string): number {
    return this.#elements.get(elementId)?.length ?? 0;
  }

  /** How long the oldest text that has not reached the card has been waiting; 0 when the card is caught up. */
  lag(now = performance.now()): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const pending of this.#elements.values()) oldest = Math.min(oldest, pending.oldest ?? Number.POSITIVE_INFINITY);
    return Number.isFinite(oldest) ? Math.max(0, now - oldest) : 0;
  }

  get done(): boolean {
    return this.endedAt !== undefined;
  }
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface LiveLineOptions {
  /** Redraw in place (a TTY) or print a line every `plainIntervalMs`. */
  tty: boolean;
  /** Terminal width, for cutting the line on a TTY. */
  columns?: number;
  /** The line, given a spinner frame. */
  render: (spinner: string) => string;
  ttyIntervalMs?: number;
  plainIntervalMs?: number;
}

/** A status line kept at the bottom of the output while other lines are printed above it. */
export class LiveLine {
  readonly #out: NodeJS.WritableStream;
  readonly #o: LiveLineOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #frame = 0;
  #drawn = false;

  constructor(out: NodeJS.WritableStream, options: LiveLineOptions) {
    this.#out = out;
    this.#o = options;
  }

  start(): void {
    if (this.#timer) return;
    if (this.#o.tty) {
      this.#out.write('\u001b[?25l'); // hide the cursor while redrawing
      this.#draw();
      this.#timer = setInterval(() => this.#draw(), this.#o.ttyIntervalMs ?? 80);
    } else {
      this.#timer = setInterval(() => this.#out.write(`${this.#o.render('·')}\n`), this.#o.plainIntervalMs ?? 1000);
    }
    this.#timer.unref();
  }

  /** Prints a permanent line above the status line. */
  log(line: string): void {
    this.#clear();
    this.#out.write(`${line}\n`);
    if (this.#timer && this.#o.tty) this.#draw();
  }

  /** Stops redrawing and removes the status line (a TTY) or prints it one last time (otherwise). */
  stop(): void {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#o.tty) {
      this.#clear();
      this.#out.write('\u001b[?25h');
    } else {
      this.#out.write(`${this.#o.render('·')}\n`);
    }
  }

  #draw(): void {
    const frame = SPINNER[this.#frame++ % SPINNER.length]!;
    const columns = Math.max(20, (this.#o.columns ?? 100) - 1);
    this.#out.write(`\r\u001b[2K${truncateAnsi(this.#o.render(frame), columns)}`);
    this.#drawn = true;
  }

  #clear(): void {
    if (this.#o.tty && this.#drawn) this.#out.write('\r\u001b[2K');
    this.#drawn = false;
  }
}

/** Cuts a line that may hold colour codes: cut the plain text, drop the colours if it had to be cut. */
function truncateAnsi(line: string, columns: number): string {
  // eslint-disable-next-line no-control-regex
  const plain = line.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
  const cut = truncate(plain, columns);
  return cut === plain ? line : cut;
}
