/**
 * Errors of the open-platform client (reference §16, §17): the code table `categorize` applies, and
 * what each failure of a real call to the emulator turns into: platform codes with their HTTP status
 * and wait hint, dropped and lost connections, timeouts, and the caller's own aborts.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  type ErrorCategory,
  FeishuApiError,
  FeishuClient,
  type FeishuClientOptions,
  FeishuError,
  FeishuNetworkError,
  FeishuTimeoutError,
  type FetchLike,
  categorize,
  isAlreadySent,
  isCardGone,
  isReplayApplied,
} from '../../src/client/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { elementText, streamingCard, useEmulator } from '../support/emulator-http.js';

const APP = { appId: 'cli_errors', appSecret: 'errors-secret-MUST-NOT-LEAK-4b7f' };

/** Every code named in errors.ts and reference §17, with the category the client acts on. */
const TABLE: [number, ErrorCategory][] = [
  // R: retry with backoff
  [300120, 'retryable'],
  [200810, 'retryable'],
  [230049, 'retryable'],
  [1500, 'retryable'],
  [1663, 'retryable'],
  [2200, 'retryable'],
  [10012, 'retryable'],
  [10013, 'retryable'],
  // RL: wait, then retry
  [99991400, 'rate_limited'],
  [230020, 'rate_limited'],
  // S: re-open streaming
  [200850, 'streaming_closed'],
  [300309, 'streaming_closed'],
  [200510, 'streaming_closed'],
  // sequence resync
  [300317, 'sequence_conflict'],
  // T: refresh the token, then retry
  [99991661, 'token'],
  [99991663, 'token'],
  [99991664, 'token'],
  [99991665, 'token'],
  // too large
  [200860, 'too_large'],
  [230025, 'too_large'],
  // G on the token endpoint: the app's credentials are refused
  ...[10003, 10014, 10015, 99991662, 99991673].map((code): [number, ErrorCategory] => [code, 'credentials']),
  // N: the card entity is gone or not this app's
  ...[200740, 200750, 300311].map((code): [number, ErrorCategory] => [code, 'card_gone']),
  // G, or another way: the app lacks a scope (a session falls back to message cards)
  ...[99991672, 99991676].map((code): [number, ErrorCategory] => [code, 'permission']),
  // G: fix the request; retrying does not help
  ...[
    10002, 200220, 200770, 300121, 300122, 300301, 300302, 300303, 300305, 300307, 300310, 300312, 300313, 300314, 300315, 230001,
    230002, 230006, 230011, 230013, 230022, 230027, 230028, 230031, 230099, 230110, 232009, 99991201, 99991301, 99991401, 99991403,
    99991668, 99991671, 99991677,
  ].map((code): [number, ErrorCategory] => [code, 'fatal']),
];

describe('categorize', () => {
  it.each(TABLE)('code %i with HTTP 400 is %s', (code, category) => {
    expect(categorize(code, 400)).toBe(category);
  });

  it.each(TABLE.filter(([, category]) => category !== 'fatal'))('a known code %i keeps its category %s whatever the HTTP status', (code, category) => {
    expect(categorize(code, 200)).toBe(category);
    expect(categorize(code, 429)).toBe(category);
    expect(categorize(code, 500)).toBe(category);
  });

  it('99991400 is rate_limited with HTTP 429 and with the 400 some older APIs answer', () => {
    expect(categorize(99991400, 429)).toBe('rate_limited');
    expect(categorize(99991400, 400)).toBe('rate_limited');
  });

  it.each([
    [500, 'retryable'],
    [502, 'retryable'],
    [503, 'retryable'],
    [599, 'retryable'],
    [400, 'fatal'],
    [403, 'fatal'],
    [404, 'fatal'],
    [200, 'fatal'],
  ] as const)('an unknown code with HTTP %i is %s', (status, category) => {
    expect(categorize(987654, status)).toBe(category);
  });

  it.each(TABLE)('FeishuApiError for code %i: category %s, retryable only when retryable, rate_limited or token', (code, category) => {
    const error = new FeishuApiError({ code, msg: 'm', httpStatus: 400, logId: undefined, endpoint: 'cardkit.card.create' });
    expect(error.category).toBe(category);
    expect(error.retryable).toBe(category === 'retryable' || category === 'rate_limited' || category === 'token');
  });
});

describe('platform code helpers', () => {
  const apiError = (code: number, msg = 'm') => new FeishuApiError({ code, msg, httpStatus: 400, logId: undefined, endpoint: 'cardkit.card.create' });

  it('isCardGone is true for a missing (200740), expired (200750) or foreign (300311) card and nothing else', () => {
    expect([200740, 200750, 300311].map((code) => isCardGone(apiError(code)))).toEqual([true, true, true]);
    expect([200770, 300317, 10002, 99991663].map((code) => isCardGone(apiError(code)))).toEqual([false, false, false, false]);
    expect(isCardGone(new FeishuNetworkError('cardkit.card.create', 'x'))).toBe(false);
    expect(isCardGone(new Error('200740'))).toBe(false);
  });

  it('isReplayApplied is true only for 200770 (uuid already used)', () => {
    expect(isReplayApplied(apiError(200770))).toBe(true);
    expect(isReplayApplied(apiError(300317))).toBe(false);
    expect(isReplayApplied({ code: 200770 })).toBe(false);
  });

  it('isAlreadySent is true only for 230099 whose msg carries 200780', () => {
    expect(isAlreadySent(apiError(230099, 'Failed to create card content, ext=ErrCode: 200780; ErrMsg: card binding biz count over limit'))).toBe(true);
    expect(isAlreadySent(apiError(230099, 'Failed to create card content, ext=ErrCode: 200621'))).toBe(false);
    expect(isAlreadySent(apiError(230001, '200780'))).toBe(false);
  });
});

describe('FeishuError classes', () => {
  it('every subclass is a FeishuError and an Error with a stable kind, name and endpoint', () => {
    const api = new FeishuApiError({ code: 300317, msg: 'seq', httpStatus: 400, logId: 'L1', endpoint: 'cardkit.cardElement.content' });
    const network = new FeishuNetworkError('cardkit.card.create', 'request failed', new Error('socket hang up'));
    const timeout = new FeishuTimeoutError('cardkit.card.settings', 250);
    for (const error of [api, network, timeout]) {
      expect(error).toBeInstanceOf(FeishuError);
      expect(error).toBeInstanceOf(Error);
    }
    expect([api.kind, network.kind, timeout.kind]).toEqual(['api', 'network', 'timeout']);
    expect([api.name, network.name, timeout.name]).toEqual(['FeishuApiError', 'FeishuNetworkError', 'FeishuTimeoutError']);
    expect([api.endpoint, network.endpoint, timeout.endpoint]).toEqual(['cardkit.cardElement.content', 'cardkit.card.create', 'cardkit.card.settings']);
    expect([network.retryable, timeout.retryable]).toEqual([true, true]);
    expect(timeout.timeoutMs).toBe(250);
    expect(api.message).toContain('300317');
    expect(api.message).toContain('L1');
  });

  it('a network error keeps only the name, message, code and stack of each cause in its chain, never what a request carried', () => {
    const request = { config: { headers: { Authorization: 'Bearer t-secret' }, data: '{"app_secret":"s-secret"}' } };
    const socket = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }, request);
    const cause = Object.assign(new TypeError('fetch failed', { cause: socket }), request);
    const error = new FeishuNetworkError('cardkit.card.create', 'request failed', cause);

    expect(error.cause).toBeInstanceOf(Error);
    // The wrapped code is also lifted to the first cause, where callers look for it.
    expect(error.cause).toMatchObject({ name: 'TypeError', message: 'fetch failed', code: 'ECONNREFUSED', stack: cause.stack });
    expect((error.cause as Error).cause).toMatchObject({ message: 'connect ECONNREFUSED 127.0.0.1:1', code: 'ECONNREFUSED', stack: socket.stack });
    expect(Object.keys(error.cause as object).sort()).toEqual(['code', 'name']);
    const text = inspect(error, { depth: 10, showHidden: true });
    expect(text).not.toContain('t-secret');
    expect(text).not.toContain('s-secret');
  });
});

describe('FeishuClient errors against the emulator', () => {
  let emulator: Emulator;
  const fixture = useEmulator(
    (started) => {
      emulator = started.emulator;
    },
    { apps: [APP] },
  );

  /** A client whose requests go through the global fetch; `responses` sees every answer's headers. */
  function makeClient(options: Partial<FeishuClientOptions> = {}): { client: FeishuClient; responses: Response[]; requests: number } {
    const seen = { responses: [] as Response[], requests: 0 };
    const observing: FetchLike = async (input, init) => {
      seen.requests++;
      const response = await fetch(input, init);
      seen.responses.push(response);
      return response;
    };
    const client = new FeishuClient({ ...APP, domain: emulator.url, now: () => emulator.clock.now(), fetch: observing, ...options });
    return {
      client,
      responses: seen.responses,
      get requests() {
        return seen.requests;
      },
    };
  }

  const create = (client: FeishuClient, options = {}) => client.cardkit.v1.card.create({ data: streamingCard() }, options);

  async function rejection(call: Promise<unknown>): Promise<unknown> {
    return call.then(
      (value) => new Error(`expected the call to fail, but it succeeded with ${JSON.stringify(value)}`),
      (reason: unknown) => reason,
    );
  }

  /** Nothing an error prints may hold the secret or the token. */
  function expectNoSecrets(error: unknown, token: string): void {
    const e = error as Error;
    for (const text of [e.message, String(e), JSON.stringify(e), inspect(e, { depth: 10, showHidden: true }), inspect(e.cause, { depth: 10 })]) {
      expect(text).not.toContain(APP.appSecret);
      expect(text).not.toContain(token);
    }
  }

  it('a 429 from the gateway limit is FeishuApiError 99991400 (rate_limited) with retryAfterMs = 1000 × x-ogw-ratelimit-reset', async () => {
    await fixture.restart({ apps: [APP], limits: { apiQps: 1 } });
    const { client, responses } = makeClient();
    await client.tenantAccessToken();

    const results = await Promise.allSettled([create(client), create(client), create(client)]);

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(errors).toHaveLength(2);
    const throttled = responses.filter((r) => r.status === 429);
    expect(throttled).toHaveLength(2);
    const resets = throttled.map((r) => Number(r.headers.get('x-ogw-ratelimit-reset')));
    for (const error of errors) {
      expect(error).toBeInstanceOf(FeishuApiError);
      const apiError = error as FeishuApiError;
      expect(apiError).toMatchObject({ code: 99991400, httpStatus: 429, category: 'rate_limited', retryable: true, endpoint: 'cardkit.card.create' });
      expect(apiError.retryAfterMs).toBeGreaterThanOrEqual(1000);
      expect(resets.map((reset) => reset * 1000)).toContain(apiError.retryAfterMs);
    }
  });

  it('the wait a 99991400 asks for (x-ogw-ratelimit-reset: 7) becomes retryAfterMs 7000', async () => {
    const { client } = makeClient();
    emulator.faults.add({ kind: 'fail', code: 99991400, endpoint: 'cardkit.card.create', headers: { 'x-ogw-ratelimit-reset': '7' } });

    const error = await rejection(create(client));

    expect(error).toBeInstanceOf(FeishuApiError);
    expect(error).toMatchObject({ code: 99991400, httpStatus: 429, category: 'rate_limited', retryAfterMs: 7000 });
  });

  it('an error without x-ogw-ratelimit-reset has no retryAfterMs', async () => {
    const { client } = makeClient();
    emulator.faults.add({ kind: 'fail', code: 230020, endpoint: 'cardkit.card.create' });

    const error = await rejection(create(client));

    expect(error).toMatchObject({ code: 230020, category: 'rate_limited', retryAfterMs: undefined });
  });

  it('a 5xx platform answer (1500, HTTP 500) is a retryable FeishuApiError with the log id', async () => {
    const { client, responses } = makeClient();
    emulator.faults.add({ kind: 'fail', code: 1500, httpStatus: 500, endpoint: 'cardkit.card.create' });

    const error = await rejection(create(client));

    expect(error).toBeInstanceOf(FeishuApiError);
    expect(error).toMatchObject({ code: 1500, httpStatus: 500, category: 'retryable', retryable: true, kind: 'api' });
    expect((error as FeishuApiError).logId).toBe(responses.at(-1)?.headers.get('x-tt-logid'));
  });

  it('an unknown code is retryable with HTTP 503 and fatal with HTTP 400', async () => {
    const { client } = makeClient();
    emulator.faults.add({ kind: 'fail', code: 424242, httpStatus: 503, endpoint: 'cardkit.card.create' });
    emulator.faults.add({ kind: 'fail', code: 424242, httpStatus: 400, endpoint: 'cardkit.card.create' });

    const first = await rejection(create(client));
    const second = await rejection(create(client));

    expect(first).toMatchObject({ code: 424242, httpStatus: 503, category: 'retryable', retryable: true });
    expect(second).toMatchObject({ code: 424242, httpStatus: 400, category: 'fatal', retryable: false });
  });

  it('a dropped connection is a retryable FeishuNetworkError whose message and cause hold no secret or token', async () => {
    const { client } = makeClient();
    const token = await client.tenantAccessToken();
    emulator.faults.add({ kind: 'drop', endpoint: 'cardkit.card.create' });

    const error = await rejection(create(client));

    expect(error).toBeInstanceOf(FeishuNetworkError);
    expect(error).toBeInstanceOf(FeishuError);
    expect(error).toMatchObject({ kind: 'network', retryable: true, endpoint: 'cardkit.card.create' });
    expectNoSecrets(error, token);
    expect(emulator.cards()).toEqual([]);
  });

  it('a lost response is a FeishuNetworkError although the write was applied', async () => {
    const { client } = makeClient();
    const { card_id: cardId } = await create(client);
    emulator.faults.add({ kind: 'lose_response', endpoint: 'cardkit.cardElement.content' });

    const error = await rejection(client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: 'answer', content: 'Hello', sequence: 1 }));

    expect(error).toBeInstanceOf(FeishuNetworkError);
    expect(error).toMatchObject({ kind: 'network', retryable: true, endpoint: 'cardkit.cardElement.content' });
    expect(elementText(emulator, cardId)).toBe('Hello');
    expect(emulator.card(cardId)?.sequence).toBe(1);
  });

  it('a call slower than its timeoutMs fails with FeishuTimeoutError carrying that timeout', async () => {
    const { client } = makeClient();
    await client.tenantAccessToken();
    emulator.faults.add({ kind: 'latency', latencyMs: 500, endpoint: 'cardkit.card.create', count: 1 });

    const error = await rejection(create(client, { timeoutMs: 100 }));

    expect(error).toBeInstanceOf(FeishuTimeoutError);
    expect(error).toBeInstanceOf(FeishuError);
    expect(error).toMatchObject({ kind: 'timeout', timeoutMs: 100, retryable: true, endpoint: 'cardkit.card.create' });
  });

  it('the client-level timeoutMs applies to every call', async () => {
    const { client } = makeClient({ timeoutMs: 100 });
    await create(client);
    emulator.faults.add({ kind: 'latency', latencyMs: 500, endpoint: 'cardkit.card.create', count: 1 });

    const error = await rejection(create(client));

    expect(error).toBeInstanceOf(FeishuTimeoutError);
    expect(error).toMatchObject({ kind: 'timeout', timeoutMs: 100 });
  });

  it('a per-call timeoutMs overrides the client-level one', async () => {
    const { client } = makeClient({ timeoutMs: 100 });
    await create(client);
    emulator.faults.add({ kind: 'latency', latencyMs: 300, endpoint: 'cardkit.card.create', count: 1 });

    await expect(create(client, { timeoutMs: 5000 })).resolves.toMatchObject({ card_id: expect.any(String) as string });
  });

  it("a signal aborted mid-call rejects with the signal's reason, not a FeishuError", async () => {
    const { client } = makeClient();
    await client.tenantAccessToken();
    emulator.faults.add({ kind: 'latency', latencyMs: 1000, endpoint: 'cardkit.card.create', count: 1 });
    const controller = new AbortController();
    const reason = new Error('the user pressed stop');
    setTimeout(() => controller.abort(reason), 50);

    const error = await rejection(create(client, { signal: controller.signal }));

    expect(error).toBe(reason);
    expect(error).not.toBeInstanceOf(FeishuError);
  });

  it('abort() without a reason rejects with an AbortError', async () => {
    const { client } = makeClient();
    await client.tenantAccessToken();
    emulator.faults.add({ kind: 'latency', latencyMs: 1000, endpoint: 'cardkit.card.create', count: 1 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);

    const error = await rejection(create(client, { signal: controller.signal }));

    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('AbortError');
    expect(error).toBe(controller.signal.reason);
    expect(error).not.toBeInstanceOf(FeishuError);
  });

  it("a signal aborted while the token is still being fetched rejects with the signal's reason", async () => {
    const { client } = makeClient();
    emulator.faults.add({ kind: 'latency', latencyMs: 1000, endpoint: 'auth.tenantAccessToken.internal', count: 1 });
    const controller = new AbortController();
    const reason = new Error('cancelled during token fetch');
    setTimeout(() => controller.abort(reason), 50);

    const error = await rejection(create(client, { signal: controller.signal }));

    expect(error).toBe(reason);
    expect(emulator.stats().endpoints['cardkit.card.create']).toBeUndefined();
  });

  it.each([
    { when: 'token cached', cacheToken: true },
    { when: 'no token yet: not even a token request', cacheToken: false },
  ])('an already-aborted signal sends nothing ($when)', async ({ cacheToken }) => {
    const { client } = makeClient();
    if (cacheToken) await client.tenantAccessToken();
    const before = emulator.stats();
    const reason = new Error('already cancelled');

    const error = await rejection(create(client, { signal: AbortSignal.abort(reason) }));

    expect(error).toBe(reason);
    // Give a stray request time to arrive before checking nothing did.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(emulator.stats()).toEqual(before);
  });

  it('a FeishuApiError from the platform carries code, msg, HTTP status and the X-Tt-Logid', async () => {
    const { client, responses } = makeClient();
    const { card_id: cardId } = await create(client);
    await client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: 'answer', content: 'a', sequence: 3 });

    const error = await rejection(client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: 'answer', content: 'b', sequence: 3 }));

    expect(error).toBeInstanceOf(FeishuApiError);
    const apiError = error as FeishuApiError;
    expect(apiError).toMatchObject({ kind: 'api', code: 300317, httpStatus: 400, category: 'sequence_conflict', retryable: false });
    expect(apiError.msg).toMatch(/\S/);
    expect(apiError.logId).toBe(responses.at(-1)?.headers.get('x-tt-logid'));
    expect(apiError.message).toContain(apiError.logId);
  });
});
