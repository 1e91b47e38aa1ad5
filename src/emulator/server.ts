/**
 * The emulator's HTTP server: routes open-platform requests through faults, body parsing, token
 * checks and the per-(API, app, tenant) rate limits to the handlers, and answers in the platform's envelope.
 * It never throws out of a request: unknown routes, wrong methods, oversized or malformed bodies and
 * handler bugs all become an error envelope.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { JsonObject } from './card-tree.js';
import type { RequestContext } from './context.js';
import type { Duplex } from 'node:stream';
import { handleControl } from './control-routes.js';
import { CONNECT_PATH, ENDPOINT_PATH } from './ws/long-connection.js';
import { handlePreview } from './preview/routes.js';
import type { Controller } from './controller.js';
import { EmulatorError } from './errors.js';
import { ClientGone, matchPath, newLogId, parseJsonBody, readBody, sendJson, sleep } from './http-util.js';
import { rateHeaders } from './card-write.js';
import { authenticate } from './routes/auth.js';
import { ROUTES } from './routes/index.js';
import type { Route } from './routes/route.js';
import { requireScope } from './scopes.js';
import type { Caller } from './state.js';

export function createEmulatorServer(controller: Controller): Server {
  const server = createServer((req, res) => {
    handleRequest(controller, req, res).catch(() => {
      sendJson(res, 500, { code: 1500, msg: 'internal error' });
    });
  });
  // The long connection of the SDK's WSClient (the only upgrade the emulator serves).
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const url = requestUrl(req.url);
    if (url?.pathname === CONNECT_PATH) controller.connections.upgrade(req, socket, url);
    else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  server.on('clientError', (_error, socket) => {
    const body = JSON.stringify({ code: 10002, msg: 'malformed HTTP request' });
    if (socket.writable) {
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  });
  return server;
}

/** The request target as a URL; origin-form paths are taken literally (`//x` is a path, not a host). */
function requestUrl(target: string | undefined): URL | null {
  const raw = target ?? '/';
  try {
    return raw.startsWith('/') ? new URL(`http://emulator.invalid${raw}`) : new URL(raw);
  } catch {
    return null;
  }
}

async function handleRequest(controller: Controller, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = requestUrl(req.url);
  if (url && req.method === 'GET' && handlePreview(controller, req, res, url.pathname)) return;
  if (url && (url.pathname === '/_emulator' || url.pathname.startsWith('/_emulator/'))) {
    await handleControl(controller, req, res, url.pathname);
    return;
  }
  if (url?.pathname === ENDPOINT_PATH && req.method === 'POST') {
    // Discovery of the SDK's long connection: the socket's URL on the host the client reached.
    let body: Record<string, unknown> = {};
    try {
      body = parseJsonBody(await readBody(req, controller.services.options.maxBodyBytes));
    } catch {
      // an unreadable body has no credentials: answered as such
    }
    sendJson(res, 200, controller.connections.endpoint(body, `http://${req.headers.host ?? '127.0.0.1'}`));
    return;
  }
  const { state } = controller.services;
  const logId = newLogId();
  const answer = (error: EmulatorError, endpoint?: string) => {
    state.count(error.code, endpoint);
    sendError(res, error, logId);
  };
  if (!url) {
    answer(new EmulatorError(99991201, 'unparsable request target', { httpStatus: 404 }));
    return;
  }
  const found = findRoute(req.method ?? '', url.pathname);
  if (found instanceof EmulatorError) {
    answer(found);
    return;
  }
  const { route, params } = found;
  const leave = params.card_id === undefined ? undefined : state.enter(params.card_id);
  try {
    await serveRoute(controller, req, res, { route, params, url, logId });
  } finally {
    leave?.();
  }
}

interface Routed {
  route: Route;
  params: Record<string, string>;
  url: URL;
  logId: string;
}

async function serveRoute(controller: Controller, req: IncomingMessage, res: ServerResponse, routed: Routed): Promise<void> {
  const { route, params, url, logId } = routed;
  const { state } = controller.services;
  const answer = (error: EmulatorError, endpoint?: string) => {
    state.count(error.code, endpoint);
    sendError(res, error, logId);
  };
  /** Known once the token was checked: the request is then counted for its app and tenant too. */
  let caller: Caller | undefined;
  const plan = controller.faults.plan(route.endpoint);
  if (plan.delayMs > 0) await sleep(plan.delayMs);
  if (plan.action.kind === 'drop') {
    req.socket.destroy();
    return;
  }
  if (plan.action.kind === 'fail') {
    const { code, httpStatus, msg, headers } = plan.action;
    answer(new EmulatorError(code, msg, { httpStatus, headers }), route.endpoint);
    return;
  }
  const loseResponse = plan.action.kind === 'lose_response';
  let status = 200;
  let payload: JsonObject;
  let headers: Record<string, string> = {};
  try {
    const body = parseJsonBody(await readBody(req, controller.services.options.maxBodyBytes)) as JsonObject;
    const ctx: RequestContext = {
      ...controller.services,
      endpoint: route.endpoint,
      appId: '',
      tenantKey: '',
      storeApps: controller.storeApps,
      params,
      query: url.searchParams,
      body,
    };
    if (route.auth) {
      caller = authenticate(ctx, req.headers.authorization);
      ctx.appId = caller.appId;
      ctx.tenantKey = caller.tenantKey;
      requireScope(ctx, route.scopes);
      gatewayLimit(ctx);
    }
    const data = route.handle(ctx);
    payload = successBody(route, data);
    state.count(0, route.endpoint, caller);
  } catch (error) {
    if (error instanceof ClientGone) return;
    const platformError = asPlatformError(route, error);
    state.count(platformError.code, route.endpoint, caller);
    status = platformError.httpStatus;
    headers = platformError.headers;
    payload = errorBody(platformError, logId);
    if (status === 413) headers = { ...headers, Connection: 'close' };
  }
  if (loseResponse) {
    req.socket.destroy();
    return;
  }
  sendJson(res, status, payload, { ...headers, 'X-Tt-Logid': logId });
}

function findRoute(method: string, path: string): { route: Route; params: Record<string, string> } | EmulatorError {
  let pathMatched = false;
  for (const route of ROUTES) {
    const params = matchPath(route.path, path);
    if (!params) continue;
    if (route.method === method) return { route, params };
    pathMatched = true;
  }
  return pathMatched
    ? new EmulatorError(99991301, `${method} ${path}`, { httpStatus: 405 })
    : new EmulatorError(99991201, path, { httpStatus: 404 });
}

/**
 * Per API, per app, per tenant: `apiQps` in any 1 s and `apiQpm` in any 60 s (reference §16, §25.4), so each
 * tenant of a store app has a budget of its own.
 */
function gatewayLimit(ctx: RequestContext): void {
  const { apiQps, apiQpm } = ctx.options.limits;
  const key = `api:${ctx.appId}:${ctx.tenantKey}:${ctx.endpoint}`;
  const verdict = ctx.limiter.take([
    { key, limit: apiQps, windowMs: 1000 },
    { key, limit: apiQpm, windowMs: 60_000 },
  ]);
  if (!verdict.ok) {
    throw new EmulatorError(99991400, undefined, {
      httpStatus: 429,
      headers: rateHeaders(verdict.spec.limit, verdict.resetMs),
    });
  }
}

function successBody(route: Route, data: JsonObject): JsonObject {
  if (route.topLevel) return data;
  // Field order as the API's page shows it: seed 004's patch example is `{ code, data, msg: "ok" }`.
  return route.successMsg === undefined ? { code: 0, msg: 'success', data } : { code: 0, data, msg: route.successMsg };
}

/** Any failure as the platform's error; a parameter error takes the route's own code (IM: 230001). */
function asPlatformError(route: Route, error: unknown): EmulatorError {
  if (!(error instanceof EmulatorError)) return new EmulatorError(1500, undefined, { httpStatus: 500 });
  if (error.code !== 10002 || route.paramErrorCode === undefined) return error;
  return new EmulatorError(route.paramErrorCode, error.detail, { httpStatus: error.httpStatus, headers: error.headers, errorFields: error.errorFields });
}

function errorBody(error: EmulatorError, logId: string): JsonObject {
  return {
    code: error.code,
    msg: error.message,
    error: {
      log_id: logId,
      troubleshooter: `emulator: code ${error.code}, see the CardKit reference for what it means`,
      ...error.errorFields,
    },
  };
}

function sendError(res: ServerResponse, error: EmulatorError, logId: string): void {
  sendJson(res, error.httpStatus, errorBody(error, logId), { ...error.headers, 'X-Tt-Logid': logId });
}
