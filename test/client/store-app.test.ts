/**
 * Store (ISV) apps (reference §25, issue 14): the client buys each tenant's token with the app token, which it
 * buys with the app_ticket the platform pushes; each tenant's sessions keep that tenant's budget, which the
 * platform counts apart. Everything against the emulator's store-app model over loopback.
 */
import { type Server, createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { AppTicketTimeoutError, CardSession, FairGovernor, FeishuApiError, FeishuClient } from '../../src/index.js';
import { busiestWindow } from '../support/windows.js';

const APP = { appId: 'cli_5a0e000000000001', appSecret: 's_store', type: 'store' as const, tenantKeys: ['tk_a', 'tk_b', 'tk_c'] };
const running: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const item of running.splice(0).reverse()) await item.close();
});

async function emulatorWith(options: Parameters<typeof startEmulator>[0] = {}): Promise<Emulator> {
  const emulator = await startEmulator({ apps: [APP], ...options });
  running.push(emulator);
  return emulator;
}

function storeClient(emulator: Emulator, extra: { appTicketTimeoutMs?: number } = {}): FeishuClient {
  return new FeishuClient({ appId: APP.appId, appSecret: APP.appSecret, appType: 'store', domain: emulator.url, now: () => emulator.clock.now(), ...extra });
}

/** An HTTP event receiver that hands every app_ticket it gets to `client`. */
async function ticketReceiver(onTicket: (ticket: string) => void): Promise<string> {
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const envelope = JSON.parse(body) as { type?: string; challenge?: string; event?: { type?: string; app_ticket?: string } };
      if (envelope.event?.type === 'app_ticket' && envelope.event.app_ticket) onTicket(envelope.event.app_ticket);
      response.setHeader('Content-Type', 'application/json');
      response.end(JSON.stringify(envelope.challenge ? { challenge: envelope.challenge } : {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  running.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  const address = server.address() as { port: number };
  return `http://127.0.0.1:${address.port}/events`;
}

describe('store apps', () => {
  it('a tenant client buys its token with the app token and the pushed ticket; cards it makes are its tenant\'s', async () => {
    const emulator = await emulatorWith();
    const client = storeClient(emulator);
    client.setAppTicket((await emulator.pushAppTicket(APP.appId)).ticket);
    const a = client.tenant('tk_a');
    expect(client.tenant('tk_a')).toBe(a); // one client per tenant
    expect(a.tenantKey).toBe('tk_a');
    const token = await a.tenantAccessToken();
    expect(token).toMatch(/^t-/);
    expect(await client.tenant('tk_b').tenantAccessToken()).not.toBe(token);
    const { card_id } = await a.cardkit.v1.card.create({ data: { schema: '2.0', body: { elements: [{ tag: 'markdown', element_id: 'answer', content: 'hi' }] } } });
    expect(emulator.card(card_id)!.tenant_key).toBe('tk_a');
    // Another tenant of the same app may not write it.
    const refused = await client.tenant('tk_b').cardkit.v1.card.settings({ card_id, settings: { config: { streaming_mode: false } }, sequence: 1 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FeishuApiError);
    expect((refused as FeishuApiError).code).toBe(300311);
    // The store app's own client acts in no tenant: refused at the call, pointing at tenant().
    await expect(client.tenantAccessToken()).rejects.toThrow('client.tenant(tenantKey)');
    await expect(client.cardkit.v1.card.create({ data: { schema: '2.0', body: { elements: [] } } })).rejects.toThrow(TypeError);
    // The ticket and the tokens never show: not in JSON, not in errors.
    expect(JSON.stringify(a)).not.toContain('s_store');
    expect(String((refused as Error).message)).not.toContain(token);
  });

  it('without a ticket the client asks the platform to push one and waits for it; an expired ticket (10012) is replaced the same way', async () => {
    const tickets: string[] = [];
    const receiver: { client?: FeishuClient } = {};
    const url = await ticketReceiver((ticket) => {
      tickets.push(ticket);
      receiver.client?.setAppTicket(ticket);
    });
    const emulator = await emulatorWith({ apps: [{ ...APP, eventUrl: url }] });
    const client = (receiver.client = storeClient(emulator));
    expect(await client.tenant('tk_a').tenantAccessToken()).toMatch(/^t-/);
    const resends = () => emulator.stats().endpoints['auth.appTicket.resend']?.accepted ?? 0;
    expect(resends()).toBe(1);
    // Four hours on: the ticket, the app token and the tenant token have all expired.
    emulator.clock.advance(4 * 3600 * 1000);
    const before = tickets.length;
    expect(await client.tenant('tk_c').tenantAccessToken()).toMatch(/^t-/);
    expect(tickets.length).toBeGreaterThan(before);
  });

  it('no ticket arriving ends the wait with a clear error; options are checked', async () => {
    const emulator = await emulatorWith();
    const client = storeClient(emulator, { appTicketTimeoutMs: 200 });
    await expect(client.tenant('tk_a').tenantAccessToken()).rejects.toThrow(AppTicketTimeoutError);
    expect(() => client.tenant('bad key!')).toThrow(TypeError);
    expect(() => client.tenant('tk_a').tenant('tk_b')).toThrow(TypeError);
    expect(() => client.setAppTicket('')).toThrow(TypeError);
    const custom = new FeishuClient({ appId: 'cli_x', appSecret: 's', domain: emulator.url });
    expect(() => custom.tenant('tk_a')).toThrow('store apps');
    expect(() => custom.setAppTicket('t')).toThrow('store apps');
    expect(() => new FeishuClient({ appId: 'cli_x', appSecret: 's', appType: 'isv' as never })).toThrow(TypeError);
    expect(() => new FeishuClient({ appId: 'cli_x', appSecret: 's', appType: 'store', tenantAccessToken: () => Promise.resolve('t') })).toThrow(TypeError);
    expect(() => new FairGovernor({ tenantKey: 'no spaces' })).toThrow(TypeError);
  });

  it('three tenants of one store app stream 50 cards each at once: each tenant spends its own budget, nothing is refused', async () => {
    const limits = { apiQps: 5, apiQpm: 1000, cardQps: 10 };
    const emulator = await emulatorWith({ limits });
    const client = storeClient(emulator);
    client.setAppTicket((await emulator.pushAppTicket(APP.appId)).ticket);
    // Tokens first: permits granted while every request waits for one token would arrive together (a burst).
    await Promise.all(APP.tenantKeys.map((tenantKey) => client.tenant(tenantKey).tenantAccessToken()));
    const answer = (tenant: string, i: number) => `Answer ${i} for ${tenant}: 卡片 😀 streamed.`;
    const runs = APP.tenantKeys.map(async (tenantKey) => {
      const tenant = client.tenant(tenantKey);
      const governor = new FairGovernor({ limits, appId: APP.appId, tenantKey });
      return Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const session = await CardSession.start(tenant, { governor, to: { chat_id: `oc_${tenantKey}_${i}` } });
          session.append(answer(tenantKey, i));
          return { tenantKey, i, result: await session.finish() };
        }),
      );
    });
    const results = (await Promise.all(runs)).flat();
    expect(emulator.stats().rejected).toEqual({});
    for (const { tenantKey, i, result } of results) {
      expect(result.text).toBe(answer(tenantKey, i));
      expect(emulator.card(result.cardId!)!.tenant_key).toBe(tenantKey);
      expect(emulator.card(result.cardId!)!.streaming_mode).toBe(false);
    }
    const tenants = emulator.stats().tenants[APP.appId]!;
    for (const tenantKey of APP.tenantKeys) expect(tenants[tenantKey]!.endpoints['cardkit.card.create']!.accepted).toBe(50);
    // The budgets were spent side by side: in one second more cards were created than one tenant's 5 a second
    // (through one budget, 150 creates would take 30 s at 5 a second; here each tenant's 50 took about 10 s).
    const created = emulator.cards().map((card) => card.created_at);
    expect(busiestWindow(created, 1000)).toBeGreaterThan(limits.apiQps);
  }, 60_000);
});
