/**
 * What a replica records of each card it streams, so that another can close the card if the replica dies
 * (issue 13): a journal of open cards, each with a lease its replica renews. The interface is small so
 * that any store can hold it; `MemoryJournal` (here) keeps it in the process, `RedisJournal` in Redis.
 */

/** One open card, as the replica streaming it last recorded it. */
export interface JournalEntry {
  /** The app the card belongs to (`client.appId`): a journal keeps each app's cards apart. */
  appId: string;
  cardId: string;
  /** The element the interrupted marker goes after: the one holding the end of the answer on this card. */
  elementId: string;
  /** The summary to set when the card is closed for the replica (the answer's first characters). */
  summary: string;
  /** The card's last sequence the replica knew of: the closing write starts above it. */
  sequence: number;
  /** Which replica streams the card (host, process and a random part), for logs. */
  replica: string;
  /** Elements the session would remove when it closes the card (its Stop button): the closing write removes them. */
  deleteElementIds?: string[];
}

/**
 * Where open cards are recorded. Every method may be called by several replicas at once: `claimExpired`
 * must hand each expired entry to one caller only, and `renew` must never extend an entry that was removed or
 * claimed. A claim is itself a lease: the claimer removes the entry once its card is closed, and an entry whose
 * claimer died before that can be claimed again when the claim runs out. Leases are durations; the store
 * measures them on one clock (Redis uses its own `TIME`, so replicas with skewed clocks agree).
 */
export interface CardJournal {
  /** Records the entry (or replaces the one of the same app and card) with a lease of `leaseMs` from now. */
  put(entry: JournalEntry, leaseMs: number): Promise<void>;
  /**
   * Extends the leases of the app's cards that are still recorded (and not claimed) to `leaseMs` from now;
   * resolves with the ids that were not recorded (removed, claimed, or lost by the store), which the caller
   * records again if their cards are still open (a store that cannot tell may resolve with nothing).
   */
  renew(appId: string, cardIds: readonly string[], leaseMs: number): Promise<readonly string[] | void>;
  /** Forgets the card (its session closed it). */
  remove(appId: string, cardId: string): Promise<void>;
  /**
   * Claims up to `limit` of the app's entries whose lease (or earlier claim) has run out, for `claimMs` (default
   * 60,000): nobody else gets them meanwhile, and the caller removes each once its card is closed. Also says how
   * long until the next lease or claim of the app's runs out (undefined when none is recorded).
   */
  claimExpired(appId: string, limit: number, claimMs?: number): Promise<{ entries: JournalEntry[]; nextExpiryMs: number | undefined }>;
}

interface Held {
  entry: JournalEntry;
  until: number;
  /** Claimed by a replica closing the card: renewals no longer extend it. */
  claimed: boolean;
}

/** How long a claim holds an entry when the caller names no duration. */
export const DEFAULT_CLAIM_MS = 60_000;

/**
 * The journal in this process's memory: the default, for tests and for a single process whose sessions
 * outlive a component that restarts (a worker, a plugin). It cannot outlive the process: to close the cards
 * of a replica that crashed, use `RedisJournal` or your own store implementing `CardJournal`.
 */
export class MemoryJournal implements CardJournal {
  readonly #apps = new Map<string, Map<string, Held>>();
  readonly #now: () => number;

  /** @param options.now the clock leases run on, epoch ms (default `Date.now`). */
  constructor(options: { now?: () => number } = {}) {
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('options.now must be a function');
    this.#now = options.now ?? Date.now;
  }

  put(entry: JournalEntry, leaseMs: number): Promise<void> {
    return settle(() => {
      checkEntry(entry);
      checkLease(leaseMs);
      this.#app(entry.appId).set(entry.cardId, { entry: { ...entry }, until: this.#now() + leaseMs, claimed: false });
    });
  }

  renew(appId: string, cardIds: readonly string[], leaseMs: number): Promise<string[]> {
    return settle(() => {
      checkLease(leaseMs);
      const app = this.#apps.get(appId);
      const until = this.#now() + leaseMs;
      const missing: string[] = [];
      for (const cardId of cardIds) {
        const held = app?.get(cardId);
        if (held && !held.claimed) held.until = until;
        else missing.push(cardId);
      }
      return missing;
    });
  }

  remove(appId: string, cardId: string): Promise<void> {
    return settle(() => void this.#apps.get(appId)?.delete(cardId));
  }

  claimExpired(appId: string, limit: number, claimMs = DEFAULT_CLAIM_MS): Promise<{ entries: JournalEntry[]; nextExpiryMs: number | undefined }> {
    return settle(() => {
      checkLimit(limit);
      checkLease(claimMs);
      const app = this.#apps.get(appId);
      const now = this.#now();
      const entries: JournalEntry[] = [];
      let next: number | undefined;
      for (const held of app?.values() ?? []) {
        if (held.until <= now && entries.length < limit) {
          held.claimed = true;
          held.until = now + claimMs;
          entries.push({ ...held.entry });
        }
        if (next === undefined || held.until < next) next = held.until;
      }
      return { entries, nextExpiryMs: next === undefined ? undefined : Math.max(0, next - now) };
    });
  }

  /** The entries recorded now (a copy), for inspection. */
  entries(appId?: string): JournalEntry[] {
    return [...this.#apps]
      .filter(([app]) => appId === undefined || app === appId)
      .flatMap(([, cards]) => [...cards.values()].map((held) => ({ ...held.entry })));
  }

  /** The app's entries claimed now (being closed by a replica), for inspection. */
  claimed(appId: string): string[] {
    return [...(this.#apps.get(appId) ?? [])].filter(([, held]) => held.claimed).map(([cardId]) => cardId);
  }

  #app(appId: string): Map<string, Held> {
    let app = this.#apps.get(appId);
    if (!app) this.#apps.set(appId, (app = new Map<string, Held>()));
    return app;
  }
}

/** `run()`'s value, or its exception, as a promise (the journal's methods reject, never throw). */
function settle<T>(run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

export function checkEntry(entry: JournalEntry): void {
  if (typeof entry !== 'object' || entry === null) throw new TypeError('a journal entry must be an object');
  for (const field of ['appId', 'cardId', 'elementId', 'summary', 'replica'] as const) {
    if (typeof entry[field] !== 'string') throw new TypeError(`journal entry ${field} must be a string`);
  }
  if (!Number.isSafeInteger(entry.sequence) || entry.sequence < 0) throw new TypeError('journal entry sequence must be a non-negative integer');
  if (entry.deleteElementIds !== undefined && (!Array.isArray(entry.deleteElementIds) || !entry.deleteElementIds.every((id) => typeof id === 'string'))) {
    throw new TypeError('journal entry deleteElementIds must be an array of element ids');
  }
}

export function checkLease(leaseMs: number): void {
  if (typeof leaseMs !== 'number' || !Number.isFinite(leaseMs) || leaseMs <= 0 || leaseMs > 2_147_483_647) {
    throw new RangeError(`a lease must be a number of ms above 0 and at most 2147483647; received ${String(leaseMs)}`);
  }
}

export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer; received ${String(limit)}`);
}
