/**
 * `instrument()` itself (issue 13): its options, the global providers by default, sessions open before it
 * was called, and `stop()`, after which nothing is recorded and no observer runs.
 */
import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { observers } from '../../src/observe/hub.js';
import { type InstrumentOptions, instrument } from '../../src/observe/opentelemetry/index.js';
import { CardSession } from '../../src/session/index.js';
import { clientFor } from '../support/client.js';
import { useEmulator } from '../support/emulator-http.js';
import { type Telemetry, telemetry, total } from './support.js';

describe('instrument()', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  let tel: Telemetry | undefined;
  afterEach(async () => {
    await tel?.stop();
    tel = undefined;
  });

  it('refuses options it cannot use, naming them', () => {
    expect(() => instrument(null as unknown as InstrumentOptions)).toThrow(new TypeError('instrument() takes an options object; received null'));
    expect(() => instrument({ meterProvider: {} as never })).toThrow(new TypeError('options.meterProvider must be a MeterProvider (an object with getMeter())'));
    expect(() => instrument({ tracerProvider: 'otel' as never })).toThrow(new TypeError('options.tracerProvider must be a TracerProvider (an object with getTracer())'));
    expect(() => instrument({ metrics: 'yes' as never })).toThrow(new TypeError('options.metrics must be a boolean; received string'));
    expect(observers).toEqual([]);
  });

  it('records into the global providers by default', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    expect(metrics.setGlobalMeterProvider(meterProvider)).toBe(true);
    expect(trace.setGlobalTracerProvider(tracerProvider)).toBe(true);
    const instrumentation = instrument();
    try {
      const session = await CardSession.start(clientFor(emulator).client, {});
      session.append('hello');
      await session.finish();
      await reader.forceFlush();
      const names = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name)));
      expect(names).toEqual(expect.arrayContaining(['feishu_card.writes', 'feishu_card.lag', 'feishu_card.sessions']));
      expect(spans.getFinishedSpans().map((span) => span.name)).toContain('feishu_card.session');
    } finally {
      instrumentation.stop();
      metrics.disable();
      trace.disable();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    }
  });

  it('follows the sessions open when it is called; metrics: false records spans only', async () => {
    const session = await CardSession.start(clientFor(emulator).client, {});
    tel = telemetry({ metrics: false });
    session.append('hello');
    await session.finish();
    expect(await tel.collect()).toEqual(new Map());
    const spans = tel.spans();
    const sessionSpan = spans.find((span) => span.name === 'feishu_card.session')!;
    expect(sessionSpan.attributes).toMatchObject({ 'feishu_card.card_id': session.cardId, 'feishu_card.state': 'finished' });
    // Its requests from then on are under it.
    expect(spans.filter((span) => span.parentSpanContext?.spanId === sessionSpan.spanContext().spanId).map((span) => span.name)).toEqual([
      'cardkit.cardElement.content',
      'cardkit.card.settings',
    ]);
  });

  it('after stop(), nothing is recorded and no observer runs', async () => {
    tel = telemetry();
    const client = clientFor(emulator).client;
    const first = await CardSession.start(client, {});
    first.append('counted');
    await first.finish();
    const before = await tel.collect();
    const spans = tel.spans().length;
    expect(total(before, 'feishu_card.writes')).toBe(4);
    tel.instrumentation.stop();
    tel.instrumentation.stop(); // twice is once
    expect(observers).toEqual([]);
    const second = await CardSession.start(client, {});
    second.append('not counted');
    await second.finish();
    const after = await tel.collect();
    expect(total(after, 'feishu_card.writes')).toBe(4);
    expect(total(after, 'feishu_card.sessions')).toBe(1);
    expect(tel.spans().length).toBe(spans);
  });
});
