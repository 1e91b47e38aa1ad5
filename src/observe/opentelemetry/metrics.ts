/**
 * The metrics (README "Metrics, traces and logs" lists them): counters and histograms recorded as
 * writes are answered and sessions report, gauges read when the SDK collects. Attributes are bounded:
 * an API name, a platform code, a transport, a state; never a card or message id.
 */
import type { BatchObservableResult, Counter, Histogram, Meter, ObservableGauge } from '@opentelemetry/api';
import type { FlushEvent, ReopenEvent, RolloverEvent } from '../../session/events.js';
import { openSessions } from '../../session/registry.js';
import { codeOf } from '../describe.js';
import type { WriteAttempt } from '../hub.js';
import type { OpenSession, SessionEnd } from '../sessions.js';

/** Buckets of the ms histograms: a fast write lands in a few ms, a card waiting its turn for seconds. */
const MS_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000];

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;

export const METRIC_PREFIX = 'feishu_card';

/** The calls the governors of this process granted, per API, over the last minute (for `budget.used`). */
class PermitLog {
  readonly #times = new Map<string, number[]>();
  /** The governors seen, with their limits when they say (a `FairGovernor` does). */
  readonly #governors = new Set<WeakRef<object>>();
  readonly #seen = new WeakSet<object>();

  permitted(api: string, at: number, governor: object): void {
    let times = this.#times.get(api);
    if (!times) this.#times.set(api, (times = []));
    times.push(at);
    if (times.length > 64 && times[0]! < at - MINUTE_MS) this.#prune(times, at);
    if (!this.#seen.has(governor)) {
      this.#seen.add(governor);
      this.#governors.add(new WeakRef(governor));
    }
  }

  /** Per API: calls in the last second and the last minute. */
  used(now: number): Map<string, { second: number; minute: number }> {
    const used = new Map<string, { second: number; minute: number }>();
    for (const [api, times] of this.#times) {
      this.#prune(times, now);
      let second = 0;
      for (let i = times.length - 1; i >= 0 && times[i]! > now - SECOND_MS; i--) second++;
      used.set(api, { second, minute: times.length });
    }
    return used;
  }

  /** The limits per second and per minute of an API, summed over the live governors that state them. */
  limits(): { second: number; minute: number } | undefined {
    let second = 0;
    let minute = 0;
    let any = false;
    for (const ref of this.#governors) {
      const governor = ref.deref();
      if (!governor) {
        this.#governors.delete(ref);
        continue;
      }
      const limits = (governor as { limits?: { apiQps?: unknown; apiQpm?: unknown } }).limits;
      if (typeof limits?.apiQps !== 'number' || typeof limits.apiQpm !== 'number') continue;
      second += limits.apiQps;
      minute += limits.apiQpm;
      any = true;
    }
    return any ? { second, minute } : undefined;
  }

  #prune(times: number[], now: number): void {
    let old = 0;
    while (old < times.length && times[old]! <= now - MINUTE_MS) old++;
    if (old > 0) times.splice(0, old);
  }
}

export class SessionMetrics {
  readonly #meter: Meter;
  readonly #writes: Counter;
  readonly #rejections: Counter;
  readonly #retries: Counter;
  readonly #permitWait: Histogram;
  readonly #requestDuration: Histogram;
  readonly #lag: Histogram;
  readonly #sessions: Counter;
  readonly #reopens: Counter;
  readonly #rollovers: Counter;
  readonly #open: ObservableGauge;
  readonly #budgetUsed: ObservableGauge;
  readonly #budgetLimit: ObservableGauge;
  readonly #permits = new PermitLog();
  readonly #collect = (result: BatchObservableResult) => this.#observe(result);

  constructor(meter: Meter) {
    this.#meter = meter;
    const name = (suffix: string) => `${METRIC_PREFIX}.${suffix}`;
    const ms = { unit: 'ms', advice: { explicitBucketBoundaries: MS_BUCKETS } };
    this.#writes = meter.createCounter(name('writes'), { unit: '{request}', description: 'Requests to the platform it accepted (code 0), by API.' });
    this.#rejections = meter.createCounter(name('rejections'), {
      unit: '{request}',
      description: 'Requests to the platform it refused, by API and code (the platform code, or network / timeout when no answer came).',
    });
    this.#retries = meter.createCounter(name('retries'), {
      unit: '{request}',
      description: 'Refused requests the session sent again, by API and reason (transient, rate_limited, sequence_conflict).',
    });
    this.#permitWait = meter.createHistogram(name('permit.wait'), { ...ms, description: "Time a request waited for the governor's permit, by API." });
    this.#requestDuration = meter.createHistogram(name('request.duration'), { ...ms, description: 'Time from sending a request to its answer, by API.' });
    this.#lag = meter.createHistogram(name('lag'), {
      ...ms,
      description: 'Time from the oldest text change a write carried (an append) to the platform accepting it, per text write, by how it was written (content, patch, message).',
    });
    this.#sessions = meter.createCounter(name('sessions'), { unit: '{session}', description: 'Sessions ended, by transport and state (finished, aborted, failed).' });
    this.#reopens = meter.createCounter(name('reopens'), { unit: '{reopen}', description: 'Streaming mode re-opened, by reason (scheduled, expired).' });
    this.#rollovers = meter.createCounter(name('rollovers'), { unit: '{rollover}', description: 'Answers continued in a new element or card, by kind (element, card).' });
    this.#open = meter.createObservableGauge(name('sessions.open'), { unit: '{session}', description: 'Sessions open now in this process, by transport.' });
    this.#budgetUsed = meter.createObservableGauge(name('budget.used'), {
      unit: '{request}',
      description: "Permits this process's governors granted in the last second and the last minute, by API and window (second, minute).",
    });
    this.#budgetLimit = meter.createObservableGauge(name('budget.limit'), {
      unit: '{request}',
      description: "The governors' limit for an API in that window (apiQps, apiQpm), by API and window.",
    });
    meter.addBatchObservableCallback(this.#collect, [this.#open, this.#budgetUsed, this.#budgetLimit]);
  }

  attempt(attempt: WriteAttempt): void {
    const { api, governor } = attempt.write;
    for (const refusal of attempt.tokenRefusals) this.#rejections.add(1, { api, code: codeOf(refusal.error) });
    this.#permitWait.record(attempt.permitMs, { api });
    this.#permits.permitted(api, attempt.startedAt + attempt.permitMs, governor);
    // Aborted by the caller: whether the platform answered is not known.
    if (attempt.verdict === 'aborted') return;
    this.#requestDuration.record(attempt.endedAt - attempt.sentAt, { api });
    if (attempt.verdict === 'accepted') this.#writes.add(1, { api });
    else this.#rejections.add(1, { api, code: codeOf(attempt.error) });
    if (attempt.retried) this.#retries.add(1, { api, reason: attempt.verdict === 'retry' ? 'transient' : attempt.verdict });
  }

  flush(event: FlushEvent): void {
    this.#lag.record(event.lagMs, { via: event.via });
  }

  reopen(event: ReopenEvent): void {
    this.#reopens.add(1, { reason: event.reason });
  }

  rollover(event: RolloverEvent): void {
    this.#rollovers.add(1, { kind: event.kind });
  }

  ended(session: OpenSession, _end: SessionEnd): void {
    this.#sessions.add(1, { transport: session.transport, state: session.state });
  }

  stop(): void {
    this.#meter.removeBatchObservableCallback(this.#collect, [this.#open, this.#budgetUsed, this.#budgetLimit]);
  }

  #observe(result: BatchObservableResult): void {
    const open = new Map<string, number>([
      ['cardkit', 0],
      ['message', 0],
    ]);
    for (const session of openSessions()) open.set(session.transport, (open.get(session.transport) ?? 0) + 1);
    for (const [transport, count] of open) result.observe(this.#open, count, { transport });
    const limits = this.#permits.limits();
    for (const [api, used] of this.#permits.used(performance.now())) {
      result.observe(this.#budgetUsed, used.second, { api, window: 'second' });
      result.observe(this.#budgetUsed, used.minute, { api, window: 'minute' });
      if (!limits) continue;
      result.observe(this.#budgetLimit, limits.second, { api, window: 'second' });
      result.observe(this.#budgetLimit, limits.minute, { api, window: 'minute' });
    }
  }
}
