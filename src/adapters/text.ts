/**
 * Plain text sources (issue 11): strings, and bytes.
 *
 * `textAdapter` reads a stream of strings: each non-empty string is a piece of the answer.
 *
 * `bytesAdapter(adapters)` reads a stream of byte chunks (`Uint8Array`, or any ArrayBuffer view: what a
 * web `ReadableStream` of bytes, a `fetch()` body or a Node stream gives). The bytes are decoded as
 * UTF-8, a character split between two chunks kept whole (invalid bytes become U+FFFD). What the
 * decoded text is, is decided from its first line:
 * - **NDJSON**: one JSON object per line, as `toReadableStream()` of an `openai` or Anthropic stream
 *   writes it (and what the `openai` helpers' `fromReadableStream()` reads back);
 * - **Server-Sent Events**: `data: {…}` lines (with `event:`, `id:`, `retry:` fields and `:` comments,
 *   `data: [DONE]` ignored), as the OpenAI and Anthropic HTTP APIs send them, and as AI SDK response
 *   bodies (`toUIMessageStreamResponse()`) carry them;
 * - **plain text**: anything else (`toTextStreamResponse()`, a model's text), the answer as it is.
 *
 * For NDJSON or SSE, the first parsed object picks the adapter: the first of `adapters` whose
 * `matches()` accepts it. Every later line is parsed and handed to that adapter's reader, and its
 * events are the stream's. When the first object matches none of them, or the first line is not
 * JSON (text that merely starts with `{` or `data:`), the whole stream is plain text, shown as
 * received. Deciding needs the first line whole, so a stream that starts like JSON or SSE is held
 * back until its first line ends (at most `DETECTION_LIMIT` characters; past that it is text).
 *
 * Reported as `unhandled`: a chunk that is not bytes (or, for `textAdapter`, not a string), and a
 * line of an NDJSON or SSE stream that is not JSON.
 *
 * @example
 * ```ts
 * const adapters = [openaiChatAdapter, openaiResponsesAdapter];
 * const bytes = bytesAdapter(adapters);
 * const reader = bytes.reader();
 * for await (const chunk of stream.toReadableStream()) show(reader.read(chunk));
 * show(reader.end?.() ?? []);
 * ```
 */
import type { AnswerEvent, ChunkReader, SourceAdapter } from './answer-events.js';

const TEXT = 'text';
const BYTES = 'UTF-8 bytes';

/** Characters of a stream that looks like NDJSON or SSE held back, at most, to decide what it is. */
export const DETECTION_LIMIT = 1024 * 1024;

export const textAdapter: SourceAdapter = {
  name: TEXT,
  matches: (chunk) => typeof chunk === 'string',
  reader: () => ({
    read: (chunk) => (typeof chunk === 'string' ? answer(chunk) : [unhandled(TEXT, kindOf(chunk))]),
  }),
};

/**
 * The adapter for byte streams; `adapters` are the object sources an NDJSON or SSE stream may carry
 * (the registry passes every adapter it has; strings and bytes adapters in it never match an object).
 * @throws TypeError when `adapters` is not an array of source adapters.
 */
export function bytesAdapter(adapters: readonly SourceAdapter[]): SourceAdapter {
  const given: unknown = adapters;
  if (!Array.isArray(given)) {
    throw new TypeError(`bytesAdapter(adapters): adapters must be an array of source adapters; received ${kindOf(given)}`);
  }
  given.forEach((adapter: unknown, index) => {
    const candidate = adapter as Partial<SourceAdapter> | null;
    if (typeof candidate?.matches !== 'function' || typeof candidate.reader !== 'function') {
      throw new TypeError(`bytesAdapter(adapters): adapters[${index}] is not a source adapter (matches and reader functions); received ${kindOf(adapter)}`);
    }
  });
  // A copy: the list a registry passes may change later; this adapter reads the one it was given.
  const known = adapters.slice();
  return { name: BYTES, matches: isBytes, reader: () => new BytesReader(known) };
}

/** True for a chunk of bytes: a Uint8Array (a Node Buffer is one), another ArrayBuffer view, or an ArrayBuffer. */
export function isBytes(chunk: unknown): chunk is ArrayBufferView | ArrayBuffer {
  return ArrayBuffer.isView(chunk) || chunk instanceof ArrayBuffer;
}

type Format = 'text' | 'ndjson' | 'sse';

/** How an SSE stream may begin: a field name (`data`, `event`, `id`, `retry`) then `:`, or a `:` comment. */
const SSE_START = ['data:', 'event:', 'id:', 'retry:', ':'];
const SSE_FIELD = /^(data|event|id|retry)(:|$)/;

class BytesReader implements ChunkReader {
  readonly #decoder = new TextDecoder('utf-8');
  readonly #adapters: readonly SourceAdapter[];
  #format: Format | undefined;
  /** Decoded text not read yet: the undecided start, or the last line while it is incomplete. */
  #pending = '';
  #inner: { name: string; reader: ChunkReader } | undefined;
  /** The data lines of the SSE event being read. */
  #data: string[] = [];
  /** The start looks like NDJSON or SSE: only a line end (or the stream's end) can decide it now. */
  #awaitingLine = false;

  constructor(adapters: readonly SourceAdapter[]) {
    this.#adapters = adapters;
  }

  read(chunk: unknown): AnswerEvent[] {
    if (!isBytes(chunk)) return [unhandled(BYTES, kindOf(chunk))];
    const bytes = chunk instanceof ArrayBuffer ? new Uint8Array(chunk) : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    return this.#take(this.#decoder.decode(bytes, { stream: true }), false);
  }

  end(): AnswerEvent[] {
    const events = this.#take(this.#decoder.decode(), true);
    if (this.#format === 'sse') events.push(...this.#dispatch());
    events.push(...(this.#inner?.reader.end?.() ?? []));
    return events;
  }

  #take(text: string, atEnd: boolean): AnswerEvent[] {
    if (this.#format === 'text') return answer(text);
    this.#pending += text;
    // Scanning the held text again only when something that can decide has come keeps this linear.
    const decisive = !this.#awaitingLine || atEnd || lineEnd(text) !== -1 || this.#pending.length > DETECTION_LIMIT;
    if (this.#format === undefined && decisive) this.#format = this.#detect(atEnd);
    if (this.#format === undefined) return [];
    if (this.#format === 'text') {
      const all = this.#pending;
      this.#pending = '';
      return answer(all);
    }
    return this.#lines(atEnd);
  }

  /** What the stream is, once its start says it (undefined: not yet). Picks the inner adapter. */
  #detect(atEnd: boolean): Format | undefined {
    const start = this.#pending.trimStart();
    if (start === '') return atEnd ? 'text' : undefined;
    if (start.length > DETECTION_LIMIT) return 'text';
    if (start.startsWith('{')) {
      const second = start.slice(1).trimStart()[0];
      if (second === undefined) return atEnd ? 'text' : undefined;
      if (second !== '"') return 'text';
      const end = lineEnd(start);
      this.#awaitingLine = end === -1;
      if (end === -1 && !atEnd) return undefined;
      return this.#choose(end === -1 ? start : start.slice(0, end)) ? 'ndjson' : 'text';
    }
    if (!SSE_START.some((prefix) => prefix.startsWith(start.slice(0, prefix.length)))) return 'text';
    const payload = firstSsePayload(start, atEnd);
    this.#awaitingLine = payload === undefined && SSE_START.some((prefix) => start.startsWith(prefix));
    if (payload === undefined) return undefined;
    return payload !== null && this.#choose(payload) ? 'sse' : 'text';
  }

  /** Sets the inner adapter from the first JSON object; false when it is not one any adapter reads. */
  #choose(json: string): boolean {
    const value = parse(json);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const adapter = this.#adapters.find((candidate) => candidate.matches(value));
    if (adapter) this.#inner = { name: adapter.name, reader: adapter.reader() };
    return adapter !== undefined;
  }

  #lines(atEnd: boolean): AnswerEvent[] {
    const events: AnswerEvent[] = [];
    for (;;) {
      const line = this.#nextLine(atEnd);
      if (line === undefined) return events;
      if (this.#format === 'ndjson') {
        if (line.trim() !== '') events.push(...this.#hand(line));
      } else {
        events.push(...this.#sseLine(line));
      }
    }
  }

  /** Takes the next whole line off `#pending` (the rest, at the end); CRLF, LF and CR all end a line. */
  #nextLine(atEnd: boolean): string | undefined {
    const end = lineEnd(this.#pending);
    if (end === -1) {
      if (!atEnd || this.#pending === '') return undefined;
      const rest = this.#pending;
      this.#pending = '';
      return rest;
    }
    // A CR that ends the text so far may be the first half of a CRLF still to come.
    if (this.#pending[end] === '\r' && end === this.#pending.length - 1 && !atEnd) return undefined;
    const line = this.#pending.slice(0, end);
    const width = this.#pending.startsWith('\r\n', end) ? 2 : 1;
    this.#pending = this.#pending.slice(end + width);
    return line;
  }

  #sseLine(line: string): AnswerEvent[] {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return [];
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    // `event`, `id` and `retry` say nothing the JSON does not: every known source names its type inside.
    if (field === 'data') this.#data.push(fieldValue(line, colon));
    return [];
  }

  /** Ends the SSE event read so far: its data, unless `[DONE]`, goes to the inner reader. */
  #dispatch(): AnswerEvent[] {
    if (this.#data.length === 0) return [];
    const data = this.#data.join('\n');
    this.#data = [];
    return data.trim() === '[DONE]' ? [] : this.#hand(data);
  }

  #hand(json: string): AnswerEvent[] {
    const value = parse(json);
    if (value === undefined) return [unhandled(this.#inner?.name ?? BYTES, 'a line that is not JSON')];
    return this.#inner?.reader.read(value) ?? [];
  }
}

/**
 * The data of the first SSE event in `text`: undefined while it is incomplete, null when `text`
 * is not SSE after all (a line that is no field, or no data before the end).
 */
function firstSsePayload(text: string, atEnd: boolean): string | null | undefined {
  const data: string[] = [];
  let rest = text;
  for (;;) {
    const end = lineEnd(rest);
    if (end === -1) {
      if (!atEnd) return undefined;
      if (rest !== '' && !isSseLine(rest)) return null;
      if (rest.startsWith('data')) data.push(fieldValue(rest, rest.indexOf(':')));
      return data.length > 0 ? data.join('\n') : null;
    }
    const line = rest.slice(0, end);
    rest = rest.slice(end + (rest.startsWith('\r\n', end) ? 2 : 1));
    if (line === '') {
      if (data.length > 0) return data.join('\n');
      continue;
    }
    if (!isSseLine(line)) return null;
    if (line.startsWith('data')) data.push(fieldValue(line, line.indexOf(':')));
  }
}

function isSseLine(line: string): boolean {
  return line.startsWith(':') || SSE_FIELD.test(line);
}

/** A field's value: what follows the colon, less one leading space (the SSE rule). */
function fieldValue(line: string, colon: number): string {
  if (colon === -1) return '';
  const value = line.slice(colon + 1);
  return value.startsWith(' ') ? value.slice(1) : value;
}

/** Where the first line of `text` ends (its CR or LF), or -1. */
function lineEnd(text: string): number {
  const lf = text.indexOf('\n');
  const cr = text.indexOf('\r');
  if (cr === -1) return lf;
  return lf === -1 ? cr : Math.min(lf, cr);
}

function parse(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

function answer(text: string): AnswerEvent[] {
  return text === '' ? [] : [{ kind: 'answer', text }];
}

function unhandled(source: string, type: string): AnswerEvent {
  return { kind: 'unhandled', source, type };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (isBytes(value)) return 'bytes';
  return typeof value;
}
