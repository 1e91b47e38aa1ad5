/**
 * What the card renderer refuses in Card JSON 2.0 content (reference §27): components that 2.0 dropped
 * (200861, seed 004's sub-code table) and more markdown tables than the cap (11310, "card table number over
 * limit"). The platform reports both in one `ext=` layout: inside 230099's msg on IM, and, for the emulator's
 * CardKit answers, after "Failed to generate card content".
 */
import { type Json, type JsonObject, bodyOf, isElement, walkElements } from './card-tree.js';
import { EmulatorError } from './errors.js';
import { countMarkdownTables } from './markdown-tables.js';

/** Components Card JSON 1.0 had and 2.0 no longer supports: the `note` component and the `action` module. */
export const DROPPED_TAGS: ReadonlySet<string> = new Set(['action', 'note']);

/** The table cap as resolved from the options (see `EmulatorOptions.tableLimit`). */
export interface TableLimit {
  max: number;
  per: 'markdown' | 'card';
  cardKitCode: number;
}

/** One refused piece of content, in the fields of the platform's `ext=` layout. */
export interface ContentViolation {
  subCode: number;
  errPath?: string;
  errMsg: string;
  errorValue: string;
}

/** `ErrCode: N; [ErrPath: …; ]ErrMsg: …; ErrorValue: …; ` as in seed 004's sub-code table. */
export function extText(violation: ContentViolation): string {
  const path = violation.errPath === undefined ? '' : `ErrPath: ${violation.errPath}; `;
  return `ErrCode: ${violation.subCode}; ${path}ErrMsg: ${violation.errMsg}; ErrorValue: ${violation.errorValue}; `;
}

/** A CardKit answer for refused content: `code`, and the violation in the `ext=` layout. */
export class CardContentError extends EmulatorError {
  constructor(
    code: number,
    readonly violation: ContentViolation,
  ) {
    super(code, violation.errMsg, { msg: `Failed to generate card content, ext=${extText(violation)}` });
  }
}

function unsupportedTag(tag: string, errPath: string): ContentViolation {
  return { subCode: 200861, errPath, errMsg: 'cards of schema V2 no longer support this capability', errorValue: `unsupported tag ${tag}` };
}

/** A step from the card root down to a node; the path is only spelled out for the node that is refused. */
interface Trail {
  step: string;
  parent: Trail | null;
}

function spell(trail: Trail): string {
  const steps: string[] = [];
  for (let at: Trail | null = trail; at !== null; at = at.parent) steps.push(at.step);
  return steps.reverse().join(' -> ');
}

/** The first component (document order) whose tag 2.0 dropped, with its path as the platform prints it. */
export function droppedTag(card: JsonObject): ContentViolation | null {
  const body = bodyOf(card);
  if (body === null) return null;
  // Iterative depth-first walk; parsed input nests at most MAX_DEPTH levels anyway.
  const stack: { node: Json; trail: Trail }[] = [{ node: body, trail: { step: 'body', parent: { step: 'ROOT', parent: null } } }];
  while (stack.length > 0) {
    const { node, trail } = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (node !== body && isElement(node) && DROPPED_TAGS.has(node.tag as string)) {
      return unsupportedTag(node.tag as string, spell(trail));
    }
    // Children pushed last first, so they are visited in document order.
    const entries: [number | string, Json][] = Array.isArray(node) ? [...node.entries()] : Object.entries(node);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      if (typeof child !== 'object' || child === null) continue;
      const tag = isElement(child) ? (child.tag as string) : undefined;
      const step = `${typeof key === 'number' ? `[${key}]` : key}${tag === undefined ? '' : `(tag: ${tag})`}`;
      stack.push({ node: child, trail: { step, parent: trail } });
    }
  }
  return null;
}

/**
 * More tables than the cap: in one markdown component (`per: 'markdown'`, the documented rule), or in the
 * whole card counting markdown tables and `table` components together (`per: 'card'`, the field reports).
 */
export function tablesOverLimit(card: JsonObject, limit: TableLimit): ContentViolation | null {
  let tables = 0;
  let over = false;
  walkElements(bodyOf(card), ({ element }) => {
    if (over) return;
    if (element.tag === 'table' && limit.per === 'card') tables++;
    else if (element.tag === 'markdown' && typeof element.content === 'string') {
      const own = countMarkdownTables(element.content);
      tables = limit.per === 'card' ? tables + own : own;
    } else return;
    over = tables > limit.max;
  });
  return over ? { subCode: 11310, errMsg: 'card table number over limit', errorValue: 'table' } : null;
}
