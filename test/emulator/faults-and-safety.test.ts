/**
 * Fault injection (typed helpers and `/_emulator/faults`), clock and stats control, and the server's
 * safety rules: loopback by default, bounded bodies, the platform's envelopes for bad requests, log
 * ids, reset, the live event stream, and option validation. Real HTTP on loopback throughout.
 */
import { networkInterfaces } from 'node:os';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, type EmulatorOptions, type FaultSpec, startEmulator } from '../../src/emulator/index.js';
import { api, contentPath, createCard, elementText, patchSettings, putContent, tenantToken, useEmulator } from '../support/emulator-http.js';

const CONTENT = 'cardkit.cardElement.content';

/** One request that may never be answered: resolves with what came back, or with why it failed. */
async function attempt(
  emulator: Emulator,
  method: string,
  path: string,
  init: { token?: string; body?: unknown } = {},
): Promise<{ ok: true; status: number; headers: Headers; body: Record<string, unknown> } | { ok: false; error: Error }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8' };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  try {
    const response = await fetch(`${emulator.url}${path}`, {
      method,
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(5000),
    });
    return { ok: true, status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

/** A `/_emulator/…` call: JSON in, status and JSON out. */
async function control(emulator: Emulator, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

describe('fault injection', () => {
  let emulator: Emulator;
  let token: string;
  let cardId: string;
  beforeEach(async () => {
    emulator = await startEmulator();
    token = await tenantToken(emulator);
    cardId = await createCard(emulator, token);
  });
  afterEach(() => emulator.close());

  it('fail answers the next N calls of one endpoint with the chosen code and HTTP status; other endpoints pass; call N+1 passes', async () => {
    const fault = emulator.faults.add({ kind: 'fail', endpoint: CONTENT, count: 2, code: 1500, httpStatus: 500 });
    expect(fault).toMatchObject({ kind: 'fail', endpoint: CONTENT, remaining: 2 });

    const first = await putContent(emulator, token, cardId, 1, 'one');
    expect([first.status, first.body.code]).toEqual([500, 1500]);
    expect(first.headers.get('x-tt-logid')).toBeTruthy();
    expect((first.body.error as { log_id: string }).log_id).toBe(first.headers.get('x-tt-logid'));

    // Another endpoint, even on the same card, is not affected.
    expect((await patchSettings(emulator, token, cardId, 1, { config: { summary: { content: 'Thinking' } } })).body.code).toBe(0);
    expect((await createCard(emulator, token)).length).toBeGreaterThan(0);

    const second = await putContent(emulator, token, cardId, 2, 'two');
    expect([second.status, second.body.code]).toEqual([500, 1500]);
    // The failed calls were never handled: the text is untouched and sequence 2 is still free.
    expect(elementText(emulator, cardId)).toBe('');
    expect(emulator.card(cardId)?.sequence).toBe(1);

    const third = await putContent(emulator, token, cardId, 2, 'three');
    expect([third.status, third.body.code]).toEqual([200, 0]);
    expect(elementText(emulator, cardId)).toBe('three');
    expect(emulator.faults.list()).toEqual([]);
  });

  it('fail faults added over HTTP (POST /_emulator/faults) behave like the typed helper', async () => {
    const added = await control(emulator, 'POST', '/_emulator/faults', { kind: 'fail', endpoint: CONTENT, count: 2, code: 300120 });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ kind: 'fail', endpoint: CONTENT, remaining: 2 });
    expect(typeof added.body.id).toBe('number');

    const codes: [number, number][] = [];
    for (let sequence = 1; sequence <= 3; sequence++) {
      const res = await putContent(emulator, token, cardId, sequence, `text ${sequence}`);
      codes.push([res.status, res.body.code]);
    }
    expect(codes).toEqual([
      [400, 300120],
      [400, 300120],
      [200, 0],
    ]);
    expect(elementText(emulator, cardId)).toBe('text 3');
  });

  it('a 99991400 fail answers HTTP 429 by default and carries the x-ogw-ratelimit headers supplied', async () => {
    await control(emulator, 'POST', '/_emulator/faults', {
      kind: 'fail',
      endpoint: 'cardkit.card.create',
      code: 99991400,
      headers: { 'x-ogw-ratelimit-limit': '50', 'x-ogw-ratelimit-reset': '7' },
    });

    const res = await api(emulator, 'POST', '/open-apis/cardkit/v1/cards', { token, body: { type: 'card_json', data: '{}' } });

    expect([res.status, res.body.code]).toEqual([429, 99991400]);
    expect(res.headers.get('x-ogw-ratelimit-reset')).toBe('7');
    expect(res.headers.get('x-ogw-ratelimit-limit')).toBe('50');
    expect(res.body.msg).toBe('request trigger frequency limit');
  });

  it('a fail fault without an endpoint applies to any API, the token endpoint included, once', async () => {
    emulator.faults.add({ kind: 'fail', code: 10013 });
    const failed = await api(emulator, 'POST', '/open-apis/auth/v3/tenant_access_token/internal', { body: { app_id: 'cli_x', app_secret: 's_x' } });
    expect([failed.status, failed.body.code]).toEqual([400, 10013]);
    expect(await tenantToken(emulator)).toMatch(/^t-/);
  });

  it('drop closes the connection without handling the request: fetch rejects and the card is unchanged', async () => {
    expect((await putContent(emulator, token, cardId, 1, 'before')).body.code).toBe(0);
    emulator.faults.add({ kind: 'drop', endpoint: CONTENT });

    const dropped = await attempt(emulator, 'PUT', contentPath(cardId), { token, body: { content: 'lost', sequence: 2 } });

    expect(dropped.ok).toBe(false);
    if (!dropped.ok) expect(dropped.error.name).not.toBe('TimeoutError');
    expect(elementText(emulator, cardId)).toBe('before');
    expect(emulator.card(cardId)?.sequence).toBe(1);
    expect(emulator.card(cardId)?.log.filter((entry) => entry.sequence === 2)).toEqual([]);
    // Nothing was applied, so the same sequence still lands.
    expect((await putContent(emulator, token, cardId, 2, 'after')).body.code).toBe(0);
    expect(elementText(emulator, cardId)).toBe('after');
  });

  it('lose_response applies the write and then closes the connection: fetch rejects, the card has the new text, a replay gets 300317', async () => {
    emulator.faults.add({ kind: 'lose_response', endpoint: CONTENT });

    const lost = await attempt(emulator, 'PUT', contentPath(cardId), { token, body: { content: 'landed', sequence: 1 } });

    expect(lost.ok).toBe(false);
    if (!lost.ok) expect(lost.error.name).not.toBe('TimeoutError');
    expect(elementText(emulator, cardId)).toBe('landed');
    expect(emulator.card(cardId)?.sequence).toBe(1);
    const replay = await putContent(emulator, token, cardId, 1, 'landed');
    expect([replay.status, replay.body.code]).toEqual([400, 300317]);
    expect((await putContent(emulator, token, cardId, 2, 'landed again')).body.code).toBe(0);
  });

  it('a fixed 300 ms latency delays the answer by at least 300 ms and the answer is still correct', async () => {
    emulator.faults.add({ kind: 'latency', endpoint: CONTENT, latencyMs: 300 });

    const { value, ms } = await timed(() => putContent(emulator, token, cardId, 1, 'slow'));

    expect([value.status, value.body.code]).toEqual([200, 0]);
    // setTimeout may fire up to a millisecond early against performance.now().
    expect(ms).toBeGreaterThanOrEqual(299);
    expect(elementText(emulator, cardId)).toBe('slow');
  });

  it('a random latency range keeps answering correctly, each answer at least the low end late, until cleared', async () => {
    await control(emulator, 'POST', '/_emulator/faults', { kind: 'latency', latencyMs: 40, latencyMaxMs: 120 });
    for (let sequence = 1; sequence <= 4; sequence++) {
      const { value, ms } = await timed(() => putContent(emulator, token, cardId, sequence, `x${sequence}`));
      expect([value.status, value.body.code]).toEqual([200, 0]);
      expect(ms).toBeGreaterThanOrEqual(39);
    }
    expect(elementText(emulator, cardId)).toBe('x4');
    // Latency without a count stays until cleared.
    expect(emulator.faults.list()).toEqual([expect.objectContaining({ kind: 'latency', endpoint: '*' })]);
    emulator.faults.clear();
    expect(emulator.faults.list()).toEqual([]);
  });

  it('faults can be listed and cleared through the typed helpers and through GET/DELETE /_emulator/faults', async () => {
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, count: 3 });
    await control(emulator, 'POST', '/_emulator/faults', { kind: 'drop', endpoint: 'im.message.create' });

    const listed = await control(emulator, 'GET', '/_emulator/faults');
    expect(listed.body.faults).toEqual([
      expect.objectContaining({ kind: 'fail', endpoint: CONTENT, remaining: 3 }),
      expect.objectContaining({ kind: 'drop', endpoint: 'im.message.create', remaining: 1 }),
    ]);
    expect(emulator.faults.list()).toHaveLength(2);

    expect(await control(emulator, 'DELETE', '/_emulator/faults')).toEqual({ status: 200, body: { cleared: true } });
    expect(emulator.faults.list()).toEqual([]);
    expect((await putContent(emulator, token, cardId, 1, 'clean')).body.code).toBe(0);

    emulator.faults.add({ kind: 'fail', endpoint: CONTENT });
    emulator.faults.clear();
    expect((await control(emulator, 'GET', '/_emulator/faults')).body).toEqual({ faults: [] });
  });

  const invalidSpecs: [string, unknown, typeof TypeError | typeof RangeError][] = [
    ['an unknown kind', { kind: 'explode' }, TypeError],
    ['no kind at all', { endpoint: CONTENT }, TypeError],
    ['an empty endpoint', { kind: 'fail', endpoint: '' }, TypeError],
    ['a zero count', { kind: 'fail', count: 0 }, RangeError],
    ['a fractional count', { kind: 'drop', count: 1.5 }, RangeError],
    ['latency without latencyMs', { kind: 'latency' }, RangeError],
    ['a negative latency', { kind: 'latency', latencyMs: -1 }, RangeError],
    ['a latency range upside down', { kind: 'latency', latencyMs: 100, latencyMaxMs: 50 }, RangeError],
    ['code 0 for a failure', { kind: 'fail', code: 0 }, RangeError],
    ['a code that is not a number', { kind: 'fail', code: '300120' }, RangeError],
    ['an HTTP status out of range', { kind: 'fail', httpStatus: 99 }, RangeError],
  ];

  it.each(invalidSpecs)('a fault spec with %s is refused (%O) by the helper and with 400 over HTTP', async (_name, spec, errorType) => {
    expect(() => emulator.faults.add(spec as FaultSpec)).toThrow(errorType);
    const res = await control(emulator, 'POST', '/_emulator/faults', spec);
    expect(res.status).toBe(400);
    expect(typeof res.body.error).toBe('string');
    expect(emulator.faults.list()).toEqual([]);
  });

  it('a fault naming an endpoint the emulator does not serve is refused (a typo would silently never fire)', async () => {
    expect(() => emulator.faults.add({ kind: 'fail', endpoint: 'cardkit.cardElement.contnet' })).toThrow(TypeError);
    const res = await control(emulator, 'POST', '/_emulator/faults', { kind: 'fail', endpoint: 'cardkit.cardelement.content' });
    expect(res.status).toBe(400);
    expect(emulator.faults.list()).toEqual([]);
  });

  it.each([
    ['a header name with a space', { 'bad header': 'x' }],
    ['a header value with a line break', { 'x-a': 'line\r\nbreak' }],
  ])('a fail fault with %s is refused when added, not turned into a 500 later', async (_name, headers) => {
    const added = await control(emulator, 'POST', '/_emulator/faults', { kind: 'fail', endpoint: CONTENT, headers });
    const next = await putContent(emulator, token, cardId, 1, 'fine');
    // Refused at once, so the next write is not affected at all.
    expect([added.status, next.status, next.body.code]).toEqual([400, 200, 0]);
  });
});

describe('clock and stats control', () => {
  let emulator: Emulator;
  let token: string;
  useEmulator((started) => ({ emulator, token } = started));

  it('GET /_emulator/clock reports emulated time and speed; POST advanceMs moves it and crosses the streaming window', async () => {
    const cardId = await createCard(emulator, token);
    const before = await control(emulator, 'GET', '/_emulator/clock');
    expect(before.body).toMatchObject({ speed: 1 });
    expect(Math.abs((before.body.now as number) - Date.now())).toBeLessThan(5_000);

    const after = await control(emulator, 'POST', '/_emulator/clock', { advanceMs: 600_000 });

    expect(after.status).toBe(200);
    expect((after.body.now as number) - (before.body.now as number)).toBeGreaterThanOrEqual(600_000);
    expect(emulator.clock.now()).toBeGreaterThanOrEqual(after.body.now as number);
    expect((await putContent(emulator, token, cardId, 1, 'late')).body.code).toBe(200850);
  });

  it('POST /_emulator/clock speed makes emulated time run faster', async () => {
    const set = await control(emulator, 'POST', '/_emulator/clock', { speed: 1000 });
    expect(set.body.speed).toBe(1000);
    expect(emulator.clock.speed).toBe(1000);
    const start = emulator.clock.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(emulator.clock.now() - start).toBeGreaterThanOrEqual(40_000);
  });

  it.each([
    [{ speed: 0 }],
    [{ speed: 'fast' }],
    [{ advanceMs: -5 }],
    [{ advanceMs: 'soon' }],
  ])('POST /_emulator/clock %j is refused with 400', async (body) => {
    const res = await control(emulator, 'POST', '/_emulator/clock', body);
    expect(res.status).toBe(400);
    expect(typeof res.body.error).toBe('string');
    expect(emulator.clock.speed).toBe(1);
  });

  it('a refused clock request changes nothing (a valid speed next to an invalid advanceMs is not applied)', async () => {
    const res = await control(emulator, 'POST', '/_emulator/clock', { speed: 50, advanceMs: -1 });
    expect(res.status).toBe(400);
    expect(emulator.clock.speed).toBe(1);
  });

  it('emulated time stays finite: an advance that would overflow it is refused', async () => {
    await control(emulator, 'POST', '/_emulator/clock', { advanceMs: 1e308 });
    await control(emulator, 'POST', '/_emulator/clock', { advanceMs: 1e308 });
    expect(Number.isFinite(emulator.clock.now())).toBe(true);
    const res = await api(emulator, 'POST', '/open-apis/auth/v3/tenant_access_token/internal', { body: { app_id: 'cli_x', app_secret: 's_x' } });
    expect(typeof res.body.expire).toBe('number');
  });

  it('GET /_emulator/stats counts accepted API calls and rejected ones by error code', async () => {
    const cardId = await createCard(emulator, token);
    await putContent(emulator, token, cardId, 1, 'a');
    await putContent(emulator, token, cardId, 1, 'b');
    await api(emulator, 'POST', '/open-apis/cardkit/v1/cards', { body: { type: 'card_json', data: '{}' } });
    await api(emulator, 'GET', '/open-apis/nowhere');
    await api(emulator, 'PUT', contentPath(cardId), { token, body: { content: '', sequence: 2 } });
    await api(emulator, 'PUT', contentPath(cardId), { token, body: { content: '', sequence: 3 } });
    await control(emulator, 'GET', '/_emulator/cards');

    const stats = await control(emulator, 'GET', '/_emulator/stats');

    expect(stats).toEqual({
      status: 200,
      body: {
        accepted: 3,
        rejected: { 300317: 1, 99991661: 1, 99991201: 1, 10002: 2 },
        // Per endpoint; the unknown route matched none, so it is counted only in `rejected`.
        endpoints: {
          'auth.tenantAccessToken.internal': { accepted: 1, rejected: 0 },
          'cardkit.card.create': { accepted: 1, rejected: 1 },
          'cardkit.cardElement.content': { accepted: 1, rejected: 3 },
        },
        // The requests with a valid tenant token again, per app and tenant (the token endpoint and the refusal
        // before the token check are not among them).
        tenants: {
          cli_x: {
            emulator_tenant: {
              accepted: 2,
              rejected: { 300317: 1, 10002: 2 },
              endpoints: { 'cardkit.card.create': { accepted: 1, rejected: 0 }, 'cardkit.cardElement.content': { accepted: 1, rejected: 3 } },
            },
          },
        },
      },
    });
    expect(emulator.stats()).toEqual(stats.body);
  });
});

describe('server safety', () => {
  let emulator: Emulator;
  let token: string;
  useEmulator((started) => ({ emulator, token } = started), { maxBodyBytes: 1024 });

  it('binds 127.0.0.1 by default and is not reachable on other interfaces', async () => {
    expect(emulator.options.host).toBe('127.0.0.1');
    expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emulator.port).toBeGreaterThan(0);
    const external = Object.values(networkInterfaces())
      .flat()
      .find((info) => info && info.family === 'IPv4' && !info.internal);
    if (external) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = connect(emulator.port, external.address);
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
        socket.setTimeout(2000, () => {
          socket.destroy();
          resolve('timeout');
        });
      });
      expect(outcome).not.toBe('connected');
    }
  });

  it.each([2048, 1_000_000])('a %i-byte body over maxBodyBytes gets HTTP 413 with the error envelope, and the server keeps serving', async (size) => {
    const res = await fetch(`${emulator.url}/open-apis/cardkit/v1/cards`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'card_json', data: 'x'.repeat(size) }),
      signal: AbortSignal.timeout(5000),
    });
    const body = (await res.json()) as { code: number; msg: string; error: { log_id: string } };

    expect(res.status).toBe(413);
    expect(body.code).toBe(10002);
    expect(body.msg).toContain('1024');
    expect(body.error.log_id).toBe(res.headers.get('x-tt-logid'));
    expect(emulator.cards()).toEqual([]);
    const cardId = await createCard(emulator, token);
    expect((await putContent(emulator, token, cardId, 1, 'still serving')).body.code).toBe(0);
  });

  it('a malformed JSON body gets HTTP 400 code 10002; so does JSON that is not an object', async () => {
    const cardId = await createCard(emulator, token);
    for (const rawBody of ['{"content": "x", "sequence": 1', '[1,2]', '"text"', 'null', '\u0000\u00ff']) {
      const res = await api(emulator, 'PUT', contentPath(cardId), { token, rawBody });
      expect([rawBody, res.status, res.body.code]).toEqual([rawBody, 400, 10002]);
    }
    expect(emulator.card(cardId)?.sequence).toBe(0);
  });

  it('an unknown route gets HTTP 404 code 99991201', async () => {
    for (const path of ['/open-apis/cardkit/v2/cards', '/open-apis/', '/', '/open-apis/im/v1/messages/om_1/unknown']) {
      const res = await api(emulator, 'POST', path, { token, body: {} });
      expect([path, res.status, res.body.code]).toEqual([path, 404, 99991201]);
    }
  });

  it('a wrong method on a known path gets HTTP 405 code 99991301', async () => {
    const cardId = await createCard(emulator, token);
    const cases: [string, string][] = [
      ['GET', '/open-apis/cardkit/v1/cards'],
      ['DELETE', `/open-apis/cardkit/v1/cards/${cardId}`],
      ['POST', contentPath(cardId)],
      ['GET', '/open-apis/auth/v3/tenant_access_token/internal'],
    ];
    for (const [method, path] of cases) {
      const res = await api(emulator, method, path, { token });
      expect([method, path, res.status, res.body.code]).toEqual([method, path, 405, 99991301]);
    }
  });

  it('every API response carries X-Tt-Logid, and error bodies carry the same id as error.log_id', async () => {
    const cardId = await createCard(emulator, token);
    emulator.faults.add({ kind: 'fail', endpoint: 'cardkit.card.settings', code: 300122 });
    const responses = [
      await api(emulator, 'POST', '/open-apis/auth/v3/tenant_access_token/internal', { body: { app_id: 'cli_x', app_secret: 's_x' } }),
      await putContent(emulator, token, cardId, 1, 'ok'),
      await putContent(emulator, token, cardId, 1, 'again'),
      await api(emulator, 'PUT', contentPath(cardId), { body: { content: 'x', sequence: 2 } }),
      await api(emulator, 'GET', '/open-apis/nowhere'),
      await api(emulator, 'GET', contentPath(cardId)),
      await patchSettings(emulator, token, cardId, 2, { config: {} }),
      await api(emulator, 'PUT', contentPath(cardId), { token, rawBody: 'x'.repeat(2048) }),
    ];
    const logIds = responses.map((res) => res.headers.get('x-tt-logid'));
    for (const [i, res] of responses.entries()) {
      expect(logIds[i], `response ${i}`).toMatch(/^\d{14}[0-9A-F]{18}$/);
      if (res.body.code !== 0) expect((res.body.error as { log_id?: string }).log_id, `response ${i}`).toBe(logIds[i]);
    }
    expect(new Set(logIds).size).toBe(logIds.length);
    expect(responses.map((res) => res.body.code)).toEqual([0, 0, 300317, 99991661, 99991201, 99991301, 300122, 10002]);
  });

  it('POST /_emulator/reset forgets cards, messages, tokens, stats and faults', async () => {
    const cardId = await createCard(emulator, token);
    await api(emulator, 'POST', '/open-apis/im/v1/messages?receive_id_type=chat_id', {
      token,
      body: { receive_id: 'oc_1', msg_type: 'interactive', content: JSON.stringify({ type: 'card', data: { card_id: cardId } }) },
    });
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT });
    expect(emulator.messages()).toHaveLength(1);

    expect(await control(emulator, 'POST', '/_emulator/reset')).toEqual({ status: 200, body: { reset: true } });

    expect(emulator.cards()).toEqual([]);
    expect(emulator.messages()).toEqual([]);
    expect(emulator.faults.list()).toEqual([]);
    expect(emulator.stats()).toEqual({ accepted: 0, rejected: {}, endpoints: {}, tenants: {} });
    expect((await createCard(emulator, token).catch((error: Error) => error.message))).toContain('99991663');
    // Registered apps stay: a new token works.
    expect(await createCard(emulator, await tenantToken(emulator))).toMatch(/^\d+$/);
  });

  it('GET /_emulator/events is a server-sent event stream that emits a change event when a card is written', async () => {
    const cardId = await createCard(emulator, token);
    const abort = new AbortController();
    const response = await fetch(`${emulator.url}/_emulator/events`, { signal: AbortSignal.any([abort.signal, AbortSignal.timeout(5000)]) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let received = decoder.decode((await reader.read()).value);
    expect(received).toContain(': connected');

    expect((await putContent(emulator, token, cardId, 1, 'live')).body.code).toBe(0);
    while (!/event: change\ndata: .*\n\n/.test(received)) {
      const chunk = await reader.read();
      if (chunk.done) break;
      received += decoder.decode(chunk.value, { stream: true });
    }
    abort.abort();
    await reader.cancel().catch(() => undefined);

    const data = /event: change\ndata: (.*)\n\n/.exec(received)?.[1];
    expect(JSON.parse(data ?? 'null')).toMatchObject({
      type: 'card',
      cardId,
      entry: { endpoint: CONTENT, sequence: 1, code: 0, element_id: 'answer' },
    });
  });

  it('a "__proto__" key in a partial element does not pollute Object.prototype of the emulator process', async () => {
    const cardId = await createCard(emulator, token);
    const probe = 'emulatorPollutionProbe';
    try {
      await api(emulator, 'PATCH', `/open-apis/cardkit/v1/cards/${cardId}/elements/answer`, {
        token,
        rawBody: `{"sequence":1,"partial_element":${JSON.stringify(`{"__proto__":{"${probe}":"polluted"}}`)}}`,
      });
      await patchSettings(emulator, token, cardId, 2, JSON.parse(`{"config":{"__proto__":{"${probe}2":"polluted"}}}`) as unknown);
      expect(({} as Record<string, unknown>)[probe]).toBeUndefined();
      expect(({} as Record<string, unknown>)[`${probe}2`]).toBeUndefined();
    } finally {
      // Undo any pollution so that one failure does not leak into the rest of this worker.
      delete (Object.prototype as Record<string, unknown>)[probe];
      delete (Object.prototype as Record<string, unknown>)[`${probe}2`];
    }
  });
});

describe('option validation', () => {
  const cases: [string, EmulatorOptions, typeof TypeError | typeof RangeError, RegExp][] = [
    ['a negative port', { port: -1 }, RangeError, /options\.port/],
    ['a port above 65535', { port: 65_536 }, RangeError, /options\.port/],
    ['a fractional port', { port: 80.5 }, RangeError, /options\.port/],
    ['apiQps 0', { limits: { apiQps: 0 } }, RangeError, /limits\.apiQps/],
    ['cardQps -1', { limits: { cardQps: -1 } }, RangeError, /limits\.cardQps/],
    ['no apps', { apps: [] }, TypeError, /options\.apps/],
    ['an app without a secret', { apps: [{ appId: 'cli_a', appSecret: '' }] }, TypeError, /options\.apps/],
    ['maxBodyBytes 0', { maxBodyBytes: 0 }, RangeError, /maxBodyBytes/],
    ['clockSpeed 0', { clockSpeed: 0 }, RangeError, /clockSpeed/],
    ['a streaming timeout of NaN', { streamingTimeoutMs: Number.NaN }, RangeError, /streamingTimeoutMs/],
  ];

  it.each(cases)('startEmulator with %s rejects with an error naming the option', async (_name, options, errorType, names) => {
    const started = startEmulator(options);
    await expect(started).rejects.toThrow(errorType);
    await expect(started).rejects.toThrow(names);
  });
});
