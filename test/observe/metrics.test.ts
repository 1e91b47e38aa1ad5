/**
 * Metrics (issue 13): sessions talk to the emulator over loopback and `instrument()` records into the
 * OpenTelemetry SDK; what the SDK exports is checked against what the emulator counted and what the
 * sessions reported.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, type FlushEvent, type RolloverEvent, type SessionResult } from '../../src/session/index.js';
import { clientFor } from '../support/client.js';
import { elementText, useEmulator } from '../support/emulator-http.js';
import { FAST_RETRY, paced, record, waitFor } from '../support/session.js';
import { type Telemetry, byAttribute, telemetry, total } from './support.js';

const CONTENT = 'cardkit.cardElement.content';
const WINDOW_MS = 600_000;

function words(count: number, word = 'word'): string[] {
  return Array.from({ length: count }, (_, i) => `${word}${i} `);
}

describe('metrics', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  let tel: Telemetry | undefined;
  afterEach(async () => {
    await tel?.stop();
    tel = undefined;
  });

  it('writes by API and rejections by code equal what the emulator counted, through 5xx, 429, 230020 and a revoked token', { timeout: 30_000 }, async () => {
    tel = telemetry();
    const client = clientFor(emulator).client;
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 1500, httpStatus: 500, count: 2 });
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 99991400, headers: { 'x-ogw-ratelimit-reset': '0' }, count: 2 });
    emulator.faults.add({ kind: 'fail', endpoint: 'cardkit.card.settings', code: 230020, count: 1 });
    emulator.faults.add({ kind: 'fail', endpoint: 'cardkit.card.batchUpdate', code: 300120, count: 1 });
    emulator.faults.add({ kind: 'fail', endpoint: 'im.message.patch', code: 1500, httpStatus: 500, count: 1 });
    const sessions = await Promise.all([
      CardSession.start(client, { to: { chat_id: 'oc_a' }, retry: FAST_RETRY }),
      CardSession.start(client, { to: { chat_id: 'oc_b' }, retry: FAST_RETRY }),
      CardSession.start(client, { to: { chat_id: 'oc_c' }, transport: 'message', retry: FAST_RETRY }),
    ]);
    const first = record(sessions[0]);
    const texts = sessions.map((_, i) => words(30, `s${i}w`));
    const results = sessions.map((session, i) => session.pipe(paced(texts[i]!, 20)));
    // A revoked token: the client fetches a fresh one and sends the request again (two requests, one attempt).
    await waitFor(() => first.flush.length >= 1, 'the first write of the first session');
    expect(emulator.revokeTokens()).toBeGreaterThan(0);
    await Promise.all(results);

    const stats = emulator.stats();
    const metrics = await tel.collect();
    const writes = byAttribute(metrics, 'feishu_card.writes', 'api');
    const rejections = byAttribute(metrics, 'feishu_card.rejections', 'api');
    const apis = Object.keys(stats.endpoints).filter((api) => !api.startsWith('auth.'));
    expect(apis).toEqual(expect.arrayContaining([CONTENT, 'cardkit.card.create', 'im.message.create', 'im.message.patch']));
    for (const api of apis) {
      expect({ api, writes: writes[api] ?? 0, rejections: rejections[api] ?? 0 }).toEqual({ api, writes: stats.endpoints[api]!.accepted, rejections: stats.endpoints[api]!.rejected });
    }
    expect(Object.keys(writes).sort()).toEqual(apis.filter((api) => stats.endpoints[api]!.accepted > 0).sort());
    // By code: every fault was used, and the token refusal counted too.
    expect(byAttribute(metrics, 'feishu_card.rejections', 'code')).toEqual(stats.rejected);
    expect(stats.rejected).toMatchObject({ '1500': 3, '99991400': 2, '230020': 1, '300120': 1 });
    expect(stats.rejected['99991663']).toBeGreaterThanOrEqual(1);
    // Each refusal of these kinds was sent again; the token refusal was answered inside the client.
    expect(total(metrics, 'feishu_card.retries', { reason: 'rate_limited' })).toBe(stats.rejected['99991400']! + stats.rejected['230020']!);
    expect(total(metrics, 'feishu_card.retries', { reason: 'transient' })).toBe(stats.rejected['1500']! + stats.rejected['300120']!);
    expect(byAttribute(metrics, 'feishu_card.retries', 'reason')).toEqual({ rate_limited: 3, transient: 4 });
    for (const [i, session] of sessions.entries()) {
      const text = session.transport === 'message' ? undefined : elementText(emulator, session.cardId!);
      if (text !== undefined) expect(text).toBe(texts[i]!.join(''));
    }
  });

  it('the lag histogram has one sample per accepted text write, the flush events’ lagMs', async () => {
    tel = telemetry();
    emulator.faults.add({ kind: 'latency', endpoint: CONTENT, latencyMs: 40 });
    const session = await CardSession.start(clientFor(emulator).client, { to: { chat_id: 'oc_a' }, retry: FAST_RETRY });
    const flushes: FlushEvent[] = [];
    session.on('flush', (event) => flushes.push(event));
    await session.pipe(paced(words(30), 10));
    const metrics = await tel.collect();

    const accepted = emulator.stats().endpoints[CONTENT]!.accepted;
    expect(flushes.length).toBe(accepted);
    const [lag] = metrics.get('feishu_card.lag')!;
    expect(lag!.attributes).toEqual({ via: 'content' });
    expect(lag!.value).toBe(accepted);
    expect(lag!.sum).toBeCloseTo(flushes.reduce((sum, f) => sum + f.lagMs, 0), 3);
    // Every write waited for the emulator's 40 ms at least.
    expect(lag!.min).toBeGreaterThanOrEqual(40);
  });

  it('the open sessions gauge goes up as sessions open and down as they end, by transport', async () => {
    tel = telemetry();
    const client = clientFor(emulator).client;
    const open = async () => {
      const metrics = await tel!.collect();
      return { cardkit: total(metrics, 'feishu_card.sessions.open', { transport: 'cardkit' }), message: total(metrics, 'feishu_card.sessions.open', { transport: 'message' }) };
    };
    expect(await open()).toEqual({ cardkit: 0, message: 0 });
    const cards = await Promise.all([1, 2, 3].map((i) => CardSession.start(client, { to: { chat_id: `oc_${i}` } })));
    const message = await CardSession.start(client, { to: { chat_id: 'oc_m' }, transport: 'message' });
    expect(await open()).toEqual({ cardkit: 3, message: 1 });
    await cards[0]!.finish();
    await cards[1]!.abort('user left');
    expect(await open()).toEqual({ cardkit: 1, message: 1 });
    await Promise.all([cards[2]!.finish(), message.finish()]);
    expect(await open()).toEqual({ cardkit: 0, message: 0 });
    const metrics = await tel.collect();
    expect(metrics.get('feishu_card.sessions')!.map((p) => [p.attributes, p.value])).toEqual(
      expect.arrayContaining([
        [{ transport: 'cardkit', state: 'finished' }, 2],
        [{ transport: 'cardkit', state: 'aborted' }, 1],
        [{ transport: 'message', state: 'finished' }, 1],
      ]),
    );
  });

  it('permit waits are recorded per request, and the budget used per API and window counts the permits granted', async () => {
    tel = telemetry();
    const session = await CardSession.start(clientFor(emulator).client, { to: { chat_id: 'oc_a' } });
    await session.pipe(paced(words(20), 10));
    const metrics = await tel.collect();
    const stats = emulator.stats().endpoints;
    const requests = stats[CONTENT]!.accepted + stats[CONTENT]!.rejected;
    expect(total(metrics, 'feishu_card.permit.wait', { api: CONTENT })).toBe(requests);
    expect(total(metrics, 'feishu_card.request.duration', { api: CONTENT })).toBe(requests);
    // One card is written at most 10 times a second: its content writes waited for their permits.
    expect(metrics.get('feishu_card.permit.wait')!.find((p) => p.attributes.api === CONTENT)!.max).toBeGreaterThan(50);
    expect(total(metrics, 'feishu_card.budget.used', { api: CONTENT, window: 'minute' })).toBe(requests);
    expect(total(metrics, 'feishu_card.budget.used', { api: 'cardkit.card.create', window: 'minute' })).toBe(1);
    expect(total(metrics, 'feishu_card.budget.used', { api: CONTENT, window: 'second' })).toBeLessThanOrEqual(Math.min(requests, 11));
    expect(total(metrics, 'feishu_card.budget.limit', { api: CONTENT, window: 'second' })).toBe(50);
    expect(total(metrics, 'feishu_card.budget.limit', { api: CONTENT, window: 'minute' })).toBe(1000);
  });

  it('re-opens and rollovers are counted as the sessions report them', { timeout: 30_000 }, async () => {
    tel = telemetry();
    const client = clientFor(emulator).client;
    // An expired window: the platform refuses with 200850, the session re-opens streaming mode.
    const session = await CardSession.start(client, { retry: FAST_RETRY });
    const events = record(session);
    session.append('Before the gap. ');
    await waitFor(() => events.flush.length === 1, 'the first write');
    emulator.clock.advance(WINDOW_MS);
    session.append('After the gap.');
    const reopened = await session.finish();
    expect(reopened.reopens).toBe(1);

    // More than 4 tables continue in a new element; more than 30 KB in a new card.
    const long = await CardSession.start(client, { to: { chat_id: 'oc_long' }, retry: FAST_RETRY });
    const rollovers: RolloverEvent[] = [];
    long.on('rollover', (event) => rollovers.push(event));
    const table = '\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n';
    const pieces = [...Array.from({ length: 6 }, (_, i) => `Table ${i}:${table}`), ...Array.from({ length: 40 }, (_, i) => `${'长文本'.repeat(100)} ${i}\n\n`)];
    const result: SessionResult = await long.pipe(paced(pieces, 5));
    expect(result.cards.length).toBeGreaterThan(1);

    const metrics = await tel.collect();
    expect(byAttribute(metrics, 'feishu_card.reopens', 'reason')).toEqual({ expired: 1 });
    const kinds = { element: rollovers.filter((r) => r.kind === 'element').length, card: rollovers.filter((r) => r.kind === 'card').length };
    expect(kinds.element).toBeGreaterThanOrEqual(1);
    expect(kinds.card).toBeGreaterThanOrEqual(1);
    expect(byAttribute(metrics, 'feishu_card.rollovers', 'kind')).toEqual(kinds);
    // The 200850 answer is a rejection like any other.
    expect(total(metrics, 'feishu_card.rejections', { code: '200850' })).toBe(emulator.stats().rejected['200850']);
  });
});
