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
 * How a message chunk maps to answer events: messages.ts; `streamEvents` v2: stream-events.ts; tool
 * ids across model calls and tool runs: tool-runs.ts; the content-block protocol: content-blocks.ts.
 */
import type { SourceAdapter } from '../answer-events.js';
import { FIRST_BLOCK_EVENTS } from './content-blocks.js';
import { isRecord } from './fields.js';
import { messageOf } from './message-shape.js';
import { MessageStreamReader } from './message-stream.js';
import { StreamEventsReader } from './stream-events.js';
import { CHUNK_SOURCE, EVENTS_SOURCE } from './unhandled.js';

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
