/**
 * Vercel AI SDK sources (issue 11): the parts of `streamText(...).stream` (named `fullStream` before
 * `ai` 7, still there as a deprecated alias) and the chunks of the UI message stream
 * (`toUIMessageStream({ stream })`, `result.toUIMessageStream()`). Read by shape: `ai` is never
 * imported. `textStream` yields plain strings, which the text source reads.
 *
 * | part (UI chunk)                                     | event                                               |
 * | --------------------------------------------------- | --------------------------------------------------- |
 * | `text-delta`                                        | answer                                              |
 * | `reasoning-delta`                                   | reasoning                                           |
 * | `tool-input-start`                                  | tool-start                                          |
 * | `tool-input-delta`                                  | tool-input                                          |
 * | `tool-call` (`tool-input-available`)                | tool-call (after a tool-start if none came)         |
 * | (`tool-input-error`: a call the SDK refused)        | tool-call, then tool-error                          |
 * | `tool-result` (`tool-output-available`)             | tool-result; a `preliminary` one is skipped         |
 * | `tool-error` (`tool-output-error`)                  | tool-error                                          |
 * | `tool-output-denied`                                | tool-error `execution denied`                       |
 * | `finish-step`                                       | usage (summed over the steps so far), finish        |
 * | `finish`                                            | usage (the run's total), finish                     |
 * | `error`                                             | error                                               |
 * | `abort`                                             | finish `abort`                                      |
 *
 * The UI stream carries no usage, and its `finish-step` nothing at all. An abort is a finish, not an
 * error: the caller stopped the run, and what was answered so far stands. A stream that stops inside a
 * tool call ends with an `error` or `abort` part, so the reader needs no `end()`.
 *
 * Ignored, as framing or nothing readable: `start`, `start-step`, `text-start`/`-end`,
 * `reasoning-start`/`-end`, `tool-input-end`, `message-metadata`, `ping`, `raw` (the provider's own
 * chunks, opt-in, repeating the other parts), and `ai` 4's `step-start`, `reasoning-signature`,
 * `redacted-reasoning`. Content a card does not show is reported as `unhandled`: `source`,
 * `source-url`, `source-document`, `file`, `reasoning-file`, `custom`, `data-*`, tool approval
 * requests and responses, `steering-message`, `reset-step`, and any type this file does not know.
 *
 * Field names of other majors are read too: `ai` 4 (`textDelta`, `reasoning`,
 * `tool-call-streaming-start`/`-delta` with `argsTextDelta`, `args`, `result`, `step-finish`, usage in
 * `promptTokens`/`completionTokens`), `ai` 5 and 6 (top-level `usage.reasoningTokens`).
 */
import type { AnswerEvent, ChunkReader, SourceAdapter, Usage } from './answer-events.js';

const FULL_STREAM = 'AI SDK stream parts';
const UI_MESSAGE_STREAM = 'AI SDK UI message chunks';

type Part = Record<string, unknown> & { type: string };

/** Which stream a part belongs to: `either` for the framing parts both streams send alike. */
type Dialect = 'full' | 'ui' | 'either';

/**
 * Tells the two streams apart by the fields their parts differ in. Both usually begin with a bare
 * `{ type: 'start' }`; the fullStream adapter claims it (`either`), and one reader reads both.
 * `ping`, and `error` parts with no Error in them, are not claimed: Anthropic's raw events look alike.
 */
function dialectOf(chunk: unknown): Dialect | undefined {
  if (!isPart(chunk)) return undefined;
  const part = chunk;
  switch (part.type) {
    case 'start':
      return 'messageId' in part || 'messageMetadata' in part ? 'ui' : 'either';
    case 'text-start':
    case 'text-end':
    case 'reasoning-start':
    case 'reasoning-end':
      return isString(part.id) ? 'either' : undefined;
    case 'custom':
    case 'abort':
      return 'either';
    case 'text-delta':
    case 'reasoning-delta':
      if (isString(part.text) || isString(part.textDelta)) return 'full';
      return isString(part.delta) ? 'ui' : undefined;
    case 'reasoning':
      return isString(part.textDelta) ? 'full' : undefined;
    case 'tool-input-start':
      if (!isString(part.toolName)) return undefined;
      return isString(part.id) ? 'full' : isString(part.toolCallId) ? 'ui' : undefined;
    case 'tool-input-delta':
      if (isString(part.id) && isString(part.delta)) return 'full';
      return isString(part.toolCallId) && isString(part.inputTextDelta) ? 'ui' : undefined;
    case 'error':
      return isString(part.errorText) ? 'ui' : part.error instanceof Error ? 'full' : undefined;
    case 'start-step':
      return 'request' in part || 'warnings' in part ? 'full' : 'ui';
    case 'finish-step':
      return 'usage' in part || 'finishReason' in part ? 'full' : 'ui';
    case 'finish':
      return 'totalUsage' in part || 'usage' in part ? 'full' : 'ui';
    case 'file':
    case 'reasoning-file':
      return 'file' in part ? 'full' : isString(part.url) ? 'ui' : undefined;
    case 'tool-approval-request':
    case 'tool-approval-response':
      return isString(part.approvalId) ? ('toolCall' in part ? 'full' : 'ui') : undefined;
    case 'tool-output-denied':
      return isString(part.toolCallId) ? (isString(part.toolName) ? 'full' : 'ui') : undefined;
    case 'steering-message':
      return 'message' in part ? 'full' : 'parts' in part ? 'ui' : undefined;
    case 'tool-call':
    case 'tool-result':
    case 'tool-error':
    case 'tool-call-streaming-start':
    case 'tool-call-delta':
      return isString(part.toolCallId) ? 'full' : undefined;
    case 'tool-input-end':
      return isString(part.id) ? 'full' : undefined;
    case 'source':
    case 'raw':
    case 'step-start':
    case 'step-finish':
    case 'reasoning-signature':
    case 'redacted-reasoning':
      return 'full';
    case 'tool-input-available':
    case 'tool-input-error':
    case 'tool-output-available':
    case 'tool-output-error':
      return isString(part.toolCallId) ? 'ui' : undefined;
    case 'source-url':
    case 'source-document':
    case 'reset-step':
    case 'message-metadata':
      return 'ui';
    default:
      return part.type.startsWith('data-') ? 'ui' : undefined;
  }
}

const IGNORED = new Set([
  'start',
  'start-step',
  'step-start',
  'text-start',
  'text-end',
  'reasoning-start',
  'reasoning-end',
  'tool-input-end',
  'message-metadata',
  'ping',
  'raw',
  'reasoning-signature',
  'redacted-reasoning',
]);

/**
 * Reads both streams, part by part: a UI stream that began with a bare `start` is claimed by the
 * fullStream adapter, so each part is read by its own field names whichever adapter made the reader.
 */
class AiSdkReader implements ChunkReader {
  readonly #source: string;
  readonly #startedCalls = new Set<string>();
  #stepsUsage: Usage | undefined;

  constructor(source: string) {
    this.#source = source;
  }

  read(chunk: unknown): AnswerEvent[] {
    if (!isPart(chunk)) return [{ kind: 'unhandled', source: this.#source, type: chunk === null ? 'null' : typeof chunk }];
    const part = chunk;
    switch (part.type) {
      case 'text-delta':
        return textPiece('answer', firstString(part.text, part.delta, part.textDelta));
      case 'reasoning-delta':
      case 'reasoning':
        return textPiece('reasoning', firstString(part.text, part.delta, part.textDelta));
      case 'tool-input-start':
      case 'tool-call-streaming-start':
        return this.#start(callId(part), String(part.toolName));
      case 'tool-input-delta':
      case 'tool-call-delta': {
        const delta = firstString(part.delta, part.inputTextDelta, part.argsTextDelta);
        return delta ? [{ kind: 'tool-input', id: callId(part), delta }] : [];
      }
      case 'tool-call':
      case 'tool-input-available':
        return this.#call(part);
      case 'tool-input-error':
        return [...this.#call(part), { kind: 'tool-error', id: callId(part), error: String(part.errorText) }];
      case 'tool-result':
      case 'tool-output-available':
        // A preliminary result (a tool streaming its progress) is replaced by the final one, which always follows.
        if (part.preliminary === true) return [];
        return [{ kind: 'tool-result', id: callId(part), output: 'output' in part ? part.output : part.result }];
      case 'tool-error':
        return [{ kind: 'tool-error', id: callId(part), error: messageOf(part.error) }];
      case 'tool-output-error':
        return [{ kind: 'tool-error', id: callId(part), error: String(part.errorText) }];
      case 'tool-output-denied':
        return [{ kind: 'tool-error', id: callId(part), error: 'execution denied' }];
      case 'finish-step':
      case 'step-finish':
        return this.#stepFinish(part);
      case 'finish':
        return this.#finish(part);
      case 'error':
        return [{ kind: 'error', error: errorOf(part) }];
      case 'abort':
        return [{ kind: 'finish', reason: 'abort' }];
      default:
        if (IGNORED.has(part.type)) return [];
        return [{ kind: 'unhandled', source: this.#sourceOf(part), type: part.type }];
    }
  }

  #start(id: string, name: string): AnswerEvent[] {
    if (this.#startedCalls.has(id)) return [];
    this.#startedCalls.add(id);
    return [{ kind: 'tool-start', id, name }];
  }

  /** A provider that does not stream tool input sends the call alone: it starts the step too. */
  #call(part: Part): AnswerEvent[] {
    const id = callId(part);
    const name = String(part.toolName);
    return [...this.#start(id, name), { kind: 'tool-call', id, name, input: 'input' in part ? part.input : part.args }];
  }

  #stepFinish(part: Part): AnswerEvent[] {
    const events: AnswerEvent[] = [];
    const usage = usageOf(part.usage);
    if (usage) {
      this.#stepsUsage = sum(this.#stepsUsage, usage);
      events.push({ kind: 'usage', usage: { ...this.#stepsUsage } });
    }
    if (isString(part.finishReason)) events.push({ kind: 'finish', reason: part.finishReason });
    return events;
  }

  #finish(part: Part): AnswerEvent[] {
    const usage = usageOf(part.totalUsage ?? part.usage);
    // ai 5's UI stream sent its finish without a reason.
    const finish: AnswerEvent = { kind: 'finish', reason: isString(part.finishReason) ? part.finishReason : 'unknown' };
    return usage ? [{ kind: 'usage', usage }, finish] : [finish];
  }

  #sourceOf(part: Part): string {
    const dialect = dialectOf(part);
    return dialect === 'full' ? FULL_STREAM : dialect === 'ui' ? UI_MESSAGE_STREAM : this.#source;
  }
}

/** The parts of `streamText(...).stream` (`fullStream`), `ai` 4 to 7. */
export const aiSdkFullStreamAdapter: SourceAdapter = {
  name: FULL_STREAM,
  matches: (chunk) => {
    const dialect = dialectOf(chunk);
    return dialect === 'full' || dialect === 'either';
  },
  reader: () => new AiSdkReader(FULL_STREAM),
};

/** The chunks of a UI message stream (`toUIMessageStream`, `createUIMessageStream`), `ai` 5 to 7, as objects (not SSE bytes). */
export const aiSdkUiMessageStreamAdapter: SourceAdapter = {
  name: UI_MESSAGE_STREAM,
  matches: (chunk) => dialectOf(chunk) === 'ui',
  reader: () => new AiSdkReader(UI_MESSAGE_STREAM),
};

function isPart(chunk: unknown): chunk is Part {
  return typeof chunk === 'object' && chunk !== null && isString((chunk as { type?: unknown }).type);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function firstString(...values: unknown[]): string | undefined {
  return values.find(isString);
}

function textPiece(kind: 'answer' | 'reasoning', text: string | undefined): AnswerEvent[] {
  return text ? [{ kind, text }] : [];
}

/** `toolCallId` in tool parts and UI chunks, `id` in the fullStream's tool input parts. */
function callId(part: Part): string {
  return String(firstString(part.toolCallId, part.id));
}

function count(value: unknown): number | undefined {
  // ai 4 reported a count it did not know as NaN.
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** `LanguageModelUsage` of any major, or undefined when it holds no count (an errored step's usage is all empty). */
function usageOf(raw: unknown): Usage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const fields = raw as Record<string, unknown>;
  const details = fields.outputTokenDetails as Record<string, unknown> | undefined;
  const usage: Usage = {};
  const counts: [keyof Usage, number | undefined][] = [
    ['inputTokens', count(fields.inputTokens) ?? count(fields.promptTokens)],
    ['outputTokens', count(fields.outputTokens) ?? count(fields.completionTokens)],
    ['totalTokens', count(fields.totalTokens)],
    ['reasoningTokens', count(details?.reasoningTokens) ?? count(fields.reasoningTokens)],
  ];
  for (const [name, value] of counts) if (value !== undefined) usage[name] = value;
  return Object.keys(usage).length > 0 ? usage : undefined;
}

function sum(total: Usage | undefined, step: Usage): Usage {
  const next: Usage = { ...total };
  for (const name of Object.keys(step) as (keyof Usage)[]) next[name] = (next[name] ?? 0) + (step[name] ?? 0);
  return next;
}

/** The SDK's own error when the part carries one (an `APICallError` keeps its status and body). */
function errorOf(part: Part): Error {
  if (isString(part.errorText)) return new Error(part.errorText);
  return part.error instanceof Error ? part.error : new Error(messageOf(part.error), { cause: part.error });
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (isString(error)) return error;
  const message = (error as { message?: unknown } | null | undefined)?.message;
  if (isString(message)) return message;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
