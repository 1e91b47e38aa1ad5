/** CardKit element-level endpoints, streaming content among them (reference §5–§9, §12). */
import { findElement, isObject } from '../card-tree.js';
import { ELEMENT_ID_PATTERN, STREAMABLE_TAGS, charLength, parseJsonField } from '../card-rules.js';
import { writeCard } from '../card-write.js';
import type { RequestContext } from '../context.js';
import { addElements, deleteElements, parseInsertType, patchElement, replaceElement } from '../element-ops.js';
import { EmulatorError, badParam } from '../errors.js';
import { SCOPES } from '../scopes.js';
import { requireStreaming } from '../streaming.js';
import type { Route } from './route.js';

const ELEMENTS = '/open-apis/cardkit/v1/cards/:card_id/elements';
export const MAX_CONTENT_CHARS = 100_000;

function pathElementId(ctx: RequestContext): string {
  const id = ctx.params.element_id ?? '';
  if (!ELEMENT_ID_PATTERN.test(id)) throw badParam(`element_id ${JSON.stringify(id)} is not a valid element id`);
  return id;
}

const add: Route = {
  method: 'POST',
  path: ELEMENTS,
  endpoint: 'cardkit.cardElement.create',
  auth: true,
  scopes: SCOPES.cardWrite,
  handle(ctx) {
    writeCard(ctx, {
      parse() {
        const target = ctx.body.target_element_id;
        if (target !== undefined && (typeof target !== 'string' || target.length > 20)) {
          throw badParam('target_element_id must be a string of at most 20 characters');
        }
        return { type: parseInsertType(ctx.body.type), target, elements: parseJsonField('elements', ctx.body.elements) };
      },
      apply: (draft, { type, target, elements }) => addElements(draft, type, target, elements),
    });
    return {};
  },
};

const update: Route = {
  method: 'PUT',
  path: `${ELEMENTS}/:element_id`,
  endpoint: 'cardkit.cardElement.update',
  auth: true,
  scopes: SCOPES.cardWrite,
  handle(ctx) {
    writeCard(ctx, {
      elementId: ctx.params.element_id,
      parse: () => ({ elementId: pathElementId(ctx), element: parseJsonField('element', ctx.body.element) }),
      apply: (draft, { elementId, element }) => replaceElement(draft, elementId, element),
    });
    return {};
  },
};

const patch: Route = {
  method: 'PATCH',
  path: `${ELEMENTS}/:element_id`,
  endpoint: 'cardkit.cardElement.patch',
  auth: true,
  scopes: SCOPES.cardWrite,
  handle(ctx) {
    writeCard(ctx, {
      elementId: ctx.params.element_id,
      parse: () => ({ elementId: pathElementId(ctx), partial: parseJsonField('partial_element', ctx.body.partial_element) }),
      contentLength: ({ partial }) => (isObject(partial) && typeof partial.content === 'string' ? partial.content.length : undefined),
      apply: (draft, { elementId, partial }) => patchElement(draft, elementId, partial),
    });
    return {};
  },
};

const content: Route = {
  method: 'PUT',
  path: `${ELEMENTS}/:element_id/content`,
  endpoint: 'cardkit.cardElement.content',
  auth: true,
  scopes: SCOPES.cardWrite,
  handle(ctx) {
    writeCard(ctx, {
      elementId: ctx.params.element_id,
      parse() {
        const elementId = pathElementId(ctx);
        const text = ctx.body.content;
        if (typeof text !== 'string') throw badParam('content is required and must be a string');
        const length = charLength(text);
        if (length < 1 || length > MAX_CONTENT_CHARS) {
          throw badParam(`content must be 1..${MAX_CONTENT_CHARS} characters; received ${length}`);
        }
        return { elementId, text };
      },
      contentLength: ({ text }) => text.length,
      apply(draft, { elementId, text }, card, now) {
        const slot = findElement(draft, elementId);
        if (!slot) throw new EmulatorError(300313, `not find elementID : ${elementId}`);
        if (!STREAMABLE_TAGS.has(slot.element.tag as string)) {
          throw new EmulatorError(300310, `element ${elementId} is a ${JSON.stringify(slot.element.tag)}`);
        }
        requireStreaming(card, now, ctx.options.streamingTimeoutMs);
        slot.element.content = text;
      },
    });
    return {};
  },
};

const remove: Route = {
  method: 'DELETE',
  path: `${ELEMENTS}/:element_id`,
  endpoint: 'cardkit.cardElement.delete',
  auth: true,
  scopes: SCOPES.cardWrite,
  handle(ctx) {
    writeCard(ctx, {
      elementId: ctx.params.element_id,
      parse: () => pathElementId(ctx),
      apply: (draft, elementId) => deleteElements(draft, [elementId]),
    });
    return {};
  },
};

export const elementRoutes: Route[] = [add, content, update, patch, remove];
