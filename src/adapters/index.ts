export {
  type StreamSource,
  type TextPiece,
  type SourceReader,
  PieceDecoder,
  assertSource,
  pieceOf,
  readerOf,
  textPieces,
} from './text-source.js';
