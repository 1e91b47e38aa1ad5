/**
 * The AI message chunks of one model run, read in order: content (a string or blocks), reasoning,
 * refusals, tool calls, usage and the finish. Both sources meet here: `stream()` yields these chunks,
 * and `streamEvents` carries them as `on_chat_model_stream`'s `data.chunk`.
 */
import type { AnswerEvent } from '../answer-events.js';
import { type Fields, arrayOf, isRecord, nonEmpty } from './fields.js';
import { REASONING_BLOCKS, TEXT_BLOCKS, blockText } from './text-blocks.js';
import type { ToolCalls } from './tool-calls.js';
import { unhandled } from './unhandled.js';
import type { UsageTotals } from './usage.js';

const FINISH_KEYS = ['finish_reason', 'stop_reason', 'finishReason', 'stopReason', 'done_reason'];
/** Content blocks that repeat what `tool_call_chunks` / `tool_calls` say. */
const TOOL_BLOCKS = new Set(['tool_use', 'input_json_delta', 'tool_call', 'tool_call_chunk', 'invalid_tool_call', 'function_call']);
/** Content blocks with nothing to show: an encrypted thought. */
const SILENT_BLOCKS = new Set(['redacted_thinking']);

/**
 * Reads the AI message chunks of one model run (or of one `stream()`), in order. A chunk maps as follows:
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
 */
export class AiChunkReader {
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
