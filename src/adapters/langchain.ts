export { langchainChunkAdapter, langchainEventsAdapter } from './langchain/index.js';
