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
  /** False only for the token endpoint itself. */
  auth: boolean;
  /**
   * Answers the request. The result is the envelope's `data`; routes with `topLevel` return the whole
   * body instead (the token endpoint puts its fields at the top level).
   */
  handle(ctx: RequestContext): JsonObject;
  topLevel?: boolean;
}

export type { Json, JsonObject };
