/**
 * A LangChain message recognised by shape (an instance, a plain dict of one, or its serialized
 * `{ lc: 1, type: 'constructor', id, kwargs }` form), and what a ToolMessage says: every reader starts
 * from these, whatever stream the message came in.
 */
import type { AnswerEvent } from '../answer-events.js';
import { type Fields, isRecord, textOf } from './fields.js';

export interface LangChainMessage {
  /** `ai`, `tool`, `human`, `system`, `function`, `chat`, `generic`, `remove`, `developer`. */
  kind: string;
  fields: Fields;
}

const MESSAGE_TYPES = new Set(['ai', 'tool', 'human', 'system', 'function', 'chat', 'generic', 'remove', 'developer']);
const MESSAGE_CLASS = /^(AI|Human|System|Tool|Function|Chat|Remove)Message(?:Chunk)?$/;

/** A LangChain message: an instance (its own `type` field), a plain dict of one, or its serialized form. */
export function messageOf(value: unknown): LangChainMessage | undefined {
  if (!isRecord(value)) return undefined;
  if (value.lc === 1 && value.type === 'constructor' && Array.isArray(value.id) && isRecord(value.kwargs)) {
    const kind = messageKind(value.id.at(-1));
    return kind === undefined ? undefined : { kind, fields: value.kwargs };
  }
  if (!('content' in value)) return undefined;
  let kind = messageKind(value.type);
  // Instances made before messages had a `type` field say it through `_getType()`.
  if (kind === undefined && typeof value._getType === 'function' && Array.isArray(value.lc_namespace)) {
    kind = messageKind((value._getType as () => unknown).call(value));
  }
  return kind === undefined ? undefined : { kind, fields: value };
}

function messageKind(name: unknown): string | undefined {
  if (typeof name !== 'string') return undefined;
  if (MESSAGE_TYPES.has(name)) return name;
  return MESSAGE_CLASS.exec(name)?.[1]?.toLowerCase();
}

/** A ToolMessage: its content as the result, or as the error when its status says the tool failed. */
export function toolMessageEvents(fields: Fields, id: string): AnswerEvent {
  if (fields.status === 'error') return { kind: 'tool-error', id, error: textOf(fields.content) };
  return { kind: 'tool-result', id, output: fields.content };
}
