/** CardKit v1 endpoints (reference §1–§10), named after the official SDK: `cardkit.v1.card.*`, `cardkit.v1.cardElement.*`. */
import type { CallOptions, Requester } from './requester.js';
import type {
  CardBatchUpdateArgs,
  CardCreateArgs,
  CardSettingsArgs,
  CardUpdateArgs,
  CardWrite,
  ElementContentArgs,
  ElementCreateArgs,
  ElementDeleteArgs,
  ElementPatchArgs,
  ElementUpdateArgs,
} from './types.js';
import {
  jsonField,
  optionalUuid,
  requireContent,
  requireElementId,
  requireOneOf,
  requireSequence,
  requireString,
} from './validate.js';

const CARDS = '/open-apis/cardkit/v1/cards';
const INSERT_TYPES = ['insert_before', 'insert_after', 'append'] as const;

/** `sequence` and `uuid` of a write, checked; plus the card's path. */
function writeFields(args: CardWrite): { path: string; sequence: number; uuid?: string } {
  if (typeof args !== 'object' || args === null) throw new TypeError('arguments must be an object');
  const cardId = requireString(args.card_id, 'card_id', 20);
  const uuid = optionalUuid(args.uuid, 64);
  return {
    path: `${CARDS}/${encodeURIComponent(cardId)}`,
    sequence: requireSequence(args.sequence),
    ...(uuid === undefined ? {} : { uuid }),
  };
}

function elementPath(base: string, elementId: string): string {
  return `${base}/elements/${requireElementId(elementId)}`;
}

export class CardApi {
  constructor(private readonly requester: Requester) {}

  /** Creates a card entity. @example await client.cardkit.v1.card.create({ data: { schema: '2.0', body: { elements: [] } } }) */
  create(args: CardCreateArgs, options: CallOptions = {}): Promise<{ card_id: string }> {
    const type = requireOneOf(args?.type ?? 'card_json', ['card_json', 'template'], 'type');
    const data = jsonField(args.data, 'data');
    return this.requester.call({ ...options, endpoint: 'cardkit.card.create', method: 'POST', path: CARDS, body: { type, data } });
  }

  /** Replaces the whole card. */
  update(args: CardUpdateArgs, options: CallOptions = {}): Promise<Record<string, never>> {
    const { path, ...write } = writeFields(args);
    if (typeof args.card !== 'object' || args.card === null) throw new TypeError('card must be { type, data }');
    const card = { type: requireOneOf(args.card.type ?? 'card_json', ['card_json'], 'card.type'), data: jsonField(args.card.data, 'card.data') };
    return this.requester.call({ ...options, endpoint: 'cardkit.card.update', method: 'PUT', path, body: { ...write, card } });
  }

  /** Changes card settings: streaming mode, streaming_config, summary, card_link. */
  settings(args: CardSettingsArgs, options: CallOptions = {}): Promise<Record<string, never>> {
    const { path, ...write } = writeFields(args);
    const settings = jsonField(args.settings, 'settings');
    return this.requester.call({
      ...options,
      endpoint: 'cardkit.card.settings',
      method: 'PATCH',
      path: `${path}/settings`,
      body: { ...write, settings },
    });
  }

  /** Several element and settings changes under one sequence. */
  batchUpdate(args: CardBatchUpdateArgs, options: CallOptions = {}): Promise<Record<string, never>> {
    const { path, ...write } = writeFields(args);
    if (Array.isArray(args.actions) && args.actions.length === 0) throw new RangeError('actions must not be empty');
    const actions = jsonField(args.actions, 'actions');
    return this.requester.call({
      ...options,
      endpoint: 'cardkit.card.batchUpdate',
      method: 'POST',
      path: `${path}/batch_update`,
      body: { ...write, actions },
    });
  }

  /** Deprecated on the platform: the card entity behind a sent card message. */
  idConvert(args: { message_id: string }, options: CallOptions = {}): Promise<{ card_id: string }> {
    const messageId = requireString(args?.message_id, 'message_id', 50);
    return this.requester.call({
      ...options,
      endpoint: 'cardkit.card.idConvert',
      method: 'POST',
      path: `${CARDS}/id_convert`,
      body: { message_id: messageId },
    });
  }
}

export class CardElementApi {
  constructor(private readonly requester: Requester) {}

  /** Adds elements before or after a target, or appends them (to the body or into a container). */
  create(args: ElementCreateArgs, options: CallOptions = {}): Promise<Record<string, never>> {
    const { path, ...write } = writeFields(args);
    const type = requireOneOf(args.type, INSERT_TYPES, 'type');
    const target = args.target_element_id === undefined ? undefined : requireElementId(args.target_element_id, 'target_element_id');
    if (target === undefined && type !== 'append') throw new TypeError(`target_element_id is required for ${type}`);
    if (Array.isArray(args.elements) && args.elements.length === 0) throw new RangeError('elements must not be empty');
    const elements = jsonField(args.elements, 'elements');
    return this.requester.call({
      ...options,
      endpoint: 'cardkit.cardElement.create',
      method: 'POST',
      path: `${path}/elements`,
      body: { ...write, type, elements, ...(target === undefined ? {} : { target_element_id: target }) },
    });
  }

  /** Replaces an element whole. */
  update(args: ElementUpdateArgs, options: CallOptions = {}): Promise<Record<string, never>> {
    const { path, ...write } = writeFields(args);
    return this.requester.call({
      ...options,
      endpoint: 'cardkit.cardElement.update',
      method: 'PUT',
      path: elementPath(path, args.element_id),
      body: { ...write, element: jsonField(args.element, 'element') },
    });
  }

  /** Changes some properties of an element (not its tag). */
  patch(args: ElementPatchArgs, options: CallOptions = {}): Promise<Record<string, never>> {
    const { path, ...write } = writeFields(args);
    return this.requester.call({
      ...options,
      endpoint: 'cardkit.cardElement.patch',
      method: 'PATCH',
      path: elementPath(path, args.element_id),
      body: { ...write, partial_element: jsonField(args.partial_element, 'partial_element') },
    });
  }

  /**
   * Streams text: sets the full text of a markdown or plain_text element; the client types out what was appended.
   * @example await client.cardkit.v1.cardElement.content({ card_id, element_id: 'answer', content: 'Hello', sequence: 1 })
   */
  content(args: ElementContentArgs, options: CallOptions = {}): Promise<Record<string, never>> {
    const { path, ...write } = writeFields(args);
    return this.requester.call({
      ...options,
      endpoint: 'cardkit.cardElement.content',
      method: 'PUT',
      path: `${elementPath(path, args.element_id)}/content`,
      body: { ...write, content: requireContent(args.content) },
    });
  }

  /** Deletes an element (and everything nested in it). */
  delete(args: ElementDeleteArgs, options: CallOptions = {}): Promise<Record<string, never>> {
    const { path, ...write } = writeFields(args);
    return this.requester.call({
      ...options,
      endpoint: 'cardkit.cardElement.delete',
      method: 'DELETE',
      path: elementPath(path, args.element_id),
      body: write,
    });
  }
}
