/**
 * The OpenTelemetry SDK as an app sets it up, with its in-memory exporters: `instrument()` records into
 * a real MeterProvider (read through a PeriodicExportingMetricReader into an InMemoryMetricExporter)
 * and a real tracer provider (a SimpleSpanProcessor into an InMemorySpanExporter).
 */
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { type Instrumentation, type InstrumentOptions, instrument } from '../../src/observe/opentelemetry/index.js';

export interface Point {
  attributes: Record<string, unknown>;
  /** A counter's or gauge's value; a histogram's count. */
  value: number;
  /** A histogram's sum and bounds. */
  sum?: number;
  min?: number;
  max?: number;
}

export interface Telemetry {
  instrumentation: Instrumentation;
  /** Collects now: every metric by name, each data point with its attributes. */
  collect(): Promise<Map<string, Point[]>>;
  spans(): ReadableSpan[];
  stop(): Promise<void>;
}

export function telemetry(options: Omit<InstrumentOptions, 'meterProvider' | 'tracerProvider'> = {}): Telemetry {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports on forceFlush() only: the interval is longer than any test.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  const instrumentation = instrument({ ...options, meterProvider, tracerProvider });
  return {
    instrumentation,
    async collect() {
      exporter.reset();
      await reader.forceFlush();
      const metrics = new Map<string, Point[]>();
      for (const resource of exporter.getMetrics()) {
        for (const scope of resource.scopeMetrics) for (const metric of scope.metrics) metrics.set(metric.descriptor.name, pointsOf(metric));
      }
      return metrics;
    },
    spans: () => spanExporter.getFinishedSpans(),
    async stop() {
      instrumentation.stop();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

function pointsOf(metric: MetricData): Point[] {
  if (metric.dataPointType === DataPointType.HISTOGRAM) {
    return metric.dataPoints.map((p) => ({
      attributes: p.attributes,
      value: p.value.count,
      sum: p.value.sum,
      ...(p.value.min === undefined ? {} : { min: p.value.min }),
      ...(p.value.max === undefined ? {} : { max: p.value.max }),
    }));
  }
  if (metric.dataPointType === DataPointType.SUM || metric.dataPointType === DataPointType.GAUGE) {
    return metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value }));
  }
  throw new Error(`unexpected data point type of ${metric.descriptor.name}`);
}

/** The sum of the values (counts, for a histogram) of `name`'s points whose attributes include `where`. */
export function total(metrics: Map<string, Point[]>, name: string, where: Record<string, unknown> = {}): number {
  return (metrics.get(name) ?? [])
    .filter((p) => Object.entries(where).every(([key, value]) => p.attributes[key] === value))
    .reduce((sum, p) => sum + p.value, 0);
}

/** `name`'s totals by the value of attribute `key`. */
export function byAttribute(metrics: Map<string, Point[]>, name: string, key: string): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const point of metrics.get(name) ?? []) {
    const value = String(point.attributes[key]);
    totals[value] = (totals[value] ?? 0) + point.value;
  }
  return totals;
}
