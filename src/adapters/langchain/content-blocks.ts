/**
 * The content-block protocol of @langchain/core 1.x (`ChatModelStreamEvent`): what a chat model's
 * `streamEvents(input)` yields without a version (`message-start`, `content-block-start`,
 * `content-block-delta` …). Its usage is a snapshot, not a delta, and its tool calls may come as
 * argument pieces or as snapshots, so it has its own reader.
 */
import type { AnswerEvent } from '../answer-events.js';
import { type Fields, isRecord, nonEmpty } from './fields.js';
import { blockText } from './text-blocks.js';
import { ToolCalls } from './tool-calls.js';
import { EVENTS_SOURCE, unhandled } from './unhandled.js';
import { usageOf } from './usage.js';

/** How a content-block protocol stream (@langchain/core 1.x `BaseChatModel.streamEvents(input)`) can begin. */
export const FIRST_BLOCK_EVENTS = new Set(['message-start', 'content-block-start', 'content-block-delta', 'content-block-finish', 'message-finish']);

/** Provider passthrough events with nothing for the card: model name, service tier, log probabilities. */
const IGNORED_PROVIDER_EVENTS = new Set(['stream_metadata', 'logprobs']);

export class BlockEventsReader {
  readonly #calls: ToolCalls;
  /** The last usage said, so a snapshot repeated (`message-finish` repeats the last `usage`) is said once. */
  #usage = '';

  constructor(newId: () => string) {
    this.#calls = new ToolCalls(newId);
  }

  read(event: Fields): AnswerEvent[] {
    const index = typeof event.index === 'number' ? event.index : 0;
    const key = `block:${index}`;
    switch (event.event) {
      case 'message-start':
        return this.#usageEvents(event.usage);
      case 'content-block-start': {
        const content = isRecord(event.content) ? event.content : {};
        const type = String(content.type);
        const text = blockText(content);
        if (text !== undefined) return text.text === '' ? [] : [text];
        if (type === 'tool_call_chunk') return this.#calls.chunk(content, key);
        if (type === 'tool_call' || type === 'invalid_tool_call') return this.#calls.whole(content, key);
        return [unhandled(EVENTS_SOURCE, `content:${type}`)];
      }
      case 'content-block-delta':
        return this.#delta(key, isRecord(event.delta) ? event.delta : {});
      case 'content-block-finish': {
        const content = isRecord(event.content) ? event.content : {};
        return content.type === 'tool_call' || content.type === 'invalid_tool_call' ? this.#calls.whole(content, key) : [];
      }
      case 'usage':
        return this.#usageEvents(event.usage);
      case 'message-finish': {
        const meta = isRecord(event.responseMetadata) ? event.responseMetadata : {};
        const reason = nonEmpty(meta.finish_reason) ?? nonEmpty(event.reason) ?? 'stop';
        return [...this.#calls.complete(), ...this.#usageEvents(event.usage), { kind: 'finish', reason }];
      }
      case 'provider':
        return IGNORED_PROVIDER_EVENTS.has(String(event.name)) ? [] : [unhandled(EVENTS_SOURCE, `provider:${String(event.name)}`)];
      case 'error':
        return [{ kind: 'error', error: new Error(typeof event.message === 'string' ? event.message : 'LangChain stream error') }];
      default:
        return [unhandled(EVENTS_SOURCE, String(event.event))];
    }
  }

  end(): AnswerEvent[] {
    return this.#calls.complete();
  }

  /** A usage snapshot of this protocol replaces the earlier one, as usage events do. */
  #usageEvents(metadata: unknown): AnswerEvent[] {
    const usage = usageOf(metadata);
    const said = JSON.stringify(usage);
    if (!usage || said === this.#usage) return [];
    this.#usage = said;
    return [{ kind: 'usage', usage }];
  }

  #delta(key: string, delta: Fields): AnswerEvent[] {
    switch (delta.type) {
      case 'text-delta':
        return typeof delta.text === 'string' && delta.text !== '' ? [{ kind: 'answer', text: delta.text }] : [];
      case 'reasoning-delta':
        return typeof delta.reasoning === 'string' && delta.reasoning !== '' ? [{ kind: 'reasoning', text: delta.reasoning }] : [];
      case 'tool-call-delta':
        return this.#calls.chunk({ args: delta.args }, key);
      case 'block-delta': {
        const fields = isRecord(delta.fields) ? delta.fields : {};
        if (fields.type !== 'tool_call_chunk') return [];
        const events = this.#calls.chunk({ id: fields.id, name: fields.name }, key);
        return typeof fields.args === 'string' ? events.concat(this.#calls.snapshot(key, fields.args)) : events;
      }
      case 'data-delta':
        // Data of an image or audio block, reported unhandled at its start.
        return [];
      default:
        return [unhandled(EVENTS_SOURCE, `delta:${String(delta.type)}`)];
    }
  }
}
