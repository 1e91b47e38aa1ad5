import type { JsonObject } from './card-tree.js';

/**
 * Platform error codes the emulator answers with, and the messages and HTTP statuses it uses for them.
 * Codes and statuses follow the reference (shared/feishu-cardkit-reference.md §17): every documented
 * CardKit and IM business error is HTTP 400; the gateway's frequency limit is 429.
 */
export const ERRORS = {
  10002: 'invalid request parameter',
  10003: 'invalid param',
  10012: 'get app access token failed',
  10013: 'get tenant access token failed',
  10015: 'app secret invalid',
  10016: 'app resend fail',
  200220: 'Failed to generate card content',
  200510: 'Card streaming timeout',
  200740: 'card entity not found',
  200750: 'card entity has expired',
  200770: 'UUID conflict',
  200810: 'card is in an ongoing interaction, please retry later',
  200850: 'card streaming timeout',
  200860: 'card content exceeds the size limit of 30 KB',
  200861: 'cards of schema V2 no longer support this capability',
  230001: 'Your request contains an invalid request parameter.',
  230002: 'The bot is not in the chat.',
  230009: 'The recall window for this message has passed',
  230011: 'The message is recalled.',
  230020: 'This operation triggers the frequency limit',
  230025: 'The message content is too long',
  230026: 'No permission to recall this message',
  230027: 'Lack of necessary permissions',
  230031: 'message is older than 14 days and cannot be updated',
  230049: 'The message is being sent',
  230110: 'Action unavailable as the message has been deleted',
  230099: 'Failed to create card content',
  1500: 'internal error',
  1663: 'internal error',
  2200: 'Internal Error',
  300120: 'Server Internal Error, please ensure the sequence is increasing and retry later',
  300121: 'failed to replace element',
  300122: 'failed to update card configuration',
  300301: 'duplicate or malformed element_id',
  300302: 'update_multi must be true for a shared card',
  300303: 'only card JSON schema 2.0 is supported',
  300305: 'element exceeds the limit',
  300307: 'card DSL is empty',
  300309: 'streaming mode is closed',
  300310: 'only plain_text and markdown elements can be streamed',
  300311: 'the app is not the creator of this card entity',
  300312: 'unable to update element tag',
  300313: 'not find elementID',
  300314: 'failed to delete element',
  300315: 'failed to add element',
  300317: 'sequence number compare failed',
  99991201: 'no such API',
  99991301: 'method not allowed for this API',
  99991400: 'request trigger frequency limit',
  99991661: 'Missing access token for authorization. Please make a request with token attached.',
  99991663: 'Invalid access token for authorization. Please make a request with token attached.',
  99991664: 'Invalid app access token.',
  99991671: 'Invalid access token for authorization: the token must be a tenant_access_token (t-) or a user_access_token (u-).',
  99991672: 'Access denied. One of the following scopes is required',
} as const satisfies Record<number, string>;

export type ErrorCode = keyof typeof ERRORS;

/** A platform error, raised anywhere in request handling and turned into the error envelope by the server. */
export class EmulatorError extends Error {
  readonly code: number;
  /** What went wrong beyond the code's standard text, when known. */
  readonly detail: string | undefined;
  readonly httpStatus: number;
  readonly headers: Record<string, string>;
  /** Fields the envelope's `error` object carries besides `log_id` and `troubleshooter` (99991672: `permission_violations`). */
  readonly errorFields: JsonObject;

  /** `options.msg` replaces the whole `msg` (for layouts the platform fixes, such as 230099's `ext=`). */
  constructor(
    code: number,
    detail?: string,
    options: { httpStatus?: number; headers?: Record<string, string>; msg?: string; errorFields?: JsonObject } = {},
  ) {
    const base = (ERRORS as Record<number, string>)[code] ?? 'error';
    super(options.msg ?? (detail ? `${base}: ${detail}` : base));
    this.name = 'EmulatorError';
    this.code = code;
    this.detail = detail;
    this.httpStatus = options.httpStatus ?? 400;
    this.headers = options.headers ?? {};
    this.errorFields = options.errorFields ?? {};
  }
}

/** Shorthand for the 10002 parameter error, the most common rejection. */
export function badParam(detail: string): EmulatorError {
  return new EmulatorError(10002, detail);
}
