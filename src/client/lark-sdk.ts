/**
 * `feishu-card-session/lark-sdk`: send this library's requests through an existing
 * `@larksuiteoapi/node-sdk` `Client`, which then manages tokens itself.
 *
 * @example
 * import * as lark from '@larksuiteoapi/node-sdk';
 * const client = new FeishuClient({ transport: larkSdkTransport(new lark.Client({ appId, appSecret })) });
 */
import { FeishuNetworkError } from './errors.js';
import { Secrets } from './redact.js';
import type { Transport } from './transport.js';

/**
 * The part of the official SDK's `Client` this adapter uses: its generic `request`, and its `appSecret`
 * (read only to redact it from errors).
 */
export interface LarkSdkClientLike {
  appSecret?: string;
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
  /** The request as sent: its headers hold the SDK's bearer token, the token request's body the app secret. */
  config?: { headers?: unknown; data?: unknown };
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
        // The SDK holds the token and the secret, so what its error or the answer quotes of them is redacted here.
        const secrets = secretsOf(client, error as AxiosLikeError);
        if (!response) {
          throw secrets.scrub(new FeishuNetworkError(request.endpoint, 'request failed before an answer arrived', error));
        }
        const headers = response.headers ?? {};
        return {
          status: response.status,
          header: (name) => {
            const value = headers[name.toLowerCase()];
            return typeof value === 'string' || typeof value === 'number' ? secrets.redact(String(value)) : undefined;
          },
          body: secrets.redactJson(response.data),
        };
      }
    },
  };
}

/** The SDK client's app secret and whatever bearer token or `app_secret` the failed request carried. */
function secretsOf(client: LarkSdkClientLike, error: AxiosLikeError): Secrets {
  const secrets = new Secrets();
  secrets.addSecret(client.appSecret);
  const config = typeof error === 'object' && error !== null ? error.config : undefined;
  // axios keeps header values as own properties, of a plain object or an AxiosHeaders.
  const headers = config?.headers;
  if (typeof headers === 'object' && headers !== null) {
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase() === 'authorization' && typeof value === 'string') secrets.addToken(value.replace(/^Bearer\s+/i, ''));
    }
  }
  let data = config?.data;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data) as unknown;
    } catch {
      data = undefined;
    }
  }
  if (typeof data === 'object' && data !== null) secrets.addSecret((data as { app_secret?: unknown }).app_secret);
  return secrets;
}
