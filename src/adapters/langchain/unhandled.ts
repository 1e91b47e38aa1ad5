/**
 * The two LangChain sources by name, and how a chunk neither understands is reported: an `unhandled`
 * event naming what it was, never silence.
 */
import type { AnswerEvent } from '../answer-events.js';
import { isRecord } from './fields.js';

export const CHUNK_SOURCE = 'LangChain AIMessageChunk stream';
export const EVENTS_SOURCE = 'LangChain streamEvents';

export function unhandled(source: string, type: string): AnswerEvent {
  return { kind: 'unhandled', source, type };
}

/** Names a chunk of no known kind: its `type` or `event`, else its JavaScript type. */
export function describe(chunk: unknown): string {
  if (Array.isArray(chunk)) return 'array';
  if (!isRecord(chunk)) return chunk === null ? 'null' : typeof chunk;
  const name = typeof chunk.type === 'string' ? chunk.type : chunk.event;
  return typeof name === 'string' ? name : 'object';
}
