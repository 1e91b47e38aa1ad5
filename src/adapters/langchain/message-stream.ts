/**
 * What a chat model's `stream()` yields, `AIMessageChunk`s, and what a LangGraph graph's
 * `stream(input, { streamMode: 'messages' })` yields, `[message, metadata]` pairs: the AI chunks of
 * one answer, and the ToolMessages of the tools it called.
 */
import type { AnswerEvent, ChunkReader } from '../answer-events.js';
import { nonEmpty } from './fields.js';
import { messageOf, toolMessageEvents } from './message-shape.js';
import { AiChunkReader } from './messages.js';
import { ToolCalls } from './tool-calls.js';
import { CHUNK_SOURCE, describe, unhandled } from './unhandled.js';
import { UsageTotals } from './usage.js';

export class MessageStreamReader implements ChunkReader {
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
