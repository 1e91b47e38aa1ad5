/**
 * HTTP event subscription (issue 12; docs/design/issue-12-event-protocols.md §1): the emulator POSTs each
 * event to the app's URL, as compact JSON (encrypted and signed when the app has an Encrypt Key). A push
 * counts as delivered when the app answers 2xx within 3 s; otherwise it is pushed again, with the same
 * `event_id`, 15 s, 5 min, 1 h and 6 h later on the emulator's clock (Feishu's schedule), then given up.
 * Configuring a URL first passes the `url_verification` challenge, as on the developer console.
 */
import { randomBytes } from 'node:crypto';
import type { Services } from '../context.js';
import { encryptEvent, signatureHeaders } from './crypto.js';
import type { LongConnections } from '../ws/long-connection.js';
import { type PushedEnvelope, envelopeIdentity } from './envelope.js';

/** Feishu's redelivery schedule after a failed push. */
export const REDELIVERY_DELAYS_MS = [15_000, 5 * 60_000, 60 * 60_000, 6 * 60 * 60_000] as const;
/** How long an app has to answer a push (real time). */
export const ANSWER_TIMEOUT_MS = 3000;
/** Deliveries kept for inspection, most recent last. */
const KEPT = 1000;

export interface DeliveryAttempt {
  /** Emulated time of the push, epoch ms. */
  at: number;
  /** The app's HTTP status; null when it did not answer (refused, reset, timed out). */
  status: number | null;
  /** Why it failed, when it did. */
  error?: string;
  /** The app's answer body (first 64 KB). */
  body?: string;
}

export interface Delivery {
  /** `header.event_id` of a v2 event, `uuid` of a v1 event (`app_ticket`, `app_open`). */
  eventId: string;
  eventType: string;
  appId: string;
  /** The event as pushed (before encryption): the v2 envelope, or the v1 envelope of a store app's `app_ticket` and `app_open`. */
  envelope: PushedEnvelope;
  /** `pending` (a push in flight or a redelivery scheduled), `delivered`, `failed` (all pushes failed), `unsubscribed` (the app has no URL). */
  state: 'pending' | 'delivered' | 'failed' | 'unsubscribed';
  attempts: DeliveryAttempt[];
  /** A callback (card action): to the callback URL, answered at once, never pushed again. */
  callback: boolean;
}

export class EventDeliveries {
  readonly #services: Services;
  readonly #log: Delivery[] = [];
  readonly #cancels = new Set<() => void>();
  readonly #connections: LongConnections | undefined;
  /** Bumped by `close()` and `reset()`: a push in flight from before schedules nothing after. */
  #generation = 0;
  #closed = false;

  /** `connections`: an app with a long connection open gets its events there instead of at its URLs. */
  constructor(services: Services, connections?: LongConnections) {
    this.#services = services;
    this.#connections = connections;
  }

  /** Every delivery kept, oldest first (copies). */
  list(): Delivery[] {
    return this.#log.map((delivery) => structuredClone(delivery));
  }

  /**
   * Pushes `envelope` to its app now; resolves once the first push was answered (or failed). A callback
   * (`callback: true`, a card action) goes to the app's callback URL and is never pushed again: the user
   * is waiting for its answer.
   */
  push(envelope: PushedEnvelope, options: { callback?: boolean } = {}): Promise<Delivery> {
    const delivery: Delivery = {
      ...envelopeIdentity(envelope),
      envelope,
      state: 'pending',
      attempts: [],
      callback: options.callback === true,
    };
    this.#log.push(delivery);
    if (this.#log.length > KEPT) this.#log.shift();
    return this.#attempt(delivery).then(() => delivery);
  }

  /**
   * The `url_verification` challenge (encrypted when the app has an Encrypt Key): resolves true when
   * `url` answers `{"challenge": …}` with the challenge sent, within 3 s.
   */
  async challenge(appId: string, url: string): Promise<{ ok: boolean; detail: string }> {
    const app = this.#services.state.apps.get(appId);
    if (!app) return { ok: false, detail: `no app ${appId}` };
    const challenge = randomBytes(16).toString('hex');
    const json = JSON.stringify({ challenge, token: app.verificationToken, type: 'url_verification' });
    const body = app.encryptKey === null ? json : JSON.stringify({ encrypt: encryptEvent(app.encryptKey, json) });
    const answer = await post(url, body, {});
    if (answer.status === null) return { ok: false, detail: answer.error ?? 'no answer' };
    try {
      const parsed = JSON.parse(answer.body ?? '') as { challenge?: unknown };
      if (parsed.challenge === challenge) return { ok: true, detail: 'challenge answered' };
    } catch {
      // not JSON: said below
    }
    return { ok: false, detail: `the URL answered ${answer.status} ${JSON.stringify((answer.body ?? '').slice(0, 200))}, not {"challenge":"${challenge}"}` };
  }

  /** Cancels every scheduled redelivery and pushes nothing more (the emulator is closing). */
  close(): void {
    this.#closed = true;
    this.reset();
  }

  /** Forgets every delivery and cancels their redeliveries (`emulator.reset()` forgets the messages too). */
  reset(): void {
    this.#generation++;
    for (const cancel of this.#cancels) cancel();
    this.#cancels.clear();
    this.#log.length = 0;
  }

  async #attempt(delivery: Delivery): Promise<void> {
    const { state, clock } = this.#services;
    if (this.#closed) {
      delivery.state = 'failed';
      return;
    }
    const generation = this.#generation;
    const app = state.apps.get(delivery.appId);
    const url = delivery.callback ? (app?.callbackUrl ?? app?.eventUrl) : app?.eventUrl;
    const at = clock.now();
    // The long connection first: pushes there are plain (the socket is the app's own, opened with its secret).
    // Store apps have none: their events, v1 ones among them, go to their HTTP URL only (reference §25.2).
    const { envelope } = delivery;
    const viaSocket = 'schema' in envelope && app?.type !== 'store' ? this.#connections?.push(envelope, ANSWER_TIMEOUT_MS) : undefined;
    if (!viaSocket && (!app || !url)) {
      delivery.state = 'unsubscribed';
      return;
    }
    let answer: Awaited<ReturnType<typeof post>>;
    if (viaSocket) answer = await viaSocket;
    else {
      const json = JSON.stringify(delivery.envelope);
      const body = app!.encryptKey === null ? json : JSON.stringify({ encrypt: encryptEvent(app!.encryptKey, json) });
      const headers = app!.encryptKey === null ? {} : signatureHeaders(app!.encryptKey, body, clock.now());
      answer = await post(url!, body, headers);
    }
    const ok = answer.status !== null && answer.status >= 200 && answer.status < 300;
    delivery.attempts.push({ at, ...answer, ...(ok || answer.error !== undefined ? {} : { error: `HTTP ${answer.status}` }) });
    if (ok) {
      delivery.state = 'delivered';
      return;
    }
    const delay = delivery.callback ? undefined : REDELIVERY_DELAYS_MS[delivery.attempts.length - 1];
    // Closed or reset while this push was in flight: nothing is scheduled for it.
    if (delay === undefined || generation !== this.#generation) {
      delivery.state = 'failed';
      return;
    }
    const cancel = clock.timer(delay, () => {
      this.#cancels.delete(cancel);
      void this.#attempt(delivery);
    });
    this.#cancels.add(cancel);
  }
}

/** One POST; never throws: a failure is `status: null` with the reason. */
async function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number | null; body?: string; error?: string }> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
      body,
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
      redirect: 'manual',
    });
    const text = await response.text();
    return { status: response.status, body: text.slice(0, 65_536) };
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${ANSWER_TIMEOUT_MS} ms` : error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    return { status: null, error: reason };
  }
}
