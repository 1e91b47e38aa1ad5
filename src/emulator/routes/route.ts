import type { Json, JsonObject } from '../card-tree.js';
import type { RequestContext } from '../context.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One open-platform API the emulator serves. */
export interface Route {
  method: Method;
  /** Path pattern with `:name` parameters, e.g. `/open-apis/cardkit/v1/cards/:card_id`. */
  path: string;
  /** Endpoint name used in logs, faults and rate-limit keys, after the official SDK's method names. */
  endpoint: string;
  /** False only for the token endpoints themselves (they take app credentials, not a token). */
  auth: boolean;
  /**
   * The scopes that let an app call this API, any one of them (see `scopes.ts`); an app registered with scopes
   * that holds none of them gets 99991672. Absent: no scope needed (the token endpoint).
   */
  scopes?: readonly string[];
  /**
   * Answers the request. The result is the envelope's `data`; routes with `topLevel` return the whole
   * body instead (the token endpoint puts its fields at the top level).
   */
  handle(ctx: RequestContext): JsonObject;
  topLevel?: boolean;
  /**
   * The code this API answers for parameter errors (missing or ill-typed fields, malformed JSON) in place of
   * CardKit's 10002: IM answers 230001 (seed 004).
   */
  paramErrorCode?: number;
  /** The success envelope's `msg`, when the API's page shows another than `success` (IM patch: `ok`, seed 004). */
  successMsg?: string;
}

export type { Json, JsonObject };
