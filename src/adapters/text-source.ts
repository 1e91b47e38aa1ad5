/**
 * What `session.pipe()` reads: an async iterable or a web ReadableStream, of chunks some adapter
 * recognises (see registry.ts), and how it is read one chunk at a time and let go of at any moment.
 */
export type StreamSource = AsyncIterable<unknown> | ReadableStream<unknown>;

/** Throws a TypeError unless `source` is a stream `pipe()` can read, saying what to pass instead where it can tell. */
export function assertSource(source: unknown): asserts source is StreamSource {
  if (isAsyncIterable(source) || isReadableStream(source)) return;
  const record = typeof source === 'object' && source !== null ? (source as Record<string, unknown>) : {};
  const hint =
    'fullStream' in record
      ? ': this looks like the result of the AI SDK\'s streamText(); pass result.fullStream (or result.toUIMessageStream())'
      : isReadableStream(record.body)
        ? ': this looks like a fetch Response; pass response.body'
        : '';
  throw new TypeError(`pipe() needs an AsyncIterable or a ReadableStream; received ${source === null ? 'null' : typeof source}${hint}`);
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

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}

function isReadableStream(value: unknown): value is ReadableStream<unknown> {
  return typeof (value as { getReader?: unknown } | null)?.getReader === 'function';
}
