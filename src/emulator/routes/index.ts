/** Every open-platform API the emulator serves. */
import { authRoutes } from './auth.js';
import { cardRoutes } from './cards.js';
import { elementRoutes } from './elements.js';
import { imRoutes } from './im.js';
import type { Route } from './route.js';
import { storeAuthRoutes } from './store-auth.js';

export const ROUTES: readonly Route[] = [...authRoutes, ...storeAuthRoutes, ...cardRoutes, ...elementRoutes, ...imRoutes];

/** Endpoint names, for fault injection and rate-limit keys. */
export const ENDPOINTS: readonly string[] = ROUTES.map((r) => r.endpoint);
