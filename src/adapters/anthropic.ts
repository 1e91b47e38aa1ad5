/**
 * Anthropic (`@anthropic-ai/sdk`): the raw stream events of the Messages API, as
 * `client.messages.create({ stream: true })` yields them and as iterating `client.messages.stream()`
 * (a `MessageStream`) yields them; `messageStream.toReadableStream()` carries the same events as
 * NDJSON bytes. Shapes are read structurally: the SDK is never imported at run time.
 *
 * | event                                   | answer events                                                   |
 * |-----------------------------------------|-----------------------------------------------------------------|
 * | `message_start`                         | `usage` { inputTokens } (cache reads and writes included)       |
 * | `content_block_start` text / thinking   | `answer` / `reasoning` with the block's initial text, if any    |
 * | `content_block_start` tool_use,         | `tool-start` { id, name }                                       |
 * |   server_tool_use (any `*tool_use`)     |                                                                 |
 * | `content_block_start` `*_tool_result`   | `tool-result` { id: tool_use_id, output: content }, or          |
 * |   (web search, code execution …)        |   `tool-error` when the content is an error (`error_code`)      |
 * | `content_block_delta` text_delta        | `answer`                                                        |
 * | `content_block_delta` thinking_delta    | `reasoning`                                                     |
 * | `content_block_delta` input_json_delta  | `tool-input` { id of the tool block at that index, delta }      |
 * | `content_block_stop` of a tool block    | `tool-call` { id, name, input parsed from the streamed JSON }   |
 * | `message_delta`                         | `usage` { inputTokens, outputTokens, reasoningTokens? }, then   |
 * |                                         |   `finish` { reason: stop_reason } when it names one            |
 * | `error` (`event: error` in the SSE)     | `error`                                                         |
 * | `ping`, `message_stop`                  | nothing                                                         |
 * | the stream's end, a tool block open     | `tool-error` (its input never completed: the step failed)       |
 *
 * Usage counts are whole-message totals (message_delta's replace message_start's); `inputTokens` is
 * the API's own sum of fresh input, cache writes and cache reads, and `reasoningTokens` is
 * `output_tokens_details.thinking_tokens` when the API reports it. Finish comes with message_delta,
 * which names the stop reason (`end_turn`, `tool_use`, `max_tokens`, `pause_turn`, `refusal` …).
 * A second message_start (several messages relayed as one stream) starts a new block map.
 *
 * Deliberately ignored (they carry nothing a reader could be shown): `ping`; `signature_delta`, the
 * opaque value that lets a thinking block be sent back to the API; `redacted_thinking` blocks, whose
 * content is encrypted. Reported as `unhandled` (the card loses something the model said):
 * `citations_delta` (the sources of the text: the text itself still lands), a content block kind
 * this adapter does not know (`content_block_start:<block type>`), a delta kind it does not know
 * (`content_block_delta:<delta type>`), any other event type (its `type`), and a chunk of no
 * event shape (`string`, `null`, `object without a type` …).
 *
 * Note: the SDK's own SSE reader drops `ping` and throws an `APIError` on `event: error`, so those two
 * reach this adapter only from a hand-made SSE reader or a relay of the raw events.
 */
import type { AnswerEvent, ChunkReader, SourceAdapter } from './answer-events.js';

const SOURCE = 'anthropic message stream events';

type ChunkRecord = Record<string, unknown>;

/** An open tool block: the call's input arrives as JSON pieces until the block stops. */
interface ToolBlock {
  kind: 'tool';
  id: string;
  name: string;
  json: string;
  /** The input the block opened with (`{}` in a stream; kept in case a relay sends it whole). */
  startInput: unknown;
}

/** What the reader remembers of an open content block, by its index. */
type Block = ToolBlock | { kind: 'content'; type: string };

export const anthropicAdapter: SourceAdapter = {
  name: SOURCE,
  matches: isAnthropicEvent,
  reader: () => new AnthropicReader(),
};

function isAnthropicEvent(chunk: unknown): boolean {
  if (!isRecord(chunk) || typeof chunk.type !== 'string') return false;
  switch (chunk.type) {
    case 'message_start':
      return isRecord(chunk.message);
    case 'message_delta':
      return isRecord(chunk.delta);
    case 'content_block_start':
    case 'content_block_delta':
    case 'content_block_stop':
      return typeof chunk.index === 'number';
    case 'message_stop':
    case 'ping':
      return true;
    case 'error':
      // `{ type: 'error', error: { type: 'overloaded_error', message } }`; the AI SDK's error part holds an
      // Error instance, the openai Responses error event has no `error` field.
      return isErrorBody(chunk.error);
    default:
      return false;
  }
}

class AnthropicReader implements ChunkReader {
  readonly #blocks = new Map<number, Block>();
  /** Token counts of the current message: the input side is the sum of three counters the API keeps apart. */
  #counts: { input?: number; cacheCreation?: number; cacheRead?: number } = {};

  read(chunk: unknown): AnswerEvent[] {
    if (!isRecord(chunk) || typeof chunk.type !== 'string') return [unhandled(describe(chunk))];
    switch (chunk.type) {
      case 'message_start':
        return this.#messageStart(chunk);
      case 'content_block_start':
        return this.#blockStart(chunk);
      case 'content_block_delta':
        return this.#blockDelta(chunk);
      case 'content_block_stop':
        return this.#blockStop(chunk);
      case 'message_delta':
        return this.#messageDelta(chunk);
      case 'message_stop':
      case 'ping':
        return [];
      case 'error':
        return [{ kind: 'error', error: streamError(chunk) }];
      default:
        return [unhandled(chunk.type)];
    }
  }

  /** A tool block still open when the stream ends never got its whole input: its step failed. */
  end(): AnswerEvent[] {
    const events: AnswerEvent[] = [];
    for (const block of this.#blocks.values()) {
      if (isToolBlock(block)) {
        events.push({ kind: 'tool-error', id: block.id, error: 'the stream ended before the tool call was complete' });
      }
    }
    this.#blocks.clear();
    return events;
  }

  #messageStart(chunk: ChunkRecord): AnswerEvent[] {
    // A new message numbers its content blocks from 0 again.
    this.#blocks.clear();
    this.#counts = {};
    const message = isRecord(chunk.message) ? chunk.message : {};
    const usage = isRecord(message.usage) ? message.usage : {};
    this.#takeInputCounts(usage);
    // Its `output_tokens` is a placeholder (the answer has not begun); message_delta says the real count.
    const inputTokens = this.#inputTokens();
    return inputTokens === undefined ? [] : [{ kind: 'usage', usage: { inputTokens } }];
  }

  #blockStart(chunk: ChunkRecord): AnswerEvent[] {
    const index = chunk.index;
    const block = chunk.content_block;
    if (typeof index !== 'number' || !isRecord(block) || typeof block.type !== 'string') {
      return [unhandled('content_block_start')];
    }
    const type = block.type;
    if (isToolUse(block)) {
      this.#blocks.set(index, { kind: 'tool', id: block.id, name: block.name, json: '', startInput: block.input });
      return [{ kind: 'tool-start', id: block.id, name: block.name }];
    }
    this.#blocks.set(index, { kind: 'content', type });
    if (type === 'text') return textPiece('answer', block.text);
    if (type === 'thinking') return textPiece('reasoning', block.thinking);
    if (type === 'redacted_thinking') return [];
    if (typeof block.tool_use_id === 'string') return [toolOutcome(block.tool_use_id, block)];
    return [unhandled(`content_block_start:${type}`)];
  }

  #blockDelta(chunk: ChunkRecord): AnswerEvent[] {
    const delta = chunk.delta;
    if (!isRecord(delta) || typeof delta.type !== 'string') return [unhandled('content_block_delta')];
    switch (delta.type) {
      case 'text_delta':
        return textPiece('answer', delta.text);
      case 'thinking_delta':
        return textPiece('reasoning', delta.thinking);
      case 'input_json_delta': {
        const block = typeof chunk.index === 'number' ? this.#blocks.get(chunk.index) : undefined;
        if (!isToolBlock(block) || typeof delta.partial_json !== 'string') return [unhandled('content_block_delta:input_json_delta')];
        block.json += delta.partial_json;
        // The API often opens a tool's input with an empty piece.
        return delta.partial_json === '' ? [] : [{ kind: 'tool-input', id: block.id, delta: delta.partial_json }];
      }
      case 'signature_delta':
        return [];
      default:
        // citations_delta included: the event model has no place for a citation.
        return [unhandled(`content_block_delta:${delta.type}`)];
    }
  }

  #blockStop(chunk: ChunkRecord): AnswerEvent[] {
    if (typeof chunk.index !== 'number') return [unhandled('content_block_stop')];
    const block = this.#blocks.get(chunk.index);
    this.#blocks.delete(chunk.index);
    if (!isToolBlock(block)) return [];
    return [{ kind: 'tool-call', id: block.id, name: block.name, input: toolInput(block) }];
  }

  #messageDelta(chunk: ChunkRecord): AnswerEvent[] {
    const events: AnswerEvent[] = [];
    if (isRecord(chunk.usage)) {
      const usage = chunk.usage;
      // Its counters are whole-message totals, sent again when they apply: they replace, never add.
      this.#takeInputCounts(usage);
      const inputTokens = this.#inputTokens();
      const details = isRecord(usage.output_tokens_details) ? usage.output_tokens_details : {};
      events.push({
        kind: 'usage',
        usage: {
          ...(inputTokens === undefined ? {} : { inputTokens }),
          ...(typeof usage.output_tokens === 'number' ? { outputTokens: usage.output_tokens } : {}),
          ...(typeof details.thinking_tokens === 'number' ? { reasoningTokens: details.thinking_tokens } : {}),
        },
      });
    }
    const reason = isRecord(chunk.delta) ? chunk.delta.stop_reason : undefined;
    if (typeof reason === 'string') events.push({ kind: 'finish', reason });
    return events;
  }

  #takeInputCounts(usage: ChunkRecord): void {
    if (typeof usage.input_tokens === 'number') this.#counts.input = usage.input_tokens;
    if (typeof usage.cache_creation_input_tokens === 'number') this.#counts.cacheCreation = usage.cache_creation_input_tokens;
    if (typeof usage.cache_read_input_tokens === 'number') this.#counts.cacheRead = usage.cache_read_input_tokens;
  }

  /** All the input the request was billed for: fresh, cache writes and cache reads (the API's own sum). */
  #inputTokens(): number | undefined {
    const { input, cacheCreation, cacheRead } = this.#counts;
    if (input === undefined) return undefined;
    return input + (cacheCreation ?? 0) + (cacheRead ?? 0);
  }
}

/** `tool_use`, `server_tool_use`, and the beta API's `mcp_tool_use`: a call the model makes, named and numbered. */
function isToolUse(block: ChunkRecord): block is ChunkRecord & { id: string; name: string } {
  return typeof block.type === 'string' && block.type.endsWith('tool_use') && typeof block.id === 'string' && typeof block.name === 'string';
}

function isToolBlock(block: Block | undefined): block is ToolBlock {
  return block?.kind === 'tool';
}

/** The input streamed as JSON pieces; `{}` when none came (a tool without parameters). */
function toolInput(block: ToolBlock): unknown {
  if (block.json.trim() === '') return isRecord(block.startInput) ? block.startInput : {};
  try {
    return JSON.parse(block.json) as unknown;
  } catch {
    // Kept as the JSON text the model wrote, as the event model allows.
    return block.json;
  }
}

/** A server tool's result block (web search, web fetch, code execution …) or the beta API's `mcp_tool_result`. */
function toolOutcome(id: string, block: ChunkRecord): AnswerEvent {
  const content = block.content;
  if (isRecord(content) && typeof content.error_code === 'string') {
    const message = typeof content.error_message === 'string' ? `${content.error_code}: ${content.error_message}` : content.error_code;
    return { kind: 'tool-error', id, error: message };
  }
  if (block.is_error === true) return { kind: 'tool-error', id, error: typeof content === 'string' ? content : JSON.stringify(content) };
  return { kind: 'tool-result', id, output: content };
}

function textPiece(kind: 'answer' | 'reasoning', text: unknown): AnswerEvent[] {
  return typeof text === 'string' && text !== '' ? [{ kind, text }] : [];
}

/** `{ type: 'error', error: { type, message }, request_id }`, as the API sends it in the stream. */
function streamError(chunk: ChunkRecord): Error {
  const body = isRecord(chunk.error) ? chunk.error : {};
  const type = typeof body.type === 'string' ? body.type : 'error';
  const message = typeof body.message === 'string' ? body.message : 'the stream reported an error';
  const requestId = typeof chunk.request_id === 'string' ? ` (request_id ${chunk.request_id})` : '';
  return new Error(`Anthropic stream error ${type}: ${message}${requestId}`, { cause: chunk });
}

function unhandled(type: string): AnswerEvent {
  return { kind: 'unhandled', source: SOURCE, type };
}

function describe(chunk: unknown): string {
  if (chunk === null) return 'null';
  if (typeof chunk !== 'object') return typeof chunk;
  return 'object without a type';
}

function isErrorBody(value: unknown): boolean {
  return isRecord(value) && Object.getPrototypeOf(value) === Object.prototype && typeof value.type === 'string' && value.type.endsWith('error') && typeof value.message === 'string';
}

function isRecord(value: unknown): value is ChunkRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
