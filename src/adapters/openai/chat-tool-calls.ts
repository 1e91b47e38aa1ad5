/**
 * Tool calls of a chat completion step, assembled from `delta.tool_calls[]` pieces: `tool-start` once
 * the call's name is known, `tool-input` for each piece of `function.arguments`, and `tool-call`
 * (arguments parsed as JSON, or the raw text when they do not parse) when the step completes. A call is
 * keyed by its `index`; a new `id` at an index that is already open starts a new call (servers that
 * number every call 0), and a call without an id is named `call_<index>`.
 */
import type { AnswerEvent } from '../answer-events.js';
import { type Json, isRecord, nonEmpty, parsedArguments } from './fields.js';

interface OpenChatCall {
  id: string;
  name: string;
  arguments: string;
  started: boolean;
}

export class ChatToolCalls {
  /** Tool calls of the current step, by their `index`, in the order they began. */
  readonly #calls = new Map<number, OpenChatCall>();

  /** The events one `delta.tool_calls[]` entry carries; `position` is its place in that array. */
  delta(call: Json, position: number): AnswerEvent[] {
    const events: AnswerEvent[] = [];
    // Some compatible servers leave out `index`; their calls are then told apart by position.
    const index = typeof call.index === 'number' ? call.index : position;
    const fn = isRecord(call.function) ? call.function : {};
    const id = nonEmpty(call.id);
    let open = this.#calls.get(index);
    if (open && id !== undefined && id !== open.id) {
      events.push(...complete(open));
      this.#calls.delete(index);
      open = undefined;
    }
    if (!open) {
      open = { id: id ?? `call_${index}`, name: '', arguments: '', started: false };
      this.#calls.set(index, open);
    }
    if (!open.started && typeof fn.name === 'string') open.name += fn.name;
    const piece = nonEmpty(fn.arguments) ?? '';
    open.arguments += piece;
    if (!open.started && open.name !== '') {
      // Arguments that came before the name are handed out with the start.
      open.started = true;
      events.push({ kind: 'tool-start', id: open.id, name: open.name });
      if (open.arguments !== '') events.push({ kind: 'tool-input', id: open.id, delta: open.arguments });
    } else if (open.started && piece !== '') {
      events.push({ kind: 'tool-input', id: open.id, delta: piece });
    }
    return events;
  }

  /** Completes every open call (at the step's `finish_reason`, or the stream's end). */
  completeAll(): AnswerEvent[] {
    const events = [...this.#calls.values()].flatMap(complete);
    this.#calls.clear();
    return events;
  }
}

function complete(call: OpenChatCall): AnswerEvent[] {
  const events: AnswerEvent[] = [];
  if (!call.started) {
    events.push({ kind: 'tool-start', id: call.id, name: call.name });
    if (call.arguments !== '') events.push({ kind: 'tool-input', id: call.id, delta: call.arguments });
  }
  events.push({ kind: 'tool-call', id: call.id, name: call.name, input: parsedArguments(call.arguments) });
  return events;
}
