/**
 * `openaiChatAdapter` reads chat completion chunks: what `chat.completions.create({ stream: true })`
 * yields, and what iterating the helpers `chat.completions.stream()` (ChatCompletionStream) and
 * `chat.completions.runTools()` yields (the same chunks; runTools' steps follow one another, each
 * ending with its own `finish`). Only the first choice (`index: 0`) is read; `n > 1` is not shown.
 * - `delta.content` → answer; `delta.refusal` → answer (the refusal is what the user should read);
 *   `delta.reasoning_content`, or `delta.reasoning` as some compatible servers name it → reasoning.
 * - `delta.tool_calls[]` → tool-start, tool-input and tool-call (chat-tool-calls.ts), completed at the
 *   choice's `finish_reason`, or at the stream's end (`end()`).
 * - `finish_reason` → finish; `usage` (the last chunk, with `stream_options.include_usage`) → usage;
 *   an `{ error }` chunk (what the API sends when a stream fails midway; read from raw bytes, as the
 *   SDK throws it instead) → error.
 * - Tool results: iterating `runTools()` shows none (the runner keeps them). Its `toReadableStream()`
 *   carries them as message records (`object: 'chat.completion.chunk.message:{…}'`), read here as
 *   `tool-result` when that stream's bytes are piped.
 * - Reported as `unhandled`: `delta.function_call` (the deprecated functions API), `delta.audio`, and a
 *   message record that is not a tool result. Other delta fields (`role`, vendor extras) say nothing.
 */
import type { AnswerEvent, ChunkReader, SourceAdapter } from '../answer-events.js';
import { ChatToolCalls } from './chat-tool-calls.js';
import { type Json, isRecord, kindOf, nonEmpty, parsedJson } from './fields.js';
import { CHAT, sourceError, unhandled } from './source.js';
import { usageOf } from './usage.js';

/** Marks a runTools() message record in a chunk's `object` (openai's ChatCompletionStream). */
const MESSAGE_RECORD = 'chat.completion.chunk.message:';

const CHAT_USAGE = { input: 'prompt_tokens', output: 'completion_tokens', details: 'completion_tokens_details' };

export const openaiChatAdapter: SourceAdapter = {
  name: CHAT,
  matches: (chunk) => isRecord(chunk) && Array.isArray(chunk.choices),
  reader: () => new ChatReader(),
};

class ChatReader implements ChunkReader {
  readonly #calls = new ChatToolCalls();

  read(chunk: unknown): AnswerEvent[] {
    if (!isRecord(chunk)) return [unhandled(CHAT, kindOf(chunk))];
    if (isMessageRecord(chunk)) return messageRecord(chunk);
    const events: AnswerEvent[] = [];
    if (isRecord(chunk.error)) events.push({ kind: 'error', error: sourceError(CHAT, chunk.error) });
    const choice = Array.isArray(chunk.choices) ? chunk.choices.find(isFirstChoice) : undefined;
    if (choice) this.#choice(choice, events);
    if (isRecord(chunk.usage)) events.push({ kind: 'usage', usage: usageOf(chunk.usage, CHAT_USAGE) });
    return events;
  }

  end(): AnswerEvent[] {
    return this.#calls.completeAll();
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
        if (isRecord(call)) events.push(...this.#calls.delta(call, position));
      });
    }
    if (delta.function_call != null) events.push(unhandled(CHAT, 'delta.function_call'));
    if (delta.audio != null) events.push(unhandled(CHAT, 'delta.audio'));
    if (typeof choice.finish_reason === 'string') {
      events.push(...this.#calls.completeAll(), { kind: 'finish', reason: choice.finish_reason });
    }
  }
}

function isMessageRecord(chunk: Json): boolean {
  return (
    (typeof chunk.object === 'string' && chunk.object.startsWith(MESSAGE_RECORD)) ||
    (chunk.type === 'message' && 'message' in chunk)
  );
}

/** A runTools() message record: a tool's result, as the runner added it to the conversation. */
function messageRecord(chunk: Json): AnswerEvent[] {
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

function isFirstChoice(choice: unknown): choice is Json {
  return isRecord(choice) && (choice.index === undefined || choice.index === 0);
}

/** What a tool message's content says: parsed JSON when it is JSON, the text otherwise. */
function toolOutput(content: unknown): unknown {
  if (Array.isArray(content)) {
    content = content.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
  }
  return typeof content === 'string' ? parsedJson(content) : content;
}
