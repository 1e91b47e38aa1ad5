/**
 * Tool calls assembled from their chunks. A model streams a call in pieces (`tool_call_chunks`,
 * Anthropic's `tool_use` / `input_json_delta` blocks, the content-block protocol's deltas) or says it
 * whole (`tool_calls`); either way the card sees tool-start once id and name are known, tool-input per
 * `args` piece, and one tool-call (`args` parsed as JSON; the text if it does not parse) when the
 * call is complete: at the finish, a tool result, `on_chat_model_end`, or the stream's end.
 */
import type { AnswerEvent } from '../answer-events.js';
import { type Fields, nonEmpty } from './fields.js';

interface OpenCall {
  id?: string;
  name?: string;
  args: string;
  /** How much of `args` went out as tool-input. */
  sent: number;
  started: boolean;
}

/** The tool calls of one model answer: started once id and name are known, completed once. */
export class ToolCalls {
  readonly #open = new Map<string, OpenCall>();
  readonly #done = new Set<string>();
  readonly #newId: () => string;
  #lastKey = 'index:0';
  /** How many calls this answer made. */
  count = 0;

  constructor(newId: () => string) {
    this.#newId = newId;
  }

  /** A piece of a call: `{ id?, name?, args?, index? }`, as a tool call chunk carries it. */
  chunk(piece: Fields, key = this.#keyOf(piece)): AnswerEvent[] {
    const events: AnswerEvent[] = [];
    const id = nonEmpty(piece.id);
    let call = this.#open.get(key);
    // An index used again by a call of another id (a later answer in the same stream) starts that call.
    if (call?.id !== undefined && id !== undefined && id !== call.id) {
      events.push(...this.#complete(key, call));
      call = undefined;
    }
    if (!call) {
      if (id !== undefined && this.#done.has(id)) return events;
      call = { args: '', sent: 0, started: false };
      this.#open.set(key, call);
    }
    this.#lastKey = key;
    call.id ??= id;
    call.name ??= nonEmpty(piece.name);
    if (typeof piece.args === 'string') call.args += piece.args;
    if (!call.started && call.name !== undefined) events.push(this.#start(call, call.name));
    if (call.started && call.args.length > call.sent) {
      events.push({ kind: 'tool-input', id: call.id!, delta: call.args.slice(call.sent) });
      call.sent = call.args.length;
    }
    return events;
  }

  /** The arguments so far, replaced by a snapshot (the content-block protocol may send either). */
  snapshot(key: string, args: string): AnswerEvent[] {
    const call = this.#open.get(key);
    if (call && args.startsWith(call.args)) return this.chunk({ args: args.slice(call.args.length) }, key);
    if (call) call.args = args;
    return call ? [] : this.chunk({ args }, key);
  }

  /**
   * A whole call, `{ id, name, args }` with `args` parsed or as JSON text: completes the open call of
   * that id (or at `key`), else starts and completes a new one.
   */
  whole(toolCall: Fields, key?: string): AnswerEvent[] {
    const id = nonEmpty(toolCall.id);
    if (id !== undefined && this.#done.has(id)) return [];
    const input = typeof toolCall.args === 'string' ? parseArgs(toolCall.args) : (toolCall.args ?? {});
    for (const [openKey, call] of this.#open) {
      if ((id !== undefined && call.id === id) || openKey === key) {
        call.id ??= id;
        call.name ??= nonEmpty(toolCall.name);
        return this.#complete(openKey, call, input);
      }
    }
    const call: OpenCall = { id, args: '', sent: 0, started: false };
    return [this.#start(call, nonEmpty(toolCall.name) ?? 'unknown'), ...this.#finish(call, input)];
  }

  /** Completes the open call of this id, or every open call. */
  complete(id?: string): AnswerEvent[] {
    const events: AnswerEvent[] = [];
    for (const [key, call] of this.#open) if (id === undefined || call.id === id) events.push(...this.#complete(key, call));
    return events;
  }

  #keyOf(piece: Fields): string {
    if (typeof piece.index === 'number' || typeof piece.index === 'string') return `index:${piece.index}`;
    const id = nonEmpty(piece.id);
    return id === undefined ? this.#lastKey : `id:${id}`;
  }

  #start(call: OpenCall, name: string): AnswerEvent {
    call.id ??= this.#newId();
    call.name = name;
    call.started = true;
    this.count += 1;
    return { kind: 'tool-start', id: call.id, name };
  }

  #complete(key: string, call: OpenCall, input: unknown = parseArgs(call.args)): AnswerEvent[] {
    this.#open.delete(key);
    const events: AnswerEvent[] = [];
    if (!call.started) {
      events.push(this.#start(call, call.name ?? 'unknown'));
      if (call.args !== '') events.push({ kind: 'tool-input', id: call.id!, delta: call.args });
    }
    events.push(...this.#finish(call, input));
    return events;
  }

  #finish(call: OpenCall, input: unknown): AnswerEvent[] {
    this.#done.add(call.id!);
    return [{ kind: 'tool-call', id: call.id!, name: call.name!, input }];
  }
}

function parseArgs(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
