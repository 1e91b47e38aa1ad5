/**
 * How a request reaches the platform. The default transport is the global `fetch` (or one passed
 * in); an official `@larksuiteoapi/node-sdk` client can stand in (see `feishu-card-session/lark-sdk`).
 */
import { FeishuNetworkError } from './errors.js';

export interface TransportRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path from the API root, e.g. `/open-apis/cardkit/v1/cards`. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** Tenant access token; absent for the token request itself and for transports that manage tokens. */
  token?: string;
  /** Endpoint name, for error messages. */
  endpoint: string;
  signal: AbortSignal;
}

export interface TransportResponse {
  status: number;
  header(name: string): string | undefined;
  /** Parsed JSON body; undefined when the body was not JSON. */
  body: unknown;
}

export interface Transport {
  /** True when the transport authenticates requests itself (the official SDK does). */
  readonly managesTokens: boolean;
  send(request: TransportRequest): Promise<TransportResponse>;
}

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export function fetchTransport(baseUrl: string, fetchImpl: FetchLike = (input, init) => fetch(input, init)): Transport {
  return {
    managesTokens: false,
    async send(request) {
      const url = new URL(`${baseUrl}${request.path}`);
      for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value);
      const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8' };
      if (request.token !== undefined) headers.Authorization = `Bearer ${request.token}`;
      let response: Response;
      let text: string;
      try {
        response = await fetchImpl(url.href, {
          method: request.method,
          headers,
          signal: request.signal,
          ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
        });
        text = await response.text();
      } catch (error) {
        if (request.signal.aborted) throw error;
        throw new FeishuNetworkError(request.endpoint, 'request failed before an answer arrived', error);
      }
      return { status: response.status, header: (name) => response.headers.get(name) ?? undefined, body: parseJson(text) };
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
