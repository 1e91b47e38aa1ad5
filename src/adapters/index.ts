export { type StreamSource, type SourceReader, assertSource, readerOf } from './text-source.js';
export type { AnswerEvent, AnswerEventKind, TextPiece, Usage, SourceAdapter, ChunkReader } from './answer-events.js';
export { ADAPTERS, SourceDecoder, UnrecognizedSourceError, adapterFor, answerEvents, describe, pieceOf, textPieces } from './registry.js';
