/** CardKit card-level endpoints (reference §1–§4, §10). */
import { randomInt } from 'node:crypto';
import { type Json, type JsonObject, isObject } from '../card-tree.js';
import { checkCardLimits, parseCard, parseJsonField } from '../card-rules.js';
import { writeCard } from '../card-write.js';
import type { RequestContext } from '../context.js';
import {
  addElements,
  applySettings,
  deleteElements,
  parseInsertType,
  patchElement,
  replaceElement,
} from '../element-ops.js';
import { badParam } from '../errors.js';
import { SCOPES } from '../scopes.js';
import type { CardEntity } from '../state.js';
import { closeStreaming, isStreaming, openStreaming } from '../streaming.js';
import type { Route } from './route.js';

const CARDS = '/open-apis/cardkit/v1/cards';

/** Card ids look like Feishu's: 19 digits. */
export function newCardId(): string {
  return `7${String(randomInt(1e8, 1e9))}${String(randomInt(1e8, 1e9))}`;
}

/** Stores a new card entity; streaming mode follows its `config.streaming_mode` and starts its window now. */
export function createCardEntity(ctx: RequestContext, json: JsonObject, endpoint: string): CardEntity {
  const now = ctx.clock.now();
  const card: CardEntity = {
    cardId: newCardId(),
    appId: ctx.appId,
    tenantKey: ctx.tenantKey,
    json,
    sequence: 0,
    uuids: new Set(),
    createdAt: now,
    expiresAt: now + ctx.options.cardLifetimeMs,
    streaming: { open: false, openedAt: now, timeoutReported: false },
    messageId: null,
    interactionUntil: 0,
    log: [],
  };
  if (isObject(json.config) && json.config.streaming_mode === true) openStreaming(card, now);
  ctx.state.cards.set(card.cardId, card);
  ctx.state.logWrite(card, { time: now, endpoint, sequence: null, uuid: null, code: 0 });
  return card;
}

const create: Route = {
  method: 'POST',
  path: CARDS,
  endpoint: 'cardkit.card.create',
  auth: true,
  scopes: SCOPES.cardWrite,
  handle(ctx) {
    const { type, data } = ctx.body;
    if (type === 'template') {
      throw badParam('type "template" (builder-tool cards) is not supported by the emulator; send type "card_json"');
    }
    if (type !== 'card_json') throw badParam('type must be "card_json" or "template"');
    const json = parseCard(data, 3_000_000);
    checkCardLimits(json, ctx.options);
    return { card_id: createCardEntity(ctx, json, this.endpoint).cardId };
  },
};

const update: Route = {
  method: 'PUT',
  path: `${CARDS}/:card_id`,
  endpoint: 'cardkit.card.update',
  auth: true,
  scopes: SCOPES.cardWrite,
  handle(ctx) {
    writeCard(ctx, {
      parse() {
        const wrapper = ctx.body.card;
        if (!isObject(wrapper)) throw badParam('card must be an object { type: "card_json", data }');
        if (wrapper.type !== 'card_json') throw badParam('card.type must be "card_json"');
        return parseCard(wrapper.data);
      },
      apply(draft, json, card, now) {
        for (const key of Object.keys(draft)) delete draft[key];
        Object.assign(draft, json);
        // Undocumented (reference §19.7): streaming follows the new card's config; an already open
        // window is not restarted by a full update, only by settings.
        const wantsStreaming = isObject(json.config) && json.config.streaming_mode === true;
        const timeout = ctx.options.streamingTimeoutMs;
        return () => {
          if (!wantsStreaming) closeStreaming(card);
          else if (!isStreaming(card, now, timeout)) openStreaming(card, now);
        };
      },
    });
    return {};
  },
};

/** Opens or closes the streaming window once a settings write that names `streaming_mode` commits. */
function streamingEffect(card: CardEntity, now: number, mode: boolean | undefined): (() => void) | undefined {
  if (mode === undefined) return undefined;
  return () => (mode ? openStreaming(card, now) : closeStreaming(card));
}

const settings: Route = {
  method: 'PATCH',
  path: `${CARDS}/:card_id/settings`,
  endpoint: 'cardkit.card.settings',
  auth: true,
  scopes: SCOPES.cardWrite,
  handle(ctx) {
    writeCard(ctx, {
      parse: () => parseJsonField('settings', ctx.body.settings),
      apply(draft, parsed, card, now) {
        return streamingEffect(card, now, applySettings(draft, parsed, ctx.options.acceptFlatSettings));
      },
    });
    return {};
  },
};

/** Applies batch actions in order to one draft: all of them land, or none (reference §19.8). */
function applyAction(ctx: RequestContext, draft: JsonObject, action: Json, index: number): boolean | undefined {
  if (!isObject(action) || typeof action.action !== 'string' || !isObject(action.params)) {
    throw badParam(`actions[${index}] must be { action, params }`);
  }
  const p = action.params;
  switch (action.action) {
    case 'partial_update_setting':
      return applySettings(draft, p.settings ?? null, ctx.options.acceptFlatSettings);
    case 'add_elements':
      addElements(draft, parseInsertType(p.type), optionalString(p.target_element_id), p.elements ?? null);
      return undefined;
    case 'delete_elements':
      deleteElements(draft, p.element_ids ?? null);
      return undefined;
    case 'partial_update_element':
      patchElement(draft, requiredString(p.element_id, 'element_id'), p.partial_element ?? null);
      return undefined;
    case 'update_element':
      replaceElement(draft, requiredString(p.element_id, 'element_id'), p.element ?? null);
      return undefined;
    default:
      throw badParam(`actions[${index}].action ${JSON.stringify(action.action)} is not a known action`);
  }
}

const batchUpdate: Route = {
  method: 'POST',
  path: `${CARDS}/:card_id/batch_update`,
  endpoint: 'cardkit.card.batchUpdate',
  auth: true,
  scopes: SCOPES.cardWrite,
  handle(ctx) {
    writeCard(ctx, {
      parse() {
        const actions = parseJsonField('actions', ctx.body.actions);
        if (!Array.isArray(actions) || actions.length === 0) throw badParam('actions must be a non-empty JSON array');
        return actions;
      },
      apply(draft, actions, card, now) {
        let mode: boolean | undefined;
        actions.forEach((action, i) => {
          mode = applyAction(ctx, draft, action, i) ?? mode;
        });
        return streamingEffect(card, now, mode);
      },
    });
    return {};
  },
};

/** Deprecated on the platform but still served: the card entity behind a sent card message. */
const idConvert: Route = {
  method: 'POST',
  path: `${CARDS}/id_convert`,
  endpoint: 'cardkit.card.idConvert',
  auth: true,
  scopes: SCOPES.cardRead,
  handle(ctx) {
    const messageId = requiredString(ctx.body.message_id, 'message_id');
    const message = ctx.state.messages.get(messageId);
    if (!message || message.appId !== ctx.appId || message.tenantKey !== ctx.tenantKey || message.msgType !== 'interactive') {
      throw badParam(`message_id ${messageId} is not an interactive message of this app in this tenant`);
    }
    if (message.cardId) return { card_id: message.cardId };
    const json = parseCard(message.content);
    const card = createCardEntity(ctx, json, this.endpoint);
    card.messageId = message.messageId;
    message.cardId = card.cardId;
    return { card_id: card.cardId };
  },
};

export function requiredString(raw: unknown, name: string): string {
  if (typeof raw !== 'string' || raw === '') throw badParam(`${name} is required`);
  return raw;
}

function optionalString(raw: unknown): string | undefined {
  return typeof raw === 'string' ? raw : undefined;
}

export const cardRoutes: Route[] = [idConvert, create, update, settings, batchUpdate];
