/**
 * What the Responses API's output items say, read whole: the input of a finished tool call, and the
 * outcome of a call OpenAI ran itself (or of a `*_output` item it produced for a call).
 */
import type { AnswerEvent } from '../answer-events.js';
import { type Json, isRecord, parsedArguments, parsedJson, str } from './fields.js';

/** Output items that are not tool steps and whose content arrives as deltas, or is nothing to show. */
export const SILENT_ITEMS = new Set(['message', 'reasoning', 'mcp_list_tools', 'compaction']);

/** A call's input as its finished item says it (function arguments parsed; a custom tool's text as is). */
export function callInput(item: Json, streamed: string): unknown {
  switch (item.type) {
    case 'custom_tool_call':
      return typeof item.input === 'string' ? item.input : streamed;
    case 'code_interpreter_call':
      return typeof item.code === 'string' ? item.code : streamed;
    case 'file_search_call':
      return { queries: item.queries };
  }
  if (typeof item.arguments === 'string') return parsedArguments(item.arguments);
  return item.action ?? item.actions ?? item.operation ?? item.arguments ?? parsedArguments(streamed);
}

/** A call's input from its streamed text: JSON arguments parsed; a custom tool's text and code as they are. */
export function streamedInput(type: string, text: string): unknown {
  return type === 'custom_tool_call' || type === 'code_interpreter_call' ? text : parsedArguments(text);
}

/** A hosted call's (or a `*_call_output` item's) outcome: its result, or its failure. */
export function toolOutcome(id: string, item: Json): AnswerEvent {
  const error = item.error;
  if (item.status === 'failed' || item.status === 'incomplete' || (error != null && error !== '')) {
    const message = typeof error === 'string' ? error : isRecord(error) && typeof error.message === 'string' ? error.message : `the call ended ${str(item.status) || 'with an error'}`;
    return { kind: 'tool-error', id, error: message };
  }
  // A generated image is megabytes of base64: its size says enough.
  if (item.type === 'image_generation_call' && typeof item.result === 'string') {
    return { kind: 'tool-result', id, output: `an image (${item.result.length} base64 characters)` };
  }
  const output = item.output ?? item.outputs ?? item.results ?? item.result ?? null;
  return { kind: 'tool-result', id, output: typeof output === 'string' ? parsedJson(output) : output };
}
