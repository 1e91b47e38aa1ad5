export { type StreamSource, type TextPiece, assertSource, pieceOf, textPieces } from './text-source.js';
