/**
 * The app secret and tenant tokens never reach an error, whoever wrote the text: a `fetch` whose error
 * quotes the request (its body carries the secret, its headers the token), nested causes and their
 * stacks, a server echoing a token or the secret in `msg`, the official SDK's errors. Each occurrence
 * becomes `[redacted]`; the rest of the text stays. Real HTTP to the emulator on loopback; the custom
 * `fetch` and SDK `httpInstance` delegate to the real ones and only reword their failures.
 */
import * as lark from '@larksuiteoapi/node-sdk';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FeishuApiError,
  FeishuClient,
  type FeishuClientOptions,
  FeishuNetworkError,
  type FetchLike,
} from '../../src/client/index.js';
import { larkSdkTransport } from '../../src/client/lark-sdk.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { streamingCard, tenantToken } from '../support/emulator-http.js';

const APP = { appId: 'cli_secrets', appSecret: 'secrets-app-secret-MUST-NOT-LEAK-0f3d' };
const TOKEN_ENDPOINT = 'auth.tenantAccessToken.internal';
const TOKEN_PATH = '/open-apis/auth/v3/tenant_access_token/internal';
const REDACTED = '[redacted]';

/** Every way an error, and each cause under it, is commonly printed or shipped to a log. */
function renderings(error: unknown): string[] {
  const texts = [JSON.stringify(error), inspect(error, { depth: 20, showHidden: true }), inspect(error)];
  let level: unknown = error;
  for (let depth = 0; level instanceof Error && depth < 20; depth++, level = level.cause) {
    texts.push(String(level), level.message, level.stack ?? '', JSON.stringify(level), inspect(level, { depth: 20, showHidden: true }));
    if (level instanceof FeishuApiError) texts.push(level.msg, String(level.logId));
  }
  return texts;
}

function expectNoneOf(error: unknown, secrets: string[]): void {
  for (const text of renderings(error)) {
    for (const secret of secrets) expect(text).not.toContain(secret);
  }
}

async function rejection(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    (value) => new Error(`expected the call to fail, but it succeeded with ${JSON.stringify(value)}`),
    (reason: unknown) => reason,
  );
}

/** The messages of an error's causes, outermost first. */
function causeMessages(error: unknown): string[] {
  const messages: string[] = [];
  for (let level = (error as Error).cause; level instanceof Error; level = level.cause) messages.push(level.message);
  return messages;
}

describe('secrets never reach an error', () => {
  let emulator: Emulator;
  beforeEach(async () => {
    emulator = await startEmulator({ apps: [APP] });
  });
  afterEach(() => emulator.close());

  /**
   * The global fetch, except that a request to a path in `failOn` fails the way some instrumented
   * fetches do: an error quoting the whole request, headers and body, with a cause that quotes it again.
   */
  function quotingFetch(failOn: Set<string>): FetchLike {
    return async (input, init) => {
      if (!failOn.has(new URL(input).pathname)) return fetch(input, init);
      const request = `${init.method ?? 'GET'} ${input} headers=${JSON.stringify(init.headers)} body=${typeof init.body === 'string' ? init.body : ''}`;
      const socket = new Error(`socket closed while writing ${request}`);
      Object.assign(socket, { code: 'ECONNRESET' });
      throw new TypeError(`fetch failed: ${request}`, { cause: socket });
    };
  }

  function makeClient(options: Partial<FeishuClientOptions>): FeishuClient {
    return new FeishuClient({ ...APP, domain: emulator.url, ...options });
  }

  const create = (client: FeishuClient) => client.cardkit.v1.card.create({ data: streamingCard() });

  it('a fetch error quoting the token request body has the app secret redacted from its message, nested cause and stacks', async () => {
    const client = makeClient({ fetch: quotingFetch(new Set([TOKEN_PATH])) });

    const error = await rejection(create(client));

    expect(error).toBeInstanceOf(FeishuNetworkError);
    expect(error).toMatchObject({ kind: 'network', endpoint: TOKEN_ENDPOINT });
    expectNoneOf(error, [APP.appSecret]);
    // Redacted, not dropped: the rest of each cause's text is still there to debug with.
    const [outer, inner] = causeMessages(error);
    expect(outer).toMatch(/^fetch failed: POST http:\/\/127\.0\.0\.1:\d+\/open-apis\/auth/);
    expect(outer).toContain(`"app_secret":"${REDACTED}"`);
    expect(inner).toContain(`"app_secret":"${REDACTED}"`);
    expect((error as Error).cause).toMatchObject({ name: 'TypeError', code: 'ECONNRESET' });
    expect(((error as Error).cause as Error).stack).toContain(REDACTED);
  });

  it("a fetch error quoting a call's headers has the built-in manager's token redacted", async () => {
    const failOn = new Set<string>();
    const client = makeClient({ fetch: quotingFetch(failOn) });
    await create(client);
    const token = await client.tenantAccessToken();
    failOn.add('/open-apis/cardkit/v1/cards');

    const error = await rejection(create(client));

    expect(error).toBeInstanceOf(FeishuNetworkError);
    expectNoneOf(error, [token, APP.appSecret]);
    expect(causeMessages(error)[0]).toContain(`Bearer ${REDACTED}`);
  });

  it("a fetch error quoting a call's headers has the tenantAccessToken function's token redacted", async () => {
    const token = await tenantToken(emulator, APP.appId, APP.appSecret);
    const client = new FeishuClient({
      domain: emulator.url,
      tenantAccessToken: () => Promise.resolve(token),
      fetch: quotingFetch(new Set(['/open-apis/cardkit/v1/cards'])),
    });

    const error = await rejection(create(client));

    expect(error).toBeInstanceOf(FeishuNetworkError);
    expectNoneOf(error, [token]);
    expect(causeMessages(error)[0]).toContain(`Bearer ${REDACTED}`);
  });

  it('every token the client has held is redacted, not only the current one', async () => {
    const failOn = new Set<string>();
    const client = makeClient({ fetch: quotingFetch(failOn), now: () => emulator.clock.now() });
    await create(client);
    const first = await client.tenantAccessToken();
    emulator.revokeTokens({ token: first });
    await create(client);
    const second = await client.tenantAccessToken();
    expect(second).not.toBe(first);
    failOn.add('/open-apis/cardkit/v1/cards');
    // A fetch quoting both tokens (a log of recent requests) on a later failure.
    const quotingBoth: FetchLike = () => Promise.reject(new Error(`recent: Bearer ${first}, Bearer ${second}`));
    const later = makeClient({ fetch: quotingBoth, tenantAccessToken: () => Promise.resolve(second) });

    const error = await rejection(create(client));
    const fromOther = await rejection(later.cardkit.v1.card.create({ data: streamingCard() }));

    expectNoneOf(error, [first, second]);
    // Another client never held `first`: it redacts only what it was given.
    expect(causeMessages(fromOther)[0]).toBe(`recent: Bearer ${first}, Bearer ${REDACTED}`);
  });

  it('a server answer whose msg echoes the token has it redacted from msg, message and stack', async () => {
    const client = makeClient({});
    await create(client);
    const token = await client.tenantAccessToken();
    emulator.faults.add({ kind: 'fail', code: 10002, endpoint: 'cardkit.card.create', msg: `invalid request from ${token} (token ${token})` });

    const error = await rejection(create(client));

    expect(error).toBeInstanceOf(FeishuApiError);
    expect(error).toMatchObject({ code: 10002, msg: expect.stringContaining(`invalid request from ${REDACTED} (token ${REDACTED})`) as unknown });
    expectNoneOf(error, [token, APP.appSecret]);
  });

  it('a token rejection whose msg echoes the rejected token has it redacted', async () => {
    const client = makeClient({});
    await create(client);
    const token = await client.tenantAccessToken();
    emulator.faults.add({ kind: 'fail', code: 99991663, endpoint: 'cardkit.card.create', msg: `Invalid access token for authorization: ${token}`, count: 2 });

    const error = await rejection(create(client));

    expect(error).toMatchObject({ code: 99991663, category: 'token', msg: expect.stringContaining(`Invalid access token for authorization: ${REDACTED}`) as unknown });
    expectNoneOf(error, [token]);
  });

  it('a token endpoint answer whose msg echoes the app secret has it redacted', async () => {
    emulator.faults.add({ kind: 'fail', code: 10015, endpoint: TOKEN_ENDPOINT, msg: `app secret ${APP.appSecret} is invalid` });
    const client = makeClient({});

    const error = await rejection(create(client));

    expect(error).toMatchObject({ code: 10015, category: 'credentials', msg: expect.stringContaining(`app secret ${REDACTED} is invalid`) as unknown });
    expectNoneOf(error, [APP.appSecret]);
  });

  describe('through the official SDK (larkSdkTransport)', () => {
    /**
     * The SDK's own axios instance, except that a request to a path in `failOn` is dropped by the
     * emulator and its error reworded to quote the request's headers and body.
     */
    function quotingHttp(): lark.HttpInstance {
      const http = lark.defaultHttpInstance;
      const reword = (error: unknown): never => {
        const config = (error as { config?: { headers?: unknown; data?: unknown } }).config;
        if (error instanceof Error && config) error.message = `${error.message}; sent ${JSON.stringify(config.headers)} ${String(config.data)}`;
        throw error;
      };
      return {
        request: (opts) => http.request(opts).catch(reword),
        get: (url, opts) => http.get(url, opts).catch(reword),
        delete: (url, opts) => http.delete(url, opts).catch(reword),
        head: (url, opts) => http.head(url, opts).catch(reword),
        options: (url, opts) => http.options(url, opts).catch(reword),
        post: (url, data, opts) => http.post(url, data, opts).catch(reword),
        put: (url, data, opts) => http.put(url, data, opts).catch(reword),
        patch: (url, data, opts) => http.patch(url, data, opts).catch(reword),
      } as lark.HttpInstance;
    }

    const quiet: lark.Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, trace: () => undefined };

    function sdkClient(): FeishuClient {
      const sdk = new lark.Client({ ...APP, domain: emulator.url, cache: new lark.DefaultCache(), logger: quiet, httpInstance: quotingHttp() });
      return new FeishuClient({ transport: larkSdkTransport(sdk) });
    }

    it("an SDK error quoting the token request has the SDK client's app secret redacted", async () => {
      emulator.faults.add({ kind: 'drop', endpoint: TOKEN_ENDPOINT });
      const client = sdkClient();

      const error = await rejection(create(client));

      expect(error).toBeInstanceOf(FeishuNetworkError);
      expectNoneOf(error, [APP.appSecret]);
      expect(causeMessages(error)[0]).toContain(`"app_secret":"${REDACTED}"`);
    });

    it("an SDK error quoting a call's headers has the SDK's token redacted", async () => {
      const client = sdkClient();
      await create(client);
      // The emulator hands the same app the same token while more than 30 minutes are left: the SDK's.
      const token = await tenantToken(emulator, APP.appId, APP.appSecret);
      emulator.faults.add({ kind: 'drop', endpoint: 'cardkit.card.create' });

      const error = await rejection(create(client));

      expect(error).toBeInstanceOf(FeishuNetworkError);
      expectNoneOf(error, [token, APP.appSecret]);
      expect(causeMessages(error)[0]).toContain(`Bearer ${REDACTED}`);
    });

    it("a server answer echoing the SDK's token or the app secret has them redacted", async () => {
      const client = sdkClient();
      await create(client);
      const token = await tenantToken(emulator, APP.appId, APP.appSecret);
      emulator.faults.add({ kind: 'fail', code: 10002, endpoint: 'cardkit.card.create', msg: `bad call by ${token} of app ${APP.appSecret}` });

      const error = await rejection(create(client));

      expect(error).toBeInstanceOf(FeishuApiError);
      expect(error).toMatchObject({ code: 10002, msg: expect.stringContaining(`bad call by ${REDACTED} of app ${REDACTED}`) as unknown });
      expectNoneOf(error, [token, APP.appSecret]);
    });
  });
});
