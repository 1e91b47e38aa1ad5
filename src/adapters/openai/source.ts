/**
 * The two openai sources by name, and what they report besides the answer: an `unhandled` event naming
 * a chunk neither understands (never silence), and the API's error object as an Error.
 */
import type { AnswerEvent } from '../answer-events.js';
import type { Json } from './fields.js';

export const CHAT = 'openai chat completion chunks';
export const RESPONSES = 'openai Responses events';

export function unhandled(source: string, type: string): AnswerEvent {
  return { kind: 'unhandled', source, type };
}

/** The source's error object (`{ message, code, type }`) as an Error; the object is its `cause`. */
export function sourceError(source: string, error: Json): Error {
  const message = typeof error.message === 'string' && error.message !== '' ? error.message : 'the stream reported an error';
  const code = typeof error.code === 'string' || typeof error.code === 'number' ? ` (${error.code})` : '';
  return new Error(`${source}: ${message}${code}`, { cause: error });
}
