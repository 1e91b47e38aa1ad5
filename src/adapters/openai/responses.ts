/**
 * `openaiResponsesAdapter` reads Responses stream events (`responses.create({ stream: true })`, and
 * iterating `responses.stream()`):
 * - `response.output_text.delta`, `response.refusal.delta`, `response.audio.transcript.delta` → answer;
 *   `response.reasoning_text.delta`, `response.reasoning_summary_text.delta` → reasoning (a new summary
 *   part, or a new reasoning item, begins a new paragraph: `\n\n` before it).
 * - Tool calls are output items whose type ends in `_call`. `response.output_item.added` → tool-start;
 *   `response.function_call_arguments.delta` (and the custom tool, code interpreter and MCP argument
 *   deltas) → tool-input; `response.function_call_arguments.done`, `response.custom_tool_call_input.done`
 *   or `response.output_item.done` (whichever comes first) → tool-call. Calls the app runs (those with
 *   a `call_id`: function, custom, computer, shell, apply_patch) are named by `call_id`; a hosted
 *   tool OpenAI runs itself (web search, file search, code interpreter, image generation, MCP) is named
 *   by its item id and also ends with tool-result, or tool-error when it failed. An output item
 *   `*_output` with a `call_id` (a result OpenAI produced for a call) → tool-result / tool-error.
 * - `response.completed` → usage and finish (`completed`); `response.incomplete` → usage and finish
 *   (`max_output_tokens`, `content_filter`); `response.failed` and `error` → error.
 * - Deliberately ignored, as they repeat what the deltas and items already said: `IGNORED_RESPONSE_EVENTS`
 *   below, and the progress events of hosted tools (`response.web_search_call.searching` …).
 * - Reported as `unhandled`: `response.audio.delta`, `response.output_text.annotation.added` (citations
 *   are not shown), an output item of another kind (`mcp_approval_request` …), and any type this
 *   adapter does not know.
 */
import type { AnswerEvent, ChunkReader, SourceAdapter } from '../answer-events.js';
import { type Json, isRecord, kindOf, nonEmpty, str } from './fields.js';
import { SILENT_ITEMS, callInput, streamedInput, toolOutcome } from './responses-items.js';
import { RESPONSES, sourceError, unhandled } from './source.js';
import { usageOf } from './usage.js';

/** Events whose content the deltas and output items already carried. */
const IGNORED_RESPONSE_EVENTS = new Set([
  'response.created',
  'response.queued',
  'response.in_progress',
  'response.content_part.added',
  'response.content_part.done',
  'response.output_text.done',
  'response.refusal.done',
  'response.reasoning_text.done',
  'response.reasoning_summary_part.added',
  'response.reasoning_summary_part.done',
  'response.reasoning_summary_text.done',
  'response.audio.transcript.done',
  'response.audio.done',
  'response.code_interpreter_call_code.done',
  'response.mcp_call_arguments.done',
]);

/** Progress of a hosted tool (`response.web_search_call.searching` …): its output items carry the step. */
const HOSTED_TOOL_PROGRESS = /^response\.(web_search_call|file_search_call|code_interpreter_call|image_generation_call|mcp_call|mcp_list_tools)\./;

const ANSWER_DELTAS = new Set(['response.output_text.delta', 'response.refusal.delta', 'response.audio.transcript.delta']);

const TOOL_INPUT_DELTAS = new Set([
  'response.function_call_arguments.delta',
  'response.custom_tool_call_input.delta',
  'response.code_interpreter_call_code.delta',
  'response.mcp_call_arguments.delta',
]);

const RESPONSES_USAGE = { input: 'input_tokens', output: 'output_tokens', details: 'output_tokens_details' };

export const openaiResponsesAdapter: SourceAdapter = {
  name: RESPONSES,
  matches: (chunk) =>
    isRecord(chunk) &&
    typeof chunk.type === 'string' &&
    (chunk.type.startsWith('response.') ||
      // An `error` event has a message of its own; the AI SDK's and Anthropic's error parts carry `error`.
      (chunk.type === 'error' && typeof chunk.message === 'string' && !('error' in chunk) && !('errorText' in chunk))),
  reader: () => new ResponsesReader(),
};

interface OpenResponseCall {
  /** The output item's type: `function_call`, `web_search_call` … */
  type: string;
  id: string;
  name: string;
  arguments: string;
  /** Run by OpenAI (no `call_id`): its output item also carries its result. */
  hosted: boolean;
  called: boolean;
}

class ResponsesReader implements ChunkReader {
  /** Tool calls by output item id (what the argument delta events name). */
  readonly #calls = new Map<string, OpenResponseCall>();
  /** The summary part or reasoning item the last reasoning delta belonged to. */
  #reasoningPart: string | undefined;

  read(chunk: unknown): AnswerEvent[] {
    if (!isRecord(chunk) || typeof chunk.type !== 'string') return [unhandled(RESPONSES, kindOf(chunk))];
    const type = chunk.type;
    if (ANSWER_DELTAS.has(type)) return textEvent('answer', chunk.delta);
    if (type === 'response.reasoning_text.delta') return this.#reasoning(chunk, `${str(chunk.item_id)} text ${String(chunk.content_index)}`);
    if (type === 'response.reasoning_summary_text.delta') {
      return this.#reasoning(chunk, `${str(chunk.item_id)} summary ${String(chunk.summary_index)}`);
    }
    if (TOOL_INPUT_DELTAS.has(type)) return this.#toolInput(chunk);
    switch (type) {
      case 'response.output_item.added':
        return isRecord(chunk.item) ? this.#itemAdded(chunk.item) : [];
      case 'response.output_item.done':
        return isRecord(chunk.item) ? this.#itemDone(chunk.item) : [];
      case 'response.function_call_arguments.done':
        return this.#argumentsDone(chunk, chunk.arguments);
      case 'response.custom_tool_call_input.done':
        return this.#argumentsDone(chunk, chunk.input);
      case 'response.completed':
      case 'response.incomplete':
        return finished(chunk.response);
      case 'response.failed': {
        const response = isRecord(chunk.response) ? chunk.response : {};
        const usage = isRecord(response.usage) ? [{ kind: 'usage' as const, usage: usageOf(response.usage, RESPONSES_USAGE) }] : [];
        const error = isRecord(response.error) ? response.error : { message: 'the response failed' };
        return [...usage, { kind: 'error', error: sourceError(RESPONSES, error) }];
      }
      case 'error':
        return [{ kind: 'error', error: sourceError(RESPONSES, chunk) }];
    }
    if (IGNORED_RESPONSE_EVENTS.has(type) || HOSTED_TOOL_PROGRESS.test(type)) return [];
    return [unhandled(RESPONSES, type)];
  }

  end(): AnswerEvent[] {
    // Calls whose arguments were still streaming when the stream stopped.
    const events = [...this.#calls.values()].flatMap((call) => (call.called ? [] : called(call, streamedInput(call.type, call.arguments))));
    this.#calls.clear();
    return events;
  }

  #reasoning(event: Json, part: string): AnswerEvent[] {
    const text = nonEmpty(event.delta);
    if (text === undefined) return [];
    const newParagraph = this.#reasoningPart !== undefined && this.#reasoningPart !== part;
    this.#reasoningPart = part;
    return [{ kind: 'reasoning', text: newParagraph ? `\n\n${text}` : text }];
  }

  #itemAdded(item: Json): AnswerEvent[] {
    const type = str(item.type);
    if (type.endsWith('_call')) return this.#open(item).events;
    if (type.endsWith('_output') || SILENT_ITEMS.has(type)) return [];
    return [unhandled(RESPONSES, `response.output_item.added (${type})`)];
  }

  #itemDone(item: Json): AnswerEvent[] {
    const type = str(item.type);
    if (type.endsWith('_output') && typeof item.call_id === 'string') return [toolOutcome(item.call_id, item)];
    if (!type.endsWith('_call')) return [];
    const { call, events } = this.#open(item);
    if (!call.called) events.push(...called(call, callInput(item, call.arguments)));
    if (call.hosted) events.push(toolOutcome(call.id, item));
    this.#calls.delete(str(item.id));
    return events;
  }

  /** The call an item is, started (tool-start) on first sight. */
  #open(item: Json): { call: OpenResponseCall; events: AnswerEvent[] } {
    const known = this.#calls.get(str(item.id));
    if (known) return { call: known, events: [] };
    const type = str(item.type);
    const hosted = typeof item.call_id !== 'string';
    const call: OpenResponseCall = {
      type,
      id: hosted ? str(item.id) : str(item.call_id),
      name: typeof item.name === 'string' ? item.name : type.slice(0, -'_call'.length),
      arguments: '',
      hosted,
      called: false,
    };
    this.#calls.set(str(item.id), call);
    return { call, events: [{ kind: 'tool-start', id: call.id, name: call.name }] };
  }

  #toolInput(event: Json): AnswerEvent[] {
    const call = this.#calls.get(str(event.item_id));
    const delta = nonEmpty(event.delta);
    if (!call || delta === undefined) return call ? [] : [unhandled(RESPONSES, str(event.type))];
    call.arguments += delta;
    return [{ kind: 'tool-input', id: call.id, delta }];
  }

  #argumentsDone(event: Json, text: unknown): AnswerEvent[] {
    const call = this.#calls.get(str(event.item_id));
    if (!call || call.called) return [];
    if (typeof event.name === 'string' && event.name !== '') call.name = event.name;
    const raw = typeof text === 'string' ? text : call.arguments;
    return called(call, streamedInput(call.type, raw));
  }
}

function called(call: OpenResponseCall, input: unknown): AnswerEvent[] {
  call.called = true;
  return [{ kind: 'tool-call', id: call.id, name: call.name, input }];
}

/** `response.completed` or `response.incomplete`: its usage, then the finish (the incomplete reason, else the status). */
function finished(response: unknown): AnswerEvent[] {
  const events: AnswerEvent[] = [];
  const record = isRecord(response) ? response : {};
  if (isRecord(record.usage)) events.push({ kind: 'usage', usage: usageOf(record.usage, RESPONSES_USAGE) });
  const incomplete = isRecord(record.incomplete_details) ? nonEmpty(record.incomplete_details.reason) : undefined;
  events.push({ kind: 'finish', reason: incomplete ?? (nonEmpty(record.status) ?? 'completed') });
  return events;
}

function textEvent(kind: 'answer' | 'reasoning', delta: unknown): AnswerEvent[] {
  const text = nonEmpty(delta);
  return text === undefined ? [] : [{ kind, text }];
}
