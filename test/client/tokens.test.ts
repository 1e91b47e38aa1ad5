/**
 * Tenant tokens through `FeishuClient` (reference §11.4, §18): fetched once and shared, renewed in the
 * background inside the last 30 minutes, replaced after expiry or revocation at the cost of one rejected
 * request, retried once per call (never in a loop), every rejected token forgotten (the retry's too) so
 * the next call starts fresh, credentials refusals kept apart, and never visible in an error. Real HTTP to the emulator on loopback;
 * the client runs on the emulator's clock so two hours pass in a call to `clock.advance`.
 */
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FeishuApiError, FeishuClient, type FeishuClientOptions, FeishuError, type FetchLike } from '../../src/client/index.js';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../src/emulator/index.js';
import { streamingCard, tenantToken } from '../support/emulator-http.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const TOKEN_ENDPOINT = 'auth.tenantAccessToken.internal';
const TOKEN_PATH = '/open-apis/auth/v3/tenant_access_token/internal';
const APP = { appId: 'cli_tokens', appSecret: 'app-secret-MUST-NOT-LEAK-5c1e9a' };
const WRONG_SECRET = 'wrong-secret-MUST-NOT-LEAK-77d0b2';

/** Every secret and every token this file's clients were given: none may appear in an error. */
const sensitive = new Set<string>([APP.appSecret, WRONG_SECRET]);
/** Errors client calls rejected with in the current test; checked for leaks after each test. */
let thrown: unknown[] = [];

/** What a bearer token each request carried (undefined for the token request), in send order. */
interface Sent {
  path: string;
  token: string | undefined;
}

/** The global fetch, noting each request's token and remembering each token the platform hands out. */
function observingFetch(sent: Sent[]): FetchLike {
  return async (input, init) => {
    const bearer = new Headers(init.headers).get('authorization');
    const token = bearer === null ? undefined : bearer.replace(/^Bearer /, '');
    if (token !== undefined) sensitive.add(token);
    sent.push({ path: new URL(input).pathname, token });
    const response = await fetch(input, init);
    if (new URL(input).pathname === TOKEN_PATH) {
      const body = (await response.clone().json()) as { tenant_access_token?: unknown };
      if (typeof body.tenant_access_token === 'string') sensitive.add(body.tenant_access_token);
    }
    return response;
  };
}

/** Awaits a call that must fail; the error is kept for the leak check. */
async function rejection(call: Promise<unknown>): Promise<unknown> {
  const error = await call.then(
    (value) => new Error(`expected the call to fail, but it succeeded with ${JSON.stringify(value)}`),
    (reason: unknown) => reason,
  );
  thrown.push(error);
  return error;
}

/** Every way an error is commonly printed or shipped to a log. */
function renderings(error: unknown): string[] {
  const e = error as Error;
  return [
    String(e),
    e.message,
    e.stack ?? '',
    JSON.stringify(e),
    inspect(e, { depth: 10, showHidden: true }),
    inspect(e.cause, { depth: 10, showHidden: true }),
  ];
}

function expectNoSecretOrToken(errors: unknown[]): void {
  for (const error of errors) {
    for (const text of renderings(error)) {
      for (const secret of sensitive) expect(text).not.toContain(secret);
    }
  }
}

describe('FeishuClient tenant tokens', () => {
  let emulator: Emulator;
  let sent: Sent[];

  async function start(options: EmulatorOptions = {}): Promise<void> {
    emulator = await startEmulator({ apps: [APP], limits: { apiQps: 500, apiQpm: 10_000 }, ...options });
  }

  function makeClient(options: Partial<FeishuClientOptions> = {}): FeishuClient {
    return new FeishuClient({
      appId: APP.appId,
      appSecret: APP.appSecret,
      domain: emulator.url,
      now: () => emulator.clock.now(),
      fetch: observingFetch(sent),
      ...options,
    });
  }

  /** Any authenticated call: creating a card. */
  async function call(client: FeishuClient): Promise<string> {
    const { card_id } = await client.cardkit.v1.card.create({ data: streamingCard() });
    return card_id;
  }

  const tokenRequests = () => emulator.stats().endpoints[TOKEN_ENDPOINT]?.accepted ?? 0;
  /** Tokens the card-create requests carried, in send order. */
  const createTokens = () => sent.filter((s) => s.path === '/open-apis/cardkit/v1/cards').map((s) => s.token);

  beforeEach(async () => {
    sent = [];
    thrown = [];
    await start();
  });
  afterEach(async () => {
    expectNoSecretOrToken(thrown);
    await emulator.close();
  });

  it('the first call fetches a token and later calls reuse it (one token request for many calls)', async () => {
    const client = makeClient();
    for (let i = 0; i < 5; i++) await call(client);

    expect(tokenRequests()).toBe(1);
    expect(emulator.stats().endpoints['cardkit.card.create']).toEqual({ accepted: 5, rejected: 0 });
    const token = await client.tenantAccessToken();
    expect(token).toMatch(/^t-/);
    expect(createTokens()).toEqual(Array(5).fill(token));
    expect(tokenRequests()).toBe(1);
  });

  it('50 concurrent calls before any token exists share exactly one token request', async () => {
    const client = makeClient();
    const cardIds = await Promise.all(Array.from({ length: 50 }, () => call(client)));

    expect(new Set(cardIds).size).toBe(50);
    expect(tokenRequests()).toBe(1);
    expect(sent.filter((s) => s.path === TOKEN_PATH)).toHaveLength(1);
    expect(new Set(createTokens()).size).toBe(1);
    expect(emulator.stats().rejected).toEqual({});
  });

  it('inside the last 30 minutes calls keep using the current token while one new token is fetched in the background', async () => {
    const client = makeClient();
    await call(client);
    const first = await client.tenantAccessToken();

    emulator.clock.advance(91 * MINUTE);
    // Five calls inside the renewal window: all succeed at once with the still-valid token.
    await Promise.all(Array.from({ length: 5 }, () => call(client)));
    expect(createTokens().slice(1)).toEqual(Array(5).fill(first));

    await vi.waitFor(() => expect(tokenRequests()).toBe(2));
    const second = await client.tenantAccessToken();
    expect(second).not.toBe(first);

    // From now on the new token is sent: with the old one revoked, calls still pass on the first try.
    emulator.revokeTokens({ token: first });
    await call(client);
    await call(client);
    expect(createTokens().slice(6)).toEqual([second, second]);
    expect(emulator.stats().rejected).toEqual({});
    expect(tokenRequests()).toBe(2);
  });

  it('after the token expired (past 2 h) calls still succeed with a fresh token, and the expired one is never sent', async () => {
    const client = makeClient();
    await call(client);
    const first = await client.tenantAccessToken();

    emulator.clock.advance(2 * HOUR + MINUTE);
    await call(client);
    await call(client);

    const tokens = createTokens();
    expect(tokens[1]).not.toBe(first);
    expect(tokens[2]).toBe(tokens[1]);
    expect(tokenRequests()).toBe(2);
    expect(emulator.stats().rejected).toEqual({});
  });

  it('a token with under 30 seconds left is not sent: the call waits for the new one', async () => {
    const client = makeClient();
    await call(client);
    const first = await client.tenantAccessToken();

    emulator.clock.advance(2 * HOUR - 10_000);
    await call(client);

    expect(createTokens()[1]).not.toBe(first);
    expect(tokenRequests()).toBe(2);
    expect(emulator.stats().rejected).toEqual({});
  });

  it('a token revoked mid-run costs exactly one failed call (99991663), retried transparently with a new token', async () => {
    const client = makeClient();
    await call(client);
    const first = await client.tenantAccessToken();
    expect(emulator.revokeTokens()).toBe(1);

    const cardId = await call(client);

    expect(emulator.card(cardId)).toBeDefined();
    const stats = emulator.stats();
    expect(stats.rejected).toEqual({ 99991663: 1 });
    expect(stats.endpoints['cardkit.card.create']).toEqual({ accepted: 2, rejected: 1 });
    expect(tokenRequests()).toBe(2);
    const [, rejectedWith, retriedWith] = createTokens();
    expect(rejectedWith).toBe(first);
    expect(retriedWith).not.toBe(first);
    expect(await client.tenantAccessToken()).toBe(retriedWith);
  });

  it('concurrent calls that all hit a revoked token each fail once and share one new token', async () => {
    const client = makeClient();
    await call(client);
    emulator.revokeTokens();

    const cardIds = await Promise.all(Array.from({ length: 5 }, () => call(client)));

    expect(cardIds.every((id) => emulator.card(id) !== undefined)).toBe(true);
    expect(emulator.stats().rejected).toEqual({ 99991663: 5 });
    expect(tokenRequests()).toBe(2);
  });

  it('a token the platform keeps rejecting fails the call after one refresh (category token, retryable), and the next call asks the provider to refresh again', async () => {
    const revoked = await tenantToken(emulator, APP.appId, APP.appSecret);
    sensitive.add(revoked);
    emulator.revokeTokens();
    const good = await tenantToken(emulator, APP.appId, APP.appSecret);
    sensitive.add(good);
    const providerCalls: boolean[] = [];
    const client = makeClient({
      appId: undefined,
      appSecret: undefined,
      tenantAccessToken: ({ forceRefresh }) => {
        providerCalls.push(forceRefresh);
        // Two stale answers (a shared cache not yet updated), then the current token.
        return Promise.resolve(providerCalls.length <= 2 ? revoked : good);
      },
    });

    const error = await rejection(call(client));

    expect(error).toBeInstanceOf(FeishuApiError);
    expect(error).toMatchObject({ code: 99991663, category: 'token', retryable: true, endpoint: 'cardkit.card.create', httpStatus: 400 });
    expect(providerCalls).toEqual([false, true]);
    expect(emulator.stats().rejected).toEqual({ 99991663: 2 });

    // The retry's rejected token was forgotten too: the next call asks for a fresh one at once.
    const cardId = await call(client);
    expect(emulator.card(cardId)).toBeDefined();
    expect(providerCalls).toEqual([false, true, true]);
    expect(createTokens()).toEqual([revoked, revoked, good]);
    expect(emulator.stats().rejected).toEqual({ 99991663: 2 });
  });

  it('two token rejections in a row fail one call, and the next call fetches a fresh token and succeeds', async () => {
    const client = makeClient();
    await call(client);
    emulator.faults.add({ kind: 'fail', code: 99991663, endpoint: 'cardkit.card.create', count: 2 });

    const error = await rejection(call(client));

    expect(error).toBeInstanceOf(FeishuApiError);
    expect(error).toMatchObject({ code: 99991663, category: 'token', retryable: true });
    expect(emulator.stats().endpoints['cardkit.card.create']).toEqual({ accepted: 1, rejected: 2 });
    // One refresh inside the failed call: never a loop.
    expect(tokenRequests()).toBe(2);

    const cardId = await call(client);

    expect(emulator.card(cardId)).toBeDefined();
    // The token the retry was rejected with was forgotten: the next call fetched another before sending.
    expect(tokenRequests()).toBe(3);
    expect(sent.map((s) => s.path === TOKEN_PATH)).toEqual([true, false, false, true, false, true, false]);
    expect(emulator.stats().endpoints['cardkit.card.create']).toEqual({ accepted: 2, rejected: 2 });
  });

  it.each([3, 4, 5])('%i token rejections in a row fail one call per two rejections, each rejection forgets its token, and the next call succeeds', async (rejections) => {
    const client = makeClient();
    await call(client);
    emulator.faults.add({ kind: 'fail', code: 99991661, endpoint: 'cardkit.card.create', count: rejections });

    const errors: unknown[] = [];
    let cardId: string | undefined;
    for (let attempt = 0; attempt < rejections && cardId === undefined; attempt++) {
      try {
        cardId = await call(client);
      } catch (error) {
        thrown.push(error);
        errors.push(error);
      }
    }

    expect(cardId).toBeDefined();
    expect(emulator.card(cardId as string)).toBeDefined();
    // A call fails after two rejections; an odd last rejection is absorbed by its call's one retry.
    expect(errors).toHaveLength(Math.floor(rejections / 2));
    for (const error of errors) expect(error).toMatchObject({ code: 99991661, category: 'token', retryable: true });
    expect(tokenRequests()).toBe(1 + rejections);
    expect(emulator.stats().endpoints['cardkit.card.create']).toEqual({ accepted: 2, rejected: rejections });
  });

  it('a short token lifetime (120 s) does not cause a token request per call', async () => {
    await emulator.close();
    await start({ tokenLifetimeSec: 120 });
    const client = makeClient();

    for (let i = 0; i < 10; i++) await call(client);
    expect(tokenRequests()).toBe(1);

    // Past half the lifetime the token is renewed once, in the background.
    emulator.clock.advance(61_000);
    await call(client);
    await vi.waitFor(() => expect(tokenRequests()).toBe(2));
    for (let i = 0; i < 5; i++) await call(client);
    expect(tokenRequests()).toBe(2);
    expect(emulator.stats().rejected).toEqual({});
  });

  it('a wrong app secret fails with FeishuApiError 10015 (category credentials, not retryable) from the token endpoint, and the secret is nowhere in the error', async () => {
    const client = makeClient({ appSecret: WRONG_SECRET });

    const error = await rejection(call(client));

    expect(error).toBeInstanceOf(FeishuApiError);
    const apiError = error as FeishuApiError;
    expect(apiError).toMatchObject({ code: 10015, endpoint: TOKEN_ENDPOINT, httpStatus: 400, category: 'credentials', retryable: false });
    expect(tokenRequests()).toBe(0);
    expect(emulator.stats().endpoints[TOKEN_ENDPOINT]).toEqual({ accepted: 0, rejected: 1 });
    for (const text of [apiError.message, String(apiError.cause), apiError.toString(), JSON.stringify(apiError), inspect(apiError)]) {
      expect(text).not.toContain(WRONG_SECRET);
      expect(text).not.toContain(APP.appSecret);
    }
    expect(emulator.stats().endpoints['cardkit.card.create']).toBeUndefined();
    expect(emulator.cards()).toEqual([]);
  });

  it.each([10003, 10014, 10015, 99991662, 99991673])(
    'the token endpoint refusing the credentials (%i) is category credentials: one token request, no card call',
    async (code) => {
      emulator.faults.add({ kind: 'fail', code, endpoint: TOKEN_ENDPOINT });
      const client = makeClient();

      const error = await rejection(call(client));

      expect(error).toBeInstanceOf(FeishuApiError);
      expect(error).toMatchObject({ code, endpoint: TOKEN_ENDPOINT, category: 'credentials', retryable: false });
      expect(sent.map((s) => s.path)).toEqual([TOKEN_PATH]);
      expect(emulator.stats().endpoints['cardkit.card.create']).toBeUndefined();
    },
  );

  it.each([10012, 10013])('a transient token endpoint failure (%i) is retryable, and the next call gets a token', async (code) => {
    emulator.faults.add({ kind: 'fail', code, endpoint: TOKEN_ENDPOINT });
    const client = makeClient();

    const error = await rejection(call(client));
    expect(error).toMatchObject({ code, endpoint: TOKEN_ENDPOINT, category: 'retryable', retryable: true });

    await expect(call(client)).resolves.toMatch(/\S/);
    expect(tokenRequests()).toBe(1);
  });

  it('errors from failed token requests, rejected tokens, dropped connections and timeouts carry neither the secret nor a token', async () => {
    const good = makeClient();
    await call(good);
    const token = await good.tenantAccessToken();
    expect(sensitive.has(token)).toBe(true);

    const errors: unknown[] = [];
    errors.push(await rejection(call(makeClient({ appSecret: WRONG_SECRET }))));
    errors.push(await rejection(makeClient({ appSecret: WRONG_SECRET }).tenantAccessToken()));

    emulator.faults.add({ kind: 'drop', endpoint: TOKEN_ENDPOINT });
    errors.push(await rejection(call(makeClient())));

    emulator.faults.add({ kind: 'fail', code: 99991663, endpoint: 'cardkit.card.create', count: 2 });
    errors.push(await rejection(call(good)));

    emulator.faults.add({ kind: 'drop', endpoint: 'cardkit.card.create' });
    errors.push(await rejection(call(good)));

    emulator.faults.add({ kind: 'latency', latencyMs: 300, endpoint: 'cardkit.card.create', count: 1 });
    errors.push(await rejection(good.cardkit.v1.card.create({ data: streamingCard() }, { timeoutMs: 50 })));

    expect(errors.map((e) => (e as FeishuError).kind)).toEqual(['api', 'api', 'network', 'api', 'network', 'timeout']);
    expect(errors.every((e) => e instanceof FeishuError)).toBe(true);
    expectNoSecretOrToken(errors);
  });
});
