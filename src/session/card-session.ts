/**
 * `CardSession`: one card entity streamed from first delta to closed card. Text is appended
 * synchronously and coalesced; the writes are `CardCore`'s. This file is the public face: the
 * session's states, where text comes in (append, setText, pipe) and how it ends (finish, abort).
 */
import { EventEmitter } from 'eventemitter3';
import { type AnswerEvent, type StreamSource, UnrecognizedSourceError, assertSource } from '../adapters/index.js';
import { AnswerReport } from './answer-report.js';
import { ELEMENT_ID_PATTERN, type FeishuClient, isCardGone } from '../client/index.js';
import { defaultGovernor } from '../governor/index.js';
import { CardChain } from './card-chain.js';
import { RolledOver } from './card-core.js';
import { DEFAULT_STREAMING_CONFIG, type StreamTag, cardToStart } from './card-template.js';
import type { Transport } from './card-writes.js';
import { drain } from './drain.js';
import type { ElementText } from './element-text.js';
import { type SessionState, SessionStateError, SessionStoppedError } from './errors.js';
import type { SessionEvents, SessionResult } from './events.js';
import { follow } from './signal-followers.js';
import {
  type AttachOptions,
  type FinishOptions,
  type PipeOptions,
  type Recipient,
  type ResolvedSessionOptions,
  type StartOptions,
  checkAttach,
  checkRecipient,
  checkTransport,
  requireClient,
  resolveSessionOptions,
  typeOf,
} from './options.js';
import { summarize } from './summary.js';
import { guard } from './listeners.js';
import { openFirstCard } from './transport-choice.js';
import { AgentCard } from './agent/agent-card.js';
import { type ResolvedAgentOptions, resolveAgentOptions } from './agent/agent-options.js';
import { REASONING_ID } from './agent/agent-render.js';
import { type CardLayout, combineLayouts } from './card-ops.js';
import { listSession, openSession, unlistSession } from './registry.js';
import { refusesNewSessions } from './shutdown.js';
import { STOP_BUTTON_ID, StopButtonLayout, resolveStopButton, stopButtonElement } from './stop-button.js';

type Listener<K extends keyof SessionEvents> = (...args: SessionEvents[K]) => void;

export class CardSession {
  readonly #o: ResolvedSessionOptions;
  readonly #events: EventEmitter<SessionEvents>;
  /** The cards of the answer; `#chain.core` is the one being written. */
  readonly #chain: CardChain;
  readonly #halt = new AbortController();
  #messageId: string | null = null;
  #state: 'open' | 'finishing' | 'finished' | 'aborted' = 'open';
  #aborted = false;
  #abortReason: unknown;
  #ending: Promise<SessionResult> | undefined;
  #piping: Promise<unknown> | undefined;
  #unfollow: (() => void) | undefined;
  /** Tool steps, usage, finish reason and unhandled chunks of the sources piped in. */
  readonly #report: AnswerReport;
  /** The agent card's layout, when the session streams one (`start({ agent })`). */
  readonly #agent: AgentCard | undefined;
  /** Elements the session removes when it closes its card: the Stop button, when it has one. */
  readonly #ephemeral: readonly string[];
  /** The client the session writes through. */
  readonly client: FeishuClient;
  /** Settles once the session ended (finished, aborted or failed) and its card was closed or given up. */
  readonly ended: Promise<void>;
  #markEnded!: () => void;

  private constructor(client: FeishuClient, o: ResolvedSessionOptions, events: EventEmitter<SessionEvents>, to?: Recipient, extras: { agent?: ResolvedAgentOptions; stopButton?: boolean } = {}) {
    this.#o = o;
    this.#events = events;
    this.client = client;
    this.ended = new Promise<void>((resolve) => (this.#markEnded = resolve));
    this.#report = new AnswerReport(o.clock, (event, ...args) => events.emit(event, ...(args as never)));
    const { agent } = extras;
    this.#agent = agent
      ? new AgentCard({ options: agent, report: this.#report, reasoning: () => this.#chain.core.elements.get(REASONING_ID), answerId: o.elementId, clock: o.clock })
      : undefined;
    this.#ephemeral = extras.stopButton ? [STOP_BUTTON_ID] : [];
    const layouts: CardLayout[] = [...(this.#agent ? [this.#agent] : []), ...(extras.stopButton ? [new StopButtonLayout()] : [])];
    const layout = layouts.length > 0 ? combineLayouts(layouts) : undefined;
    const context = { client, o, events, halt: this.#halt, onRelease: () => this.#unlisten(), ...(to ? { to } : {}), ...(layout ? { layout } : {}) };
    this.#chain = new CardChain(context);
    // A card callback finds the session by the message its card is in (the Stop button, stopFromAction).
    events.on('rollover', (event) => {
      if (event.kind === 'card' && event.messageId) listSession(event.messageId, this);
    });
  }

  /**
   * Creates a card, opens streaming mode, sends the card (when `to` is given) and resolves with a
   * session ready for text; with `transport: 'message'` (or when CardKit refuses for lack of permission,
   * see `messageFallback`), sends a message card instead. If a step after the creation fails, the card
   * is closed before the error is thrown, so it never stays on "[生成中...]".
   * @example
   * const session = await CardSession.start(client, { to: { chat_id: 'oc_…' }, title: 'Answer' });
   * await session.pipe(await openai.chat.completions.create({ model, messages, stream: true }));
   */
  static async start(client: FeishuClient, options: StartOptions = {}): Promise<CardSession> {
    requireClient(client);
    if (refusesNewSessions(client)) throw new SessionStateError('start a session', 'finished', 'the process is shutting down (shutdown() was called)');
    const o = resolveSessionOptions(options);
    const to = options.to === undefined ? undefined : checkRecipient(options.to);
    const { transport, messageFallback, on } = checkTransport(options, to);
    const agent = options.agent === undefined || options.agent === false ? undefined : resolveAgentOptions(options.agent);
    if (agent && (options.card !== undefined || options.elementId !== undefined || options.extraElementIds !== undefined)) {
      throw new TypeError('options.agent builds its own card: options.card, elementId and extraElementIds cannot be given with it');
    }
    const stopButton = resolveStopButton(options.stopButton);
    if (stopButton && options.card !== undefined) {
      throw new TypeError('options.stopButton goes on the default card and the agent card; on your own card, add a button whose callback value is STOP_ACTION_VALUE');
    }
    const { card, tags } = cardToStart(options, o.elementId, o.elementIds, transport);
    if (stopButton) (card.body as { elements: unknown[] }).elements.push(stopButtonElement(stopButton));
    // The agent card's reasoning streams into an element its layout adds once reasoning arrives.
    if (agent?.reasoning) tags.set(REASONING_ID, 'markdown');
    o.signal?.throwIfAborted();
    const governor = o.governor ?? defaultGovernor(client);
    const events = new EventEmitter<SessionEvents>();
    for (const [event, listener] of Object.entries(on)) events.on(event as keyof SessionEvents, guard(listener));
    const session = new CardSession(client, o, events, to, { ...(agent ? { agent } : {}), stopButton: stopButton !== undefined });
    // The requests of the start follow the caller's signal through one shared listener (see signal-followers.ts).
    const starting = new AbortController();
    const unfollow = o.signal ? follow(o.signal, () => starting.abort(o.signal!.reason)) : () => false;
    const signal = o.signal && starting.signal;
    const first = { card, tags, governor, streamingConfig: streamingConfigOf(card) };
    try {
      // A message card needs a recipient: without one, a refusal is the caller's to see.
      await openFirstCard(client, session.#chain, { ...first, transport }, { fallback: messageFallback && to !== undefined, signal, events });
      session.#messageId = session.#chain.cards[0]!.messageId;
      openSession(session);
      if (session.#messageId !== null) listSession(session.#messageId, session);
      session.#listen();
      return session;
    } finally {
      unfollow();
    }
  }

  /** A session on a card entity created elsewhere by the same app (for example sent by another service). */
  static attach(client: FeishuClient, options: AttachOptions): CardSession {
    requireClient(client);
    const o = resolveSessionOptions(options);
    const { cardId, sequence, messageId, streamingOpenedAt } = checkAttach(options, o.elementIds);
    const plain = new Set(options.plainTextElementIds ?? []);
    const tags = new Map<string, StreamTag>(o.elementIds.map((id) => [id, plain.has(id) ? 'plain_text' : 'markdown']));
    const governor = o.governor ?? defaultGovernor(client);
    const session = new CardSession(client, o, new EventEmitter<SessionEvents>());
    session.#chain.adopt({ target: { transport: 'cardkit', cardId }, sequence, tags, governor, streamingConfig: DEFAULT_STREAMING_CONFIG }, messageId);
    session.#messageId = messageId;
    if (streamingOpenedAt !== undefined) session.#chain.core.window.opened(streamingOpenedAt);
    openSession(session);
    if (messageId !== null) listSession(messageId, session);
    session.#listen();
    return session;
  }

  /** How the cards are streamed: `cardkit` entities, or `message` cards patched through IM. */
  get transport(): Transport {
    return this.#chain.transport;
  }

  /** The first card entity of the answer (see `cards` once it has gone on in continuation cards); null for message cards. */
  get cardId(): string | null {
    return this.#chain.cards[0]?.cardId ?? null;
  }

  /** Every card of the answer so far, in order, with its message id. */
  get cards(): readonly { cardId: string | null; messageId: string | null }[] {
    return this.#chain.cards.map((card) => ({ ...card }));
  }

  get messageId(): string | null {
    return this.#messageId;
  }

  /** The last sequence used on the card being written (0 for message cards). */
  get sequence(): number {
    return this.#chain.core.dispatcher.sequence;
  }

  /** The main element's text so far (everything appended, whether or not it has landed yet). */
  get text(): string {
    return this.#element(this.#o.elementId).text;
  }

  /**
   * The element of the card being written that holds the end of the main text: the main element, or after
   * more than 4 tables the markdown element its text continues in (crash recovery puts its marker after it).
   */
  get answerElementId(): string {
    return this.#element(this.#o.elementId).target;
  }

  /** The main text as the card being written holds it (on a continuation card, from where that card starts). */
  get cardText(): string {
    return this.#element(this.#o.elementId).writable().text;
  }

  /** Elements the session removes from its card when it closes it (the Stop button). */
  get ephemeralElementIds(): readonly string[] {
    return this.#ephemeral;
  }

  get state(): SessionState {
    return this.#chain.core.failure && this.#state !== 'finished' && this.#state !== 'aborted' ? 'failed' : this.#state;
  }

  /**
   * Listens to a session event (`flush`, `retry`, `reopen`, `rollover`, `error`, `finish`). A listener
   * that throws never breaks a write or the close: its exception is reported as a process warning.
   */
  on<K extends keyof SessionEvents>(event: K, listener: Listener<K>): this {
    this.#events.on(event, guard(listener));
    return this;
  }

  once<K extends keyof SessionEvents>(event: K, listener: Listener<K>): this {
    this.#events.once(event, guard(listener));
    return this;
  }

  off<K extends keyof SessionEvents>(event: K, listener?: Listener<K>): this {
    this.#events.off(event, listener === undefined ? undefined : (guard(listener) as Listener<K>));
    return this;
  }

  /** Adds text to an element. Synchronous and O(1); the text lands with the next write. */
  append(delta: string, elementId: string = this.#o.elementId): void {
    if (typeof delta !== 'string') throw new TypeError(`append() takes a string; received ${typeOf(delta)}`);
    const element = this.#element(elementId);
    this.#requireOpen('append text');
    element.append(delta);
    this.#chain.core.queueFlush();
  }

  /** Replaces an element's text with a full snapshot, for sources that give accumulated text; `''` empties it. */
  setText(text: string, elementId: string = this.#o.elementId): void {
    if (typeof text !== 'string') throw new TypeError(`setText() takes a string; received ${typeOf(text)}`);
    const element = this.#element(elementId);
    this.#requireOpen('set text');
    element.set(text);
    this.#chain.core.queueFlush();
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
    if (options.finish !== undefined && typeof options.finish !== 'boolean') throw new TypeError('pipe({ finish }) takes a boolean');
    const elementId = options.elementId ?? this.#o.elementId;
    this.#element(elementId);
    // The agent card shows reasoning in its panel unless told otherwise.
    const reasoningId = options.reasoningElementId ?? (this.#chain.core.elements.has(REASONING_ID) && this.#agent ? REASONING_ID : undefined);
    if (reasoningId !== undefined) this.#element(reasoningId);
    this.#requireOpen('pipe a source');
    if (this.#piping) throw new SessionStateError('pipe a source', this.state, 'another source is being piped into this session');
    const halt = this.#halt.signal;
    const take = (event: AnswerEvent) => {
      if (halt.aborted) return;
      if (event.kind === 'error') throw event.error; // the stream says it failed: end the card interrupted
      this.#agent?.take(event);
      if (event.kind !== 'answer' && event.kind !== 'reasoning') {
        this.#report.take(event);
        // The agent card shows steps as they happen (and the thinking time once the model moved on).
        if (this.#agent) this.#chain.core.queueFlush();
        return;
      }
      const target = event.kind === 'answer' ? elementId : reasoningId;
      if (target === undefined) return;
      this.#element(target).append(event.text);
      this.#chain.core.queueFlush();
    };
    const piping = drain(source, halt, take);
    this.#piping = piping.catch(() => undefined);
    let outcome: 'ended' | 'halted';
    try {
      outcome = await piping;
    } catch (error) {
      // A source of no known shape: refused at its first chunk, before anything of it was shown; the session goes on.
      if (error instanceof UnrecognizedSourceError) {
        this.#piping = undefined;
        throw error;
      }
      // A failing source: keep what arrived, mark the card interrupted (also when a finish() was waiting for it), close it, then rethrow.
      this.#piping = undefined;
      await this.abort(error).catch(() => undefined);
      throw error;
    }
    this.#piping = undefined;
    if (outcome === 'ended' && !this.#ending && options.finish === false) return undefined;
    const ending = this.#ending ?? this.finish();
    return options.finish === false ? ending.then(() => undefined) : ending;
  }

  /**
   * Reports the result of a tool call the app ran itself (the model only asked for it, as a chat
   * completion does): the step with this call id ends `done`, in the result, the `step` event and the agent card.
   */
  toolResult(id: string, output: unknown): void {
    this.#toolEvent({ kind: 'tool-result', id, output });
  }

  /** Reports that a tool call the app ran itself failed: the step with this call id ends `failed`. */
  toolError(id: string, error: string | Error): void {
    this.#toolEvent({ kind: 'tool-error', id, error: error instanceof Error ? error.message : String(error) });
  }

  #toolEvent(event: AnswerEvent & { id: string }): void {
    if (typeof event.id !== 'string' || event.id === '') throw new TypeError(`a tool call id must be a non-empty string; received ${typeOf(event.id)}`);
    this.#requireOpen('report a tool step');
    if (!this.#report.has(event.id)) throw new TypeError(`no tool call with id ${JSON.stringify(event.id)} was streamed into this session`);
    this.#report.take(event);
    if (this.#agent) this.#chain.core.queueFlush();
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
    this.#chain.core.queueFlush();
    // A rejected patch is the caller's to handle; only a card that is gone ends the session.
    await this.#chain.run((core) => core.writer.patch(elementId, partial), isCardGone);
  }

  /**
   * Flushes the exact final text, closes streaming mode and sets the summary; resolves once the close
   * has landed. While a `pipe()` runs, waits for its source to end. Calling it again returns the same
   * promise. After a fatal error it rejects with that error, once the card has been closed (or could not be).
   */
  finish(options?: FinishOptions | null): Promise<SessionResult> {
    if (this.#ending) return this.#ending;
    if (this.#chain.core.failure) return this.#failed();
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
   * marks the card interrupted and closes it. `reason` is kept in the result as `abortReason`.
   */
  abort(reason?: unknown): Promise<SessionResult> {
    if (this.#chain.core.failure) return this.#failed();
    if (this.#ending && this.#chain.core.ending) return this.#ending;
    this.#markAborted(reason);
    this.#halt.abort(reason);
    this.#state = 'finishing';
    this.#ending ??= this.#end(undefined);
    return this.#ending;
  }

  /**
   * The user stopped the answer (the Stop button, through `stopFromAction`): like `abort()`, but the card
   * ends with `stoppedText` and the result's `abortReason` is a `SessionStoppedError`. A running pipe stops
   * reading at once, which cancels the model's request.
   */
  stop(): Promise<SessionResult> {
    if (this.#chain.core.failure) return this.#failed();
    // Already closing (the answer ended): nothing is left to stop.
    if (this.#ending && this.#chain.core.ending) return this.#ending;
    this.#markAborted(new SessionStoppedError(), this.#o.stoppedText);
    return this.abort(this.#abortReason);
  }

  async #end(summary: string | undefined): Promise<SessionResult> {
    if (this.#chain.core.failure) return this.#failed();
    this.#report.settle(this.#aborted);
    this.#agent?.end();
    for (;;) {
      const core = this.#chain.core;
      try {
        // The default summary: the start of the answer on this card.
        await core.end(() => summary ?? summarize(this.#element(this.#o.elementId).writable().text));
        break;
      } catch (error) {
        // The card filled up: end on the continuation card (if none could be opened, the session failed).
        if (error instanceof RolledOver && this.#chain.core !== core) continue;
        return this.#failed();
      }
    }
    this.#state = this.#aborted ? 'aborted' : 'finished';
    const result = this.#result();
    this.#chain.core.release();
    this.#events.emit('finish', result);
    return result;
  }

  #markAborted(reason: unknown, marker = this.#o.interruptedText): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    const main = this.#element(this.#o.elementId);
    main.settle(); // never half a character before the marker
    if (marker !== '') main.append(marker);
  }

  /** Rejects with the session's failure once the close it started has landed or definitively failed. */
  async #failed(): Promise<never> {
    await this.#chain.core.closing;
    throw this.#chain.core.failure!;
  }

  #result(): SessionResult {
    const { dispatcher } = this.#chain.core;
    return {
      transport: this.transport,
      cardId: this.cardId,
      messageId: this.#messageId,
      text: this.text,
      texts: Object.fromEntries(this.#chain.core.texts()),
      cards: [...this.cards],
      sequence: dispatcher.sequence,
      ...this.#chain.totals(),
      aborted: this.#aborted,
      ...(this.#aborted ? { abortReason: this.#abortReason } : {}),
      steps: this.#report.steps.map((step) => ({ ...step })),
      ...(this.#report.usage ? { usage: { ...this.#report.usage } } : {}),
      ...(this.#report.finishReason === undefined ? {} : { finishReason: this.#report.finishReason }),
      unhandled: Object.fromEntries(this.#report.unhandled),
    };
  }

  /** Follows the caller's signal: aborting it is `abort(signal.reason)`. */
  #listen(): void {
    const signal = this.#o.signal;
    if (!signal) return;
    if (signal.aborted) {
      this.abort(signal.reason).catch(() => undefined);
      return;
    }
    this.#unfollow = follow(signal, () => {
      this.abort(signal.reason).catch(() => undefined);
    });
  }

  /** The session ended: a long-lived signal (a process-wide shutdown) must not keep it alive, nor a callback find it. */
  #unlisten(): void {
    unlistSession(this);
    this.#markEnded();
    this.#unfollow?.();
    this.#unfollow = undefined;
  }

  #element(elementId: string): ElementText {
    const element = this.#chain.core.elements.get(elementId);
    if (!element) {
      throw new TypeError(`element ${JSON.stringify(elementId)} is not streamed by this session; streamed: ${[...this.#chain.core.elements.keys()].join(', ')}`);
    }
    return element;
  }

  #requireOpen(operation: string): void {
    const state = this.state;
    if (state !== 'open') throw new SessionStateError(operation, state);
  }
}

/** The streaming settings of a CardKit card (none for a message card). */
function streamingConfigOf(card: Record<string, unknown>): Record<string, unknown> {
  const config = card.config as { streaming_config?: Record<string, unknown> } | undefined;
  return config?.streaming_config ?? DEFAULT_STREAMING_CONFIG;
}
