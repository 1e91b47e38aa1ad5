/**
 * The `openai` package's streams as answer events (issue 11). Shapes are read structurally, so
 * `openai` is never imported at run time.
 *
 * `openaiChatAdapter` reads chat completion chunks: what `chat.completions.create({ stream: true })`
 * yields, and what iterating the helpers `chat.completions.stream()` (ChatCompletionStream) and
 * `chat.completions.runTools()` yields (the same chunks; runTools' steps follow one another, each
 * ending with its own `finish`). Only the first choice (`index: 0`) is read; `n > 1` is not shown.
 * - `delta.content` → answer; `delta.refusal` → answer (the refusal is what the user should read);
 *   `delta.reasoning_content`, or `delta.reasoning` as some compatible servers name it → reasoning.
 * - `delta.tool_calls[]` → `tool-start` once the call's name is known, `tool-input` for each piece of
 *   `function.arguments`, and `tool-call` (arguments parsed as JSON, or the raw text when they do
 *   not parse) at the choice's `finish_reason`, or at the stream's end (`end()`). A call is keyed by
 *   its `index`; a new `id` at an index that is already open starts a new call (servers that number
 *   every call 0), and a call without an id is named `call_<index>`.
 * - `finish_reason` → finish; `usage` (the last chunk, with `stream_options.include_usage`) → usage;
 *   an `{ error }` chunk (what the API sends when a stream fails midway; read from raw bytes, as the
 *   SDK throws it instead) → error.
 * - Tool results: iterating `runTools()` shows none (the runner keeps them). Its `toReadableStream()`
 *   carries them as message records (`object: 'chat.completion.chunk.message:{…}'`), read here as
 *   `tool-result` when that stream's bytes are piped.
 * - Reported as `unhandled`: `delta.function_call` (the deprecated functions API), `delta.audio`, and a
 *   message record that is not a tool result. Other delta fields (`role`, vendor extras) say nothing.
 * - The helpers (`chat.completions.stream()`, `runTools()`, and `responses.stream()` below) hand out only
 *   the chunks emitted after iteration began, and one first iterated after it ended never yields nor
 *   ends: whoever reads them must call `[Symbol.asyncIterator]()` (or `toReadableStream()`) at once.
 *
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
import type { AnswerEvent, ChunkReader, SourceAdapter, Usage } from './answer-events.js';

type Json = Record<string, unknown>;

const CHAT = 'openai chat completion chunks';
const RESPONSES = 'openai Responses events';

/** Marks a runTools() message record in a chunk's `object` (openai's ChatCompletionStream). */
const MESSAGE_RECORD = 'chat.completion.chunk.message:';

export const openaiChatAdapter: SourceAdapter = {
  name: CHAT,
  matches: (chunk) => isRecord(chunk) && Array.isArray(chunk.choices),
  reader: () => new ChatReader(),
};

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

interface OpenChatCall {
  id: string;
  name: string;
  arguments: string;
  started: boolean;
}

class ChatReader implements ChunkReader {
  /** Tool calls of the current step, by their `index`, in the order they began. */
  readonly #calls = new Map<number, OpenChatCall>();

  read(chunk: unknown): AnswerEvent[] {
    if (!isRecord(chunk)) return [unhandled(CHAT, kindOf(chunk))];
    if (isMessageRecord(chunk)) return this.#message(chunk);
    const events: AnswerEvent[] = [];
    if (isRecord(chunk.error)) events.push({ kind: 'error', error: sourceError(CHAT, chunk.error) });
    const choice = Array.isArray(chunk.choices) ? chunk.choices.find(isFirstChoice) : undefined;
    if (choice) this.#choice(choice, events);
    if (isRecord(chunk.usage)) events.push({ kind: 'usage', usage: chatUsage(chunk.usage) });
    return events;
  }

  end(): AnswerEvent[] {
    return this.#completeCalls();
  }

  #choice(choice: Json, events: AnswerEvent[]): void {
    const delta = isRecord(choice.delta) ? choice.delta : {};
    const reasoning = nonEmpty(delta.reasoning_content) ?? nonEmpty(delta.reasoning);
    if (reasoning !== undefined) events.push({ kind: 'reasoning', text: reasoning });
    const content = nonEmpty(delta.content);
    if (content !== undefined) events.push({ kind: 'answer', text: content });
    const refusal = nonEmpty(delta.refusal);
    if (refusal !== undefined) events.push({ kind: 'answer', text: refusal });
    if (Array.isArray(delta.tool_calls)) {
      delta.tool_calls.forEach((call, position) => {
        if (isRecord(call)) this.#toolCallDelta(call, position, events);
      });
    }
    if (delta.function_call != null) events.push(unhandled(CHAT, 'delta.function_call'));
    if (delta.audio != null) events.push(unhandled(CHAT, 'delta.audio'));
    if (typeof choice.finish_reason === 'string') {
      events.push(...this.#completeCalls(), { kind: 'finish', reason: choice.finish_reason });
    }
  }

  #toolCallDelta(call: Json, position: number, events: AnswerEvent[]): void {
    // Some compatible servers leave out `index`; their calls are then told apart by position.
    const index = typeof call.index === 'number' ? call.index : position;
    const fn = isRecord(call.function) ? call.function : {};
    const id = nonEmpty(call.id);
    let open = this.#calls.get(index);
    if (open && id !== undefined && id !== open.id) {
      events.push(...this.#complete(open));
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
  }

  #completeCalls(): AnswerEvent[] {
    const events = [...this.#calls.values()].flatMap((call) => this.#complete(call));
    this.#calls.clear();
    return events;
  }

  #complete(call: OpenChatCall): AnswerEvent[] {
    const events: AnswerEvent[] = [];
    if (!call.started) {
      events.push({ kind: 'tool-start', id: call.id, name: call.name });
      if (call.arguments !== '') events.push({ kind: 'tool-input', id: call.id, delta: call.arguments });
    }
    events.push({ kind: 'tool-call', id: call.id, name: call.name, input: parsedArguments(call.arguments) });
    return events;
  }

  /** A runTools() message record: a tool's result, as the runner added it to the conversation. */
  #message(chunk: Json): AnswerEvent[] {
    let record: unknown = chunk;
    if (typeof chunk.object === 'string') {
      try {
        record = JSON.parse(chunk.object.slice(MESSAGE_RECORD.length));
      } catch {
        return [unhandled(CHAT, 'message')];
      }
    }
    const message = isRecord(record) && isRecord(record.message) ? record.message : undefined;
    if (message?.role !== 'tool' || typeof message.tool_call_id !== 'string') {
      return [unhandled(CHAT, `message (${typeof message?.role === 'string' ? message.role : 'unknown'})`)];
    }
    return [{ kind: 'tool-result', id: message.tool_call_id, output: toolOutput(message.content) }];
  }
}

function isMessageRecord(chunk: Json): boolean {
  return (
    (typeof chunk.object === 'string' && chunk.object.startsWith(MESSAGE_RECORD)) ||
    (chunk.type === 'message' && 'message' in chunk)
  );
}

function isFirstChoice(choice: unknown): choice is Json {
  return isRecord(choice) && (choice.index === undefined || choice.index === 0);
}

function chatUsage(usage: Json): Usage {
  const details = isRecord(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
  return withoutUndefined({
    inputTokens: numberOr(usage.prompt_tokens),
    outputTokens: numberOr(usage.completion_tokens),
    totalTokens: numberOr(usage.total_tokens),
    reasoningTokens: numberOr(details.reasoning_tokens),
  });
}

/** What a tool message's content says: parsed JSON when it is JSON, the text otherwise. */
function toolOutput(content: unknown): unknown {
  if (Array.isArray(content)) {
    content = content.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
  }
  return typeof content === 'string' ? parsedJson(content) : content;
}

// ---------------------------------------------------------------------------------------------

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

/** Output items that are not tool steps and whose content arrives as deltas, or is nothing to show. */
const SILENT_ITEMS = new Set(['message', 'reasoning', 'mcp_list_tools', 'compaction']);

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
        return this.#finished(chunk.response);
      case 'response.failed': {
        const response = isRecord(chunk.response) ? chunk.response : {};
        const usage = isRecord(response.usage) ? [{ kind: 'usage' as const, usage: responsesUsage(response.usage) }] : [];
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
    const events = [...this.#calls.values()].flatMap((call) => (call.called ? [] : this.#called(call, streamedInput(call.type, call.arguments))));
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
    if (!call.called) events.push(...this.#called(call, callInput(item, call.arguments)));
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
    return this.#called(call, streamedInput(call.type, raw));
  }

  #called(call: OpenResponseCall, input: unknown): AnswerEvent[] {
    call.called = true;
    return [{ kind: 'tool-call', id: call.id, name: call.name, input }];
  }

  #finished(response: unknown): AnswerEvent[] {
    const events: AnswerEvent[] = [];
    const record = isRecord(response) ? response : {};
    if (isRecord(record.usage)) events.push({ kind: 'usage', usage: responsesUsage(record.usage) });
    const incomplete = isRecord(record.incomplete_details) ? nonEmpty(record.incomplete_details.reason) : undefined;
    events.push({ kind: 'finish', reason: incomplete ?? (nonEmpty(record.status) ?? 'completed') });
    return events;
  }
}

/** A call's input as its finished item says it (function arguments parsed; a custom tool's text as is). */
function callInput(item: Json, streamed: string): unknown {
  switch (item.type) {
    case 'custom_tool_call':
      return typeof item.input === 'string' ? item.input : streamed;
    case 'code_interpreter_call':
      return typeof item.code === 'string' ? item.code : streamed;
    case 'file_search_call':
      return { queries: item.queries };
  }
  if (typeof item.arguments === 'string') return parsedArguments(item.arguments);
  return item.action ?? item.actions ?? item.operation ?? item.arguments ?? parsedArguments(streamed);
}

/** A call's input from its streamed text: JSON arguments parsed; a custom tool's text and code as they are. */
function streamedInput(type: string, text: string): unknown {
  return type === 'custom_tool_call' || type === 'code_interpreter_call' ? text : parsedArguments(text);
}

/** A hosted call's (or a `*_call_output` item's) outcome: its result, or its failure. */
function toolOutcome(id: string, item: Json): AnswerEvent {
  const error = item.error;
  if (item.status === 'failed' || item.status === 'incomplete' || (error != null && error !== '')) {
    const message = typeof error === 'string' ? error : isRecord(error) && typeof error.message === 'string' ? error.message : `the call ended ${str(item.status) || 'with an error'}`;
    return { kind: 'tool-error', id, error: message };
  }
  // A generated image is megabytes of base64: its size says enough.
  if (item.type === 'image_generation_call' && typeof item.result === 'string') {
    return { kind: 'tool-result', id, output: `an image (${item.result.length} base64 characters)` };
  }
  const output = item.output ?? item.outputs ?? item.results ?? item.result ?? null;
  return { kind: 'tool-result', id, output: typeof output === 'string' ? parsedJson(output) : output };
}

function responsesUsage(usage: Json): Usage {
  const details = isRecord(usage.output_tokens_details) ? usage.output_tokens_details : {};
  return withoutUndefined({
    inputTokens: numberOr(usage.input_tokens),
    outputTokens: numberOr(usage.output_tokens),
    totalTokens: numberOr(usage.total_tokens),
    reasoningTokens: numberOr(details.reasoning_tokens),
  });
}

// ---------------------------------------------------------------------------------------------

function textEvent(kind: 'answer' | 'reasoning', delta: unknown): AnswerEvent[] {
  const text = nonEmpty(delta);
  return text === undefined ? [] : [{ kind, text }];
}

/** Tool arguments as a value: the JSON they spell, none (`{}`) when empty, else the text itself (a cut-off stream). */
function parsedArguments(text: string): unknown {
  return text === '' ? {} : parsedJson(text);
}

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The source's error object (`{ message, code, type }`) as an Error; the object is its `cause`. */
function sourceError(source: string, error: Json): Error {
  const message = typeof error.message === 'string' && error.message !== '' ? error.message : 'the stream reported an error';
  const code = typeof error.code === 'string' || typeof error.code === 'number' ? ` (${error.code})` : '';
  return new Error(`${source}: ${message}${code}`, { cause: error });
}

function unhandled(source: string, type: string): AnswerEvent {
  return { kind: 'unhandled', source, type };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function withoutUndefined(usage: Usage): Usage {
  return Object.fromEntries(Object.entries(usage).filter(([, value]) => value !== undefined));
}
