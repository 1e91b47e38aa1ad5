/**
 * `feishu-card-session/lark-sdk`: send this library's requests through an existing
 * `@larksuiteoapi/node-sdk` `Client`, which then manages tokens itself.
 *
 * @example
 * import * as lark from '@larksuiteoapi/node-sdk';
 * const client = new FeishuClient({ transport: larkSdkTransport(new lark.Client({ appId, appSecret })) });
 */
import { FeishuNetworkError } from './errors.js';
import type { Transport } from './transport.js';

/** The part of the official SDK's `Client` this adapter uses: its generic `request`. */
export interface LarkSdkClientLike {
  request(options: {
    method: string;
    url: string;
    data?: unknown;
    params?: Record<string, string>;
    signal?: AbortSignal;
  }): Promise<unknown>;
}

interface AxiosLikeError {
  response?: { status: number; data: unknown; headers?: Record<string, unknown> };
}

export function larkSdkTransport(client: LarkSdkClientLike): Transport {
  if (typeof client?.request !== 'function') throw new TypeError('larkSdkTransport needs an @larksuiteoapi/node-sdk Client');
  return {
    managesTokens: true,
    async send(request) {
      try {
        const body = await client.request({
          method: request.method,
          url: request.path.replace(/^\//, ''),
          ...(request.body === undefined ? {} : { data: request.body }),
          ...(request.query ? { params: request.query } : {}),
          signal: request.signal,
        });
        return { status: 200, header: () => undefined, body };
      } catch (error) {
        const response = (error as AxiosLikeError).response;
        if (request.signal.aborted) throw error;
        if (!response) throw new FeishuNetworkError(request.endpoint, 'request failed before an answer arrived', error);
        const headers = response.headers ?? {};
        return {
          status: response.status,
          header: (name) => {
            const value = headers[name.toLowerCase()];
            return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
          },
          body: response.data,
        };
      }
    },
  };
}
