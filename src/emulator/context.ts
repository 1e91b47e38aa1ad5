import type { JsonObject } from './card-tree.js';
import type { EmulatorClock } from './clock.js';
import type { StoreApps } from './events/store-apps.js';
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

/** One API request, after routing and body parsing (and authentication, for routes that need a token). */
export interface RequestContext extends Services {
  /** Endpoint name, e.g. `cardkit.cardElement.content`. */
  endpoint: string;
  /** The app whose tenant token authorised the request; '' for the token endpoints. */
  appId: string;
  /** The tenant that token acts in; '' for the token endpoints. */
  tenantKey: string;
  /** Store apps' tickets: the resend endpoint pushes one. */
  storeApps: StoreApps;
  params: Record<string, string>;
  query: URLSearchParams;
  body: JsonObject;
}
