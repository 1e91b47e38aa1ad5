/** Arguments and results of the typed endpoint methods. JSON-string fields accept objects. */

/** A Card JSON 2.0 object (`{ schema: '2.0', config, header, body }`), or its serialized string. */
export type CardJson = Record<string, unknown> | string;
/** One Card JSON 2.0 element or component. */
export type CardElement = Record<string, unknown>;

/** Fields every CardKit write on an existing card carries (reference §15). */
export interface CardWrite {
  card_id: string;
  /** Strictly greater than the previous write's on this card, int32. */
  sequence: number;
  /** Idempotency key, 1..64 characters. */
  uuid?: string;
}

export interface CardCreateArgs {
  /** Default `card_json`. */
  type?: 'card_json' | 'template';
  data: CardJson;
}

export interface CardUpdateArgs extends CardWrite {
  card: { type?: 'card_json'; data: CardJson };
}

export interface CardSettingsArgs extends CardWrite {
  /** `{ config: { streaming_mode, streaming_config, summary, … }, card_link }` or its JSON string. */
  settings: Record<string, unknown> | string;
}

export type BatchAction =
  | { action: 'partial_update_setting'; params: { settings: Record<string, unknown> } }
  | {
      action: 'add_elements';
      params: { type: InsertType; target_element_id?: string; elements: CardElement[] };
    }
  | { action: 'delete_elements'; params: { element_ids: string[] } }
  | { action: 'partial_update_element'; params: { element_id: string; partial_element: Record<string, unknown> } }
  | { action: 'update_element'; params: { element_id: string; element: CardElement } };

export interface CardBatchUpdateArgs extends CardWrite {
  actions: BatchAction[] | string;
}

export type InsertType = 'insert_before' | 'insert_after' | 'append';

export interface ElementCreateArgs extends CardWrite {
  type: InsertType;
  target_element_id?: string;
  elements: CardElement[] | string;
}

export interface ElementUpdateArgs extends CardWrite {
  element_id: string;
  element: CardElement | string;
}

export interface ElementPatchArgs extends CardWrite {
  element_id: string;
  partial_element: Record<string, unknown> | string;
}

export interface ElementContentArgs extends CardWrite {
  element_id: string;
  /** The element's full text so far (not a delta), 1..100,000 characters. */
  content: string;
}

export interface ElementDeleteArgs extends CardWrite {
  element_id: string;
}

export type ReceiveIdType = 'open_id' | 'union_id' | 'user_id' | 'email' | 'chat_id';

/** Message content: an object (serialized by the client) or a JSON string. */
export type MessageContent = Record<string, unknown> | string;

export interface MessageCreateArgs {
  receive_id_type: ReceiveIdType;
  receive_id: string;
  /** Default `interactive`. */
  msg_type?: string;
  /** For a card entity: `{ type: 'card', data: { card_id } }` (see `cardEntityContent`); or inline card JSON. */
  content: MessageContent;
  /** Idempotency key, 1..50 characters: one message per key per hour. */
  uuid?: string;
}

export interface MessageReplyArgs {
  message_id: string;
  msg_type?: string;
  content: MessageContent;
  reply_in_thread?: boolean;
  uuid?: string;
}

export interface MessagePatchArgs {
  message_id: string;
  /** Inline card JSON of a shared card (`config.update_multi: true`). */
  content: MessageContent;
}

export interface Message {
  message_id: string;
  root_id?: string;
  parent_id?: string;
  thread_id?: string;
  msg_type: string;
  create_time: string;
  update_time: string;
  deleted: boolean;
  updated: boolean;
  chat_id: string;
  sender: { id: string; id_type: string; sender_type: string; tenant_key?: string };
  body: { content: string };
}

/** The IM content that shows a CardKit card entity. */
export function cardEntityContent(cardId: string): { type: 'card'; data: { card_id: string } } {
  return { type: 'card', data: { card_id: cardId } };
}
