/**
 * `feishu-card-session/opentelemetry`: metrics and spans of every session of the process through
 * `@opentelemetry/api` (an optional peer dependency). This entry is the only module that imports it:
 * an app that never imports it loads none of it and pays nothing.
 */
import { type MeterProvider, type TracerProvider, metrics, trace } from '@opentelemetry/api';
import { addObserver } from '../hub.js';
import { followSessions } from '../sessions.js';
import { SessionMetrics } from './metrics.js';
import { SessionTraces } from './traces.js';

/** The name of the meter and the tracer (the instrumentation scope). */
export const INSTRUMENTATION_NAME = 'feishu-card-session';

export interface InstrumentOptions {
  /** Where the metrics go. Default: the global one (`metrics.getMeterProvider()` of `@opentelemetry/api`). */
  meterProvider?: MeterProvider;
  /** Where the spans go. Default: the global one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** Record metrics. Default true. */
  metrics?: boolean;
  /** Record spans. Default true. */
  traces?: boolean;
}

export interface Instrumentation {
  /** Stops recording; the sessions' spans still open end now, with their state as it stands. */
  stop(): void;
}

/**
 * Records metrics and spans of every session of this process from now on (and of those open already),
 * until `stop()`. Each call records once more: call it once, at startup, after the SDK is set up.
 * @example
 * import { instrument } from 'feishu-card-session/opentelemetry';
 * const telemetry = instrument(); // the global providers, as set up by @opentelemetry/sdk-node
 */
export function instrument(options: InstrumentOptions = {}): Instrumentation {
  if (typeof options !== 'object' || options === null) throw new TypeError(`instrument() takes an options object; received ${options === null ? 'null' : typeof options}`);
  const { meterProvider = metrics.getMeterProvider(), tracerProvider = trace.getTracerProvider() } = options;
  if (typeof meterProvider?.getMeter !== 'function') throw new TypeError('options.meterProvider must be a MeterProvider (an object with getMeter())');
  if (typeof tracerProvider?.getTracer !== 'function') throw new TypeError('options.tracerProvider must be a TracerProvider (an object with getTracer())');
  for (const flag of ['metrics', 'traces'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') throw new TypeError(`options.${flag} must be a boolean; received ${typeof options[flag]}`);
  }
  const meters = options.metrics === false ? undefined : new SessionMetrics(meterProvider.getMeter(INSTRUMENTATION_NAME));
  const spans = options.traces === false ? undefined : new SessionTraces(tracerProvider.getTracer(INSTRUMENTATION_NAME));
  const removeObserver = addObserver({
    attempt: (attempt) => {
      meters?.attempt(attempt);
      spans?.attempt(attempt);
    },
    written: (write) => spans?.written(write),
  });
  const unfollow = followSessions(
    {
      opened: (session) => spans?.opened(session),
      flush: (_session, event) => meters?.flush(event),
      reopen: (session, event) => {
        meters?.reopen(event);
        spans?.reopen(session, event);
      },
      rollover: (session, event) => {
        meters?.rollover(event);
        spans?.rollover(session, event);
      },
      ended: (session, end) => {
        meters?.ended(session, end);
        spans?.ended(session, end);
      },
    },
    { current: true },
  );
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      removeObserver();
      unfollow();
      meters?.stop();
      spans?.stop();
    },
  };
}
