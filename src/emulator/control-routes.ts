/**
 * `/_emulator/…`: inspection and control over HTTP, JSON in and out, no token. Errors answer
 * `{ "error": "…" }` with 400 or 404; these routes are the emulator's own, not the platform's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkClockChange } from './clock.js';
import type { Controller } from './controller.js';
import type { FaultSpec } from './faults.js';
import { matchPath, parseJsonBody, readBody, sendJson } from './http-util.js';

type Body = Record<string, unknown>;
type Answer = { status?: number; body: unknown };
interface ControlRoute {
  method: string;
  path: string;
  handle(controller: Controller, params: Record<string, string>, body: Body): Answer | Promise<Answer>;
}

const notFound = (what: string): Answer => ({ status: 404, body: { error: `${what} not found` } });

const ROUTES: ControlRoute[] = [
  { method: 'GET', path: '/_emulator/cards', handle: (c) => ({ body: { cards: c.cards() } }) },
  {
    method: 'GET',
    path: '/_emulator/cards/:card_id',
    handle: (c, p) => {
      const card = c.card(p.card_id!);
      return card ? { body: card } : notFound(`card ${p.card_id}`);
    },
  },
  {
    method: 'POST',
    path: '/_emulator/cards/:card_id/interaction',
    handle: (c, p, b) => {
      const ms = b.ms === undefined ? undefined : Number(b.ms);
      if (ms !== undefined && !(Number.isFinite(ms) && ms >= 0)) return { status: 400, body: { error: 'ms must be a number >= 0' } };
      return c.lockCard(p.card_id!, ms) ? { body: { locked: true } } : notFound(`card ${p.card_id}`);
    },
  },
  { method: 'GET', path: '/_emulator/messages', handle: (c) => ({ body: { messages: c.messages() } }) },
  {
    method: 'GET',
    path: '/_emulator/messages/:message_id',
    handle: (c, p) => {
      const message = c.message(p.message_id!);
      return message ? { body: message } : notFound(`message ${p.message_id}`);
    },
  },
  { method: 'GET', path: '/_emulator/stats', handle: (c) => ({ body: c.stats() }) },
  { method: 'GET', path: '/_emulator/faults', handle: (c) => ({ body: { faults: c.faults.list() } }) },
  { method: 'POST', path: '/_emulator/faults', handle: (c, _p, b) => ({ body: c.addFault(b as unknown as FaultSpec) }) },
  {
    method: 'DELETE',
    path: '/_emulator/faults',
    handle: (c) => {
      c.faults.clear();
      return { body: { cleared: true } };
    },
  },
  { method: 'GET', path: '/_emulator/clock', handle: (c) => ({ body: clockBody(c) }) },
  {
    method: 'POST',
    path: '/_emulator/clock',
    handle: (c, _p, b) => {
      const clock = c.services.clock;
      const change = {
        ...(b.speed === undefined ? {} : { speed: Number(b.speed) }),
        ...(b.advanceMs === undefined ? {} : { advanceMs: Number(b.advanceMs) }),
      };
      checkClockChange(clock, change);
      if (change.speed !== undefined) clock.setSpeed(change.speed);
      if (change.advanceMs !== undefined) clock.advance(change.advanceMs);
      return { body: clockBody(c) };
    },
  },
  {
    method: 'POST',
    path: '/_emulator/tokens/revoke',
    handle: (c, _p, b) => ({
      body: {
        revoked: c.revokeTokens({
          ...(typeof b.app_id === 'string' ? { appId: b.app_id } : {}),
          ...(typeof b.tenant_key === 'string' ? { tenantKey: b.tenant_key } : {}),
          ...(typeof b.token === 'string' ? { token: b.token } : {}),
        }),
      },
    }),
  },
  {
    method: 'POST',
    path: '/_emulator/apps',
    handle: (c, _p, b) => {
      c.registerApp({
        appId: b.app_id as string,
        appSecret: b.app_secret as string,
        ...(b.scopes === undefined ? {} : { scopes: b.scopes as string[] }),
        ...(b.verification_token === undefined ? {} : { verificationToken: b.verification_token as string }),
        ...(b.encrypt_key === undefined ? {} : { encryptKey: b.encrypt_key as string }),
        ...(b.event_url === undefined ? {} : { eventUrl: b.event_url as string }),
        ...(b.type === undefined ? {} : { type: b.type as 'custom' | 'store' }),
        ...(b.tenant_keys === undefined ? {} : { tenantKeys: b.tenant_keys as string[] }),
      });
      return { body: { registered: b.app_id } };
    },
  },
  {
    // A store app is installed in another tenant: { tenant_key, installer_user_id? }; answers once its app_open push was answered.
    method: 'POST',
    path: '/_emulator/apps/:app_id/tenants',
    handle: async (c, p, b) => {
      const delivery = await c.installApp(p.app_id!, b.tenant_key as string, {
        ...(b.installer_user_id === undefined ? {} : { installerUserId: b.installer_user_id as string }),
      });
      return { body: { app_id: p.app_id, tenant_key: b.tenant_key, delivery } };
    },
  },
  {
    // A store app gets a fresh app_ticket now (as app_ticket/resend does); answers with it once its push was answered.
    method: 'POST',
    path: '/_emulator/apps/:app_id/app_ticket',
    handle: async (c, p) => {
      const pushed = await c.pushAppTicket(p.app_id!);
      return { body: { app_id: p.app_id, app_ticket: pushed.ticket, delivery: pushed.delivery } };
    },
  },
  { method: 'GET', path: '/_emulator/users', handle: (c) => ({ body: { users: c.users() } }) },
  {
    method: 'POST',
    path: '/_emulator/users',
    handle: (c, _p, b) => {
      c.addUser({ userId: b.user_id as string, name: b.name as string, ...(b.tenant_key === undefined ? {} : { tenantKey: b.tenant_key as string }) });
      return { body: { user_id: b.user_id } };
    },
  },
  { method: 'GET', path: '/_emulator/chats', handle: (c) => ({ body: { chats: c.chats() } }) },
  {
    method: 'POST',
    path: '/_emulator/chats',
    handle: (c, _p, b) => ({
      body: c.addGroup({
        chatId: b.chat_id as string,
        name: b.name as string,
        ...(b.user_ids === undefined ? {} : { userIds: b.user_ids as string[] }),
        ...(b.tenant_key === undefined ? {} : { tenantKey: b.tenant_key as string }),
      }),
    }),
  },
  {
    // A user writes in a chat: { text, user_id?, reply_to?, in_thread? }; answers once each bot's first push was answered.
    method: 'POST',
    path: '/_emulator/chats/:chat_id/messages',
    handle: async (c, p, b) => {
      const posted = await c.postMessage(p.chat_id!, {
        text: b.text as string,
        ...(b.user_id === undefined ? {} : { userId: b.user_id as string }),
        ...(b.reply_to === undefined ? {} : { replyTo: b.reply_to as string }),
        ...(b.in_thread === undefined ? {} : { inThread: b.in_thread as boolean }),
      });
      return { body: { message_id: posted.messageId, deliveries: posted.deliveries } };
    },
  },
  {
    // Where an app's events go: { url (null to stop), verify? (default true: the url_verification challenge first) }.
    method: 'PUT',
    path: '/_emulator/apps/:app_id/events',
    handle: async (c, p, b) => {
      await c.subscribe(p.app_id!, {
        url: (b.url ?? null) as string | null,
        ...(b.callback_url === undefined ? {} : { callbackUrl: b.callback_url as string | null }),
        ...(b.verify === false ? { verify: false } : {}),
      });
      return { body: { app_id: p.app_id, url: b.url ?? null, callback_url: b.callback_url ?? null } };
    },
  },
  {
    // A user clicks a card's component: { action: { tag, value?, name? }, user_id? }; answers with the app's answer.
    method: 'POST',
    path: '/_emulator/messages/:message_id/actions',
    handle: async (c, p, b) => {
      const result = await c.clickCard(p.message_id!, { action: b.action as never, ...(b.user_id === undefined ? {} : { userId: b.user_id as string }) });
      return { body: { toast: result.toast, card_updated: result.cardUpdated, delivery: result.delivery } };
    },
  },
  { method: 'GET', path: '/_emulator/deliveries', handle: (c) => ({ body: { deliveries: c.deliveries.list() } }) },
  {
    method: 'POST',
    path: '/_emulator/reset',
    handle: (c) => {
      c.reset();
      return { body: { reset: true } };
    },
  },
];

function clockBody(c: Controller): { now: number; speed: number } {
  return { now: c.services.clock.now(), speed: c.services.clock.speed };
}

export async function handleControl(
  controller: Controller,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  if (req.method === 'GET' && path === '/_emulator/events') {
    streamEvents(controller, req, res);
    return;
  }
  const candidates = ROUTES.map((route) => ({ route, params: matchPath(route.path, path) })).filter((m) => m.params);
  const hit = candidates.find((m) => m.route.method === req.method);
  if (!hit) {
    sendJson(res, candidates.length ? 405 : 404, { error: candidates.length ? 'method not allowed' : 'no such control route' });
    return;
  }
  try {
    const body = parseJsonBody(await readBody(req, controller.services.options.maxBodyBytes));
    const answer = await hit.route.handle(controller, hit.params!, body);
    sendJson(res, answer.status ?? 200, answer.body);
  } catch (error) {
    sendJson(res, 400, { error: error instanceof Error ? error.message : 'bad request' });
  }
}

/** Server-sent events: one `change` event per state change, for live views. */
function streamEvents(controller: Controller, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  res.write(': connected\n\n');
  const unsubscribe = controller.onChange((event) => {
    res.write(`event: change\ndata: ${JSON.stringify(event)}\n\n`);
  });
  const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000);
  heartbeat.unref();
  req.once('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}
