export { FeishuClient, type FeishuClientOptions } from './client.js';
export {
  FeishuError,
  FeishuApiError,
  FeishuNetworkError,
  FeishuTimeoutError,
  categorize,
  isAlreadySent,
  isCardGone,
  isReplayApplied,
  type ErrorCategory,
  type FeishuErrorKind,
} from './errors.js';
export type { Domain } from './domain.js';
export type { CallOptions } from './requester.js';
export type { TokenProvider } from './token.js';
export { AppTicketTimeoutError } from './store-app.js';
export type { Transport, TransportRequest, TransportResponse, FetchLike } from './transport.js';
export * from './types.js';
export { ELEMENT_ID_PATTERN, INT32_MAX } from './validate.js';
export type { CardApi, CardElementApi } from './cardkit.js';
export type { MessageApi } from './im.js';
