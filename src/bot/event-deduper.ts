/**
 * Feishu delivers an event at least once: a push the bot answered too late is pushed again with the same
 * `event_id` (15 s, 5 min, 1 h, 6 h later). `EventDeduper` remembers the ids it has seen, so a redelivered
 * event is answered but not handled twice.
 */

export interface EventDeduperOptions {
  /** How many ids are remembered (the oldest are forgotten first). Default 10,000. */
  max?: number;
  /** How long an id is remembered, ms. Default 7.5 hours (the last redelivery comes about 7.1 h after the first push). */
  ttlMs?: number;
  /** The clock, ms. Default `Date.now`. */
  now?: () => number;
}

type Json = Record<string, unknown>;

export class EventDeduper {
  readonly #seen = new Map<string, number>();
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: EventDeduperOptions = {}) {
    this.#max = options.max ?? 10_000;
    this.#ttlMs = options.ttlMs ?? 7.5 * 60 * 60_000;
    this.#now = options.now ?? Date.now;
    if (!Number.isInteger(this.#max) || this.#max < 1) throw new RangeError(`options.max must be an integer >= 1; received ${String(options.max)}`);
    if (!(this.#ttlMs > 0)) throw new RangeError(`options.ttlMs must be above 0; received ${String(options.ttlMs)}`);
  }

  /**
   * True the first time an event is seen, false for a redelivery. Reads `event_id` (the SDK's flattened
   * events), `header.event_id` (the raw v2 envelope) or `uuid` (v1 events). An event with none of them is
   * always new.
   * @example
   * 'im.message.receive_v1': async (event) => { if (!deduper.first(event)) return; … }
   */
  first(event: unknown): boolean {
    const id = idOf(event);
    if (id === undefined) return true;
    const now = this.#now();
    const seenAt = this.#seen.get(id);
    if (seenAt !== undefined && now - seenAt < this.#ttlMs) return false;
    this.#seen.delete(id);
    this.#seen.set(id, now);
    while (this.#seen.size > this.#max) this.#seen.delete(this.#seen.keys().next().value!);
    return true;
  }
}

function idOf(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as Json;
  const header = typeof e.header === 'object' && e.header !== null ? (e.header as Json) : undefined;
  const id = e.event_id ?? header?.event_id ?? e.uuid;
  return typeof id === 'string' && id !== '' ? id : undefined;
}
