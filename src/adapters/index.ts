export { type StreamSource, type TextPiece, pieceOf, textPieces } from './text-source.js';
