/**
 * Tool runs of `streamEvents` matched to the tool calls the model made, so a step keeps the model's
 * call id. `on_tool_start` carries a run id and the tool's arguments, not the call id, so it is matched
 * to the model's call of the same tool name not yet matched, preferring equal arguments (the first
 * such call, in the order the model made them). A matched run adds no second step; its `on_tool_end`
 * resolves the step under the ToolMessage's `tool_call_id` when that is a call the model made, else
 * under the matched call. A tool run that matches no model call (a tool invoked directly) is its own
 * step under its `run_id`.
 */
import type { AnswerEvent } from '../answer-events.js';
import { isRecord, nonEmpty, textOf } from './fields.js';
import { messageOf, toolMessageEvents } from './message-shape.js';
import type { ToolCalls } from './tool-calls.js';

/** A tool call a model made, and the tool run matched to it. */
interface ModelCall {
  id: string;
  name: string;
  input?: unknown;
  done: boolean;
  owner: ToolCalls;
  run?: string;
}

interface ToolRun {
  /** The step's id: the model's call id, or the run id for a tool run no model call asked for. */
  id: string;
  fromModel: boolean;
}

export class ToolRuns {
  readonly #modelCalls: ModelCall[] = [];
  readonly #tools = new Map<string, ToolRun>();

  /** Notes the tool calls a model run started and completed, for matching tool runs to them. */
  fromModel(events: AnswerEvent[], owner: ToolCalls): AnswerEvent[] {
    for (const event of events) {
      if (event.kind === 'tool-start') {
        this.#modelCalls.push({ id: event.id, name: event.name, done: false, owner });
      } else if (event.kind === 'tool-call') {
        const call = this.#modelCalls.find((candidate) => candidate.id === event.id);
        if (call) Object.assign(call, { input: event.input, done: true });
      }
    }
    return events;
  }

  /** `on_tool_start`. */
  start(runId: string, name: string, input: unknown): AnswerEvent[] {
    // A tool invoked with the whole ToolCall may show it as its input.
    const toolCall = isRecord(input) && input.type === 'tool_call' ? input : undefined;
    const args = toolCall ? toolCall.args : input;
    const candidates = this.#modelCalls.filter((call) => call.run === undefined && call.name === name);
    const callId = nonEmpty(toolCall?.id);
    const sameArgs = JSON.stringify(args);
    const match =
      candidates.find((call) => call.id === callId) ??
      candidates.find((call) => call.done && JSON.stringify(call.input) === sameArgs) ??
      candidates[0];
    if (!match) {
      this.#tools.set(runId, { id: runId, fromModel: false });
      return [
        { kind: 'tool-start', id: runId, name },
        { kind: 'tool-call', id: runId, name, input: args },
      ];
    }
    match.run = runId;
    this.#tools.set(runId, { id: match.id, fromModel: true });
    // The tool runs, so the model's call is complete even if its answer has not ended yet.
    return match.done ? [] : this.fromModel(match.owner.complete(match.id), match.owner);
  }

  /** `on_tool_end`: a ToolMessage gives its `content` (or an error, by its `status`), anything else is the result. */
  end(runId: string, output: unknown): AnswerEvent[] {
    const run = this.#tools.get(runId);
    this.#tools.delete(runId);
    const message = messageOf(output);
    const toolMessage = message?.kind === 'tool' ? message.fields : undefined;
    const callId = nonEmpty(toolMessage?.tool_call_id);
    let id: string;
    if (run?.fromModel) id = callId !== undefined && this.#modelCalls.some((call) => call.id === callId) ? callId : run.id;
    else id = run?.id ?? callId ?? runId;
    return [toolMessage ? toolMessageEvents(toolMessage, id) : { kind: 'tool-result', id, output }];
  }

  /** `on_tool_error`. */
  error(runId: string, error: unknown): AnswerEvent[] {
    const id = this.#tools.get(runId)?.id ?? runId;
    this.#tools.delete(runId);
    return [{ kind: 'tool-error', id, error: errorText(error) }];
  }
}

/** `on_tool_error`'s `data.error`: LangChain's tracer gives `message + "\n\n" + stack`; the card wants the message. */
function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error !== 'string') return textOf(error);
  const stackAt = error.indexOf('\n    at ');
  const cut = stackAt < 0 ? -1 : error.lastIndexOf('\n\n', stackAt);
  return cut < 0 ? error : error.slice(0, cut);
}
