/**
 * Raw HTTP access to a running emulator for contract tests: real requests over loopback, no client
 * library in between, so each test states exactly what goes over the wire.
 */
import { afterEach, beforeEach } from 'vitest';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../src/emulator/index.js';

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: { code: number; msg: string; data?: Record<string, unknown>; [key: string]: unknown };
}

export interface ApiRequest {
  token?: string;
  body?: unknown;
  /** Sent as is instead of `body`, for malformed-input tests. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export async function api(emulator: Emulator, method: string, path: string, request: ApiRequest = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8', ...request.headers };
  if (request.token !== undefined) headers.Authorization = `Bearer ${request.token}`;
  const init: RequestInit = { method, headers };
  if (request.rawBody !== undefined) init.body = request.rawBody;
  else if (request.body !== undefined) init.body = JSON.stringify(request.body);
  const response = await fetch(`${emulator.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as ApiResponse['body'] };
}

export async function tenantToken(emulator: Emulator, appId = 'cli_x', appSecret = 's_x'): Promise<string> {
  const res = await api(emulator, 'POST', '/open-apis/auth/v3/tenant_access_token/internal', {
    body: { app_id: appId, app_secret: appSecret },
  });
  if (res.body.code !== 0) throw new Error(`token request failed: ${JSON.stringify(res.body)}`);
  return res.body.tenant_access_token as string;
}

/** A Card JSON 2.0 card with a header and one markdown element `answer`, streaming on. */
export function streamingCard(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: '2.0',
    config: {
      streaming_mode: true,
      summary: { content: '' },
      streaming_config: { print_frequency_ms: { default: 30 }, print_step: { default: 2 }, print_strategy: 'fast' },
    },
    header: { title: { tag: 'plain_text', content: 'Answer' } },
    body: {
      elements: [
        { tag: 'markdown', element_id: 'answer', content: '' },
        { tag: 'div', element_id: 'note_div', text: { tag: 'plain_text', element_id: 'note', content: 'n' } },
        { tag: 'button', element_id: 'stop_btn', text: { tag: 'plain_text', content: 'Stop' } },
        { tag: 'collapsible_panel', element_id: 'panel', header: { title: { tag: 'markdown', content: 'More' } }, elements: [] },
      ],
    },
    ...overrides,
  };
}

export async function createCard(emulator: Emulator, token: string, card: unknown = streamingCard()): Promise<string> {
  const res = await api(emulator, 'POST', '/open-apis/cardkit/v1/cards', {
    token,
    body: { type: 'card_json', data: JSON.stringify(card) },
  });
  if (res.body.code !== 0) throw new Error(`create failed: ${JSON.stringify(res.body)}`);
  return (res.body.data as { card_id: string }).card_id;
}

export function contentPath(cardId: string, elementId = 'answer'): string {
  return `/open-apis/cardkit/v1/cards/${cardId}/elements/${elementId}/content`;
}

export function settingsPath(cardId: string): string {
  return `/open-apis/cardkit/v1/cards/${cardId}/settings`;
}

/** Streams `content` into an element with `sequence`. */
export function putContent(emulator: Emulator, token: string, cardId: string, sequence: number, content: string, elementId = 'answer') {
  return api(emulator, 'PUT', contentPath(cardId, elementId), { token, body: { content, sequence } });
}

export function patchSettings(emulator: Emulator, token: string, cardId: string, sequence: number, settings: unknown) {
  return api(emulator, 'PATCH', settingsPath(cardId), { token, body: { settings: JSON.stringify(settings), sequence } });
}

/** The current text of an element in the emulator's view of a card. */
export function elementText(emulator: Emulator, cardId: string, elementId = 'answer'): string | undefined {
  let text: string | undefined;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (record.element_id === elementId && typeof record.content === 'string') text = record.content;
      Object.values(record).forEach(visit);
    }
  };
  visit(emulator.card(cardId)?.card.body);
  return text;
}

export interface StartedEmulator {
  emulator: Emulator;
  /** A tenant token of the emulator's first app. */
  token: string;
}

/**
 * Starts a fresh emulator before each test (and a token for its first app), hands both to `bind`,
 * and closes every emulator the test started afterwards. `restart(options)` swaps in an emulator with
 * other options for one test.
 */
export function useEmulator(
  bind: (started: StartedEmulator) => void,
  options: EmulatorOptions = {},
): { restart(options: EmulatorOptions): Promise<void> } {
  const running: Emulator[] = [];
  const start = async (startOptions: EmulatorOptions) => {
    const emulator = await startEmulator(startOptions);
    running.push(emulator);
    const app = startOptions.apps?.[0] ?? { appId: 'cli_x', appSecret: 's_x' };
    bind({ emulator, token: await tenantToken(emulator, app.appId, app.appSecret) });
  };
  beforeEach(() => start(options));
  afterEach(async () => {
    await Promise.all(running.splice(0).map((emulator) => emulator.close()));
  });
  return { restart: start };
}
