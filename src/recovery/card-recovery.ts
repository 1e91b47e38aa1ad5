/**
 * Cards of crashed replicas (issue 13). A `CardRecovery` records each card its client's sessions stream in
 * a journal, with a lease it renews while the session runs and removes once the session has closed the card.
 * It also sweeps the journal, at start and then whenever a lease is due to run out: a card whose lease ran
 * out belongs to a replica that stopped renewing (it crashed, or was killed), and is closed here, with the
 * interrupted marker after the text as last written, streaming off and its summary set.
 */
import { hostname } from 'node:os';
import { EventEmitter } from 'eventemitter3';
import { FeishuClient, INT32_MAX } from '../client/index.js';
import { type Governor, defaultGovernor } from '../governor/index.js';
import type { RetryEvent } from '../session/events.js';
import { type OpenSession, openSessions, watchSessions } from '../session/registry.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../session/retry.js';
import { summarize } from '../session/summary.js';
import { type RecoveredCard, closeOrphan } from './close-orphan.js';
import { type CardJournal, type JournalEntry, MemoryJournal, checkLease } from './journal.js';

export interface CardRecoveryOptions {
  /** Where open cards are recorded. Default a `MemoryJournal` of this recovery's own (see the README). */
  journal?: CardJournal;
  /** The governor closing writes go through. Default the client's (`defaultGovernor(client)`). */
  governor?: Governor;
  /** How long a card stays recorded without a renewal before another replica closes it, ms. Default 30,000. */
  leaseMs?: number;
  /** How often leases are renewed, ms. Default a third of `leaseMs`. */
  renewEveryMs?: number;
  /** The longest time between two sweeps, ms (a sweep also runs as the next known lease runs out). Default half of `leaseMs`. */
  sweepEveryMs?: number;
  /** Markdown added after the text of a card closed for a crashed replica. Default `_(interrupted)_`; `''`: none. */
  marker?: string;
  /** The app the journal's entries are kept under. Default `client.appId` (`<appId>/<tenantKey>` for a store app's tenant). */
  appId?: string;
  /** This replica's name in the journal. Default host, pid and a random part. */
  replica?: string;
  /** Retries of the closing writes (as a session's `retry`). */
  retry?: Partial<RetryPolicy>;
}

export interface CardRecoveryEvents {
  /** A card of a replica that stopped renewing its lease was closed (or found gone). */
  recovered: [RecoveredCard];
  /** A closing write is retried. */
  retry: [RetryEvent & { cardId: string }];
  /** The journal failed, or a card could not be closed (it is recorded again and tried at a later sweep). */
  error: [Error];
}

/** The platform's limit of writes to one card (reference §16): the sequences a session can use in a second. */
const CARD_WRITES_PER_SECOND = 10;

/** Cards claimed from the journal in one go: each a write, so the governor paces them. */
const CLAIM_BATCH = 100;

interface Tracked {
  /** The entry as last recorded (undefined until the first put landed). */
  recorded: JournalEntry | undefined;
  /** The journal's operations for the session, one at a time and in order. */
  queue: Promise<void>;
  ended: boolean;
}

export class CardRecovery extends EventEmitter<CardRecoveryEvents> {
  readonly journal: CardJournal;
  readonly replica: string;
  readonly appId: string;
  readonly #client: FeishuClient;
  readonly #governor: Governor;
  readonly #leaseMs: number;
  readonly #renewEveryMs: number;
  readonly #sweepEveryMs: number;
  readonly #marker: string;
  readonly #retry: RetryPolicy;
  readonly #tracked = new Map<OpenSession, Tracked>();
  #unwatch: (() => void) | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweeping: Promise<RecoveredCard[]> | undefined;
  #running = false;

  constructor(client: FeishuClient, options: CardRecoveryOptions = {}) {
    super();
    if (!(client instanceof FeishuClient)) throw new TypeError('new CardRecovery(client) needs a FeishuClient');
    if (typeof options !== 'object' || options === null) throw new TypeError('new CardRecovery(client, options): options must be an object');
    // A store app's tenants keep their cards apart: a tenant's token cannot close another tenant's card.
    const appId = options.appId ?? (client.tenantKey === undefined ? client.appId : `${client.appId}/${client.tenantKey}`);
    if (typeof appId !== 'string' || appId === '') throw new TypeError('options.appId is needed when the client has no appId');
    const leaseMs = options.leaseMs ?? 30_000;
    checkLease(leaseMs);
    const renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(leaseMs / 3));
    const sweepEveryMs = options.sweepEveryMs ?? Math.max(1, Math.floor(leaseMs / 2));
    if (!(renewEveryMs > 0) || renewEveryMs >= leaseMs) throw new RangeError(`options.renewEveryMs must be above 0 and below leaseMs (${leaseMs}); received ${String(renewEveryMs)}`);
    if (!(sweepEveryMs > 0) || sweepEveryMs > 2_147_483_647) throw new RangeError(`options.sweepEveryMs must be a number of ms above 0; received ${String(sweepEveryMs)}`);
    const marker = options.marker ?? '_(interrupted)_';
    if (typeof marker !== 'string' || marker.length > 1000) throw new TypeError('options.marker must be a string of at most 1000 characters');
    const replica = options.replica ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
    if (typeof replica !== 'string' || replica === '') throw new TypeError('options.replica must be a non-empty string');
    this.#client = client;
    this.journal = options.journal ?? new MemoryJournal();
    this.#governor = options.governor ?? defaultGovernor(client);
    this.appId = appId;
    this.replica = replica;
    this.#leaseMs = leaseMs;
    this.#renewEveryMs = renewEveryMs;
    this.#sweepEveryMs = sweepEveryMs;
    this.#marker = marker;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  /**
   * Starts recording this client's sessions (those open now and every one opened later), renewing their
   * leases, and sweeping the journal: once now (resolves with what that sweep closed), then periodically.
   */
  async start(): Promise<RecoveredCard[]> {
    if (this.#running) throw new Error('this CardRecovery is already started');
    this.#running = true;
    this.#unwatch = watchSessions({ opened: (session) => this.#opened(session), ended: (session) => this.#ended(session) });
    for (const session of openSessions(this.#client)) this.#opened(session);
    this.#renewTimer = setInterval(() => this.#renew(), this.#renewEveryMs);
    this.#renewTimer.unref();
    return this.sweep();
  }

  /**
   * Stops recording, renewing and sweeping; resolves once the journal operations under way are done. The
   * cards of sessions still open stay recorded: if this process then ends without closing them, another
   * replica closes them once their leases run out. Call it after `shutdown()`.
   */
  async stop(): Promise<void> {
    this.#running = false;
    this.#unwatch?.();
    this.#unwatch = undefined;
    clearInterval(this.#renewTimer);
    clearTimeout(this.#sweepTimer);
    const pending = [...this.#tracked.values()].map((tracked) => tracked.queue);
    this.#tracked.clear();
    await Promise.all([...pending, this.#sweeping?.catch(() => undefined)]);
  }

  /** The cards this replica has recorded now (a copy of each entry). */
  recorded(): JournalEntry[] {
    return [...this.#tracked.values()].flatMap((tracked) => (tracked.recorded ? [{ ...tracked.recorded }] : []));
  }

  /** Closes every card of the app whose lease has run out now; resolves with them. One sweep at a time. */
  sweep(): Promise<RecoveredCard[]> {
    this.#sweeping ??= this.#sweep().finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  async #sweep(): Promise<RecoveredCard[]> {
    clearTimeout(this.#sweepTimer);
    const recovered: RecoveredCard[] = [];
    let next: number | undefined;
    try {
      for (;;) {
        const { entries, nextExpiryMs } = await this.journal.claimExpired(this.appId, CLAIM_BATCH);
        next = nextExpiryMs;
        const closed = await Promise.all(entries.map((entry) => this.#close(entry)));
        recovered.push(...closed.filter((card) => card !== undefined));
        if (entries.length < CLAIM_BATCH) break;
      }
    } catch (error) {
      this.#report(error);
    } finally {
      this.#schedule(next);
    }
    return recovered;
  }

  /** The next sweep: when the next known lease runs out, and at least every `sweepEveryMs`. */
  #schedule(nextExpiryMs: number | undefined): void {
    if (!this.#running) return;
    const wait = Math.min(this.#sweepEveryMs, nextExpiryMs === undefined ? Infinity : nextExpiryMs + 5);
    this.#sweepTimer = setTimeout(() => void this.sweep(), Math.max(1, wait));
    this.#sweepTimer.unref();
  }

  async #close(entry: JournalEntry): Promise<RecoveredCard | undefined> {
    try {
      const card = await closeOrphan(entry, {
        client: this.#client,
        governor: this.#governor,
        retry: this.#retry,
        marker: this.#marker,
        onRetry: (event) => this.emit('retry', { ...event, cardId: entry.cardId }),
      });
      this.emit('recovered', card);
      return card;
    } catch (error) {
      this.#report(new RecoveryError(entry.cardId, error));
      // Recorded again, so that a later sweep (here or on another replica) tries once more.
      if (this.#running) await this.journal.put(entry, this.#sweepEveryMs).catch((failure: unknown) => this.#report(failure));
      return undefined;
    }
  }

  #opened(session: OpenSession): void {
    if (!this.#running || session.client !== this.#client || session.transport !== 'cardkit' || this.#tracked.has(session)) return;
    const tracked: Tracked = { recorded: undefined, queue: Promise.resolve(), ended: false };
    this.#tracked.set(session, tracked);
    this.#update(session, tracked);
    // A new card (it outgrew the last one, which the session closed) or a new element for the answer's end.
    session.on('rollover', () => this.#update(session, tracked));
  }

  #ended(session: OpenSession): void {
    const tracked = this.#tracked.get(session);
    if (!tracked) return;
    tracked.ended = true;
    this.#tracked.delete(session);
    this.#enqueue(tracked, async () => {
      if (tracked.recorded) await this.journal.remove(this.appId, tracked.recorded.cardId);
      tracked.recorded = undefined;
    });
  }

  /** Records the session's card as it is now, when it changed (a card that was replaced is removed first). */
  #update(session: OpenSession, tracked: Tracked): void {
    this.#enqueue(tracked, async () => {
      if (tracked.ended) return;
      const entry = this.#entryOf(session);
      const last = tracked.recorded;
      if (!entry || (last && sameEntry(last, entry))) return;
      if (last && last.cardId !== entry.cardId) await this.journal.remove(this.appId, last.cardId);
      await this.journal.put(entry, this.#leaseMs);
      tracked.recorded = entry;
    });
  }

  /** Every renewal: changed entries recorded again, the others' leases extended in one call. */
  #renew(): void {
    const unchanged: string[] = [];
    for (const [session, tracked] of this.#tracked) {
      const entry = this.#entryOf(session);
      if (entry && tracked.recorded && sameEntry(tracked.recorded, entry)) unchanged.push(entry.cardId);
      else this.#update(session, tracked);
    }
    if (unchanged.length > 0) this.journal.renew(this.appId, unchanged, this.#leaseMs).catch((error: unknown) => this.#report(error));
  }

  #entryOf(session: OpenSession): JournalEntry | undefined {
    const cardId = session.cards.at(-1)?.cardId;
    if (typeof cardId !== 'string') return undefined;
    // Above every sequence the session can use before the next renewal records its card again (a card takes
    // at most 10 writes a second), so the closing write is not refused as out of order (300317).
    const headroom = Math.ceil((CARD_WRITES_PER_SECOND * this.#renewEveryMs) / 1000) + 2;
    const sequence = Math.min(session.sequence + headroom, INT32_MAX - 1);
    return { appId: this.appId, cardId, elementId: session.answerElementId, summary: summarize(session.text), sequence, replica: this.replica };
  }

  #enqueue(tracked: Tracked, operation: () => Promise<void>): void {
    tracked.queue = tracked.queue.then(operation).catch((error: unknown) => this.#report(error));
  }

  #report(error: unknown): void {
    this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }
}

/** A card of a crashed replica could not be closed; `cause` says why. */
export class RecoveryError extends Error {
  constructor(
    readonly cardId: string,
    cause: unknown,
  ) {
    super(`could not close card ${cardId} of a replica that stopped: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'RecoveryError';
  }
}

function sameEntry(a: JournalEntry, b: JournalEntry): boolean {
  return a.cardId === b.cardId && a.elementId === b.elementId && a.summary === b.summary && a.sequence === b.sequence;
}
