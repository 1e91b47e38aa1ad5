/**
 * Spans (issue 13): a span per session and, under it, a span per request to the platform with the
 * platform's log id, recorded into the OpenTelemetry SDK (InMemorySpanExporter) while sessions talk
 * to the emulator over loopback.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Context, type ContextManager, ROOT_CONTEXT, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, type RetryEvent } from '../../src/session/index.js';
import { clientFor } from '../support/client.js';
import { useEmulator } from '../support/emulator-http.js';
import { FAST_RETRY, paced } from '../support/session.js';
import { type Telemetry, telemetry } from './support.js';

const CONTENT = 'cardkit.cardElement.content';

function words(count: number, word = 'word'): string[] {
  return Array.from({ length: count }, (_, i) => `${word}${i} `);
}

const sessionSpans = (spans: ReadableSpan[]) => spans.filter((span) => span.name === 'feishu_card.session');
const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) => spans.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);
/** What @opentelemetry/context-async-hooks does: the active context follows async calls. */
class AsyncContexts implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

const ms = (span: ReadableSpan, which: 'startTime' | 'endTime') => span[which][0] * 1000 + span[which][1] / 1e6;

describe('spans', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  let tel: Telemetry | undefined;
  afterEach(async () => {
    await tel?.stop();
    tel = undefined;
  });

  it('one span per session, and under it one span per request it sent, each with the log id the emulator answered', async () => {
    tel = telemetry();
    const tc = clientFor(emulator);
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 1500, httpStatus: 500, count: 1 });
    const session = await CardSession.start(tc.client, { to: { chat_id: 'oc_a' }, retry: FAST_RETRY });
    const retries: RetryEvent[] = [];
    session.on('retry', (event) => retries.push(event));
    const result = await session.pipe(paced(words(15), 10));

    const spans = tel.spans();
    const [sessionSpan, ...others] = sessionSpans(spans);
    expect(others).toEqual([]);
    expect(sessionSpan!.attributes).toMatchObject({
      'feishu_card.transport': 'cardkit',
      'feishu_card.card_id': session.cardId,
      'feishu_card.message_id': session.messageId,
      'feishu_card.state': 'finished',
      'feishu_card.writes': result.writes,
      'feishu_card.retries': result.retries,
      'feishu_card.aborted': false,
    });
    expect(sessionSpan!.status.code).toBe(SpanStatusCode.UNSET);
    const writes = childrenOf(spans, sessionSpan!);
    // Every span but the session's is one of its requests.
    expect(writes.length).toBe(spans.length - 1);
    // As many requests, per API, as the emulator answered (the token request is the client's, not a session's).
    const stats = emulator.stats().endpoints;
    const perApi: Record<string, number> = {};
    for (const span of writes) perApi[span.name] = (perApi[span.name] ?? 0) + 1;
    expect(perApi).toEqual(
      Object.fromEntries(Object.entries(stats).filter(([api]) => !api.startsWith('auth.')).map(([api, n]) => [api, n.accepted + n.rejected])),
    );
    // Each carries the log id of its answer: every response's X-Tt-Logid but the token request's, once each.
    const logIds = writes.map((span) => span.attributes['feishu_card.log_id']);
    expect(new Set(logIds).size).toBe(writes.length);
    expect(tc.logIds).toEqual(expect.arrayContaining(logIds));
    expect(logIds.length).toBe(tc.logIds.length - 1);
    // The refused one: its code, its log id (the error's), an error status, and the retry after it.
    const refused = writes.filter((span) => span.attributes['feishu_card.outcome'] !== 'accepted');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.attributes).toMatchObject({ 'feishu_card.api': CONTENT, 'feishu_card.code': '1500', 'feishu_card.outcome': 'retry', 'feishu_card.log_id': (retries[0]!.error as { logId?: string }).logId });
    expect(refused[0]!.attributes['feishu_card.retry_delay_ms']).toBe(retries[0]!.delayMs);
    expect(refused[0]!.status.code).toBe(SpanStatusCode.ERROR);
    // Requests to the card carry its id and their sequence; the create carries the id it made.
    const create = writes.find((span) => span.name === 'cardkit.card.create')!;
    expect(create.attributes['feishu_card.card_id']).toBe(session.cardId);
    const contents = writes.filter((span) => span.name === CONTENT);
    expect(contents.every((span) => span.attributes['feishu_card.card_id'] === session.cardId && (span.attributes['feishu_card.sequence'] as number) > 0)).toBe(true);
    // The session's span covers its requests, from the create to the close.
    expect(ms(sessionSpan!, 'startTime')).toBeLessThanOrEqual(Math.min(...writes.map((span) => ms(span, 'startTime'))) + 0.01);
    expect(ms(sessionSpan!, 'endTime')).toBeGreaterThanOrEqual(Math.max(...writes.map((span) => ms(span, 'endTime'))) - 0.01);
  });

  it('a continuation card’s requests are under the same session span; each session has its own', { timeout: 30_000 }, async () => {
    tel = telemetry();
    const client = clientFor(emulator).client;
    const long = await CardSession.start(client, { to: { chat_id: 'oc_long' } });
    const short = await CardSession.start(client, { to: { chat_id: 'oc_short' } });
    const pieces = Array.from({ length: 40 }, (_, i) => `${'长文本'.repeat(100)} ${i}\n\n`);
    const [result] = await Promise.all([long.pipe(paced(pieces, 5)), short.pipe(paced(words(5), 10))]);
    expect(result.cards.length).toBeGreaterThan(1);

    const spans = tel.spans();
    const sessions = sessionSpans(spans);
    expect(sessions).toHaveLength(2);
    const longSpan = sessions.find((span) => span.attributes['feishu_card.card_id'] === long.cardId)!;
    const shortSpan = sessions.find((span) => span.attributes['feishu_card.card_id'] === short.cardId)!;
    expect(longSpan.attributes['feishu_card.cards']).toBe(result.cards.length);
    expect(longSpan.events.map((event) => event.name)).toContain('rollover');
    const cardsOf = (span: ReadableSpan) => new Set(childrenOf(spans, span).map((child) => child.attributes['feishu_card.card_id']).filter(Boolean));
    expect(cardsOf(longSpan)).toEqual(new Set(result.cards.map((card) => card.cardId)));
    expect(cardsOf(shortSpan)).toEqual(new Set([short.cardId]));
    expect(childrenOf(spans, longSpan).filter((span) => span.name === 'cardkit.card.create')).toHaveLength(result.cards.length);
    expect(childrenOf(spans, longSpan).length + childrenOf(spans, shortSpan).length).toBe(spans.length - 2);
  });

  it('a failed session’s span has an error status; requests of a start that failed become spans of their own at stop()', async () => {
    tel = telemetry();
    const client = clientFor(emulator).client;
    const session = await CardSession.start(client, { to: { chat_id: 'oc_a' }, retry: FAST_RETRY });
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 200740, count: 1 }); // the card is gone
    session.append('lost');
    await expect(session.finish()).rejects.toMatchObject({ code: 200740 });
    // A start refused at the send: the card is created, then closed.
    emulator.faults.add({ kind: 'fail', endpoint: 'im.message.create', code: 230002, count: 1 });
    await expect(CardSession.start(client, { to: { chat_id: 'oc_b' } })).rejects.toMatchObject({ code: 230002 });
    await new Promise((resolve) => setTimeout(resolve, 10));

    const [failed] = sessionSpans(tel.spans());
    expect(failed!.attributes['feishu_card.state']).toBe('failed');
    expect(failed!.status).toMatchObject({ code: SpanStatusCode.ERROR });
    expect(failed!.status.message).toContain('200740');
    // The refused send names no card: a span of its own at once. The card's requests wait for a session that never comes.
    const send = tel.spans().filter((span) => span.name === 'im.message.create' && span.attributes['feishu_card.code'] === '230002');
    expect(send).toHaveLength(1);
    expect(send[0]!.parentSpanContext).toBeUndefined();
    const before = tel.spans().length;
    tel.instrumentation.stop();
    const orphans = tel.spans().slice(before);
    expect(orphans.map((span) => span.name).sort()).toEqual(['cardkit.card.batchUpdate', 'cardkit.card.create', 'cardkit.card.settings']);
    expect(orphans.every((span) => span.parentSpanContext === undefined)).toBe(true);
    expect(new Set(orphans.map((span) => span.attributes['feishu_card.card_id'])).size).toBe(1);
  });

  it('a session started inside a span of the app (a message handler’s) is its child, with a context manager', async () => {
    tel = telemetry();
    expect(context.setGlobalContextManager(new AsyncContexts())).toBe(true);
    try {
      const handler = new BasicTracerProvider().getTracer('the-bot').startSpan('handle message');
      const session = await context.with(trace.setSpan(context.active(), handler), () => CardSession.start(clientFor(emulator).client, { to: { chat_id: 'oc_a' } }));
      session.append('hello');
      await session.finish();
      handler.end();
      const [sessionSpan] = sessionSpans(tel.spans());
      expect(sessionSpan!.parentSpanContext?.spanId).toBe(handler.spanContext().spanId);
      expect(sessionSpan!.spanContext().traceId).toBe(handler.spanContext().traceId);
    } finally {
      context.disable();
    }
  });
});
