/**
 * Adversarial review of spill (issue 14), against the emulator over HTTP with a tight content budget (apiQps 3-5)
 * so that text writes spill to element patches and batch_update. Every test checks the promise on the cards
 * themselves: text exact byte for byte, one write in flight per card, sequences strictly increasing, and no
 * refusal by the platform's limits (99991400 per API, 230020 per card, 300317 sequence).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, FairGovernor, type FlushEvent, type RetryEvent, type SessionResult } from '../../src/index.js';
import { type WriteAttempt, addObserver } from '../../src/observe/hub.js';
import { type Beat, run } from '../support/agent-run.js';
import { cardView } from '../support/agent-view.js';
import { clientFor } from '../support/client.js';
import { useEmulator } from '../support/emulator-http.js';
import { closeRedisClients, openRedis, redisMissing, type RunningRedis, startRedis } from '../support/redis.js';
import { INTERRUPTED, paced, sleep } from '../support/session.js';

const CONTENT = 'cardkit.cardElement.content';
const PATCH = 'cardkit.cardElement.patch';
const BATCH = 'cardkit.card.batchUpdate';
const LIMITS = { apiQps: 4, apiQpm: 1000, cardQps: 10 };
/** Codes the governor exists to avoid: per API, per card, sequence. */
const LIMIT_CODES = ['99991400', '230020', '300317'];
const CONTINUED = '\n\n_(continued below)_';

/** Every markdown element's content of a card, in document order, with its id. */
function markdowns(emulator: Emulator, cardId: string): { id: string; content: string }[] {
  const out: { id: string; content: string }[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (record.tag === 'markdown' && typeof record.element_id === 'string' && typeof record.content === 'string') {
        out.push({ id: record.element_id, content: record.content });
      }
      for (const [key, value] of Object.entries(record)) if (key !== 'header') visit(value);
    }
  };
  visit(emulator.card(cardId)?.card.body);
  return out;
}

/** The promise on one card: one write in flight, sequences strictly increasing, streaming closed at the end. */
function checkCard(emulator: Emulator, cardId: string): void {
  const card = emulator.card(cardId)!;
  expect(card, cardId).toBeDefined();
  expect(card.max_in_flight, `${cardId} in flight`).toBe(1);
  const sequences = card.log.filter((entry) => entry.code === 0 && entry.sequence !== null).map((entry) => entry.sequence!);
  for (let i = 1; i < sequences.length; i++) expect(sequences[i]!, `${cardId} sequence #${i}`).toBeGreaterThan(sequences[i - 1]!);
  expect(card.streaming_mode, `${cardId} streaming`).toBe(false);
}

function noLimitRefusals(emulator: Emulator): void {
  const rejected = emulator.stats().rejected;
  for (const code of LIMIT_CODES) expect(rejected[code] ?? 0, `refused with ${code}: ${JSON.stringify(rejected)}`).toBe(0);
}

const viaCount = (flushes: FlushEvent[], kind: FlushEvent['via']) => flushes.filter((event) => event.via === kind).length;
/** Text writes that went through another API than content (element patch, element update, batch_update). */
const spilled = (flushes: FlushEvent[]) => flushes.filter((event) => event.via !== 'content').length;

/** Each answer's session text and its card's answer element are exactly its pieces joined; each card kept the promise. */
function expectExact(emulator: Emulator, results: SessionResult[], texts: string[][]): void {
  for (const [i, result] of results.entries()) {
    expect(result.text).toBe(texts[i]!.join(''));
    expect(markdowns(emulator, result.cardId!).find((m) => m.id === 'answer')?.content).toBe(texts[i]!.join(''));
    checkCard(emulator, result.cardId!);
  }
}

/** Text meant to break a re-encoding: JSON escapes, CRLF, emoji (surrogate pairs), CJK, markdown, NUL-free controls. */
function tricky(i: number, count: number): string[] {
  const kinds = ['"q"\\ ', '\r\n', '😀👩‍👩‍👧', '卡片 ', '**b** _i_ `c` ', '\t', '<at id=all></at> ', '{"a":1} ', '\u2028\u2029', '  ', 'é'];
  return Array.from({ length: count }, (_, k) => `${i}.${k}${kinds[(i + k) % kinds.length]}`);
}

interface Run {
  results: SessionResult[];
  flushes: FlushEvent[];
  retries: RetryEvent[];
  sessions: CardSession[];
}

async function startMany(emulator: Emulator, governor: FairGovernor, count: number, extra: Record<string, unknown> = {}) {
  const { client } = clientFor(emulator);
  // The token first: requests the governor spaced must not wait for it together and then arrive in a bunch.
  await client.tenantAccessToken();
  const flushes: FlushEvent[] = [];
  const retries: RetryEvent[] = [];
  const sessions = await Promise.all(
    Array.from({ length: count }, (_, i) => CardSession.start(client, { governor, to: { chat_id: `oc_${i}` }, retry: { baseDelayMs: 20, maxDelayMs: 200 }, ...extra })),
  );
  for (const session of sessions) {
    session.on('flush', (event) => flushes.push(event));
    session.on('retry', (event) => retries.push(event));
  }
  return { sessions, flushes, retries };
}

async function pipeMany(emulator: Emulator, governor: FairGovernor, texts: string[][], gapMs: number, extra: Record<string, unknown> = {}): Promise<Run> {
  const started = await startMany(emulator, governor, texts.length, extra);
  const results = await Promise.all(started.sessions.map((session, i) => session.pipe(paced(texts[i]!, gapMs))));
  return { ...started, results };
}

describe('spill under a content bottleneck (adversarial)', () => {
  let emulator: Emulator;
  const control = useEmulator((s) => ({ emulator } = s), { limits: LIMITS });

  it('tricky text (JSON escapes, CRLF, ZWJ emoji, U+2028, tabs) stays byte-exact through patch and batch_update', async () => {
    const governor = new FairGovernor({ limits: LIMITS, spill: true });
    const texts = Array.from({ length: 6 }, (_, i) => tricky(i, 16));
    const { results, flushes } = await pipeMany(emulator, governor, texts, 40);
    expect(spilled(flushes)).toBeGreaterThan(0);
    noLimitRefusals(emulator);
    expect(emulator.stats().rejected).toEqual({});
    // Each flush's via names the endpoint that took it: the emulator's counts match (batch_update also opened each card).
    const endpoints = emulator.stats().endpoints;
    expect(endpoints[CONTENT]?.accepted ?? 0).toBe(viaCount(flushes, 'content'));
    expect(endpoints[PATCH]?.accepted ?? 0).toBe(viaCount(flushes, 'patch'));
    expect(endpoints[BATCH]?.accepted ?? 0).toBe(viaCount(flushes, 'batch') + texts.length);
    expect(endpoints['cardkit.cardElement.update']?.accepted ?? 0).toBe(viaCount(flushes, 'update'));
    expectExact(emulator, results, texts);
  }, 60_000);

  it("setText snapshots while spilling, '' included, leave each card with exactly the last snapshot plus what followed", async () => {
    const governor = new FairGovernor({ limits: LIMITS, spill: true });
    const { sessions, flushes } = await startMany(emulator, governor, 6);
    const expected: string[] = [];
    await Promise.all(
      sessions.map(async (session, i) => {
        for (let k = 0; k < 6; k++) {
          session.append(`a${i}.${k} `);
          await sleep(30);
        }
        session.setText(`snap${i} `);
        await sleep(60);
        session.setText('');
        await sleep(150);
        // Half the answers end empty: '' must reach those cards (through an element patch: content needs 1+ characters).
        const after = i % 2 === 0 ? 0 : 4;
        for (let k = 0; k < after; k++) {
          session.append(`b${i}.${k} `);
          await sleep(30);
        }
        expected[i] = Array.from({ length: after }, (_, k) => `b${i}.${k} `).join('');
        return session.finish();
      }),
    );
    expect(spilled(flushes)).toBeGreaterThan(0);
    const empty = flushes.filter((event) => event.length === 0);
    expect(empty.length).toBeGreaterThanOrEqual(3);
    expect(empty.every((event) => event.via === 'patch')).toBe(true);
    noLimitRefusals(emulator);
    expect(emulator.stats().rejected).toEqual({});
    for (const [i, session] of sessions.entries()) {
      expect(markdowns(emulator, session.cardId!).find((m) => m.id === 'answer')?.content).toBe(expected[i]);
      checkCard(emulator, session.cardId!);
    }
  }, 60_000);

  it('5xx answers, lost answers, dropped connections and latency on the alternative APIs; every card still ends exact', async () => {
    const governor = new FairGovernor({ limits: LIMITS, spill: true });
    emulator.faults.add({ kind: 'fail', endpoint: PATCH, count: 4, code: 1500, httpStatus: 500 });
    emulator.faults.add({ kind: 'fail', endpoint: BATCH, count: 4, code: 1500, httpStatus: 500 });
    // And answers lost after the write applied, and connections dropped, on both alternatives.
    emulator.faults.add({ kind: 'lose_response', endpoint: BATCH, count: 2 });
    emulator.faults.add({ kind: 'drop', endpoint: PATCH, count: 2 });
    // And a slow element patch API (the spilled write is the card's one in flight meanwhile).
    emulator.faults.add({ kind: 'latency', endpoint: PATCH, latencyMs: 30, latencyMaxMs: 200 });
    const texts = Array.from({ length: 6 }, (_, i) => tricky(i, 16));
    const { results, flushes, retries } = await pipeMany(emulator, governor, texts, 40);
    expect(spilled(flushes)).toBeGreaterThan(0);
    // Each retried failure is told against the API the attempt went through.
    const spilledRetries = retries.filter((event) => event.api === PATCH || event.api === BATCH);
    expect(spilledRetries.length).toBeGreaterThan(0);
    noLimitRefusals(emulator);
    expectExact(emulator, results, texts);
  }, 60_000);

  it('a 429 on the element patch API (and one on content) pauses the API the attempt went through; the cards end exact', async () => {
    const governor = new FairGovernor({ limits: LIMITS, spill: true });
    const paused: { api: string; ms: number }[] = [];
    governor.on('paused', (event) => paused.push(event));
    emulator.faults.add({ kind: 'fail', endpoint: PATCH, count: 2, code: 99991400, headers: { 'x-ogw-ratelimit-reset': '1' } });
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, count: 1, code: 99991400, headers: { 'x-ogw-ratelimit-reset': '1' } });
    const texts = Array.from({ length: 6 }, (_, i) => tricky(i, 16));
    const { results, retries } = await pipeMany(emulator, governor, texts, 40);
    expect(emulator.stats().rejected['99991400']).toBe(3);
    const limited = retries.filter((event) => String((event.error as { code?: unknown }).code) === '99991400');
    expect(limited.map((event) => event.api).sort()).toEqual([PATCH, PATCH, CONTENT].sort());
    expect(paused.map((event) => event.api).sort()).toEqual([PATCH, PATCH, CONTENT].sort());
    expectExact(emulator, results, texts);
  }, 60_000);

  it('aborting answers mid-stream while their writes spill ends each card with its text and the marker, nothing refused', async () => {
    const governor = new FairGovernor({ limits: LIMITS, spill: true });
    const { sessions, flushes } = await startMany(emulator, governor, 6);
    const texts = Array.from({ length: 6 }, (_, i) => tricky(i, 40));
    const piped = sessions.map((session, i) => session.pipe(paced(texts[i]!, 30)).catch((error: unknown) => error));
    await sleep(900);
    const results = await Promise.all(sessions.map((session) => session.abort('cut')));
    await Promise.all(piped);
    expect(spilled(flushes)).toBeGreaterThan(0);
    noLimitRefusals(emulator);
    for (const [i, result] of results.entries()) {
      expect(result.aborted).toBe(true);
      expect(result.text.endsWith(INTERRUPTED)).toBe(true);
      expect(texts[i]!.join('').startsWith(result.text.slice(0, -INTERRUPTED.length))).toBe(true);
      expect(markdowns(emulator, result.cardId!).find((m) => m.id === 'answer')?.content).toBe(result.text);
      checkCard(emulator, result.cardId!);
    }
  }, 60_000);

  it('streaming mode that expires mid-answer (emulator streamingTimeoutMs) is re-opened or given up; cards end exact', async () => {
    await control.restart({ limits: LIMITS, streamingTimeoutMs: 1200 });
    const governor = new FairGovernor({ limits: LIMITS, spill: true });
    const texts = Array.from({ length: 6 }, (_, i) => tricky(i, 30));
    const { results, flushes } = await pipeMany(emulator, governor, texts, 60);
    // Streaming did close under the answers (200850, streaming closed) and was re-opened; nothing else was refused.
    expect(results.some((result) => result.reopens > 0)).toBe(true);
    expect(Object.keys(emulator.stats().rejected).filter((code) => code !== '200850')).toEqual([]);
    expect(spilled(flushes)).toBeGreaterThan(0);
    noLimitRefusals(emulator);
    expectExact(emulator, results, texts);
  }, 60_000);

  it('more than 4 tables continue in new elements while spilling; the elements together hold the text exactly', async () => {
    const governor = new FairGovernor({ limits: LIMITS, spill: true });
    const table = (i: number, t: number) => [`\n\nT${i}.${t}\n\n`, '| a | b |\n', '|---|---|\n', `| ${i} | ${t} |\n`, `| x | 😀 |\n`, `after ${t} `];
    const texts = Array.from({ length: 6 }, (_, i) => Array.from({ length: 6 }, (_, t) => table(i, t)).flat());
    const { results, flushes } = await pipeMany(emulator, governor, texts, 25);
    expect(spilled(flushes)).toBeGreaterThan(0);
    noLimitRefusals(emulator);
    expect(emulator.stats().rejected).toEqual({});
    for (const [i, result] of results.entries()) {
      const all = markdowns(emulator, result.cardId!);
      // The streamed element 'answer' and its continuations ('answer_2', ...).
      const streamed = all.filter((m) => /^answer(_\d+)?$/.test(m.id));
      expect(streamed.length).toBeGreaterThan(1);
      expect(streamed.map((m) => m.content).join('')).toBe(texts[i]!.join(''));
      checkCard(emulator, result.cardId!);
    }
  }, 60_000);

  it('an answer over 30 KB rolls over to a continuation card while spilling; the cards together hold it exactly', async () => {
    const governor = new FairGovernor({ limits: LIMITS, spill: true });
    const chunk = (i: number, k: number) => `${i}/${k} ${'卡片文字'.repeat(60)}\n`;
    // 4 answers of ~44 KB each (UTF-8), in 60 deltas.
    const texts = Array.from({ length: 4 }, (_, i) => Array.from({ length: 60 }, (_, k) => chunk(i, k)));
    const { results, flushes } = await pipeMany(emulator, governor, texts, 20);
    expect(spilled(flushes)).toBeGreaterThan(0);
    noLimitRefusals(emulator);
    for (const [i, result] of results.entries()) {
      expect(result.cards.length).toBeGreaterThan(1);
      const parts = result.cards.map((card) => markdowns(emulator, card.cardId!).find((m) => m.id === 'answer')?.content ?? '');
      // Every card but the last ends with the default continuedText note.
      for (const part of parts.slice(0, -1)) expect(part.endsWith(CONTINUED)).toBe(true);
      const joined = parts.map((part, k) => (k < parts.length - 1 ? part.slice(0, -CONTINUED.length) : part)).join('');
      expect(joined).toBe(texts[i]!.join(''));
      for (const card of result.cards) checkCard(emulator, card.cardId!);
    }
  }, 60_000);

  it('telemetry counts each accepted write under the API it actually went through (equal to the emulator per endpoint)', async () => {
    const attempts: { api: string; verdict: string }[] = [];
    const stop = addObserver({ attempt: (attempt: WriteAttempt) => attempts.push({ api: attempt.write.api, verdict: attempt.verdict }) });
    try {
      const governor = new FairGovernor({ limits: LIMITS, spill: true });
      emulator.faults.add({ kind: 'fail', endpoint: PATCH, count: 3, code: 1500, httpStatus: 500 });
      const texts = Array.from({ length: 6 }, (_, i) => tricky(i, 16));
      const { flushes } = await pipeMany(emulator, governor, texts, 40);
      expect(viaCount(flushes, 'patch')).toBeGreaterThan(0);
      const endpoints = emulator.stats().endpoints;
      for (const api of [CONTENT, PATCH, BATCH]) {
        const accepted = attempts.filter((a) => a.api === api && a.verdict === 'accepted').length;
        expect(accepted, api).toBe(endpoints[api]?.accepted ?? 0);
      }
      expect(attempts.filter((a) => a.api === PATCH && a.verdict === 'retry').length).toBe(3);
    } finally {
      stop();
    }
  }, 60_000);

  // Was a defect (fixed: the step is the API spacing while the minute bucket holds a burst): below the content API's budget, writes spill. On the platform's own limits (50/s, 1000/min) 12 answers
  // each writing once a second in step (12 writes/s, under both the 50/s and the 16.7/s a minute allows, with the
  // minute bucket's 50-call burst unused) have ~40% of their text writes spilled to patch/batch_update (measured:
  // 18-19 of 48). Cause: FairGovernor#grantOne (src/governor/fair-governor.ts:288-290) estimates the backlog with
  // step = max(apiSpacingMs, 1 / refillPerMs) = 63 ms, the minute bucket's sustained pace, while the bucket still
  // holds its burst and the real spacing is 20 ms: 12 writes queued at once look like 20 + 10 x 63 = 650 ms of
  // backlog though the last would wait 11 x 20 = 220 ms. Expected (README "Below the content API's budget nothing
  // spills"): every text write via content (the typewriter).
  it("on the platform's limits, 12 answers writing once a second in step (below the budget) spill nothing", async () => {
    await control.restart({});
    const governor = new FairGovernor({ spill: true });
    const { sessions, flushes } = await startMany(emulator, governor, 12);
    for (let round = 0; round < 4; round++) {
      sessions.forEach((session, i) => session.append(`r${round} s${i} `));
      await sleep(1000);
    }
    await Promise.all(sessions.map((session) => session.finish()));
    expect(emulator.stats().rejected).toEqual({});
    expect(flushes).toHaveLength(48);
    expect(flushes.filter((event) => event.via !== 'content').map((event) => event.via)).toEqual([]);
  }, 30_000);

  it('agent cards (reasoning panel, tool steps, answer) spill their text writes and end exact', async () => {
    const governor = new FairGovernor({ limits: LIMITS, spill: true });
    const beats = (i: number): Beat[] => [
      ...Array.from({ length: 6 }, (_, k): Beat[] => [{ reasoning: `${i}思考${k} 😀 ` }, { pause: 40 }]).flat(),
      { call: `call_${i}`, name: 'lookup', input: { i }, result: { ok: i }, runMs: 60 },
      ...Array.from({ length: 10 }, (_, k): Beat[] => [{ answer: tricky(i, 10)[k]! }, { pause: 40 }]).flat(),
    ];
    const { sessions, flushes } = await startMany(emulator, governor, 6, { agent: true });
    await Promise.all(sessions.map((session, i) => session.pipe(run(beats(i)))));
    expect(spilled(flushes)).toBeGreaterThan(0);
    noLimitRefusals(emulator);
    expect(emulator.stats().rejected).toEqual({});
    for (const [i, session] of sessions.entries()) {
      const view = cardView(emulator, session.cardId!);
      expect(view.reasoning).toBe(Array.from({ length: 6 }, (_, k) => `${i}思考${k} 😀 `).join(''));
      expect(view.answer).toBe(tricky(i, 10).join(''));
      expect(view.steps).toHaveLength(1);
      checkCard(emulator, session.cardId!);
    }
  }, 60_000);

  it('message-card transport is not affected by a spilling governor: every write is im.message.patch, exact', async () => {
    const governor = new FairGovernor({ limits: LIMITS, spill: true });
    const texts = Array.from({ length: 5 }, (_, i) => Array.from({ length: 10 }, (_, k) => `${i}:${k} 卡 `));
    const { results, flushes } = await pipeMany(emulator, governor, texts, 60, { transport: 'message' });
    noLimitRefusals(emulator);
    const endpoints = emulator.stats().endpoints;
    for (const api of [CONTENT, PATCH]) expect(endpoints[api]?.accepted ?? 0, api).toBe(0);
    expect(flushes.length).toBeGreaterThan(0);
    for (const [i, result] of results.entries()) {
      expect(result.transport).toBe('message');
      expect(result.text).toBe(texts[i]!.join(''));
    }
  }, 60_000);
});

describe.skipIf(redisMissing('spill on a Redis-backed governor'))('spill on a Redis-backed governor (adversarial)', () => {
  let emulator: Emulator;
  let server: RunningRedis;
  useEmulator((s) => ({ emulator } = s), { limits: LIMITS });
  beforeAll(async () => {
    server = (await startRedis())!;
  });
  afterAll(async () => {
    await closeRedisClients();
    await server?.stop('SIGTERM');
  });

  it('two replicas (two governors on one Redis) spill together without going over any API budget; cards exact', async () => {
    const governors = await Promise.all([0, 1].map(async () => new FairGovernor({ redis: await openRedis(server.url), appId: 'cli_x', limits: LIMITS, spill: true })));
    const texts = Array.from({ length: 6 }, (_, i) => tricky(i, 16));
    const halves = await Promise.all([0, 1].map((g) => pipeMany(emulator, governors[g]!, texts.filter((_, i) => i % 2 === g), 40)));
    const flushes = halves.flatMap((h) => h.flushes);
    expect(spilled(flushes)).toBeGreaterThan(0);
    expect(governors.every((g) => !g.stats().fallback)).toBe(true);
    noLimitRefusals(emulator);
    expect(emulator.stats().rejected).toEqual({});
    for (const [g, half] of halves.entries()) {
      const mine = texts.filter((_, i) => i % 2 === g);
      for (const [i, result] of half.results.entries()) {
        expect(markdowns(emulator, result.cardId!).find((m) => m.id === 'answer')?.content).toBe(mine[i]!.join(''));
        checkCard(emulator, result.cardId!);
      }
    }
  }, 60_000);
});
