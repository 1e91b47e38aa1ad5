/**
 * Cards of crashed replicas (issue 13). A `CardRecovery` records each card its client's sessions stream in
 * a journal, with a lease it renews while the session runs and removes once the session has closed the card.
 * It also sweeps the journal, at start and then whenever a lease is due to run out: a card whose lease ran
 * out belongs to a replica that stopped renewing (it crashed, or was killed), and is closed here, with the
 * interrupted marker after the text as last written, streaming off and its summary set. A card is claimed for
 * the time its close takes and removed from the journal only once closed, so a sweeper that dies meanwhile
 * leaves it to the next.
 */
import { hostname } from 'node:os';
import { EventEmitter } from 'eventemitter3';
import { FeishuClient, INT32_MAX } from '../client/index.js';
import { type Governor, defaultGovernor } from '../governor/index.js';
import type { RetryEvent } from '../session/events.js';
import { type OpenSession, openSessions, watchSessions } from '../session/registry.js';
import { isGovernor, resolveRetry } from '../session/options.js';
import type { RetryPolicy } from '../session/retry.js';
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
  /** The journal failed, or a card could not be closed (it is recorded again and tried at a later sweep). A listener that throws becomes a process warning. */
  error: [Error];
}

/** The platform's limit of writes to one card (reference §16): the sequences a session can use in a second. */
const CARD_WRITES_PER_SECOND = 10;

/** Cards claimed from the journal in one go: each a write, so the governor paces them. */
const CLAIM_BATCH = 100;

interface Tracked {
  /** The entry as last recorded (undefined until the first put landed). */
  recorded: JournalEntry | undefined;
  /** Every card a put was sent for, landed or not (a put that timed out may still land): removed at the end. */
  attempted: Set<string>;
  /** The journal's operations for the session, one at a time and in order. */
  queue: Promise<void>;
  ended: boolean;
  onRollover: () => void;
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
  readonly #claimMs: number;
  readonly #marker: string;
  readonly #retry: RetryPolicy;
  readonly #tracked = new Map<OpenSession, Tracked>();
  /** Cards whose removal failed: tried again at each renewal, so a finished card is never marked. */
  readonly #removals = new Set<string>();
  #unwatch: (() => void) | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweeping: Promise<RecoveredCard[]> | undefined;
  #running = false;
  /** The journal failed and has not answered since; sweeps wait (the other replicas cannot renew either). */
  #journalDown = false;
  /** When the journal answered again after failing: sweeps wait a renewal period more, so others renew first. */
  #journalBackAt: number | undefined;

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
    if (typeof renewEveryMs !== 'number' || !(renewEveryMs > 0) || renewEveryMs >= leaseMs) {
      throw new RangeError(`options.renewEveryMs must be above 0 and below leaseMs (${leaseMs}); received ${String(renewEveryMs)}`);
    }
    if (typeof sweepEveryMs !== 'number' || !(sweepEveryMs > 0) || sweepEveryMs > 2_147_483_647) {
      throw new RangeError(`options.sweepEveryMs must be a number of ms above 0; received ${String(sweepEveryMs)}`);
    }
    const marker = options.marker ?? '_(interrupted)_';
    if (typeof marker !== 'string' || marker.length > 1000) throw new TypeError('options.marker must be a string of at most 1000 characters');
    const replica = options.replica ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
    if (typeof replica !== 'string' || replica === '') throw new TypeError('options.replica must be a non-empty string');
    if (options.journal !== undefined && !isJournal(options.journal)) {
      throw new TypeError('options.journal must be a CardJournal (put, renew, remove, claimExpired), e.g. new RedisJournal(redis)');
    }
    if (options.governor !== undefined && !isGovernor(options.governor)) {
      throw new TypeError('options.governor must be a Governor (acquire, pause, forget, sequences), e.g. new FairGovernor()');
    }
    this.#retry = resolveRetry(options.retry);
    this.#client = client;
    this.journal = options.journal ?? new MemoryJournal();
    this.#governor = options.governor ?? defaultGovernor(client);
    this.appId = appId;
    this.replica = replica;
    this.#leaseMs = leaseMs;
    this.#renewEveryMs = renewEveryMs;
    this.#sweepEveryMs = sweepEveryMs;
    // A claim lasts a lease: a sweeper that dies mid-close leaves its cards to the next as soon as a renewer would.
    this.#claimMs = leaseMs;
    this.#marker = marker;
  }

  /**
   * Starts recording this client's sessions (those open now and every one opened later), renewing their
   * leases, and sweeping the journal: once now (resolves with what that sweep closed), then periodically.
   */
  async start(): Promise<RecoveredCard[]> {
    if (this.#running) throw new Error('this CardRecovery is already started');
    this.#running = true;
    this.#unwatch ??= watchSessions({ opened: (session) => this.#opened(session), ended: (session) => this.#ended(session) });
    for (const session of openSessions(this.#client)) this.#opened(session);
    this.#renewTimer = setInterval(() => void this.#renew(), this.#renewEveryMs);
    this.#renewTimer.unref();
    return this.sweep();
  }

  /**
   * Stops recording, renewing and sweeping; resolves once the journal operations under way are done. The
   * cards of sessions still open stay recorded (and are removed when those sessions end): if the process dies
   * first, another replica closes them once their leases run out. Call it after `shutdown()`.
   */
  async stop(): Promise<void> {
    this.#running = false;
    clearInterval(this.#renewTimer);
    clearTimeout(this.#sweepTimer);
    for (const [session, tracked] of this.#tracked) session.off('rollover', tracked.onRollover);
    if (this.#tracked.size === 0) this.#stopWatching();
    await Promise.all([...[...this.#tracked.values()].map((tracked) => tracked.queue), this.#sweeping?.catch(() => undefined)]);
  }

  /** The cards this replica has recorded now (a copy of each entry). */
  recorded(): JournalEntry[] {
    return [...this.#tracked.values()].flatMap((tracked) => (tracked.recorded && !tracked.ended ? [{ ...tracked.recorded }] : []));
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
    let claimedAt = performance.now();
    try {
      // This replica's own cards first: a stalled event loop must not make it close its own live cards.
      await this.#renew();
      // A journal that failed is asked whether it is back (a renewal of nothing).
      if (this.#journalDown) await this.#journal(() => this.journal.renew(this.appId, [], this.#leaseMs));
      // After an outage of the journal, the other replicas renew first: their leases may have run out meanwhile.
      if (!this.#mayClaim()) return recovered;
      for (;;) {
        claimedAt = performance.now();
        const { entries, nextExpiryMs } = await this.#journal(() => this.journal.claimExpired(this.appId, CLAIM_BATCH, this.#claimMs));
        next = nextExpiryMs;
        const closed = await Promise.all(entries.map((entry) => this.#close(entry)));
        recovered.push(...closed.filter((card) => card !== undefined));
        if (entries.length < CLAIM_BATCH) break;
      }
    } catch (error) {
      this.#report(error);
    } finally {
      this.#schedule(next === undefined ? undefined : next - (performance.now() - claimedAt));
    }
    return recovered;
  }

  #mayClaim(): boolean {
    if (this.#journalDown) return false;
    return this.#journalBackAt === undefined || performance.now() - this.#journalBackAt >= this.#renewEveryMs + 100;
  }

  /** The next sweep: when the next known lease runs out, and at least every `sweepEveryMs`. */
  #schedule(nextExpiryMs: number | undefined): void {
    if (!this.#running) return;
    const wait = Math.min(this.#sweepEveryMs, nextExpiryMs === undefined ? Infinity : nextExpiryMs + 5);
    this.#sweepTimer = setTimeout(() => void this.sweep(), Math.max(1, wait));
    this.#sweepTimer.unref();
  }

  async #close(entry: JournalEntry): Promise<RecoveredCard | undefined> {
    // A card of this replica's own sessions, still open: recorded again, never closed from here.
    const own = [...this.#tracked.entries()].find(([, tracked]) => !tracked.ended && tracked.recorded?.cardId === entry.cardId);
    if (own) {
      await this.#journal(() => this.journal.put(own[1].recorded!, this.#leaseMs)).catch((error: unknown) => this.#report(error));
      return undefined;
    }
    let card: RecoveredCard;
    try {
      card = await closeOrphan(entry, {
        client: this.#client,
        governor: this.#governor,
        retry: this.#retry,
        marker: this.#marker,
        onRetry: (event) => this.#emit('retry', { ...event, cardId: entry.cardId }),
      });
    } catch (error) {
      this.#report(new RecoveryError(entry.cardId, error));
      // Recorded again, so that a later sweep (here or on another replica) tries once more.
      await this.#journal(() => this.journal.put(entry, this.#sweepEveryMs)).catch((failure: unknown) => this.#report(failure));
      return undefined;
    }
    await this.#remove(entry.cardId);
    this.#emit('recovered', card);
    return card;
  }

  #opened(session: OpenSession): void {
    if (!this.#running || session.client !== this.#client || session.transport !== 'cardkit' || this.#tracked.has(session)) return;
    const tracked: Tracked = { recorded: undefined, attempted: new Set(), queue: Promise.resolve(), ended: false, onRollover: () => this.#update(session, tracked) };
    this.#tracked.set(session, tracked);
    this.#update(session, tracked);
    // A new card (it outgrew the last one, which the session closed) or a new element for the answer's end.
    session.on('rollover', tracked.onRollover);
  }

  #ended(session: OpenSession): void {
    const tracked = this.#tracked.get(session);
    if (!tracked) return;
    tracked.ended = true;
    this.#tracked.delete(session);
    session.off('rollover', tracked.onRollover);
    if (!this.#running && this.#tracked.size === 0) this.#stopWatching();
    // A session that failed may have left its card open (its close refused): its lease runs out, a sweep closes it.
    if (session.state === 'failed') return;
    this.#enqueue(tracked, async () => {
      for (const cardId of tracked.attempted) await this.#remove(cardId);
      tracked.recorded = undefined;
    });
  }

  /** Records the session's card as it is now, when it changed (a card it moved on from is removed after). */
  #update(session: OpenSession, tracked: Tracked): void {
    this.#enqueue(tracked, async () => {
      if (tracked.ended || !this.#running) return;
      const entry = this.#entryOf(session);
      const last = tracked.recorded;
      if (!entry || (last && sameEntry(last, entry))) return;
      tracked.attempted.add(entry.cardId);
      await this.#journal(() => this.journal.put(entry, this.#leaseMs));
      tracked.recorded = entry;
      if (last && last.cardId !== entry.cardId) {
        tracked.attempted.delete(last.cardId);
        await this.#remove(last.cardId);
      }
    });
  }

  /** Every renewal: removals that failed tried again, changed entries recorded again, the others' leases extended. */
  async #renew(): Promise<void> {
    for (const cardId of [...this.#removals]) await this.#remove(cardId);
    if (!this.#running) return;
    const unchanged = new Map<string, [OpenSession, Tracked]>();
    for (const [session, tracked] of this.#tracked) {
      const entry = this.#entryOf(session);
      if (entry && tracked.recorded && sameEntry(tracked.recorded, entry)) unchanged.set(entry.cardId, [session, tracked]);
      else this.#update(session, tracked);
    }
    if (unchanged.size === 0) return;
    try {
      const missing = (await this.#journal(() => this.journal.renew(this.appId, [...unchanged.keys()], this.#leaseMs))) ?? [];
      // Not recorded any more (the store lost it, or it was claimed during a stall): recorded again.
      for (const cardId of missing) {
        const found = unchanged.get(cardId);
        if (found && !found[1].ended) {
          found[1].recorded = undefined;
          this.#update(found[0], found[1]);
        }
      }
    } catch (error) {
      this.#report(error);
    }
  }

  async #remove(cardId: string): Promise<void> {
    try {
      await this.#journal(() => this.journal.remove(this.appId, cardId));
      this.#removals.delete(cardId);
    } catch (error) {
      this.#removals.add(cardId);
      this.#report(error);
    }
  }

  #entryOf(session: OpenSession): JournalEntry | undefined {
    const cardId = session.cards.at(-1)?.cardId;
    if (typeof cardId !== 'string') return undefined;
    // Above every sequence the session can use before the next renewal records its card again (a card takes
    // at most 10 writes a second), so the closing write is not refused as out of order (300317).
    const headroom = Math.ceil((CARD_WRITES_PER_SECOND * this.#renewEveryMs) / 1000) + 2;
    const sequence = Math.min(session.sequence + headroom, INT32_MAX - 1);
    const ephemeral = session.ephemeralElementIds;
    return {
      appId: this.appId,
      cardId,
      elementId: session.answerElementId,
      summary: summarize(session.cardText),
      sequence,
      replica: this.replica,
      ...(ephemeral.length > 0 ? { deleteElementIds: [...ephemeral] } : {}),
    };
  }

  /** A journal call, its failures and recoveries noted (they gate the sweeps); a call that throws rejects. */
  async #journal<T>(call: () => Promise<T>): Promise<T> {
    try {
      const value = await Promise.resolve().then(call);
      if (this.#journalDown) {
        this.#journalDown = false;
        this.#journalBackAt = performance.now();
      }
      return value;
    } catch (error) {
      this.#journalDown = true;
      throw error;
    }
  }

  #enqueue(tracked: Tracked, operation: () => Promise<void>): void {
    tracked.queue = tracked.queue.then(operation).catch((error: unknown) => this.#report(error));
  }

  #stopWatching(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  #report(error: unknown): void {
    this.#emit('error', error instanceof Error ? error : new Error(String(error)));
  }

  /** Emits to the listeners; one that throws becomes a process warning, never a failure of the recovery. */
  #emit<K extends keyof CardRecoveryEvents>(event: K, ...args: CardRecoveryEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: CardRecoveryEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      process.emitWarning(error instanceof Error ? error : String(error), 'CardRecoveryListenerError');
    }
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
  return (
    a.cardId === b.cardId &&
    a.elementId === b.elementId &&
    a.summary === b.summary &&
    a.sequence === b.sequence &&
    (a.deleteElementIds ?? []).join() === (b.deleteElementIds ?? []).join()
  );
}

function isJournal(value: unknown): value is CardJournal {
  const journal = value as Partial<CardJournal> | null;
  return typeof journal === 'object' && journal !== null && (['put', 'renew', 'remove', 'claimExpired'] as const).every((name) => typeof journal[name] === 'function');
}
