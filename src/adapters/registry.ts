/**
 * Which adapter reads a source (issue 11): the first chunk of a stream picks it, by shape, from every
 * adapter the library has; the stream is then read through that adapter alone. No SDK is imported:
 * the shapes are recognised structurally. A first chunk no adapter recognises is an
 * `UnrecognizedSourceError` (a TypeError naming what was received) before anything is shown.
 */
import { aiSdkFullStreamAdapter, aiSdkUiMessageStreamAdapter } from './ai-sdk.js';
import { anthropicAdapter } from './anthropic.js';
import type { AnswerEvent, ChunkReader, SourceAdapter, TextPiece } from './answer-events.js';
import { langchainChunkAdapter, langchainEventsAdapter } from './langchain.js';
import { openaiChatAdapter, openaiResponsesAdapter } from './openai.js';
import { bytesAdapter, textAdapter } from './text.js';
import { type StreamSource, readerOf } from './text-source.js';

/** The sources of objects, most specific first (NDJSON and SSE byte streams carry these too). */
const OBJECT_SOURCES: readonly SourceAdapter[] = [
  openaiChatAdapter,
  openaiResponsesAdapter,
  anthropicAdapter,
  aiSdkFullStreamAdapter,
  aiSdkUiMessageStreamAdapter,
  langchainEventsAdapter,
  langchainChunkAdapter,
];

/** Every source `pipe()` reads, in the order they are tried on a stream's first chunk. */
export const ADAPTERS: readonly SourceAdapter[] = [...OBJECT_SOURCES, textAdapter, bytesAdapter(OBJECT_SOURCES)];

/** The adapter for a stream whose first chunk is `chunk`, or undefined. */
export function adapterFor(chunk: unknown): SourceAdapter | undefined {
  return ADAPTERS.find((adapter) => adapter.matches(chunk));
}

/** The first chunk of a source is of no shape `pipe()` knows: nothing of it was shown. */
export class UnrecognizedSourceError extends TypeError {
  constructor(readonly received: string) {
    super(
      `pipe() does not recognise this source: its first chunk is ${received}. It reads strings, bytes, openai chat chunks and Responses events, ` +
        'Vercel AI SDK fullStream parts and UI message chunks, Anthropic stream events, LangChain AIMessageChunks and streamEvents',
    );
    this.name = 'UnrecognizedSourceError';
  }
}

/** Turns the chunks of one stream into answer events; the first chunk picks the adapter. */
export class SourceDecoder {
  #reader: ChunkReader | undefined;
  /** The adapter the first chunk picked. */
  adapter: SourceAdapter | undefined;

  decode(chunk: unknown): AnswerEvent[] {
    if (!this.#reader) {
      this.adapter = adapterFor(chunk);
      if (!this.adapter) throw new UnrecognizedSourceError(describe(chunk));
      this.#reader = this.adapter.reader();
    }
    return this.#reader.read(chunk);
  }

  /** What the end of the stream completes. */
  end(): AnswerEvent[] {
    return this.#reader?.end?.() ?? [];
  }
}

/** Every answer event of a source, in order. */
export async function* answerEvents(source: StreamSource): AsyncGenerator<AnswerEvent> {
  const reader = readerOf(source);
  const decoder = new SourceDecoder();
  let done = false;
  try {
    for (;;) {
      const next = await reader.next();
      if (next.done) break;
      yield* decoder.decode(next.value);
    }
    done = true;
    yield* decoder.end();
  } finally {
    // Stopping early (abort, error) releases the source, so the model request behind it ends.
    if (!done) reader.cancel();
  }
}

/** The answer and reasoning text of a source, as pieces (what `pipe()` read before issue 11). */
export async function* textPieces(source: StreamSource): AsyncGenerator<TextPiece> {
  for await (const event of answerEvents(source)) if (event.kind === 'answer' || event.kind === 'reasoning') yield event;
}

/** The text one chunk carries, read on its own (a tool call's pieces need the stream: use `answerEvents`). */
export function pieceOf(chunk: unknown): TextPiece | undefined {
  const adapter = adapterFor(chunk);
  if (!adapter) throw new UnrecognizedSourceError(describe(chunk));
  const texts = adapter
    .reader()
    .read(chunk)
    .filter((event): event is TextPiece => event.kind === 'answer' || event.kind === 'reasoning');
  if (texts.length === 0) return undefined;
  return { kind: texts[0]!.kind, text: texts.map((piece) => piece.text).join('') };
}

/** How a chunk is named in an error: its type, and an object's keys (never its values, which may hold secrets). */
export function describe(chunk: unknown): string {
  if (chunk === null) return 'null';
  if (Array.isArray(chunk)) return `an array of ${chunk.length}`;
  if (typeof chunk !== 'object') return `a ${typeof chunk}`;
  const name = (chunk).constructor?.name;
  const keys = Object.keys(chunk).slice(0, 8);
  const kind = name && name !== 'Object' ? `a ${name}` : 'an object';
  return keys.length === 0 ? `${kind} with no keys` : `${kind} with keys ${keys.join(', ')}${Object.keys(chunk).length > 8 ? ', …' : ''}`;
}
