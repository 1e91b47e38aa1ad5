/**
 * The answer and reasoning text in a content block. Providers name these blocks differently (OpenAI,
 * Anthropic, Google, Bedrock); both an AI message's content and the content-block protocol carry them.
 */
import type { TextPiece } from '../answer-events.js';
import { type Fields, isRecord } from './fields.js';

export const TEXT_BLOCKS = new Set(['text', 'text_delta', 'refusal']);
export const REASONING_BLOCKS = new Set(['reasoning', 'thinking', 'thinking_delta', 'reasoning_content']);

/** The answer or reasoning text a content block carries, if it is a text or reasoning block. */
export function blockText(block: Fields): TextPiece | undefined {
  switch (block.type) {
    case 'text':
    case 'text_delta':
      // Google marks a thought as a text part with `thought: true`.
      if (typeof block.text === 'string') return { kind: block.thought === true ? 'reasoning' : 'answer', text: block.text };
      return undefined;
    case 'refusal':
      return typeof block.refusal === 'string' ? { kind: 'answer', text: block.refusal } : undefined;
    case 'reasoning':
      return typeof block.reasoning === 'string' ? { kind: 'reasoning', text: block.reasoning } : undefined;
    case 'thinking':
    case 'thinking_delta':
      return typeof block.thinking === 'string' ? { kind: 'reasoning', text: block.thinking } : undefined;
    case 'reasoning_content': {
      // Bedrock Converse: `reasoningText` is `{ text, signature }` or a string.
      const reasoning = isRecord(block.reasoningText) ? block.reasoningText.text : block.reasoningText;
      return typeof reasoning === 'string' ? { kind: 'reasoning', text: reasoning } : undefined;
    }
    default:
      return undefined;
  }
}
