import type { JsonObject } from './card-tree.js';
import type { EmulatorClock } from './clock.js';
import type { ResolvedOptions } from './options.js';
import type { RateLimiter } from './rate-limit.js';
import type { EmulatorState } from './state.js';

/** What every handler can reach. */
export interface Services {
  state: EmulatorState;
  options: ResolvedOptions;
  clock: EmulatorClock;
  limiter: RateLimiter;
}

/** One authenticated API request, after routing and body parsing. */
export interface RequestContext extends Services {
  /** Endpoint name, e.g. `cardkit.cardElement.content`. */
  endpoint: string;
  /** The app whose tenant token authorised the request. */
  appId: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: JsonObject;
}
