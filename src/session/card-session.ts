/**
 * `CardSession`: one card entity streamed from first delta to closed card. Text is appended
 * synchronously and coalesced; every write goes through one queue (concurrency 1) so writes reach
 * the platform in the order they were asked for, each with a strictly increasing sequence.
 */
import { EventEmitter } from 'eventemitter3';
import PQueue from 'p-queue';
import { type StreamSource, type TextPiece, assertSource } from '../adapters/index.js';
import { ELEMENT_ID_PATTERN, FeishuClient, isCardGone } from '../client/index.js';
import { type Governor, defaultGovernor } from '../governor/index.js';
import { DEFAULT_STREAMING_CONFIG, type StreamTag, defaultCard, finalCard, prepareCard } from './card-template.js';
import { Dispatcher } from './dispatch.js';
import { drain } from './drain.js';
import { ElementText } from './element-text.js';
import { type SessionState, SessionStateError } from './errors.js';
import type { SessionEvents, SessionResult } from './events.js';
import { createCard, sendCard } from './open-card.js';
import { type AttachOptions, type Recipient, type ResolvedSessionOptions, type StartOptions, checkCardId, checkRecipient, resolveSessionOptions } from './options.js';
import { StreamingWindow } from './streaming-window.js';
import { summarize } from './summary.js';
import { CardWriter } from './writer.js';

export interface PipeOptions {
  /** Finish the card when the source ends. Default true. */
  finish?: boolean;
  /** Element for the answer text. Default the session's `elementId`. */
  elementId?: string;
  /** Element for reasoning text (chat `reasoning_content`, Responses reasoning deltas); dropped when unset. */
  reasoningElementId?: string;
}

export interface FinishOptions {
  /** Chat-list summary. Default the first 50 characters of the answer. */
  summary?: string;
}

interface Init {
  cardId: string;
  sequence: number;
  tags: Map<string, StreamTag>;
  streamingConfig: Record<string, unknown>;
  /** The card as created, when this session created it. */
  card?: Record<string, unknown>;
  governor: Governor;
}

type Listener<K extends keyof SessionEvents> = (...args: SessionEvents[K]) => void;

export class CardSession {
  readonly #o: ResolvedSessionOptions;
  readonly #events = new EventEmitter<SessionEvents>();
  readonly #client: FeishuClient;
  readonly #governor: Governor;
  readonly #dispatcher: Dispatcher;
  readonly #window: StreamingWindow;
  readonly #writer: CardWriter;
  readonly #queue = new PQueue({ concurrency: 1 });
  readonly #elements = new Map<string, ElementText>();
  readonly #cardId: string;
  /** Aborted when the session stops taking text from a pipe (abort, failure). */
  readonly #halt = new AbortController();
  #messageId: string | null = null;
  #state: SessionState = 'open';
  #aborted = false;
  #abortReason: unknown;
  #failure: Error | undefined;
  /** Settles once the close that a failure started has landed or definitively failed. */
  #closing: Promise<void> = Promise.resolve();
  #ending: Promise<SessionResult> | undefined;
  /** The ending's writes have begun (a finish() waiting for a pipe has not). */
  #endStarted = false;
  #piping: Promise<unknown> | undefined;
  #flushQueued = false;
  #reopenQueued = false;
  #onSignal: (() => void) | undefined;

  private constructor(client: FeishuClient, o: ResolvedSessionOptions, init: Init) {
    this.#o = o;
    this.#client = client;
    this.#cardId = init.cardId;
    this.#governor = init.governor;
    for (const [id, tag] of init.tags) this.#elements.set(id, new ElementText(id, tag));
    const emit = <K extends keyof SessionEvents>(event: K, ...args: SessionEvents[K]) => {
      this.#events.emit(event, ...(args as never));
    };
    this.#dispatcher = new Dispatcher({
      governor: init.governor,
      sequences: init.governor.sequences,
      retry: o.retry,
      sequence: init.sequence,
      onRetry: (event) => emit('retry', event),
    });
    this.#window = new StreamingWindow({
      clock: o.clock,
      windowMs: o.streamingWindowMs,
      marginMs: o.reopenMarginMs,
      onDue: () => this.#queueReopen(),
    });
    const card = init.card;
    this.#writer = new CardWriter({
      client,
      cardId: init.cardId,
      dispatcher: this.#dispatcher,
      window: this.#window,
      clock: o.clock,
      streamingConfig: init.streamingConfig,
      ...(card === undefined ? {} : { finalCard: (summary: string | undefined) => finalCard(card, this.#texts(), summary) }),
      emit,
    });
  }

  /**
   * Creates a card, opens streaming mode, sends the card (when `to` is given) and resolves with a
   * session ready for text. If a step after the creation fails, the card is closed before the error
   * is thrown, so it never stays on "[生成中...]".
   * @example
   * const session = await CardSession.start(client, { to: { chat_id: 'oc_…' }, title: 'Answer' });
   * await session.pipe(await openai.chat.completions.create({ model, messages, stream: true }));
   */
  static async start(client: FeishuClient, options: StartOptions = {}): Promise<CardSession> {
    requireClient(client);
    const o = resolveSessionOptions(options);
    const { card, tags } = cardFor(options, o);
    const to = options.to === undefined ? undefined : checkRecipient(options.to);
    o.signal?.throwIfAborted();
    const governor = o.governor ?? defaultGovernor(client);
    const creator = new Dispatcher({ governor, sequences: governor.sequences, retry: o.retry, sequence: 0, onRetry: () => undefined });
    const cardId = await createCard(client, creator, card, o.signal);
    const config = card.config as Record<string, unknown>;
    const session = new CardSession(client, o, {
      cardId,
      sequence: 0,
      tags,
      card,
      governor,
      streamingConfig: (config.streaming_config as Record<string, unknown> | undefined) ?? DEFAULT_STREAMING_CONFIG,
    });
    await session.#begin(to);
    return session;
  }

  /** A session on a card entity created elsewhere by the same app (for example sent by another service). */
  static attach(client: FeishuClient, options: AttachOptions): CardSession {
    requireClient(client);
    const o = resolveSessionOptions(options);
    const cardId = checkCardId(options.cardId);
    const sequence = options.sequence ?? 0;
    if (!Number.isInteger(sequence) || sequence < 0 || sequence >= 2_147_483_646) {
      throw new RangeError(`options.sequence must be an integer in 0..2147483645; received ${String(sequence)}`);
    }
    const openedAt = options.streamingOpenedAt;
    if (openedAt !== undefined && (typeof openedAt !== 'number' || !Number.isFinite(openedAt))) {
      throw new RangeError(`options.streamingOpenedAt must be a time on the session clock; received ${String(openedAt)}`);
    }
    if (options.messageId !== undefined && (typeof options.messageId !== 'string' || options.messageId === '')) {
      throw new TypeError('options.messageId must be a non-empty string');
    }
    const plain = new Set(options.plainTextElementIds ?? []);
    const session = new CardSession(client, o, {
      cardId,
      sequence,
      tags: new Map(o.elementIds.map((id) => [id, plain.has(id) ? 'plain_text' : 'markdown'])),
      governor: o.governor ?? defaultGovernor(client),
      streamingConfig: DEFAULT_STREAMING_CONFIG,
    });
    session.#messageId = options.messageId ?? null;
    if (openedAt !== undefined) session.#window.opened(openedAt);
    session.#listen();
    return session;
  }

  get cardId(): string {
    return this.#cardId;
  }

  get messageId(): string | null {
    return this.#messageId;
  }

  /** The last sequence used on the card. */
  get sequence(): number {
    return this.#dispatcher.sequence;
  }

  /** The main element's text so far (everything appended, whether or not it has landed yet). */
  get text(): string {
    return this.#element(this.#o.elementId).text;
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Listens to a session event (`flush`, `retry`, `reopen`, `error`, `finish`). */
  on<K extends keyof SessionEvents>(event: K, listener: Listener<K>): this {
    this.#events.on(event, listener);
    return this;
  }

  once<K extends keyof SessionEvents>(event: K, listener: Listener<K>): this {
    this.#events.once(event, listener);
    return this;
  }

  off<K extends keyof SessionEvents>(event: K, listener?: Listener<K>): this {
    this.#events.off(event, listener);
    return this;
  }

  /** Adds text to an element. Synchronous and O(1); the text lands with the next write. */
  append(delta: string, elementId: string = this.#o.elementId): void {
    if (typeof delta !== 'string') throw new TypeError(`append() takes a string; received ${typeOf(delta)}`);
    const element = this.#element(elementId);
    this.#requireOpen('append text');
    element.append(delta);
    this.#queueFlush();
  }

  /** Replaces an element's text with a full snapshot, for sources that give accumulated text; `''` empties it. */
  setText(text: string, elementId: string = this.#o.elementId): void {
    if (typeof text !== 'string') throw new TypeError(`setText() takes a string; received ${typeOf(text)}`);
    const element = this.#element(elementId);
    this.#requireOpen('set text');
    element.set(text);
    this.#queueFlush();
  }

  /**
   * Appends everything a source yields, then finishes the card (unless `finish: false`). One source at
   * a time: a second `pipe()` while one runs is refused with a `SessionStateError`. `finish()` called
   * meanwhile waits for the source to end; `abort()` stops reading at once and releases the source.
   * A source that fails marks the card interrupted, closes it, and the pipe rejects with its error.
   */
  pipe(source: StreamSource, options?: PipeOptions & { finish?: true }): Promise<SessionResult>;
  pipe(source: StreamSource, options: PipeOptions & { finish: false }): Promise<undefined>;
  async pipe(source: StreamSource, options: PipeOptions = {}): Promise<SessionResult | undefined> {
    assertSource(source);
    if (typeof options !== 'object' || options === null) throw new TypeError('pipe() options must be an object');
    const elementId = options.elementId ?? this.#o.elementId;
    this.#element(elementId);
    const reasoningId = options.reasoningElementId;
    if (reasoningId !== undefined) this.#element(reasoningId);
    this.#requireOpen('pipe a source');
    if (this.#piping) throw new SessionStateError('pipe a source', this.#state, 'another source is being piped into this session');
    const take = (piece: TextPiece) => {
      const target = piece.kind === 'answer' ? elementId : reasoningId;
      if (target === undefined || this.#halt.signal.aborted) return;
      this.#element(target).append(piece.text);
      this.#queueFlush();
    };
    const piping = drain(source, this.#halt.signal, take);
    this.#piping = piping.catch(() => undefined);
    let outcome: 'ended' | 'halted';
    try {
      outcome = await piping;
    } catch (error) {
      // A failing source: keep what arrived, mark the card interrupted, close it, then rethrow.
      this.#piping = undefined;
      await this.#interrupt(error).catch(() => undefined);
      throw error;
    }
    this.#piping = undefined;
    if (outcome === 'halted' || this.#ending || options.finish !== false) {
      const ending = this.#ending ?? this.finish();
      return options.finish === false ? ending.then(() => undefined) : ending;
    }
    return undefined;
  }

  /** Patches an element's properties, in order with the text: text appended before this call lands first. */
  async patchElement(elementId: string, partial: Record<string, unknown>): Promise<void> {
    if (typeof elementId !== 'string' || !ELEMENT_ID_PATTERN.test(elementId)) {
      throw new TypeError(`patchElement() needs a valid element id; received ${JSON.stringify(elementId)}`);
    }
    if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) {
      throw new TypeError('patchElement() needs an object of properties to change');
    }
    this.#requireOpen('patch an element');
    this.#queueFlush();
    // A rejected patch is the caller's to handle; only a card that is gone ends the session.
    await this.#run(() => this.#writer.patch(elementId, partial), isCardGone);
  }

  /**
   * Flushes the exact final text, closes streaming mode and sets the summary; resolves once the close
   * has landed. While a `pipe()` runs, waits for its source to end. Calling it again returns the same
   * promise. After a fatal error it rejects with that error, once the card has been closed (or could not be).
   */
  finish(options?: FinishOptions | null): Promise<SessionResult> {
    if (this.#ending) return this.#ending;
    if (this.#failure) return this.#failed();
    if (options !== undefined && options !== null && typeof options !== 'object') {
      return Promise.reject(new TypeError('finish() takes an options object'));
    }
    const summary = options?.summary;
    if (summary !== undefined && typeof summary !== 'string') return Promise.reject(new TypeError('finish({ summary }) takes a string'));
    this.#state = 'finishing';
    const piping = this.#piping;
    this.#ending = piping ? piping.then(() => this.#end(summary)) : this.#end(summary);
    return this.#ending;
  }

  /**
   * Stops taking text (a running pipe stops at once and its source is released), flushes what arrived,
   * marks the card interrupted and closes it. `reason` is kept in the result.
   */
  abort(reason?: unknown): Promise<SessionResult> {
    if (this.#failure) return this.#failed();
    if (this.#ending && this.#endStarted) return this.#ending;
    this.#markAborted(reason);
    this.#halt.abort(reason);
    this.#state = 'finishing';
    this.#ending ??= this.#end(undefined);
    return this.#ending;
  }

  /** Opens streaming mode and sends the card; if either fails, closes the card and throws. */
  async #begin(to: Recipient | undefined): Promise<void> {
    const opening = this.#run(async () => {
      await this.#writer.open('start');
    });
    const sending = to ? sendCard(this.#client, this.#dispatcher, this.#cardId, to, this.#o.signal) : Promise.resolve(null);
    const [opened, sent] = await Promise.allSettled([opening, sending]);
    if (opened.status === 'fulfilled' && sent.status === 'fulfilled' && !this.#o.signal?.aborted) {
      this.#messageId = sent.value;
      this.#listen();
      return;
    }
    const error: unknown =
      sent.status === 'rejected' ? sent.reason : opened.status === 'rejected' ? opened.reason : this.#o.signal?.reason;
    this.#fail(error instanceof Error ? error : new Error(String(error)));
    await this.#closing;
    throw error;
  }

  async #end(summary: string | undefined): Promise<SessionResult> {
    if (this.#failure) return this.#failed();
    this.#endStarted = true;
    this.#window.stop();
    for (const element of this.#elements.values()) element.settle();
    try {
      await this.#run(async () => {
        await this.#writer.flush(this.#elements.values(), true);
        await this.#writer.close(summary ?? summarize(this.text));
      });
    } catch {
      return this.#failed();
    }
    this.#state = this.#aborted ? 'aborted' : 'finished';
    const result = this.#result();
    this.#release();
    this.#events.emit('finish', result);
    return result;
  }

  /** A source failed: the card ends interrupted (also when a finish() was waiting for it). */
  #interrupt(error: unknown): Promise<SessionResult> {
    if (this.#failure) return this.#failed();
    if (this.#endStarted) return this.#ending!;
    this.#markAborted(error);
    this.#state = 'finishing';
    this.#ending ??= this.#end(undefined);
    return this.#ending;
  }

  #markAborted(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    const main = this.#element(this.#o.elementId);
    main.settle(); // never half a character before the marker
    if (this.#o.interruptedText !== '') main.append(this.#o.interruptedText);
    for (const element of this.#elements.values()) if (element !== main) element.settle();
  }

  /** Rejects with the session's failure once the close it started has landed or definitively failed. */
  async #failed(): Promise<never> {
    await this.#closing;
    throw this.#failure!;
  }

  #result(): SessionResult {
    return {
      cardId: this.#cardId,
      messageId: this.#messageId,
      text: this.text,
      texts: Object.fromEntries(this.#texts()),
      sequence: this.#dispatcher.sequence,
      writes: this.#dispatcher.writes,
      retries: this.#dispatcher.retries,
      reopens: this.#writer.reopens,
      aborted: this.#aborted,
      ...(this.#aborted ? { abortReason: this.#abortReason } : {}),
    };
  }

  #texts(): Map<string, string> {
    return new Map([...this.#elements].map(([id, element]) => [id, element.text]));
  }

  /**
   * Runs an operation in the card's queue; after a fatal error nothing more is sent. The failure is
   * recorded inside the queued job, before the next job starts, so nothing queued behind it runs.
   */
  #run(operation: () => Promise<void>, failsSession: (error: unknown) => boolean = () => true): Promise<void> {
    return this.#queue.add(async () => {
      if (this.#failure) throw this.#failure;
      try {
        await operation();
      } catch (error) {
        if (failsSession(error)) this.#fail(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
    });
  }

  /** At most one text flush waits in the queue; it reads the text when it runs, so it carries every delta. */
  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    this.#run(async () => {
      this.#flushQueued = false;
      await this.#writer.flush(this.#elements.values(), false);
    }).catch(() => undefined); // recorded by #run; finish() reports it
  }

  /** The streaming window is about to close: re-open it, unless a write already did or the session is ending. */
  #queueReopen(): void {
    if (this.#reopenQueued || this.#endStarted || this.#failure) return;
    this.#reopenQueued = true;
    this.#run(async () => {
      this.#reopenQueued = false;
      if (this.#endStarted || !this.#window.due) return;
      if (!(await this.#writer.open('scheduled'))) this.#window.giveUp();
    }).catch(() => undefined); // recorded by #run
  }

  #fail(error: Error): void {
    if (this.#failure || this.#state === 'finished' || this.#state === 'aborted') return;
    this.#failure = error;
    this.#state = 'failed';
    this.#window.stop();
    this.#halt.abort(error);
    this.#events.emit('error', error);
    // Never leave the card in streaming mode ("[生成中...]") if it can still be closed.
    this.#closing = isCardGone(error)
      ? Promise.resolve()
      : this.#queue.add(() => this.#writer.close(undefined)).catch(() => undefined);
    void this.#closing.then(() => this.#release());
  }

  /** Follows the caller's signal: aborting it is `abort(signal.reason)`. */
  #listen(): void {
    const signal = this.#o.signal;
    if (!signal) return;
    this.#onSignal = () => {
      this.abort(signal.reason).catch(() => undefined);
    };
    signal.addEventListener('abort', this.#onSignal, { once: true });
  }

  /** The session ended: let go of everything that would keep it (or its card's state) alive. */
  #release(): void {
    this.#window.stop();
    if (this.#onSignal) this.#o.signal?.removeEventListener('abort', this.#onSignal);
    this.#onSignal = undefined;
    this.#governor.forget(this.#cardId);
  }

  #element(elementId: string): ElementText {
    const element = this.#elements.get(elementId);
    if (!element) {
      throw new TypeError(`element ${JSON.stringify(elementId)} is not streamed by this session; streamed: ${[...this.#elements.keys()].join(', ')}`);
    }
    return element;
  }

  #requireOpen(operation: string): void {
    if (this.#state !== 'open') throw new SessionStateError(operation, this.#state);
  }
}

function requireClient(client: unknown): asserts client is FeishuClient {
  if (!(client instanceof FeishuClient)) throw new TypeError('the first argument must be a FeishuClient');
}

function cardFor(options: StartOptions, o: ResolvedSessionOptions): { card: Record<string, unknown>; tags: Map<string, StreamTag> } {
  if (options.card !== undefined) return prepareCard(options.card, o.elementIds);
  if (options.title !== undefined && typeof options.title !== 'string') throw new TypeError('options.title must be a string');
  if (o.elementIds.length !== 1 || o.elementId !== 'answer') {
    throw new TypeError('elementId and extraElementIds name elements of your own card: pass options.card too');
  }
  return prepareCard(defaultCard(options.title), o.elementIds);
}

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
