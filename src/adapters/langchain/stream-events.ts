/**
 * What `streamEvents(input, { version: 'v2' })` yields for a model, a chain, an agent or a graph.
 * Model events are read as AI message chunks, tool events as steps matched to the model's calls
 * (tool-runs.ts); a stream of `streamEvents(input)` without a version in @langchain/core 1.x goes to
 * the content-block protocol reader (content-blocks.ts).
 *
 * `on_tool_start` → tool-start + tool-call (unless the model's own call is that step), `on_tool_end` →
 * tool-result (a ToolMessage gives its `content`; one with `status: 'error'`, as LangGraph's ToolNode
 * returns a caught error, gives tool-error), `on_tool_error` → tool-error, `on_chat_model_end` → the
 * run's tool calls completed, its usage when its chunks carried none, and its finish when its chunks
 * said none (then `tool_calls` if it called tools, else `stop`: a chat model called inside a chain
 * streams no finish reason), `on_llm_stream` → answer.
 * Ignored by design: `on_chain_*`, `on_prompt_*`, `on_parser_*`, `on_retriever_*` (a graph's state and a
 * chain's plumbing repeat what the model events say), `on_chat_model_start`, `on_llm_start`, `on_llm_end`.
 * Anything else (`on_custom_event` …) is `unhandled`. Every chat model run in the stream is read,
 * nested ones too (a model called inside a tool): narrow with `streamEvents`' `includeNames`/`excludeTags`.
 */
import type { AnswerEvent, ChunkReader } from '../answer-events.js';
import { BlockEventsReader } from './content-blocks.js';
import { isRecord } from './fields.js';
import { messageOf } from './message-shape.js';
import { AiChunkReader } from './messages.js';
import { ToolCalls } from './tool-calls.js';
import { ToolRuns } from './tool-runs.js';
import { EVENTS_SOURCE, describe, unhandled } from './unhandled.js';
import { UsageTotals } from './usage.js';

/** Events that chain or graph plumbing emits around the model and tool events. */
const IGNORED_EVENTS = /^on_(chain|prompt|parser|retriever)_(start|stream|end|error)$|^on_(chat_model|llm)_start$|^on_llm_end$/;

export class StreamEventsReader implements ChunkReader {
  #ids = 0;
  readonly #usage = new UsageTotals();
  readonly #models = new Map<string, AiChunkReader>();
  readonly #toolRuns = new ToolRuns();
  #blocks: BlockEventsReader | undefined;

  read(chunk: unknown): AnswerEvent[] {
    if (!isRecord(chunk) || typeof chunk.event !== 'string') return [unhandled(EVENTS_SOURCE, describe(chunk))];
    const event = chunk.event;
    if (!event.startsWith('on_')) return (this.#blocks ??= new BlockEventsReader(() => this.#newId())).read(chunk);
    if (IGNORED_EVENTS.test(event)) return [];
    const data = isRecord(chunk.data) ? chunk.data : {};
    const runId = typeof chunk.run_id === 'string' ? chunk.run_id : '';
    switch (event) {
      case 'on_chat_model_stream': {
        const message = messageOf(data.chunk);
        if (message?.kind !== 'ai') return [unhandled(EVENTS_SOURCE, `${event}:${describe(data.chunk)}`)];
        const model = this.#model(runId);
        return this.#toolRuns.fromModel(model.read(message.fields), model.calls);
      }
      case 'on_chat_model_end': {
        const output = messageOf(data.output);
        const model = this.#model(runId);
        this.#models.delete(runId);
        return this.#toolRuns.fromModel(model.end(output?.kind === 'ai' ? output.fields : undefined), model.calls);
      }
      case 'on_llm_stream': {
        const text = isRecord(data.chunk) ? data.chunk.text : data.chunk;
        return typeof text === 'string' && text !== '' ? [{ kind: 'answer', text }] : [];
      }
      case 'on_tool_start':
        return this.#toolRuns.start(runId, typeof chunk.name === 'string' ? chunk.name : 'unknown', data.input);
      case 'on_tool_end':
        return this.#toolRuns.end(runId, data.output);
      case 'on_tool_error':
        return this.#toolRuns.error(runId, data.error);
      default:
        return [unhandled(EVENTS_SOURCE, event)];
    }
  }

  end(): AnswerEvent[] {
    const events: AnswerEvent[] = [];
    for (const model of this.#models.values()) events.push(...this.#toolRuns.fromModel(model.calls.complete(), model.calls));
    return [...events, ...(this.#blocks?.end() ?? [])];
  }

  #newId(): string {
    return `langchain-call-${++this.#ids}`;
  }

  #model(runId: string): AiChunkReader {
    let model = this.#models.get(runId);
    if (!model) {
      model = new AiChunkReader(new ToolCalls(() => this.#newId()), this.#usage, EVENTS_SOURCE);
      this.#models.set(runId, model);
    }
    return model;
  }
}
