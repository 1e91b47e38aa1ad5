/**
 * Tenant access tokens (reference §11.4, §18). The platform mints a new token only when the current
 * one has under 30 minutes left, and old and new overlap; so a cached token is renewed once it is
 * inside that window (and at the latest halfway through a short lifetime), in the background while
 * it is still valid. One request is in flight however many callers wait.
 */
export interface TokenSource {
  /** A token to use now. */
  token(signal: AbortSignal): Promise<string>;
  /** The platform rejected `token`: forget it, so the next `token()` gets a fresh one. */
  invalidate(token: string): void;
}

export interface FetchedToken {
  token: string;
  /** Seconds the platform says the token has left. */
  expireSec: number;
}

const RENEW_WINDOW_MS = 30 * 60 * 1000;
/** A token this close to expiry (at most a tenth of its lifetime) is not handed out; callers wait for the renewal. */
const SAFETY_MS = 30 * 1000;

interface Cached {
  token: string;
  renewAt: number;
  /** Handed out until then. */
  safeUntil: number;
}

export class TenantTokenManager implements TokenSource {
  readonly #fetchToken: () => Promise<FetchedToken>;
  readonly #now: () => number;
  #cached: Cached | undefined;
  #inFlight: Promise<Cached> | undefined;

  constructor(fetchToken: () => Promise<FetchedToken>, now: () => number = Date.now) {
    this.#fetchToken = fetchToken;
    this.#now = now;
  }

  async token(signal: AbortSignal): Promise<string> {
    signal.throwIfAborted();
    const now = this.#now();
    const cached = this.#cached;
    if (cached && now < cached.safeUntil) {
      if (now >= cached.renewAt) this.#renew().catch(() => undefined);
      return cached.token;
    }
    return (await raceAbort(this.#renew(), signal)).token;
  }

  invalidate(token: string): void {
    if (this.#cached?.token === token) this.#cached = undefined;
  }

  #renew(): Promise<Cached> {
    this.#inFlight ??= this.#fetchToken()
      .then(({ token, expireSec }) => {
        const obtained = this.#now();
        const lifetime = expireSec * 1000;
        const cached = {
          token,
          safeUntil: obtained + lifetime - Math.min(SAFETY_MS, lifetime / 10),
          renewAt: obtained + Math.max(lifetime - RENEW_WINDOW_MS, lifetime / 2),
        };
        this.#cached = cached;
        return cached;
      })
      .finally(() => {
        this.#inFlight = undefined;
      });
    return this.#inFlight;
  }
}

/** A caller-supplied token function (store apps, a cache shared between processes). */
export type TokenProvider = (options: { signal: AbortSignal; forceRefresh: boolean }) => Promise<string>;

export class ProvidedTokenSource implements TokenSource {
  #rejected: string | undefined;

  constructor(private readonly provider: TokenProvider) {}

  async token(signal: AbortSignal): Promise<string> {
    const token = await this.provider({ signal, forceRefresh: this.#rejected !== undefined });
    if (typeof token !== 'string' || token === '') {
      throw new TypeError('the tenantAccessToken function must resolve to a non-empty string');
    }
    this.#rejected = undefined;
    return token;
  }

  invalidate(token: string): void {
    this.#rejected = token;
  }
}

/** Waits for `promise`, unless `signal` aborts first; the shared promise itself is not cancelled. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
