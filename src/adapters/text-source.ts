/**
 * What `session.pipe()` reads: an async iterable (or web ReadableStream) of plain strings, `openai`
 * chat completion chunks (`choices[0].delta.content`), or Responses stream events
 * (`response.output_text.delta`). The shapes are recognised structurally, so `openai` is never
 * imported at run time. Reasoning text (chat `delta.reasoning_content`, Responses reasoning deltas)
 * comes out separately, for a session that shows it.
 */
export type StreamSource = AsyncIterable<unknown> | ReadableStream<unknown>;

export interface TextPiece {
  kind: 'answer' | 'reasoning';
  text: string;
}

const REASONING_EVENTS = new Set(['response.reasoning_text.delta', 'response.reasoning_summary_text.delta']);

/** The text a chunk carries, if any; a chunk of no known shape is a TypeError. */
export function pieceOf(chunk: unknown): TextPiece | undefined {
  if (typeof chunk === 'string') return chunk === '' ? undefined : { kind: 'answer', text: chunk };
  if (typeof chunk !== 'object' || chunk === null) {
    throw new TypeError(`pipe() reads strings, openai chat chunks or Responses events; received a ${typeof chunk}`);
  }
  const record = chunk as Record<string, unknown>;
  if (Array.isArray(record.choices)) return chatPiece(record.choices);
  if (typeof record.type === 'string') {
    if (typeof record.delta !== 'string' || record.delta === '') return undefined;
    if (record.type === 'response.output_text.delta') return { kind: 'answer', text: record.delta };
    if (REASONING_EVENTS.has(record.type)) return { kind: 'reasoning', text: record.delta };
    return undefined;
  }
  throw new TypeError('pipe() reads strings, openai chat chunks or Responses events; received an object of neither shape');
}

function chatPiece(choices: unknown[]): TextPiece | undefined {
  const delta = (choices[0] as { delta?: Record<string, unknown> } | undefined)?.delta;
  if (!delta) return undefined;
  if (typeof delta.content === 'string' && delta.content !== '') return { kind: 'answer', text: delta.content };
  if (typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '') {
    return { kind: 'reasoning', text: delta.reasoning_content };
  }
  return undefined;
}

/** Throws a TypeError unless `source` is something `textPieces` can read. */
export function assertSource(source: unknown): asserts source is StreamSource {
  if (!isAsyncIterable(source) && !isReadableStream(source)) {
    throw new TypeError('pipe() needs an AsyncIterable or a ReadableStream');
  }
}

/** Text pieces from any supported source; byte chunks of a ReadableStream are decoded as UTF-8. */
export async function* textPieces(source: StreamSource): AsyncGenerator<TextPiece> {
  assertSource(source);
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of iterate(source)) {
    const piece = chunk instanceof Uint8Array ? pieceOf(decoder.decode(chunk, { stream: true })) : pieceOf(chunk);
    if (piece) yield piece;
  }
  const rest = decoder.decode();
  if (rest !== '') yield { kind: 'answer', text: rest };
}

async function* iterate(source: StreamSource): AsyncGenerator<unknown> {
  if (!isReadableStream(source)) {
    yield* source;
    return;
  }
  const reader = source.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // Stopping early (abort, error) cancels the stream, so the model request behind it is released.
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}

function isReadableStream(value: unknown): value is ReadableStream<unknown> {
  return typeof (value as { getReader?: unknown } | null)?.getReader === 'function';
}
