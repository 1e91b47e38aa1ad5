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

/** Turns chunks into text pieces; byte chunks are decoded as UTF-8, characters split between chunks kept whole. */
export class PieceDecoder {
  readonly #bytes = new TextDecoder('utf-8');

  decode(chunk: unknown): TextPiece | undefined {
    return chunk instanceof Uint8Array ? pieceOf(this.#bytes.decode(chunk, { stream: true })) : pieceOf(chunk);
  }

  /** What is left of a character the last byte chunk began. */
  end(): TextPiece | undefined {
    const rest = this.#bytes.decode();
    return rest === '' ? undefined : { kind: 'answer', text: rest };
  }
}

/** Reads a source one chunk at a time, and can let go of it at any moment, even while a read is pending. */
export interface SourceReader {
  next(): Promise<IteratorResult<unknown>>;
  /**
   * Releases the source so the request behind it ends: `cancel()` on a ReadableStream, `return()` on an
   * iterator, and `controller.abort()` where the source carries one (an `openai` stream does).
   */
  cancel(): void;
}

export function readerOf(source: StreamSource): SourceReader {
  assertSource(source);
  const controller = (source as { controller?: { abort?: unknown } }).controller;
  const abortRequest = () => {
    if (typeof controller?.abort === 'function') (controller as AbortController).abort();
  };
  if (isReadableStream(source)) {
    const reader = source.getReader();
    return {
      next: () => reader.read() as Promise<IteratorResult<unknown>>,
      cancel() {
        abortRequest();
        reader.cancel().catch(() => undefined);
        reader.releaseLock();
      },
    };
  }
  const iterator = source[Symbol.asyncIterator]();
  return {
    next: () => iterator.next(),
    cancel() {
      abortRequest();
      // Not awaited: a generator suspended inside its body answers return() only once it resumes.
      Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => undefined);
    },
  };
}

/** Text pieces from any supported source; byte chunks of a ReadableStream are decoded as UTF-8. */
export async function* textPieces(source: StreamSource): AsyncGenerator<TextPiece> {
  const reader = readerOf(source);
  const decoder = new PieceDecoder();
  let done = false;
  try {
    for (;;) {
      const next = await reader.next();
      if (next.done) break;
      const piece = decoder.decode(next.value);
      if (piece) yield piece;
    }
    done = true;
    const rest = decoder.end();
    if (rest) yield rest;
  } finally {
    // Stopping early (abort, error) releases the source, so the model request behind it ends.
    if (!done) reader.cancel();
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}

function isReadableStream(value: unknown): value is ReadableStream<unknown> {
  return typeof (value as { getReader?: unknown } | null)?.getReader === 'function';
}
