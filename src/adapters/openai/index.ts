/**
 * The `openai` package's streams as answer events (issue 11). Shapes are read structurally, so
 * `openai` is never imported at run time.
 *
 * - {@link openaiChatAdapter}: chat completion chunks (chat.ts; its tool calls: chat-tool-calls.ts).
 * - {@link openaiResponsesAdapter}: Responses stream events (responses.ts; what output items say:
 *   responses-items.ts).
 *
 * The helpers (`chat.completions.stream()`, `runTools()`, `responses.stream()`) hand out only the chunks
 * emitted after iteration began, and one first iterated after it ended never yields nor ends: whoever
 * reads them must call `[Symbol.asyncIterator]()` (or `toReadableStream()`) at once.
 */
export { openaiChatAdapter } from './chat.js';
export { openaiResponsesAdapter } from './responses.js';
