/** IM v1 message endpoints used with cards (reference §11), named after the official SDK: `im.v1.message.*`. */
import type { CallOptions, Requester } from './requester.js';
import type { Message, MessageCreateArgs, MessagePatchArgs, MessageReplyArgs } from './types.js';
import { jsonField, optionalUuid, requireOneOf, requireString } from './validate.js';

const MESSAGES = '/open-apis/im/v1/messages';
const RECEIVE_ID_TYPES = ['open_id', 'union_id', 'user_id', 'email', 'chat_id'] as const;

export class MessageApi {
  constructor(private readonly requester: Requester) {}

  /**
   * Sends a message; for a card entity pass `content: cardEntityContent(card_id)`.
   * @example await client.im.v1.message.create({ receive_id_type: 'chat_id', receive_id: 'oc_…', content: cardEntityContent(cardId) })
   */
  create(args: MessageCreateArgs, options: CallOptions = {}): Promise<Message> {
    const receiveIdType = requireOneOf(args?.receive_id_type, RECEIVE_ID_TYPES, 'receive_id_type');
    const uuid = optionalUuid(args.uuid, 50);
    return this.requester.call({
      ...options,
      endpoint: 'im.message.create',
      method: 'POST',
      path: MESSAGES,
      query: { receive_id_type: receiveIdType },
      body: {
        receive_id: requireString(args.receive_id, 'receive_id'),
        msg_type: requireString(args.msg_type ?? 'interactive', 'msg_type'),
        content: jsonField(args.content, 'content'),
        ...(uuid === undefined ? {} : { uuid }),
      },
    });
  }

  /** Replies to a message, optionally in a thread. */
  reply(args: MessageReplyArgs, options: CallOptions = {}): Promise<Message> {
    const messageId = requireString(args?.message_id, 'message_id');
    const uuid = optionalUuid(args.uuid, 50);
    if (args.reply_in_thread !== undefined && typeof args.reply_in_thread !== 'boolean') {
      throw new TypeError('reply_in_thread must be a boolean');
    }
    return this.requester.call({
      ...options,
      endpoint: 'im.message.reply',
      method: 'POST',
      path: `${MESSAGES}/${encodeURIComponent(messageId)}/reply`,
      body: {
        msg_type: requireString(args.msg_type ?? 'interactive', 'msg_type'),
        content: jsonField(args.content, 'content'),
        ...(args.reply_in_thread === undefined ? {} : { reply_in_thread: args.reply_in_thread }),
        ...(uuid === undefined ? {} : { uuid }),
      },
    });
  }

  /** Updates a sent card message (a shared card, inline JSON) as a whole. */
  patch(args: MessagePatchArgs, options: CallOptions = {}): Promise<Record<string, never>> {
    const messageId = requireString(args?.message_id, 'message_id');
    return this.requester.call({
      ...options,
      endpoint: 'im.message.patch',
      method: 'PATCH',
      path: `${MESSAGES}/${encodeURIComponent(messageId)}`,
      body: { content: jsonField(args.content, 'content') },
    });
  }
}
