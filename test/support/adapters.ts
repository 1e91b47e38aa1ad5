/**
 * Reading a source through one adapter, for adapter tests: every event its chunks carry, in order,
 * with the reader's end events last.
 */
import type { AnswerEvent, SourceAdapter } from '../../src/adapters/answer-events.js';

export async function eventsFrom(adapter: SourceAdapter, source: AsyncIterable<unknown> | Iterable<unknown> | ReadableStream<unknown>): Promise<AnswerEvent[]> {
  const reader = adapter.reader();
  const events: AnswerEvent[] = [];
  const iterable = isStream(source) ? streamIterable(source) : source;
  for await (const chunk of iterable) events.push(...reader.read(chunk));
  events.push(...(reader.end?.() ?? []));
  return events;
}

function isStream(source: object): source is ReadableStream<unknown> {
  return typeof (source as { getReader?: unknown }).getReader === 'function' && !(Symbol.asyncIterator in source);
}

async function* streamIterable(stream: ReadableStream<unknown>): AsyncGenerator<unknown> {
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

/** The answer text and the reasoning text a list of events carries. */
export function textsOf(events: readonly AnswerEvent[]): { answer: string; reasoning: string } {
  let answer = '';
  let reasoning = '';
  for (const event of events) {
    if (event.kind === 'answer') answer += event.text;
    if (event.kind === 'reasoning') reasoning += event.text;
  }
  return { answer, reasoning };
}
