export { openaiChatAdapter, openaiResponsesAdapter } from './openai/index.js';
