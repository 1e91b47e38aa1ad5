/**
 * `CardSession`: one card entity streamed from first delta to closed card. Text is appended
 * synchronously and coalesced; every write goes through one queue (concurrency 1) so writes reach
 * the platform in the order they were asked for, each with a strictly increasing sequence.
 */
import { EventEmitter } from 'eventemitter3';
import PQueue from 'p-queue';
import { type StreamSource, assertSource, textPieces } from '../adapters/index.js';
import { ELEMENT_ID_PATTERN, FeishuClient } from '../client/index.js';
import { governorFor, sequencesFor } from '../governor/index.js';
import { DEFAULT_STREAMING_CONFIG, type StreamTag, defaultCard, finalCard, prepareCard } from './card-template.js';
import { ElementText } from './element-text.js';
import { type SessionState, SessionStateError } from './errors.js';
import type { SessionEvents, SessionResult } from './events.js';
import { type AttachOptions, type ResolvedSessionOptions, type StartOptions, resolveSessionOptions } from './options.js';
import { openCard } from './open-card.js';
import { summarize } from './summary.js';
import { CardWriter, isCardGone } from './writer.js';

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
  messageId: string | null;
  sequence: number;
  streamingOpenedAt: number | null;
  tags: Map<string, StreamTag>;
  streamingConfig: Record<string, unknown>;
  /** The card as created, when this session created it. */
  card?: Record<string, unknown>;
}

export class CardSession extends EventEmitter<SessionEvents> {
  readonly #o: ResolvedSessionOptions;
  readonly #writer: CardWriter;
  readonly #queue = new PQueue({ concurrency: 1 });
  readonly #elements = new Map<string, ElementText>();
  readonly #cardId: string;
  readonly #messageId: string | null;
  #state: SessionState = 'open';
  #aborted = false;
  #failure: Error | undefined;
  #ending: Promise<SessionResult> | undefined;
  #flushQueued = false;
  #reopenQueued = false;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  /** The last watchdog check, on the session clock and in real time: how fast the clock runs. */
  #lastCheck = { clock: 0, real: 0 };

  private constructor(client: FeishuClient, o: ResolvedSessionOptions, init: Init) {
    super();
    this.#o = o;
    this.#cardId = init.cardId;
    this.#messageId = init.messageId;
    for (const [id, tag] of init.tags) this.#elements.set(id, new ElementText(id, tag));
    this.#writer = new CardWriter({
      client,
      governor: o.governor ?? governorFor(client),
      cardId: init.cardId,
      sequence: init.sequence,
      sequences: sequencesFor(client),
      retry: o.retry,
      now: o.now,
      streamingOpenedAt: init.streamingOpenedAt,
      streamingConfig: init.streamingConfig,
      ...(init.card === undefined
        ? {}
        : {
            finalCard: (summary: string | undefined) =>
              finalCard(init.card!, new Map([...this.#elements].map(([id, element]) => [id, element.text])), summary),
          }),
      emit: (event, ...args) => this.emit(event, ...(args as never)),
    });
    o.signal?.addEventListener('abort', () => this.#abortQuietly(o.signal?.reason), { once: true });
    this.#armWatchdog();
  }

  /**
   * Creates a streaming card, sends it (when `to` is given) and resolves with a session ready for text.
   * @example
   * const session = await CardSession.start(client, { to: { chat_id: 'oc_…' }, title: 'Answer' });
   * await session.pipe(await openai.chat.completions.create({ model, messages, stream: true }));
   */
  static async start(client: FeishuClient, options: StartOptions = {}): Promise<CardSession> {
    requireClient(client);
    const o = resolveSessionOptions(options);
    const { card, tags } = cardFor(options, o);
    const opened = await openCard(client, o, card, options.to);
    const config = card.config as Record<string, unknown>;
    return new CardSession(client, o, {
      ...opened,
      sequence: 0,
      tags,
      card,
      streamingConfig: (config.streaming_config as Record<string, unknown> | undefined) ?? DEFAULT_STREAMING_CONFIG,
    });
  }

  /** A session on a card entity created elsewhere by the same app (for example sent by another service). */
  static attach(client: FeishuClient, options: AttachOptions): CardSession {
    requireClient(client);
    const o = resolveSessionOptions(options);
    if (typeof options.cardId !== 'string' || options.cardId === '') throw new TypeError('options.cardId is required');
    const sequence = options.sequence ?? 0;
    if (!Number.isInteger(sequence) || sequence < 0 || sequence >= 2_147_483_647) {
      throw new RangeError(`options.sequence must be an int32 >= 0; received ${String(sequence)}`);
    }
    const plain = new Set(options.plainTextElementIds ?? []);
    return new CardSession(client, o, {
      cardId: options.cardId,
      messageId: options.messageId ?? null,
      sequence,
      streamingOpenedAt: options.streamingOpenedAt ?? null,
      tags: new Map(o.elementIds.map((id) => [id, plain.has(id) ? 'plain_text' : 'markdown'])),
      streamingConfig: DEFAULT_STREAMING_CONFIG,
    });
  }

  get cardId(): string {
    return this.#cardId;
  }

  get messageId(): string | null {
    return this.#messageId;
  }

  /** The last sequence used on the card. */
  get sequence(): number {
    return this.#writer.sequence;
  }

  /** The main element's text so far (everything appended, whether or not it has landed yet). */
  get text(): string {
    return this.#element(this.#o.elementId).text;
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Adds text to an element. Synchronous and O(1); the text lands with the next write. */
  append(delta: string, elementId: string = this.#o.elementId): void {
    if (typeof delta !== 'string') throw new TypeError(`append() takes a string; received ${typeOf(delta)}`);
    const element = this.#element(elementId);
    this.#requireOpen('append text');
    element.append(delta);
    this.#queueFlush();
  }

  /** Replaces an element's text with a full snapshot, for sources that give accumulated text. */
  setText(text: string, elementId: string = this.#o.elementId): void {
    if (typeof text !== 'string') throw new TypeError(`setText() takes a string; received ${typeOf(text)}`);
    const element = this.#element(elementId);
    this.#requireOpen('set text');
    element.set(text);
    this.#queueFlush();
  }

  /** Appends everything a source yields; finishes the card when it ends (unless `finish: false`). */
  pipe(source: StreamSource, options?: PipeOptions & { finish?: true }): Promise<SessionResult>;
  pipe(source: StreamSource, options: PipeOptions & { finish: false }): Promise<undefined>;
  async pipe(source: StreamSource, options: PipeOptions = {}): Promise<SessionResult | undefined> {
    assertSource(source);
    const elementId = options.elementId ?? this.#o.elementId;
    this.#element(elementId);
    if (options.reasoningElementId !== undefined) this.#element(options.reasoningElementId);
    this.#requireOpen('pipe a source');
    try {
      for await (const piece of textPieces(source)) {
        if (this.#state !== 'open') break;
        if (piece.kind === 'answer') this.append(piece.text, elementId);
        else if (options.reasoningElementId !== undefined) this.append(piece.text, options.reasoningElementId);
      }
    } catch (error) {
      // A failing source: keep what arrived, mark the card interrupted, close it, then rethrow.
      if (this.#state === 'open') await this.abort(error).catch(() => undefined);
      throw error;
    }
    if (options.finish === false) return undefined;
    return this.finish();
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

  /** Flushes the exact final text, closes streaming mode and sets the summary. Calling it again returns the same result. */
  finish(options: FinishOptions = {}): Promise<SessionResult> {
    if (this.#ending) return this.#ending;
    if (this.#failure) return Promise.reject(this.#failure);
    if (options.summary !== undefined && typeof options.summary !== 'string') {
      return Promise.reject(new TypeError('finish({ summary }) takes a string'));
    }
    this.#state = 'finishing';
    this.#ending = this.#end(options.summary);
    return this.#ending;
  }

  /** Stops taking text, flushes what arrived, marks the card interrupted and closes it. */
  abort(reason?: unknown): Promise<SessionResult> {
    if (this.#ending) return this.#ending;
    if (this.#failure) return Promise.reject(this.#failure);
    void reason;
    this.#aborted = true;
    this.#state = 'finishing';
    const main = this.#element(this.#o.elementId);
    if (this.#o.interruptedText !== '') main.append(this.#o.interruptedText);
    this.#ending = this.#end(undefined);
    return this.#ending;
  }

  async #end(summary: string | undefined): Promise<SessionResult> {
    clearTimeout(this.#watchdog);
    await this.#run(async () => {
      await this.#writer.flush(this.#elements.values(), true);
      await this.#writer.close(summary ?? summarize(this.text));
    });
    this.#state = this.#aborted ? 'aborted' : 'finished';
    const result = this.#result();
    this.emit('finish', result);
    return result;
  }

  #result(): SessionResult {
    const texts = Object.fromEntries([...this.#elements].map(([id, element]) => [id, element.text]));
    return {
      cardId: this.#cardId,
      messageId: this.#messageId,
      text: this.text,
      texts,
      sequence: this.#writer.sequence,
      writes: this.#writer.writes,
      retries: this.#writer.retries,
      reopens: this.#writer.reopens,
      aborted: this.#aborted,
    };
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
        if (failsSession(error)) this.#fail(error as Error);
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

  /** When streaming mode should be re-opened, on the session clock; null when it need not be. */
  #reopenDue(): number | null {
    const openedAt = this.#writer.streamingOpenedAt;
    if (this.#state !== 'open' || this.#writer.streamingDead || openedAt === null) return null;
    return openedAt + this.#o.streamingWindowMs - this.#o.reopenMarginMs;
  }

  /**
   * Re-opens streaming mode before the platform closes it, also while no text arrives (a model calling
   * tools for minutes). The session clock may run faster than real time (a test's sped-up emulator
   * clock): each check measures how fast it ran since the last, and sleeps accordingly, at most 1 s.
   */
  #armWatchdog(): void {
    clearTimeout(this.#watchdog);
    const due = this.#reopenDue();
    if (due === null) return;
    const clock = this.#o.now();
    const real = performance.now();
    const wait = due - clock;
    if (wait <= 0) {
      this.#queueReopen();
      return;
    }
    const last = this.#lastCheck;
    const speed = last.real > 0 && real > last.real ? Math.max(1, (clock - last.clock) / (real - last.real)) : 1;
    this.#lastCheck = { clock, real };
    this.#watchdog = setTimeout(() => this.#armWatchdog(), Math.max(5, Math.min(wait / speed / 2, 1000)));
    this.#watchdog.unref?.();
  }

  #queueReopen(): void {
    if (this.#reopenQueued) return;
    this.#reopenQueued = true;
    this.#run(async () => {
      this.#reopenQueued = false;
      // Still due? A write may have re-opened it meanwhile (after the platform said it had closed).
      const due = this.#reopenDue();
      if (due === null || due > this.#o.now()) {
        this.#armWatchdog();
        return;
      }
      if (!(await this.#writer.reopen('scheduled'))) this.#writer.streamingDead = true;
      this.#armWatchdog();
    }).catch(() => undefined); // recorded by #run
  }

  #fail(error: Error): void {
    if (this.#failure || this.#state === 'finished' || this.#state === 'aborted') return;
    this.#failure = error;
    this.#state = 'failed';
    clearTimeout(this.#watchdog);
    this.emit('error', error);
    // Never leave the card in streaming mode ("[生成中...]") if it can still be closed.
    if (this.#writer.streamingOpenedAt !== null && !isCardGone(error)) {
      this.#queue.add(() => this.#writer.close(undefined)).catch(() => undefined);
    }
  }

  #abortQuietly(reason: unknown): void {
    this.abort(reason).catch(() => undefined);
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
