/**
 * The observation hub: the process-wide observers (metrics, traces, the logger) told of every write a
 * session makes. It imports nothing, so the client and the session can call it; with no observer
 * registered, a write pays one array-length check and nothing else (no clock read, no allocation).
 *
 * A write (`Dispatcher.send`) is one or more attempts: each asks the governor for a permit, is sent,
 * and is answered. Observers hear of each attempt once its fate is known (accepted, retried, or the last
 * one of a write given up), then of the write's end.
 */

/** What the session made of an attempt's answer (see session/retry.ts), or `accepted`, or `aborted` by the caller. */
export type AttemptVerdict = 'accepted' | 'applied' | 'retry' | 'rate_limited' | 'sequence_conflict' | 'streaming_closed' | 'fatal' | 'aborted';

/** One write of a session: the same object for each of its attempts. */
export interface ObservedWrite {
  /** Endpoint name, e.g. `cardkit.cardElement.content`: the one the current attempt went through (a spilled write's alternative). */
  api: string;
  readonly cardId: string | undefined;
  readonly messageId: string | undefined;
  readonly urgent: boolean;
  /** The governor the write asked for its permits. */
  readonly governor: object;
  /** The card entity or the message the write made (`card_id` of a create, `message_id` of a send), once accepted. */
  madeId: string | undefined;
}

/** A refusal the client answered itself by sending the request again with a fresh token (within one attempt). */
export interface TokenRefusal {
  readonly error: unknown;
}

export interface WriteAttempt {
  readonly write: ObservedWrite;
  /** From 1. */
  readonly attempt: number;
  /** `performance.now()` when the attempt asked for its permit. */
  readonly startedAt: number;
  /** Time waiting for the governor's permit, ms. */
  permitMs: number;
  /** `performance.now()` when the request left. */
  sentAt: number;
  /** `performance.now()` when the answer (or the failure) came. */
  endedAt: number;
  /** The card sequence the attempt carried; 0 for writes without one. */
  sequence: number;
  verdict: AttemptVerdict;
  /** Undefined when accepted. */
  error: unknown;
  /** The platform's log id of the answer (`x-tt-logid`), when it sent one. */
  logId: string | undefined;
  /** The session sends the write again after this attempt. */
  retried: boolean;
  /** When retried: the wait before the next attempt, ms (a rate limit's is waited in the governor). */
  delayMs: number;
  /** Token refusals the client answered by sending the request again (each one request the platform answered). */
  tokenRefusals: TokenRefusal[];
}

/** Optional methods, called at the hook points; one that throws becomes a process warning, never the write's failure. */
export interface Observer {
  attempt?(attempt: WriteAttempt): void;
  /** The write is over: `error` is undefined when it was accepted (or found applied). */
  written?(write: ObservedWrite, error: unknown): void;
}

/** The registered observers; hook points check `observers.length` before doing anything else. */
export let observers: readonly Observer[] = [];

/** Registers `observer` for every write of the process from now on; returns the function that removes it. */
export function addObserver(observer: Observer): () => void {
  observers = [...observers, observer];
  return () => {
    observers = observers.filter((o) => o !== observer);
  };
}

function tell<K extends keyof Observer>(method: K, ...args: Parameters<NonNullable<Observer[K]>>): void {
  for (const observer of observers) {
    try {
      (observer[method] as ((...a: typeof args) => void) | undefined)?.(...args);
    } catch (error) {
      process.emitWarning(error instanceof Error ? error : String(error), 'ObserverError');
    }
  }
}

/** What the client learns of the request an attempt sends: the answer's log id, and token refusals it answered itself. */
export interface RequestCapture {
  logId: string | undefined;
  tokenRefusals: TokenRefusal[];
}

/** The capture of the request being issued right now (set only while a watched attempt calls its request synchronously). */
let issuing: RequestCapture | undefined;

/**
 * Called by the client, synchronously, as a request starts: the capture of the watched attempt that
 * issues it, if any (taken, so the token request a call may make first does not take it too).
 */
export function claimRequest(): RequestCapture | undefined {
  const capture = issuing;
  issuing = undefined;
  return capture;
}

/** Follows one write through its attempts and tells the observers. Created only while an observer is registered. */
export class WriteWatch {
  readonly write: ObservedWrite;
  /** The attempt under way, or answered and waiting to be told (until it is known whether it is retried). */
  #current: WriteAttempt | undefined;
  /** The current attempt's request left (a request that threw before leaving is no attempt). */
  #sent = false;
  /** What the client noted of the current attempt's request. */
  #capture: RequestCapture | undefined;

  constructor(write: { api: string; cardId?: string | undefined; messageId?: string | undefined; urgent: boolean }, governor: object) {
    this.write = { api: write.api, cardId: write.cardId, messageId: write.messageId, urgent: write.urgent, governor, madeId: undefined };
  }

  /** An attempt asks for its permit. An earlier one still untold was retried at once (a sequence conflict). */
  begin(attempt: number): void {
    this.#tell(true);
    this.#sent = false;
    const now = performance.now();
    this.#current = {
      write: this.write,
      attempt,
      startedAt: now,
      permitMs: 0,
      sentAt: now,
      endedAt: now,
      sequence: 0,
      verdict: 'accepted',
      error: undefined,
      logId: undefined,
      retried: false,
      delayMs: 0,
      tokenRefusals: [],
    };
  }

  /** The governor granted the permit, through `via` (the write's API, or the alternative it spilled to). */
  permitted(via: string = this.write.api): void {
    const current = this.#current;
    if (current) current.permitMs = performance.now() - current.startedAt;
    this.write.api = via;
  }

  /** Sends the request with `sequence`; the client notes the answer's log id in the attempt. */
  issue<T>(sequence: number, request: () => T): T {
    const current = this.#current!;
    current.sequence = sequence;
    current.sentAt = performance.now();
    // Filled by the client when the answer comes; `answered` reads it.
    const capture: RequestCapture = { logId: undefined, tokenRefusals: current.tokenRefusals };
    this.#capture = capture;
    issuing = capture;
    try {
      const result = request();
      this.#sent = true;
      return result;
    } finally {
      issuing = undefined;
    }
  }

  /** The answer came (or the request failed); an accepted attempt, or one that was never sent, is settled now. */
  answered(verdict: AttemptVerdict, error?: unknown, value?: unknown): void {
    const current = this.#current;
    if (!current) return;
    if (!this.#sent) {
      this.#current = undefined;
      return;
    }
    current.endedAt = performance.now();
    current.verdict = verdict;
    current.error = error;
    current.logId = this.#capture?.logId ?? logIdOf(error);
    if (verdict === 'accepted') {
      this.write.madeId = madeIdOf(value);
      this.#tell(false);
    }
  }

  /** The session sends the write again after `delayMs` (or once the governor's pause is over). */
  retrying(delayMs: number): void {
    if (this.#current) this.#current.delayMs = delayMs;
    this.#tell(true);
  }

  /** The write is over; `error` is why, when it failed. */
  ended(error: unknown): void {
    this.#tell(false);
    tell('written', this.write, error);
  }

  #tell(retried: boolean): void {
    const current = this.#current;
    if (!current || !this.#sent) return;
    this.#current = undefined;
    current.retried = retried;
    tell('attempt', current);
  }
}

function logIdOf(error: unknown): string | undefined {
  const logId = (error as { logId?: unknown } | undefined)?.logId;
  return typeof logId === 'string' ? logId : undefined;
}

/** The id of what an accepted create or send made: `card_id` (CardKit create) or `message_id` (IM send). */
function madeIdOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { card_id: cardId, message_id: messageId } = value as { card_id?: unknown; message_id?: unknown };
  return typeof cardId === 'string' ? cardId : typeof messageId === 'string' ? messageId : undefined;
}
