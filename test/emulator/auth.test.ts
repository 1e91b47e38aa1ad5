import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { type ApiResponse, api, createCard, elementText, putContent, tenantToken } from '../support/emulator-http.js';

const TOKEN_PATH = '/open-apis/auth/v3/tenant_access_token/internal';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function requestToken(emulator: Emulator, appId = 'cli_x', appSecret = 's_x', token?: string): Promise<ApiResponse> {
  return api(emulator, 'POST', TOKEN_PATH, { body: { app_id: appId, app_secret: appSecret }, ...(token === undefined ? {} : { token }) });
}

/** Any authenticated call: creating a card answers 0 for a valid token. */
function authenticatedCall(emulator: Emulator, token?: string, headers?: Record<string, string>): Promise<ApiResponse> {
  return api(emulator, 'POST', '/open-apis/cardkit/v1/cards', {
    ...(token === undefined ? {} : { token }),
    ...(headers === undefined ? {} : { headers }),
    body: { type: 'card_json', data: JSON.stringify({ schema: '2.0', body: { elements: [] } }) },
  });
}

describe('tenant access token', () => {
  let emulator: Emulator;
  beforeEach(async () => {
    emulator = await startEmulator();
  });
  afterEach(() => emulator.close());

  it('answers tenant_access_token (t-…) and expire (7200 s) at the top level, not inside data', async () => {
    const res = await requestToken(emulator);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ code: 0, expire: 7200 });
    expect(res.body.tenant_access_token).toMatch(/^t-\S+$/);
    expect(res.body.data).toBeUndefined();
  });

  it('the token endpoint itself needs no token', async () => {
    const res = await requestToken(emulator);
    expect([res.status, res.body.code]).toEqual([200, 0]);
    const withJunkHeader = await requestToken(emulator, 'cli_x', 's_x', 'not-a-token');
    expect(withJunkHeader.body.code).toBe(0);
  });

  it('an unknown app_id gets 10003 and a missing secret gets 10003', async () => {
    const unknown = await requestToken(emulator, 'cli_nobody', 's_x');
    expect([unknown.status, unknown.body.code]).toEqual([400, 10003]);
    expect(unknown.body.tenant_access_token).toBeUndefined();
    const missing = await api(emulator, 'POST', TOKEN_PATH, { body: { app_id: 'cli_x' } });
    expect([missing.status, missing.body.code]).toEqual([400, 10003]);
  });

  it('a wrong app_secret gets 10015', async () => {
    const res = await requestToken(emulator, 'cli_x', 'wrong');
    expect([res.status, res.body.code]).toEqual([400, 10015]);
    expect(res.body.tenant_access_token).toBeUndefined();
    expect(emulator.stats().rejected['10015']).toBe(1);
  });

  it('asking again with 30 minutes or more left returns the same token and its remaining lifetime', async () => {
    const first = await requestToken(emulator);
    emulator.clock.advance(HOUR);
    const second = await requestToken(emulator);
    expect(second.body.tenant_access_token).toBe(first.body.tenant_access_token);
    expect(second.body.expire).toBeGreaterThanOrEqual(3599);
    expect(second.body.expire).toBeLessThanOrEqual(3600);
  });

  it('inside the last 30 minutes a new token is minted, and the old one works until it expires', async () => {
    const old = (await requestToken(emulator)).body.tenant_access_token as string;
    emulator.clock.advance(91 * MINUTE);
    const renewed = await requestToken(emulator);
    const fresh = renewed.body.tenant_access_token as string;
    expect(fresh).toMatch(/^t-/);
    expect(fresh).not.toBe(old);
    expect(renewed.body.expire).toBeGreaterThan(30 * 60);
    expect((await authenticatedCall(emulator, old)).body.code).toBe(0);
    expect((await authenticatedCall(emulator, fresh)).body.code).toBe(0);
    emulator.clock.advance(30 * MINUTE);
    const expired = await authenticatedCall(emulator, old);
    expect([expired.status, expired.body.code]).toEqual([400, 99991663]);
    expect((await authenticatedCall(emulator, fresh)).body.code).toBe(0);
  });

  it('an expired token gets 99991663 with HTTP 400', async () => {
    const token = await tenantToken(emulator);
    emulator.clock.advance(2 * HOUR + 1);
    const res = await authenticatedCall(emulator, token);
    expect([res.status, res.body.code]).toEqual([400, 99991663]);
    expect(emulator.cards()).toHaveLength(0);
  });

  it('a request without Authorization gets 99991661', async () => {
    const res = await authenticatedCall(emulator);
    expect([res.status, res.body.code]).toEqual([400, 99991661]);
    expect(emulator.cards()).toHaveLength(0);
  });

  it('a token the platform never issued gets 99991663', async () => {
    const res = await authenticatedCall(emulator, 't-0123456789abcdef');
    expect([res.status, res.body.code]).toEqual([400, 99991663]);
    const notBearer = await authenticatedCall(emulator, undefined, { Authorization: 'Basic Y2xpX3g6c194' });
    expect(notBearer.body.code).toBe(99991661);
    expect(emulator.cards()).toHaveLength(0);
  });

  it('a revoked token gets 99991663, and asking again mints a different one that works', async () => {
    const token = await tenantToken(emulator);
    expect(emulator.revokeTokens()).toBe(1);
    const res = await authenticatedCall(emulator, token);
    expect([res.status, res.body.code]).toEqual([400, 99991663]);
    const fresh = await tenantToken(emulator);
    expect(fresh).not.toBe(token);
    expect((await authenticatedCall(emulator, fresh)).body.code).toBe(0);
  });

  it('the token lifetime is configurable (tokenLifetimeSec)', async () => {
    await emulator.close();
    emulator = await startEmulator({ tokenLifetimeSec: 3600 });
    const res = await requestToken(emulator);
    const token = res.body.tenant_access_token as string;
    emulator.clock.advance(59 * MINUTE);
    expect((await authenticatedCall(emulator, token)).body.code).toBe(0);
    emulator.clock.advance(MINUTE);
    expect((await authenticatedCall(emulator, token)).body.code).toBe(99991663);
    expect(res.body.expire).toBe(3600);
  });
});

describe('tokens and card ownership across apps', () => {
  let emulator: Emulator;
  beforeEach(async () => {
    emulator = await startEmulator({
      apps: [
        { appId: 'cli_a', appSecret: 's_a' },
        { appId: 'cli_b', appSecret: 's_b' },
      ],
    });
  });
  afterEach(() => emulator.close());

  it('each registered app gets its own token; one app secret does not open another app', async () => {
    const a = await tenantToken(emulator, 'cli_a', 's_a');
    const b = await tenantToken(emulator, 'cli_b', 's_b');
    expect(a).not.toBe(b);
    expect((await requestToken(emulator, 'cli_b', 's_a')).body.code).toBe(10015);
    expect((await requestToken(emulator, 'cli_x', 's_x')).body.code).toBe(10003);
  });

  it('a card created by app A cannot be written by app B (300311)', async () => {
    const a = await tenantToken(emulator, 'cli_a', 's_a');
    const b = await tenantToken(emulator, 'cli_b', 's_b');
    const cardId = await createCard(emulator, a);
    const res = await putContent(emulator, b, cardId, 1, 'from B');
    expect([res.status, res.body.code]).toEqual([400, 300311]);
    expect(emulator.card(cardId)).toMatchObject({ app_id: 'cli_a', sequence: 0 });
    expect(elementText(emulator, cardId)).toBe('');
    expect((await putContent(emulator, a, cardId, 1, 'from A')).body.code).toBe(0);
    expect(elementText(emulator, cardId)).toBe('from A');
  });
});
