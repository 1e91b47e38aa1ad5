/**
 * What telemetry costs (issue 13): CPU per appended delta with metrics and spans off (no observer: the
 * default) and on (`instrument()` into the OpenTelemetry SDK, as an app sets it up: a MeterProvider with
 * a periodic reader and a tracer provider with a batch span processor; their exporters discard, so no
 * network is measured). Two paths: the append alone (as in cost.ts), and a stream: sessions appending
 * deltas while their writes go out through a transport in this process that answers at once, so what is
 * measured is the library's CPU (sessions, governor, client, telemetry), not a server's.
 */
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { instrument } from '../src/observe/opentelemetry/index.js';
import { CardSession, FairGovernor, FeishuClient, type Transport } from '../src/index.js';
import { appendCost } from './cost.js';

export interface TelemetryCost {
  /** The append path alone, µs per delta (no write runs). */
  append: { offUs: number; onUs: number };
  /** Appends with their writes, µs of CPU per delta, the least of `runs` runs each. */
  stream: { offUs: number; onUs: number; deltas: number; writes: number; runs: number };
  /** The extra CPU per request with telemetry on, µs (the stream's difference, spread over its requests). */
  perRequestUs: number;
}

/** Answers like the platform when everything succeeds, at once, with a log id. */
function stubTransport(): Transport {
  let ids = 7_000_000_000_000_000;
  let logIds = 0;
  return {
    managesTokens: true,
    send(request) {
      const data =
        request.path === '/open-apis/cardkit/v1/cards' && request.method === 'POST'
          ? { card_id: String(++ids) }
          : request.path === '/open-apis/im/v1/messages'
            ? { message_id: `om_${++ids}` }
            : {};
      const logId = `2025${String(++logIds).padStart(16, '0')}`;
      return Promise.resolve({ status: 200, header: (name) => (name === 'x-tt-logid' ? logId : undefined), body: { code: 0, msg: 'success', data } });
    },
  };
}

const discardMetrics: PushMetricExporter = {
  export: (_metrics, done) => done({ code: 0 }),
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
  selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
};
const discardSpans: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve() };

/** `instrument()` into an SDK set up as in production (exporters aside); returns the function that tears it down. */
function telemetryOn(): () => Promise<void> {
  const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: discardMetrics, exportIntervalMillis: 60_000 })] });
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(discardSpans)] });
  const instrumentation = instrument({ meterProvider, tracerProvider });
  return async () => {
    instrumentation.stop();
    await meterProvider.shutdown();
    await tracerProvider.shutdown();
  };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** `sessions` sessions at once, each appending `deltas` deltas, `perTurn` between turns of the event loop (their writes go meanwhile). */
async function stream(sessions: number, deltas: number, perTurn: number): Promise<{ cpuUs: number; writes: number }> {
  const client = new FeishuClient({ transport: stubTransport() });
  // Limits out of the way: the budget is not what is measured.
  const governor = new FairGovernor({ limits: { apiQps: 1e6, apiQpm: 6e7, cardQps: 1e6, messageQps: 1e6 }, safetyMarginMs: 0 });
  const pieces = Array.from({ length: 100 }, (_, i) => `词${i % 10} token `);
  const before = process.cpuUsage();
  const results = await Promise.all(
    Array.from({ length: sessions }, async (_, s) => {
      const session = await CardSession.start(client, { governor, to: { chat_id: `oc_${s}` } });
      for (let i = 0; i < deltas; i++) {
        session.append(pieces[i % pieces.length]!);
        if (i % perTurn === perTurn - 1) await turn();
      }
      return session.finish();
    }),
  );
  const used = process.cpuUsage(before);
  return { cpuUs: used.user + used.system, writes: results.reduce((sum, r) => sum + r.writes, 0) + sessions * 2 };
}

/** The least of the runs: what the work costs when the machine's other load interferes least. */
const least = (values: number[]) => Math.min(...values);

/**
 * Measures both paths off and on, alternating runs (so that drift of a busy machine hits both alike).
 * `writes` counts every request of the stream (each session's create and send included).
 */
export async function telemetryCost(options: { sessions?: number; deltas?: number; perTurn?: number; runs?: number } = {}): Promise<TelemetryCost> {
  const { sessions = 20, deltas = 1000, perTurn = 5, runs = 9 } = options;
  const appendOff = appendCost().engineUs;
  let stop = telemetryOn();
  const appendOn = appendCost().engineUs;
  await stop();
  // Warm up both.
  await stream(sessions, deltas / 4, perTurn);
  stop = telemetryOn();
  await stream(sessions, deltas / 4, perTurn);
  await stop();
  const off: number[] = [];
  const on: number[] = [];
  let writes = 0;
  for (let run = 0; run < runs; run++) {
    const quiet = await stream(sessions, deltas, perTurn);
    off.push(quiet.cpuUs);
    stop = telemetryOn();
    const observed = await stream(sessions, deltas, perTurn);
    await stop();
    on.push(observed.cpuUs);
    writes = observed.writes;
  }
  const total = sessions * deltas;
  const offUs = least(off) / total;
  const onUs = least(on) / total;
  return {
    append: { offUs: appendOff, onUs: appendOn },
    stream: { offUs, onUs, deltas: total, writes, runs },
    perRequestUs: ((onUs - offUs) * total) / writes,
  };
}
