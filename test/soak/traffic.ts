/**
 * What went over the wire, seen from both ends: the client's `fetch` is the global one (real HTTP over
 * loopback) with an observer that notes each request (endpoint, card, sequence, uuid, the streaming mode
 * a settings or update call sets) and how it ended (answered with a code, aborted by the client's
 * timeout, or failed on the network); the emulator's change events give the real time at which each
 * write reached a card's log. Joining the two by (card, sequence) tells a write the client waited for
 * from a "zombie": one the client gave up on (timeout) that the emulator handled later.
 */
import type { Emulator } from '../../src/emulator/index.js';
import type { FetchLike } from '../../src/client/index.js';

/** Text of the `msg` of every failure the soak injects, so an injected answer is never taken for the emulator's own. */
export const INJECTED_MSG = 'soak: injected fault';

export interface RequestRecord {
  endpoint: string;
  cardId: string | null;
  sequence: number | null;
  uuid: string | null;
  /** What a settings, update or create call sets `streaming_mode` to, if it names it. */
  streamingMode: boolean | undefined;
  /** performance.now() at dispatch and at the end. */
  startedAt: number;
  endedAt: number | undefined;
  outcome: 'pending' | 'answered' | 'aborted' | 'network';
  status: number | undefined;
  code: number | undefined;
  msg: string | undefined;
  /** `x-ogw-ratelimit-limit` of a rate-limit answer: which window the emulator counted. */
  rateLimitLimit: number | undefined;
  /** create: the card id answered. */
  createdCardId: string | undefined;
}

const ROUTES: readonly [string, RegExp, string][] = [
  ['POST', /^\/open-apis\/auth\/v3\/tenant_access_token\/internal$/, 'auth.tenantAccessToken.internal'],
  ['POST', /^\/open-apis\/cardkit\/v1\/cards$/, 'cardkit.card.create'],
  ['PUT', /^\/open-apis\/cardkit\/v1\/cards\/([^/]+)$/, 'cardkit.card.update'],
  ['PATCH', /^\/open-apis\/cardkit\/v1\/cards\/([^/]+)\/settings$/, 'cardkit.card.settings'],
  ['POST', /^\/open-apis\/cardkit\/v1\/cards\/([^/]+)\/batch_update$/, 'cardkit.card.batchUpdate'],
  ['PUT', /^\/open-apis\/cardkit\/v1\/cards\/([^/]+)\/elements\/[^/]+\/content$/, 'cardkit.cardElement.content'],
  ['PATCH', /^\/open-apis\/cardkit\/v1\/cards\/([^/]+)\/elements\/[^/]+$/, 'cardkit.cardElement.patch'],
  ['POST', /^\/open-apis\/im\/v1\/messages$/, 'im.message.create'],
  ['POST', /^\/open-apis\/im\/v1\/messages\/[^/]+\/reply$/, 'im.message.reply'],
];

function route(method: string, pathname: string): { endpoint: string; cardId: string | null } {
  for (const [m, pattern, endpoint] of ROUTES) {
    const match = m === method ? pattern.exec(pathname) : null;
    if (match) return { endpoint, cardId: match[1] ? decodeURIComponent(match[1]) : null };
  }
  return { endpoint: `${method} ${pathname}`, cardId: null };
}

function parse(text: unknown): Record<string, unknown> | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `config.streaming_mode` of a settings object or JSON-string field (settings, card data), if it is a boolean. */
function streamingModeOf(field: unknown): boolean | undefined {
  const object = typeof field === 'string' ? parse(field) : (field as Record<string, unknown> | undefined);
  const config = object?.config as Record<string, unknown> | undefined;
  return typeof config?.streaming_mode === 'boolean' ? config.streaming_mode : undefined;
}

/** The streaming mode a batch_update's last `partial_update_setting` sets, if any. */
function batchStreamingMode(field: unknown): boolean | undefined {
  let mode: boolean | undefined;
  const actions = typeof field === 'string' ? (JSON.parse(field) as unknown) : undefined;
  for (const action of Array.isArray(actions) ? actions : []) {
    const a = action as { action?: unknown; params?: { settings?: unknown } } | null;
    if (a?.action === 'partial_update_setting') mode = streamingModeOf(a.params?.settings) ?? mode;
  }
  return mode;
}

/** True when `msg` is the answer of a fault the soak injected (the emulator prefixes the code's own text). */
export function isInjected(msg: string | undefined): boolean {
  return msg !== undefined && msg.includes(INJECTED_MSG);
}

export class Traffic {
  readonly requests: RequestRecord[] = [];
  readonly #byCardSequence = new Map<string, RequestRecord[]>();
  /** Per card, the real time each log entry was written, in log order. */
  readonly #logTimes = new Map<string, number[]>();

  /** The observing fetch to give the client. */
  readonly fetch: FetchLike = async (input, init) => {
    const url = new URL(input);
    const method = init.method ?? 'GET';
    const { endpoint, cardId } = route(method, url.pathname);
    const body = parse(init.body);
    const record: RequestRecord = {
      endpoint,
      cardId,
      sequence: typeof body?.sequence === 'number' ? body.sequence : null,
      uuid: typeof body?.uuid === 'string' ? body.uuid : null,
      streamingMode:
        endpoint === 'cardkit.card.settings'
          ? streamingModeOf(body?.settings)
          : endpoint === 'cardkit.card.update'
            ? streamingModeOf((body?.card as Record<string, unknown> | undefined)?.data)
            : endpoint === 'cardkit.card.create'
              ? streamingModeOf(body?.data)
              : endpoint === 'cardkit.card.batchUpdate'
                ? batchStreamingMode(body?.actions)
                : undefined,
      startedAt: performance.now(),
      endedAt: undefined,
      outcome: 'pending',
      status: undefined,
      code: undefined,
      msg: undefined,
      rateLimitLimit: undefined,
      createdCardId: undefined,
    };
    this.requests.push(record);
    if (cardId !== null && record.sequence !== null) {
      const key = `${cardId}#${record.sequence}`;
      const list = this.#byCardSequence.get(key) ?? [];
      list.push(record);
      this.#byCardSequence.set(key, list);
    }
    try {
      const response = await fetch(input, init);
      const answer = parse(await response.clone().text());
      record.outcome = 'answered';
      record.status = response.status;
      record.code = typeof answer?.code === 'number' ? answer.code : undefined;
      record.msg = typeof answer?.msg === 'string' ? answer.msg : undefined;
      const limit = response.headers.get('x-ogw-ratelimit-limit');
      record.rateLimitLimit = limit === null ? undefined : Number(limit);
      const data = answer?.data as Record<string, unknown> | undefined;
      if (typeof data?.card_id === 'string') record.createdCardId = data.card_id;
      return response;
    } catch (error) {
      record.outcome = init.signal?.aborted ? 'aborted' : 'network';
      throw error;
    } finally {
      record.endedAt = performance.now();
    }
  };

  /** Notes the real time of every card log entry from now on; returns the function that stops it. */
  watch(emulator: Emulator): () => void {
    return emulator.onChange((event) => {
      if (event.type !== 'card' || event.entry === null) return;
      const times = this.#logTimes.get(event.cardId) ?? [];
      times.push(performance.now());
      this.#logTimes.set(event.cardId, times);
    });
  }

  /** The requests that carried `sequence` to `cardId` (one, unless a sequence was reused). */
  requestsFor(cardId: string, sequence: number | null): RequestRecord[] {
    return sequence === null ? [] : (this.#byCardSequence.get(`${cardId}#${sequence}`) ?? []);
  }

  /** Real time of the card's `index`-th log entry. */
  logTime(cardId: string, index: number): number | undefined {
    return this.#logTimes.get(cardId)?.[index];
  }

  /** A request the client gave up on (its timeout fired) before an answer came: the emulator may handle it later. */
  isZombie(cardId: string, sequence: number | null): boolean {
    const requests = this.requestsFor(cardId, sequence);
    return requests.length > 0 && requests.every((r) => r.outcome === 'aborted');
  }
}
