/**
 * The open-platform client pointed at a running emulator, for client tests: real requests over
 * loopback. The client's `fetch` is the global one with an observer that notes each response's
 * X-Tt-Logid, so a test can check the log id an error carries against the one the emulator sent.
 */
import { expect } from 'vitest';
import { type ErrorCategory, FeishuApiError, FeishuClient } from '../../src/client/index.js';
import type { Emulator, EmulatorApp } from '../../src/emulator/index.js';

export interface TestClient {
  client: FeishuClient;
  /** X-Tt-Logid of every response the client received, oldest first. */
  logIds: string[];
}

/** A client for one of the emulator's apps (default `cli_x` / `s_x`), on the emulator's clock. */
export function clientFor(emulator: Emulator, app: EmulatorApp = { appId: 'cli_x', appSecret: 's_x' }): TestClient {
  const logIds: string[] = [];
  const client = new FeishuClient({
    appId: app.appId,
    appSecret: app.appSecret,
    domain: emulator.url,
    now: () => emulator.clock.now(),
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      const logId = response.headers.get('x-tt-logid');
      if (logId !== null) logIds.push(logId);
      return response;
    },
  });
  return { client, logIds };
}

export interface ExpectedApiError {
  code: number;
  category: ErrorCategory;
  endpoint: string;
  /** Default 400: every documented CardKit and IM business error. */
  httpStatus?: number;
}

/**
 * Awaits `call`, expects it to reject with a `FeishuApiError` as described whose `logId` is the
 * X-Tt-Logid of the last response `tc` received, and returns the error.
 */
export async function expectApiError(tc: TestClient, call: Promise<unknown>, expected: ExpectedApiError): Promise<FeishuApiError> {
  const error = await call.then(
    (value) => new Error(`expected a FeishuApiError, but the call succeeded with ${JSON.stringify(value)}`),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(FeishuApiError);
  const apiError = error as FeishuApiError;
  expect({
    code: apiError.code,
    category: apiError.category,
    endpoint: apiError.endpoint,
    httpStatus: apiError.httpStatus,
  }).toEqual({ httpStatus: 400, ...expected });
  expect(apiError.logId).toMatch(/\S/);
  expect(apiError.logId).toBe(tc.logIds.at(-1));
  return apiError;
}
