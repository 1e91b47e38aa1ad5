/**
 * `new FeishuClient(options)`: bad options fail at construction naming the option, domains resolve to
 * the platform's base URLs, the client never shows its secret or tokens, and the `fetch` and
 * `tenantAccessToken` options are really used (real requests to the emulator on loopback).
 */
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FeishuClient, type FeishuClientOptions, type FetchLike, type TokenProvider } from '../../src/client/index.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { streamingCard, tenantToken } from '../support/emulator-http.js';

const APP = { appId: 'cli_options', appSecret: 'options-secret-MUST-NOT-LEAK-91ce' };
const TOKEN_ENDPOINT = 'auth.tenantAccessToken.internal';
/** The longest delay Node's timers accept; beyond it a timer fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;
const DOMAIN_PASSWORD = 'domain-password-MUST-NOT-LEAK-3a7';

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return new Error('expected a throw');
}

describe('FeishuClient options: validation', () => {
  const valid: FeishuClientOptions = { appId: 'cli_a', appSecret: 's_a' };

  it('needs an options object', () => {
    expect(() => new FeishuClient(undefined as unknown as FeishuClientOptions)).toThrow(TypeError);
    expect(() => new FeishuClient(null as unknown as FeishuClientOptions)).toThrow(TypeError);
  });

  it.each([
    ['missing', {}],
    ['empty', { appId: '' }],
    ['not a string', { appId: 42 as unknown as string }],
  ])('appId %s is a TypeError naming appId', (_label, override) => {
    const options = { appSecret: 's_a', ...override };
    expect(() => new FeishuClient(options)).toThrow(TypeError);
    expect(() => new FeishuClient(options)).toThrow(/appId/);
  });

  it.each([
    ['missing', {}],
    ['empty', { appSecret: '' }],
    ['not a string', { appSecret: 42 as unknown as string }],
  ])('appSecret %s is a TypeError naming appSecret', (_label, override) => {
    const options = { appId: 'cli_a', ...override };
    expect(() => new FeishuClient(options)).toThrow(TypeError);
    expect(() => new FeishuClient(options)).toThrow(/appSecret/);
  });

  it('the TypeError for a bad appSecret does not echo the value', () => {
    const secret = ['options-secret-in-an-array'];
    let error: unknown;
    try {
      new FeishuClient({ appId: 'cli_a', appSecret: secret as unknown as string });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect(inspect(error)).toContain('appSecret');
    expect(inspect(error)).not.toContain(secret[0]);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '100' as unknown as number, MAX_TIMER_MS + 1, 1e12])(
    'timeoutMs %s is a RangeError naming timeoutMs',
    (timeoutMs) => {
      expect(() => new FeishuClient({ ...valid, timeoutMs })).toThrow(RangeError);
      expect(() => new FeishuClient({ ...valid, timeoutMs })).toThrow(/timeoutMs/);
    },
  );

  it('timeoutMs up to 2_147_483_647 (what timers accept) is allowed', () => {
    expect(() => new FeishuClient({ ...valid, timeoutMs: MAX_TIMER_MS })).not.toThrow();
    expect(() => new FeishuClient({ ...valid, timeoutMs: 0.5 })).not.toThrow();
  });

  it.each(['not a url', 'ftp://example.com', 'file:///etc/passwd', '', 'feishu.cn'])('domain %j is a TypeError naming domain', (domain) => {
    expect(() => new FeishuClient({ ...valid, domain })).toThrow(TypeError);
    expect(() => new FeishuClient({ ...valid, domain })).toThrow(/domain/);
  });

  it.each([
    ['user and password', `https://bot:${DOMAIN_PASSWORD}@open.feishu.cn`],
    ['a password with an @ in it', `https://bot:${DOMAIN_PASSWORD}@x@proxy.example.com/feishu`],
    ['a user only', `https://${DOMAIN_PASSWORD}@open.feishu.cn`],
    ['credentials in a URL that does not parse', `https://bot:${DOMAIN_PASSWORD}@exa mple.com:99999`],
  ])('a domain with credentials (%s) is a TypeError naming domain that does not echo them', (_label, domain) => {
    const error = thrownBy(() => new FeishuClient({ ...valid, domain }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/options\.domain/);
    for (const text of [String(error), inspect(error), JSON.stringify(error)]) expect(text).not.toContain(DOMAIN_PASSWORD);
  });

  it.each(['https://proxy.example.com/feishu?key=1', 'https://proxy.example.com/?', 'https://proxy.example.com/feishu#top', 'https://proxy.example.com#'])(
    'a domain with a query or fragment (%s) is a TypeError naming domain: the API path would land inside it',
    (domain) => {
      expect(() => new FeishuClient({ ...valid, domain })).toThrow(TypeError);
      expect(() => new FeishuClient({ ...valid, domain })).toThrow(/options\.domain.*query or fragment/);
    },
  );

  it.each([
    ['limits', { apiQps: 5 }, /options\.limits moved to the governor.*FairGovernor\(\{ limits \}\)/],
    ['redis', { evalsha: () => undefined, eval: () => undefined }, /options\.redis moved to the governor.*FairGovernor\(\{ limits, redis \}\)/],
  ])('options.%s is a TypeError that says where it moved', (name, value, message) => {
    const options: FeishuClientOptions = { ...valid, [name]: value };
    expect(() => new FeishuClient(options)).toThrow(TypeError);
    expect(() => new FeishuClient(options)).toThrow(message);
  });

  it('a client has no limits or redis fields', () => {
    const client = new FeishuClient(valid);
    expect('limits' in client).toBe(false);
    expect('redis' in client).toBe(false);
  });

  it.each(['fetch', 42, {}])('fetch %j (not a function) is a TypeError naming fetch', (value) => {
    const options = { ...valid, fetch: value as unknown as FetchLike };
    expect(() => new FeishuClient(options)).toThrow(TypeError);
    expect(() => new FeishuClient(options)).toThrow(/fetch/);
  });

  it('a tenantAccessToken that is not a function is a TypeError naming tenantAccessToken', () => {
    const options = { tenantAccessToken: 't-static' as unknown as TokenProvider };
    expect(() => new FeishuClient(options)).toThrow(TypeError);
    expect(() => new FeishuClient(options)).toThrow(/tenantAccessToken/);
  });

  it('a now that is not a function is a TypeError naming now', () => {
    const options = { ...valid, now: 5 as unknown as () => number };
    expect(() => new FeishuClient(options)).toThrow(TypeError);
    expect(() => new FeishuClient(options)).toThrow(/now/);
  });

  it('appId and appSecret are not needed when a tenantAccessToken function is given', () => {
    expect(() => new FeishuClient({ tenantAccessToken: () => Promise.resolve('t-x') })).not.toThrow();
  });
});

describe('FeishuClient options: domain', () => {
  it.each([
    [undefined, 'https://open.feishu.cn'],
    ['feishu', 'https://open.feishu.cn'],
    ['lark', 'https://open.larksuite.com'],
    ['http://127.0.0.1:9999', 'http://127.0.0.1:9999'],
    ['http://127.0.0.1:9999/', 'http://127.0.0.1:9999'],
    ['https://proxy.example.com/feishu/', 'https://proxy.example.com/feishu'],
    ['https://proxy.example.com/feishu//', 'https://proxy.example.com/feishu'],
  ])('domain %j resolves to %s', (domain, expected) => {
    expect(new FeishuClient({ appId: 'cli_a', appSecret: 's_a', domain }).domain).toBe(expected);
  });
});

describe('FeishuClient options against the emulator', () => {
  let emulator: Emulator;
  beforeEach(async () => {
    emulator = await startEmulator({ apps: [APP] });
  });
  afterEach(() => emulator.close());

  const create = (client: FeishuClient) => client.cardkit.v1.card.create({ data: streamingCard() });

  it('a domain with a trailing slash still reaches the API paths (no double slash)', async () => {
    const client = new FeishuClient({ ...APP, domain: `${emulator.url}/` });
    expect(client.domain).toBe(emulator.url);

    const { card_id: cardId } = await create(client);

    expect(emulator.card(cardId)).toBeDefined();
    expect(emulator.stats().rejected).toEqual({});
  });

  it('JSON.stringify and util.inspect of a client show neither the app secret nor the cached token', async () => {
    const client = new FeishuClient({ ...APP, domain: emulator.url });
    await create(client);
    const token = await client.tenantAccessToken();
    expect(token).toMatch(/^t-/);

    const json = JSON.stringify(client);
    expect(JSON.parse(json)).toEqual({ domain: emulator.url, appId: APP.appId });
    for (const text of [
      json,
      inspect(client, { depth: 5 }),
      inspect(client, { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true }),
    ]) {
      expect(text).not.toContain(APP.appSecret);
      expect(text).not.toContain(token);
    }
  });

  it('a client with a tenantAccessToken function shows neither the token nor the function source', async () => {
    const token = await tenantToken(emulator, APP.appId, APP.appSecret);
    const client = new FeishuClient({ domain: emulator.url, tenantAccessToken: () => Promise.resolve(token) });
    await create(client);

    for (const text of [JSON.stringify(client), inspect(client, { depth: Number.POSITIVE_INFINITY, showHidden: true })]) {
      expect(text).not.toContain(token);
    }
  });

  it('a custom fetch is used for every request, the token request included', async () => {
    const urls: string[] = [];
    const countingFetch: FetchLike = (input, init) => {
      urls.push(input);
      return fetch(input, init);
    };
    const client = new FeishuClient({ ...APP, domain: emulator.url, fetch: countingFetch });

    const { card_id: cardId } = await create(client);
    await client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: 'answer', content: 'Hi', sequence: 1 });
    await client.cardkit.v1.card.settings({ card_id: cardId, settings: { config: { streaming_mode: false } }, sequence: 2 });

    // Every request the emulator answered went through the custom fetch.
    const stats = emulator.stats();
    const answered = stats.accepted + Object.values(stats.rejected).reduce((sum, n) => sum + n, 0);
    expect(answered).toBe(4);
    expect(urls).toHaveLength(answered);
    expect(urls.map((url) => new URL(url).pathname)).toEqual([
      '/open-apis/auth/v3/tenant_access_token/internal',
      '/open-apis/cardkit/v1/cards',
      `/open-apis/cardkit/v1/cards/${cardId}/elements/answer/content`,
      `/open-apis/cardkit/v1/cards/${cardId}/settings`,
    ]);
    expect(urls.every((url) => url.startsWith(`${emulator.url}/`))).toBe(true);
  });

  it('a tenantAccessToken function replaces the built-in token manager and is given a signal', async () => {
    const token = await tenantToken(emulator, APP.appId, APP.appSecret);
    expect(emulator.stats().endpoints[TOKEN_ENDPOINT]?.accepted).toBe(1);
    const calls: { signal: unknown; forceRefresh: boolean }[] = [];
    const client = new FeishuClient({
      domain: emulator.url,
      tenantAccessToken: (options) => {
        calls.push(options);
        return Promise.resolve(token);
      },
    });

    const { card_id: cardId } = await create(client);
    await create(client);

    expect(emulator.card(cardId)?.app_id).toBe(APP.appId);
    // The only token request is the one this test made itself.
    expect(emulator.stats().endpoints[TOKEN_ENDPOINT]?.accepted).toBe(1);
    expect(calls).toHaveLength(2);
    for (const call of calls) {
      expect(call.signal).toBeInstanceOf(AbortSignal);
      expect(call.forceRefresh).toBe(false);
    }
    expect(await client.tenantAccessToken()).toBe(token);
  });

  it('a client timeoutMs of 2_147_483_647 lets calls through (the bound is what timers accept, not less)', async () => {
    const client = new FeishuClient({ ...APP, domain: emulator.url, timeoutMs: MAX_TIMER_MS });
    emulator.faults.add({ kind: 'latency', latencyMs: 50, endpoint: 'cardkit.card.create', count: 1 });

    const { card_id: cardId } = await create(client);
    await client.cardkit.v1.card.create({ data: streamingCard() }, { timeoutMs: MAX_TIMER_MS });

    expect(emulator.card(cardId)).toBeDefined();
    expect(emulator.stats().endpoints['cardkit.card.create']).toEqual({ accepted: 2, rejected: 0 });
  });

  it.each([MAX_TIMER_MS + 1, 0, -5, Number.NaN])('a per-call timeoutMs of %s is a RangeError naming timeoutMs, thrown at the call, and nothing is sent', async (timeoutMs) => {
    const client = new FeishuClient({ ...APP, domain: emulator.url });

    expect(() => client.cardkit.v1.card.create({ data: streamingCard() }, { timeoutMs })).toThrow(RangeError);
    expect(() => client.cardkit.v1.card.create({ data: streamingCard() }, { timeoutMs })).toThrow(/timeoutMs/);
    await expect(client.tenantAccessToken({ timeoutMs })).rejects.toThrow(RangeError);

    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(emulator.stats().accepted).toBe(0);
    expect(emulator.stats().rejected).toEqual({});
  });

  it('a tenantAccessToken function that resolves to an empty string fails the call with a TypeError and sends nothing', async () => {
    const client = new FeishuClient({ domain: emulator.url, tenantAccessToken: () => Promise.resolve('') });

    await expect(create(client)).rejects.toThrow(TypeError);
    expect(emulator.stats().accepted).toBe(0);
    expect(emulator.stats().rejected).toEqual({});
  });
});
