/**
 * LangChain sources (issue 11), read by shape: `@langchain/*` is never imported at run time.
 *
 * - {@link langchainChunkAdapter}: what a chat model's `stream()` yields, `AIMessageChunk`s (instances, or
 *   serialized as `{ lc: 1, type: 'constructor', id: [..., 'AIMessageChunk'], kwargs }`), and the
 *   `[message, metadata]` pairs of a LangGraph graph's `stream(input, { streamMode: 'messages' })`.
 * - {@link langchainEventsAdapter}: what `streamEvents(input, { version: 'v2' })` yields for a model, a
 *   chain, an agent or a graph; and what a chat model's `streamEvents(input)` yields without a version
 *   in @langchain/core 1.x (its content-block protocol: `message-start`, `content-block-delta` …).
 *
 * An AI message chunk (alone, or `data.chunk` of `on_chat_model_stream`) maps as follows:
 *
 * | LangChain                                                                    | AnswerEvent                          |
 * | ---------------------------------------------------------------------------- | ------------------------------------ |
 * | `content` string; `{ type: 'text', text }` blocks                            | answer                               |
 * | `{ type: 'reasoning', reasoning }`, `{ type: 'thinking', thinking }`, Google's  `{ type: 'text', thought: true }`, Bedrock's `reasoning_content` | reasoning |
 * | `additional_kwargs.reasoning_content` (DeepSeek, Ollama, OpenAI-compatible), `additional_kwargs.reasoning` (Groq's string, an OpenAI Responses summary), when the content has no reasoning block | reasoning |
 * | `{ type: 'refusal', refusal }`, `additional_kwargs.refusal`                  | answer (the model's words, not an empty card) |
 * | `tool_call_chunks` `{ id, name, args, index }` (else Anthropic's `tool_use` / `input_json_delta` blocks) | tool-start once id and name are known, tool-input per `args` piece |
 * | the finish, a tool result, `on_chat_model_end`, or the stream's end           | tool-call (`args` parsed as JSON; the text if it does not parse) |
 * | `tool_calls` of a chunk without tool call chunks (a whole message)            | tool-start + tool-call               |
 * | `usage_metadata` `{ input_tokens, output_tokens, total_tokens, output_token_details.reasoning }` | usage: a running sum (LangChain's chunk usage adds up, as `concat` sums it) |
 * | `response_metadata.finish_reason` / `stop_reason` / `finishReason` / `stopReason` / `done_reason`, `additional_kwargs.stop_reason` (Anthropic), Responses `status` | finish |
 * | other content blocks (image, audio, file, server tool calls …)               | unhandled `content:<type>`           |
 *
 * `streamEvents` v2 adds: `on_tool_start` → tool-start + tool-call (unless the model's own call is that
 * step, see below), `on_tool_end` → tool-result (a ToolMessage gives its `content`; one with
 * `status: 'error'`, as LangGraph's ToolNode returns a caught error, gives tool-error), `on_tool_error` →
 * tool-error, `on_chat_model_end` → the run's tool calls completed, its usage when its chunks carried
 * none, and its finish when its chunks said none (then `tool_calls` if it called tools, else `stop`:
 * a chat model called inside a chain streams no finish reason), `on_llm_stream` → answer.
 * Ignored by design: `on_chain_*`, `on_prompt_*`, `on_parser_*`, `on_retriever_*` (a graph's state and a
 * chain's plumbing repeat what the model events say), `on_chat_model_start`, `on_llm_start`, `on_llm_end`.
 * Anything else (`on_custom_event` …) is `unhandled`. Every chat model run in the stream is read,
 * nested ones too (a model called inside a tool): narrow with `streamEvents`' `includeNames`/`excludeTags`.
 *
 * Tool ids: a step keeps the model's tool call id. `on_tool_start` carries a run id and the tool's
 * arguments, not the call id, so it is matched to the model's call of the same tool name not yet
 * matched, preferring equal arguments (the first such call, in the order the model made them). A
 * matched run adds no second step; its `on_tool_end` resolves the step under the ToolMessage's
 * `tool_call_id` when that is a call the model made, else under the matched call. A tool run that
 * matches no model call (a tool invoked directly) is its own step under its `run_id`.
 */
import type { AnswerEvent, ChunkReader, SourceAdapter, TextPiece, Usage } from './answer-events.js';

const CHUNK_SOURCE = 'LangChain AIMessageChunk stream';
const EVENTS_SOURCE = 'LangChain streamEvents';

export const langchainChunkAdapter: SourceAdapter = {
  name: CHUNK_SOURCE,
  matches(chunk) {
    if (Array.isArray(chunk)) return chunk.length === 2 && messageOf(chunk[0]) !== undefined && isRecord(chunk[1]);
    return messageOf(chunk)?.kind === 'ai';
  },
  reader: () => new MessageStreamReader(),
};

export const langchainEventsAdapter: SourceAdapter = {
  name: EVENTS_SOURCE,
  matches(chunk) {
    if (!isRecord(chunk) || typeof chunk.event !== 'string') return false;
    if (chunk.event.startsWith('on_')) return typeof chunk.run_id === 'string';
    return FIRST_BLOCK_EVENTS.has(chunk.event);
  },
  reader: () => new StreamEventsReader(),
};

type Fields = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------
// Messages by shape

interface LangChainMessage {
  /** `ai`, `tool`, `human`, `system`, `function`, `chat`, `generic`, `remove`, `developer`. */
  kind: string;
  fields: Fields;
}

const MESSAGE_TYPES = new Set(['ai', 'tool', 'human', 'system', 'function', 'chat', 'generic', 'remove', 'developer']);
const MESSAGE_CLASS = /^(AI|Human|System|Tool|Function|Chat|Remove)Message(?:Chunk)?$/;

/** A LangChain message: an instance (its own `type` field), a plain dict of one, or its serialized form. */
function messageOf(value: unknown): LangChainMessage | undefined {
  if (!isRecord(value)) return undefined;
  if (value.lc === 1 && value.type === 'constructor' && Array.isArray(value.id) && isRecord(value.kwargs)) {
    const kind = messageKind(value.id.at(-1));
    return kind === undefined ? undefined : { kind, fields: value.kwargs };
  }
  if (!('content' in value)) return undefined;
  let kind = messageKind(value.type);
  // Instances made before messages had a `type` field say it through `_getType()`.
  if (kind === undefined && typeof value._getType === 'function' && Array.isArray(value.lc_namespace)) {
    kind = messageKind((value._getType as () => unknown).call(value));
  }
  return kind === undefined ? undefined : { kind, fields: value };
}

function messageKind(name: unknown): string | undefined {
  if (typeof name !== 'string') return undefined;
  if (MESSAGE_TYPES.has(name)) return name;
  return MESSAGE_CLASS.exec(name)?.[1]?.toLowerCase();
}

// ---------------------------------------------------------------------------------------------------
// Tool calls, assembled from their chunks

interface OpenCall {
  id?: string;
  name?: string;
  args: string;
  /** How much of `args` went out as tool-input. */
  sent: number;
  started: boolean;
}

/** The tool calls of one model answer: started once id and name are known, completed once. */
class ToolCalls {
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

// ---------------------------------------------------------------------------------------------------
// Usage

/** Token counts summed over every usage a stream reports (each AI chunk's usage is a delta). */
class UsageTotals {
  readonly #sum: Usage = {};

  add(metadata: unknown): AnswerEvent[] {
    const usage = usageOf(metadata);
    if (!usage) return [];
    for (const key of Object.keys(usage) as (keyof Usage)[]) this.#sum[key] = (this.#sum[key] ?? 0) + usage[key]!;
    return [{ kind: 'usage', usage: { ...this.#sum } }];
  }
}

/** `UsageMetadata` (`input_tokens`, `output_tokens`, `total_tokens`, `output_token_details.reasoning`) as Usage. */
function usageOf(metadata: unknown): Usage | undefined {
  if (!isRecord(metadata)) return undefined;
  const usage: Usage = {};
  if (typeof metadata.input_tokens === 'number') usage.inputTokens = metadata.input_tokens;
  if (typeof metadata.output_tokens === 'number') usage.outputTokens = metadata.output_tokens;
  if (typeof metadata.total_tokens === 'number') usage.totalTokens = metadata.total_tokens;
  const details = metadata.output_token_details;
  if (isRecord(details) && typeof details.reasoning === 'number') usage.reasoningTokens = details.reasoning;
  return Object.keys(usage).length > 0 ? usage : undefined;
}

// ---------------------------------------------------------------------------------------------------
// AI message chunks

const FINISH_KEYS = ['finish_reason', 'stop_reason', 'finishReason', 'stopReason', 'done_reason'];
/** Content blocks that repeat what `tool_call_chunks` / `tool_calls` say. */
const TOOL_BLOCKS = new Set(['tool_use', 'input_json_delta', 'tool_call', 'tool_call_chunk', 'invalid_tool_call', 'function_call']);
/** Content blocks with nothing to show: an encrypted thought. */
const SILENT_BLOCKS = new Set(['redacted_thinking']);

/** Reads the AI message chunks of one model run (or of one `stream()`), in order. */
class AiChunkReader {
  readonly calls: ToolCalls;
  readonly #usage: UsageTotals;
  readonly #source: string;
  /** The run streamed chunks / carried usage / said a finish reason (so its end does not say them again). */
  #sawChunk = false;
  #sawUsage = false;
  #finished = false;

  constructor(calls: ToolCalls, usage: UsageTotals, source: string) {
    this.calls = calls;
    this.#usage = usage;
    this.#source = source;
  }

  read(fields: Fields): AnswerEvent[] {
    this.#sawChunk = true;
    const kwargs = isRecord(fields.additional_kwargs) ? fields.additional_kwargs : {};
    const blocks = Array.isArray(fields.content) ? fields.content : [];
    const events: AnswerEvent[] = [];
    if (!blocks.some((block) => isRecord(block) && REASONING_BLOCKS.has(String(block.type)))) {
      const reasoning = kwargsReasoning(kwargs);
      if (reasoning !== '') events.push({ kind: 'reasoning', text: reasoning });
    }
    if (typeof fields.content === 'string') {
      if (fields.content !== '') events.push({ kind: 'answer', text: fields.content });
    } else {
      for (const block of blocks) events.push(...this.#block(block));
    }
    if (typeof kwargs.refusal === 'string' && kwargs.refusal !== '') events.push({ kind: 'answer', text: kwargs.refusal });
    if (kwargs.function_call !== undefined) events.push(unhandled(this.#source, 'additional_kwargs.function_call'));
    events.push(...this.#toolCalls(fields, blocks));
    if (fields.usage_metadata !== undefined) {
      const usage = this.#usage.add(fields.usage_metadata);
      if (usage.length > 0) this.#sawUsage = true;
      events.push(...usage);
    }
    const reason = finishReasonOf(fields);
    if (reason !== undefined) {
      events.push(...this.calls.complete(), { kind: 'finish', reason });
      this.#finished = true;
    }
    return events;
  }

  /**
   * The whole message at the end of a run (`on_chat_model_end`): what its chunks did not already say,
   * all of it for a model that streamed nothing (one that does not stream, called inside a chain).
   */
  end(fields: Fields | undefined): AnswerEvent[] {
    const events: AnswerEvent[] = [];
    if (fields && !this.#sawChunk) events.push(...this.read(fields));
    if (fields) {
      for (const call of arrayOf(fields.tool_calls)) if (isRecord(call)) events.push(...this.calls.whole(call));
      if (!this.#sawUsage) events.push(...this.#usage.add(fields.usage_metadata));
    }
    events.push(...this.calls.complete());
    if (!this.#finished) {
      events.push({ kind: 'finish', reason: (fields && finishReasonOf(fields)) ?? (this.calls.count > 0 ? 'tool_calls' : 'stop') });
      this.#finished = true;
    }
    return events;
  }

  #block(block: unknown): AnswerEvent[] {
    if (typeof block === 'string') return block === '' ? [] : [{ kind: 'answer', text: block }];
    if (!isRecord(block)) return [];
    const type = String(block.type);
    const text = blockText(block);
    if (text !== undefined) return text.text === '' ? [] : [text];
    if (TOOL_BLOCKS.has(type) || SILENT_BLOCKS.has(type) || TEXT_BLOCKS.has(type) || REASONING_BLOCKS.has(type)) return [];
    return [unhandled(this.#source, `content:${type}`)];
  }

  /** Tool call chunks; else the tool blocks of the content (older @langchain/anthropic); else whole tool calls. */
  #toolCalls(fields: Fields, blocks: unknown[]): AnswerEvent[] {
    const chunks = arrayOf(fields.tool_call_chunks).filter(isRecord);
    const events: AnswerEvent[] = [];
    if (chunks.length > 0) {
      for (const chunk of chunks) events.push(...this.calls.chunk(chunk));
      return events;
    }
    let fromBlocks = false;
    for (const block of blocks) {
      if (!isRecord(block)) continue;
      if (block.type === 'tool_use' || block.type === 'tool_call_chunk') {
        const args = typeof block.input === 'string' ? block.input : typeof block.args === 'string' ? block.args : '';
        events.push(...this.calls.chunk({ id: block.id, name: block.name, index: block.index, args }));
        fromBlocks = true;
      } else if (block.type === 'input_json_delta') {
        events.push(...this.calls.chunk({ index: block.index, args: block.input }));
        fromBlocks = true;
      } else if (block.type === 'tool_call') {
        events.push(...this.calls.whole(block));
        fromBlocks = true;
      }
    }
    if (!fromBlocks) for (const call of arrayOf(fields.tool_calls)) if (isRecord(call)) events.push(...this.calls.whole(call));
    return events;
  }
}

const TEXT_BLOCKS = new Set(['text', 'text_delta', 'refusal']);
const REASONING_BLOCKS = new Set(['reasoning', 'thinking', 'thinking_delta', 'reasoning_content']);

/** The answer or reasoning text a content block carries, if it is a text or reasoning block. */
function blockText(block: Fields): TextPiece | undefined {
  switch (block.type) {
    case 'text':
    case 'text_delta':
      // Google marks a thought as a text part with `thought: true`.
      if (typeof block.text === 'string') return { kind: block.thought === true ? 'reasoning' : 'answer', text: block.text };
      return undefined;
    case 'refusal':
      return typeof block.refusal === 'string' ? { kind: 'answer', text: block.refusal } : undefined;
    case 'reasoning':
      return typeof block.reasoning === 'string' ? { kind: 'reasoning', text: block.reasoning } : undefined;
    case 'thinking':
    case 'thinking_delta':
      return typeof block.thinking === 'string' ? { kind: 'reasoning', text: block.thinking } : undefined;
    case 'reasoning_content': {
      // Bedrock Converse: `reasoningText` is `{ text, signature }` or a string.
      const reasoning = isRecord(block.reasoningText) ? block.reasoningText.text : block.reasoningText;
      return typeof reasoning === 'string' ? { kind: 'reasoning', text: reasoning } : undefined;
    }
    default:
      return undefined;
  }
}

/** Reasoning that providers put beside the content: a string, or an OpenAI Responses reasoning item's summary. */
function kwargsReasoning(kwargs: Fields): string {
  if (typeof kwargs.reasoning_content === 'string') return kwargs.reasoning_content;
  if (typeof kwargs.reasoning === 'string') return kwargs.reasoning;
  if (isRecord(kwargs.reasoning)) {
    return arrayOf(kwargs.reasoning.summary)
      .map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : ''))
      .join('');
  }
  return '';
}

function finishReasonOf(fields: Fields): string | undefined {
  const meta = isRecord(fields.response_metadata) ? fields.response_metadata : {};
  for (const key of FINISH_KEYS) {
    const reason = nonEmpty(meta[key]);
    if (reason !== undefined) return reason;
  }
  const kwargs = isRecord(fields.additional_kwargs) ? fields.additional_kwargs : {};
  const stop = nonEmpty(kwargs.stop_reason);
  if (stop !== undefined) return stop;
  // The OpenAI Responses API through ChatOpenAI: `response.completed` / `response.incomplete`.
  if (meta.status === 'completed') return 'completed';
  if (meta.status === 'incomplete') return (isRecord(meta.incomplete_details) && nonEmpty(meta.incomplete_details.reason)) || 'incomplete';
  return undefined;
}

/** A ToolMessage: its content as the result, or as the error when its status says the tool failed. */
function toolMessageEvents(fields: Fields, id: string): AnswerEvent {
  if (fields.status === 'error') return { kind: 'tool-error', id, error: textOf(fields.content) };
  return { kind: 'tool-result', id, output: fields.content };
}

// ---------------------------------------------------------------------------------------------------
// `stream()`: AI message chunks, or LangGraph's [message, metadata] pairs

class MessageStreamReader implements ChunkReader {
  #ids = 0;
  readonly #ai = new AiChunkReader(new ToolCalls(() => `langchain-call-${++this.#ids}`), new UsageTotals(), CHUNK_SOURCE);

  read(chunk: unknown): AnswerEvent[] {
    const message = messageOf(Array.isArray(chunk) ? chunk[0] : chunk);
    if (!message) return [unhandled(CHUNK_SOURCE, describe(chunk))];
    if (message.kind === 'ai') return this.#ai.read(message.fields);
    if (message.kind === 'tool') {
      // A tool ran, so the model's answer that called it is complete.
      const id = nonEmpty(message.fields.tool_call_id) ?? 'unknown';
      return [...this.#ai.calls.complete(), toolMessageEvents(message.fields, id)];
    }
    return [unhandled(CHUNK_SOURCE, `message:${message.kind}`)];
  }

  end(): AnswerEvent[] {
    return this.#ai.calls.complete();
  }
}

// ---------------------------------------------------------------------------------------------------
// `streamEvents`

/** Events that chain or graph plumbing emits around the model and tool events. */
const IGNORED_EVENTS = /^on_(chain|prompt|parser|retriever)_(start|stream|end|error)$|^on_(chat_model|llm)_start$|^on_llm_end$/;
/** How a content-block protocol stream (@langchain/core 1.x `BaseChatModel.streamEvents(input)`) can begin. */
const FIRST_BLOCK_EVENTS = new Set(['message-start', 'content-block-start', 'content-block-delta', 'content-block-finish', 'message-finish']);

/** A tool call a model made, and the tool run matched to it. */
interface ModelCall {
  id: string;
  name: string;
  input?: unknown;
  done: boolean;
  owner: ToolCalls;
  run?: string;
}

interface ToolRun {
  /** The step's id: the model's call id, or the run id for a tool run no model call asked for. */
  id: string;
  fromModel: boolean;
}

class StreamEventsReader implements ChunkReader {
  #ids = 0;
  readonly #usage = new UsageTotals();
  readonly #models = new Map<string, AiChunkReader>();
  readonly #modelCalls: ModelCall[] = [];
  readonly #tools = new Map<string, ToolRun>();
  #blocks: BlockEventsReader | undefined;

  read(chunk: unknown): AnswerEvent[] {
    if (!isRecord(chunk) || typeof chunk.event !== 'string') return [unhandled(EVENTS_SOURCE, describe(chunk))];
    const event = chunk.event;
    if (!event.startsWith('on_')) return (this.#blocks ??= new BlockEventsReader(() => this.#newId())).read(chunk);
    if (IGNORED_EVENTS.test(event)) return [];
    const data = isRecord(chunk.data) ? chunk.data : {};
    const runId = typeof chunk.run_id === 'string' ? chunk.run_id : '';
    switch (event) {
      case 'on_chat_model_stream': {
        const message = messageOf(data.chunk);
        if (message?.kind !== 'ai') return [unhandled(EVENTS_SOURCE, `${event}:${describe(data.chunk)}`)];
        const model = this.#model(runId);
        return this.#fromModel(model.read(message.fields), model.calls);
      }
      case 'on_chat_model_end': {
        const output = messageOf(data.output);
        const model = this.#model(runId);
        this.#models.delete(runId);
        return this.#fromModel(model.end(output?.kind === 'ai' ? output.fields : undefined), model.calls);
      }
      case 'on_llm_stream': {
        const text = isRecord(data.chunk) ? data.chunk.text : data.chunk;
        return typeof text === 'string' && text !== '' ? [{ kind: 'answer', text }] : [];
      }
      case 'on_tool_start':
        return this.#toolStart(runId, typeof chunk.name === 'string' ? chunk.name : 'unknown', data.input);
      case 'on_tool_end':
        return this.#toolEnd(runId, data.output);
      case 'on_tool_error': {
        const id = this.#tools.get(runId)?.id ?? runId;
        this.#tools.delete(runId);
        return [{ kind: 'tool-error', id, error: errorText(data.error) }];
      }
      default:
        return [unhandled(EVENTS_SOURCE, event)];
    }
  }

  end(): AnswerEvent[] {
    const events: AnswerEvent[] = [];
    for (const model of this.#models.values()) events.push(...this.#fromModel(model.calls.complete(), model.calls));
    return [...events, ...(this.#blocks?.end() ?? [])];
  }

  #newId(): string {
    return `langchain-call-${++this.#ids}`;
  }

  #model(runId: string): AiChunkReader {
    let model = this.#models.get(runId);
    if (!model) {
      model = new AiChunkReader(new ToolCalls(() => this.#newId()), this.#usage, EVENTS_SOURCE);
      this.#models.set(runId, model);
    }
    return model;
  }

  /** Notes the tool calls a model run started and completed, for matching tool runs to them. */
  #fromModel(events: AnswerEvent[], owner: ToolCalls): AnswerEvent[] {
    for (const event of events) {
      if (event.kind === 'tool-start') {
        this.#modelCalls.push({ id: event.id, name: event.name, done: false, owner });
      } else if (event.kind === 'tool-call') {
        const call = this.#modelCalls.find((candidate) => candidate.id === event.id);
        if (call) Object.assign(call, { input: event.input, done: true });
      }
    }
    return events;
  }

  #toolStart(runId: string, name: string, input: unknown): AnswerEvent[] {
    // A tool invoked with the whole ToolCall may show it as its input.
    const toolCall = isRecord(input) && input.type === 'tool_call' ? input : undefined;
    const args = toolCall ? toolCall.args : input;
    const candidates = this.#modelCalls.filter((call) => call.run === undefined && call.name === name);
    const callId = nonEmpty(toolCall?.id);
    const sameArgs = JSON.stringify(args);
    const match =
      candidates.find((call) => call.id === callId) ??
      candidates.find((call) => call.done && JSON.stringify(call.input) === sameArgs) ??
      candidates[0];
    if (!match) {
      this.#tools.set(runId, { id: runId, fromModel: false });
      return [
        { kind: 'tool-start', id: runId, name },
        { kind: 'tool-call', id: runId, name, input: args },
      ];
    }
    match.run = runId;
    this.#tools.set(runId, { id: match.id, fromModel: true });
    // The tool runs, so the model's call is complete even if its answer has not ended yet.
    return match.done ? [] : this.#fromModel(match.owner.complete(match.id), match.owner);
  }

  #toolEnd(runId: string, output: unknown): AnswerEvent[] {
    const run = this.#tools.get(runId);
    this.#tools.delete(runId);
    const message = messageOf(output);
    const toolMessage = message?.kind === 'tool' ? message.fields : undefined;
    const callId = nonEmpty(toolMessage?.tool_call_id);
    let id: string;
    if (run?.fromModel) id = callId !== undefined && this.#modelCalls.some((call) => call.id === callId) ? callId : run.id;
    else id = run?.id ?? callId ?? runId;
    return [toolMessage ? toolMessageEvents(toolMessage, id) : { kind: 'tool-result', id, output }];
  }
}

/** `on_tool_error`'s `data.error`: LangChain's tracer gives `message + "\n\n" + stack`; the card wants the message. */
function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error !== 'string') return textOf(error);
  const stackAt = error.indexOf('\n    at ');
  const cut = stackAt < 0 ? -1 : error.lastIndexOf('\n\n', stackAt);
  return cut < 0 ? error : error.slice(0, cut);
}

// ---------------------------------------------------------------------------------------------------
// The content-block protocol of @langchain/core 1.x (`ChatModelStreamEvent`)

/** Provider passthrough events with nothing for the card: model name, service tier, log probabilities. */
const IGNORED_PROVIDER_EVENTS = new Set(['stream_metadata', 'logprobs']);

class BlockEventsReader {
  readonly #calls: ToolCalls;
  /** The last usage said, so a snapshot repeated (`message-finish` repeats the last `usage`) is said once. */
  #usage = '';

  constructor(newId: () => string) {
    this.#calls = new ToolCalls(newId);
  }

  read(event: Fields): AnswerEvent[] {
    const index = typeof event.index === 'number' ? event.index : 0;
    const key = `block:${index}`;
    switch (event.event) {
      case 'message-start':
        return this.#usageEvents(event.usage);
      case 'content-block-start': {
        const content = isRecord(event.content) ? event.content : {};
        const type = String(content.type);
        const text = blockText(content);
        if (text !== undefined) return text.text === '' ? [] : [text];
        if (type === 'tool_call_chunk') return this.#calls.chunk(content, key);
        if (type === 'tool_call' || type === 'invalid_tool_call') return this.#calls.whole(content, key);
        return [unhandled(EVENTS_SOURCE, `content:${type}`)];
      }
      case 'content-block-delta':
        return this.#delta(key, isRecord(event.delta) ? event.delta : {});
      case 'content-block-finish': {
        const content = isRecord(event.content) ? event.content : {};
        return content.type === 'tool_call' || content.type === 'invalid_tool_call' ? this.#calls.whole(content, key) : [];
      }
      case 'usage':
        return this.#usageEvents(event.usage);
      case 'message-finish': {
        const meta = isRecord(event.responseMetadata) ? event.responseMetadata : {};
        const reason = nonEmpty(meta.finish_reason) ?? nonEmpty(event.reason) ?? 'stop';
        return [...this.#calls.complete(), ...this.#usageEvents(event.usage), { kind: 'finish', reason }];
      }
      case 'provider':
        return IGNORED_PROVIDER_EVENTS.has(String(event.name)) ? [] : [unhandled(EVENTS_SOURCE, `provider:${String(event.name)}`)];
      case 'error':
        return [{ kind: 'error', error: new Error(typeof event.message === 'string' ? event.message : 'LangChain stream error') }];
      default:
        return [unhandled(EVENTS_SOURCE, String(event.event))];
    }
  }

  end(): AnswerEvent[] {
    return this.#calls.complete();
  }

  /** A usage snapshot of this protocol replaces the earlier one, as usage events do. */
  #usageEvents(metadata: unknown): AnswerEvent[] {
    const usage = usageOf(metadata);
    const said = JSON.stringify(usage);
    if (!usage || said === this.#usage) return [];
    this.#usage = said;
    return [{ kind: 'usage', usage }];
  }

  #delta(key: string, delta: Fields): AnswerEvent[] {
    switch (delta.type) {
      case 'text-delta':
        return typeof delta.text === 'string' && delta.text !== '' ? [{ kind: 'answer', text: delta.text }] : [];
      case 'reasoning-delta':
        return typeof delta.reasoning === 'string' && delta.reasoning !== '' ? [{ kind: 'reasoning', text: delta.reasoning }] : [];
      case 'tool-call-delta':
        return this.#calls.chunk({ args: delta.args }, key);
      case 'block-delta': {
        const fields = isRecord(delta.fields) ? delta.fields : {};
        if (fields.type !== 'tool_call_chunk') return [];
        const events = this.#calls.chunk({ id: fields.id, name: fields.name }, key);
        return typeof fields.args === 'string' ? events.concat(this.#calls.snapshot(key, fields.args)) : events;
      }
      case 'data-delta':
        // Data of an image or audio block, reported unhandled at its start.
        return [];
      default:
        return [unhandled(EVENTS_SOURCE, `delta:${String(delta.type)}`)];
    }
  }
}

// ---------------------------------------------------------------------------------------------------

function unhandled(source: string, type: string): AnswerEvent {
  return { kind: 'unhandled', source, type };
}

/** Names a chunk of no known kind: its `type` or `event`, else its JavaScript type. */
function describe(chunk: unknown): string {
  if (Array.isArray(chunk)) return 'array';
  if (!isRecord(chunk)) return chunk === null ? 'null' : typeof chunk;
  const name = typeof chunk.type === 'string' ? chunk.type : chunk.event;
  return typeof name === 'string' ? name : 'object';
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : textOf(part))).join('');
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isRecord(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
