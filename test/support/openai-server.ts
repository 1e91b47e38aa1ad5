/**
 * A tiny OpenAI-compatible server on loopback for tests that drive the real `openai` package: it
 * streams Server-Sent Events for `POST /v1/chat/completions` and `POST /v1/responses` (with
 * `stream: true`), shaped as OpenAI sends them, from a script the test sets: reasoning, answer text,
 * tool calls (chat `delta.tool_calls`, Responses `function_call` items), usage and the finish reason.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll } from 'vitest';
import { readJsonRequest, send, startEventStream, startSseServer } from './sse-server.js';

type ChatChunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type ChatDelta = OpenAI.Chat.Completions.ChatCompletionChunk.Choice['delta'] & { reasoning_content?: string; reasoning?: string };
type FinishReason = NonNullable<ChatChunk['choices'][number]['finish_reason']>;
type ResponseEvent = OpenAI.Responses.ResponseStreamEvent;
type ResponseObject = OpenAI.Responses.Response;
type OutputItem = OpenAI.Responses.ResponseOutputItem;
type Unnumbered<T> = T extends unknown ? Omit<T, 'sequence_number'> : never;

/** What the next streamed answer is made of. */
export interface ModelScript {
  /** The answer, in the deltas it is streamed as. */
  answer: string[];
  /**
   * Reasoning, streamed before the answer: chat `delta.reasoning_content` chunks (as DeepSeek and
   * other OpenAI-compatible servers send them), Responses `response.reasoning_summary_text.delta` events.
   */
  reasoning?: string[];
  /** The chat delta field that carries reasoning: `reasoning_content` (DeepSeek; the default) or `reasoning` (vLLM, OpenRouter). */
  reasoningField?: 'reasoning_content' | 'reasoning';
  /** Tool calls the model makes after its answer text, in order. */
  toolCalls?: ToolCallScript[];
  /**
   * Why the model stopped: chat `finish_reason` (default `tool_calls` when there are tool calls, else
   * `stop`). Responses end `completed`, or `incomplete` for `length` (`max_output_tokens`) and
   * `content_filter`.
   */
  finish?: FinishReason;
  /**
   * Token counts: sent in chat's last chunk when the request asks for them
   * (`stream_options: { include_usage: true }`), and always in Responses' last event. Default: one
   * input token per word of the request's JSON, one output token per streamed piece.
   */
  usage?: { input: number; output: number; reasoning?: number };
  /** Fails the stream after its text: a Responses `response.failed`, a chat `{ error }` chunk. */
  failure?: { code: string; message: string };
}

/** One tool call, as the model streams it. */
export interface ToolCallScript {
  /** The call id: chat `tool_calls[].id`, Responses `call_id`. Default `call_<n>` (n counts the calls of a request from 1). */
  id?: string;
  name: string;
  /** The arguments (JSON text), in the pieces they are streamed as. */
  arguments: string[];
}

export interface ReceivedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

export interface OpenAIServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`; the SDK's `baseURL` is this plus `/v1`. */
  readonly url: string;
  /** What the following requests stream. */
  script: ModelScript;
  /** Scripts for the next requests, one each, oldest first (a tool runner's steps); `script` applies once it is empty. */
  readonly queue: ModelScript[];
  /** Every request received, oldest first. */
  readonly requests: ReceivedRequest[];
  close(): Promise<void>;
}

export async function startOpenAIServer(script: ModelScript = { answer: ['Hello', ' world'] }): Promise<OpenAIServer> {
  const requests: ReceivedRequest[] = [];
  const state = { script };
  const queue: ModelScript[] = [];
  const server = await startSseServer(
    (req, res) => handle(req, res, () => queue.shift() ?? state.script, requests),
    (res, message) => sendError(res, 500, message),
  );
  return {
    url: server.url,
    get script() {
      return state.script;
    },
    set script(next: ModelScript) {
      state.script = next;
    },
    queue,
    requests,
    close: () => server.close(),
  };
}

/**
 * An OpenAI-compatible server for the enclosing `describe` (started before its tests, closed after
 * them) and an `openai` client pointed at it, without retries; `bind` receives both.
 */
export function useOpenAIServer(bind: (started: { server: OpenAIServer; openai: OpenAI }) => void): void {
  let server: OpenAIServer | undefined;
  beforeAll(async () => {
    server = await startOpenAIServer();
    bind({ server, openai: new OpenAI({ apiKey: 'test', baseURL: `${server.url}/v1`, maxRetries: 0 }) });
  });
  afterAll(() => server?.close());
}

async function handle(req: IncomingMessage, res: ServerResponse, nextScript: () => ModelScript, requests: ReceivedRequest[]): Promise<void> {
  const { method, path, body } = await readJsonRequest(req);
  if (body === undefined) {
    sendError(res, 400, 'the body is not JSON');
    return;
  }
  requests.push({ method, path, authorization: req.headers.authorization, body });
  if (method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/v1/responses')) {
    sendError(res, 404, `no route for ${method} ${path}`);
    return;
  }
  if (body.stream !== true) {
    sendError(res, 400, 'this test server only streams: pass stream: true');
    return;
  }
  const model = typeof body.model === 'string' ? body.model : 'test-model';
  const script = nextScript();
  const usage = usageOf(script, body);
  startEventStream(res);
  if (path === '/v1/chat/completions') {
    const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    for (const chunk of chatChunks(model, script, includeUsage ? usage : undefined)) await send(res, `data: ${JSON.stringify(chunk)}\n\n`);
    if (script.failure) {
      // What the API sends when a stream fails midway; the SDK throws it as an APIError.
      const error = { message: script.failure.message, type: 'server_error', param: null, code: script.failure.code };
      await send(res, `data: ${JSON.stringify({ error })}\n\n`);
    } else {
      await send(res, 'data: [DONE]\n\n');
    }
  } else {
    for (const event of responseEvents(model, script, usage)) await send(res, `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  }
  res.end();
}

function sendError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: null } }));
}

/** Token counts for a script: its own, or one input token per word of the request, one output token per piece. */
function usageOf(script: ModelScript, body: Record<string, unknown>): Required<NonNullable<ModelScript['usage']>> {
  if (script.usage) return { reasoning: 0, ...script.usage };
  const pieces = [...(script.reasoning ?? []), ...script.answer, ...(script.toolCalls ?? []).flatMap((call) => call.arguments)];
  return { input: JSON.stringify(body).split(/\s+/).length, output: pieces.length, reasoning: script.reasoning?.length ?? 0 };
}

function finishOf(script: ModelScript): FinishReason {
  return script.finish ?? (script.toolCalls?.length ? 'tool_calls' : 'stop');
}

function callId(call: ToolCallScript, position: number): string {
  return call.id ?? `call_${position + 1}`;
}

function chatChunks(model: string, script: ModelScript, usage: ReturnType<typeof usageOf> | undefined): ChatChunk[] {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: ChatDelta, finish: ChatChunk['choices'][number]['finish_reason'] = null): ChatChunk => ({
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    // With include_usage, every chunk says `usage: null` but the last, which has no choices.
    ...(usage ? { usage: null } : {}),
  });
  const field = script.reasoningField ?? 'reasoning_content';
  const chunks: ChatChunk[] = [
    chunk({ role: 'assistant', content: '' }),
    ...(script.reasoning ?? []).map((piece) => chunk({ [field]: piece })),
    ...script.answer.map((piece) => chunk({ content: piece })),
  ];
  (script.toolCalls ?? []).forEach((call, index) => {
    // The first chunk of a call names it (id, name, empty arguments); the rest carry only arguments.
    const id = callId(call, index);
    chunks.push(chunk({ tool_calls: [{ index, id, type: 'function', function: { name: call.name, arguments: '' } }] }));
    for (const piece of call.arguments) chunks.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
  });
  if (script.failure) return chunks;
  chunks.push(chunk({}, finishOf(script)));
  if (usage) {
    chunks.push({
      id: 'chatcmpl-test',
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [],
      usage: {
        prompt_tokens: usage.input,
        completion_tokens: usage.output,
        total_tokens: usage.input + usage.output,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: usage.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
    });
  }
  return chunks;
}

function responseEvents(model: string, script: ModelScript, usage: ReturnType<typeof usageOf>): ResponseEvent[] {
  const events: ResponseEvent[] = [];
  let sequence = 0;
  // Every event carries the next sequence_number, as the API numbers them.
  const push = (event: Unnumbered<ResponseEvent>) => events.push({ ...event, sequence_number: sequence++ });
  const created_at = Math.floor(Date.now() / 1000);
  const response = (status: ResponseObject['status'], output: OutputItem[]): ResponseObject => ({
    id: 'resp_test',
    object: 'response',
    created_at,
    status,
    model,
    output,
    output_text: '',
    error: null,
    incomplete_details: null,
    instructions: null,
    metadata: null,
    parallel_tool_calls: true,
    temperature: 1,
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
  });
  const output: OutputItem[] = [];

  push({ type: 'response.created', response: response('in_progress', []) });
  push({ type: 'response.in_progress', response: response('in_progress', []) });

  if (script.reasoning !== undefined) {
    const item_id = 'rs_test';
    const output_index = output.length;
    const text = script.reasoning.join('');
    push({ type: 'response.output_item.added', output_index, item: { id: item_id, type: 'reasoning', summary: [] } });
    push({
      type: 'response.reasoning_summary_part.added',
      item_id,
      output_index,
      summary_index: 0,
      part: { type: 'summary_text', text: '' },
    });
    for (const delta of script.reasoning) {
      push({ type: 'response.reasoning_summary_text.delta', item_id, output_index, summary_index: 0, delta });
    }
    push({ type: 'response.reasoning_summary_text.done', item_id, output_index, summary_index: 0, text });
    push({
      type: 'response.reasoning_summary_part.done',
      item_id,
      output_index,
      summary_index: 0,
      part: { type: 'summary_text', text },
    });
    const item: OutputItem = { id: item_id, type: 'reasoning', summary: [{ type: 'summary_text', text }] };
    push({ type: 'response.output_item.done', output_index, item });
    output.push(item);
  }

  const text = script.answer.join('');
  // A response that only calls tools has no message item.
  if (script.answer.length > 0 || !script.toolCalls?.length) {
    const item_id = 'msg_test';
    const output_index = output.length;
    push({
      type: 'response.output_item.added',
      output_index,
      item: { id: item_id, type: 'message', role: 'assistant', status: 'in_progress', content: [] },
    });
    push({
      type: 'response.content_part.added',
      item_id,
      output_index,
      content_index: 0,
      part: { type: 'output_text', text: '', annotations: [] },
    });
    for (const delta of script.answer) {
      push({ type: 'response.output_text.delta', item_id, output_index, content_index: 0, delta, logprobs: [] });
    }
    push({ type: 'response.output_text.done', item_id, output_index, content_index: 0, text, logprobs: [] });
    const part = { type: 'output_text' as const, text, annotations: [] };
    push({ type: 'response.content_part.done', item_id, output_index, content_index: 0, part });
    const message: OutputItem = { id: item_id, type: 'message', role: 'assistant', status: 'completed', content: [part] };
    push({ type: 'response.output_item.done', output_index, item: message });
    output.push(message);
  }

  (script.toolCalls ?? []).forEach((call, index) => {
    // A function call item: added with empty arguments, its arguments streamed, then done.
    const item_id = `fc_test_${index + 1}`;
    const output_index = output.length;
    const call_id = callId(call, index);
    const args = call.arguments.join('');
    const item = (status: 'in_progress' | 'completed', argumentsText: string): OutputItem => ({
      id: item_id,
      type: 'function_call',
      status,
      arguments: argumentsText,
      call_id,
      name: call.name,
    });
    push({ type: 'response.output_item.added', output_index, item: item('in_progress', '') });
    for (const delta of call.arguments) push({ type: 'response.function_call_arguments.delta', item_id, output_index, delta });
    push({ type: 'response.function_call_arguments.done', item_id, output_index, name: call.name, arguments: args });
    const done = item('completed', args);
    push({ type: 'response.output_item.done', output_index, item: done });
    output.push(done);
  });

  const final = { ...response('completed', output), output_text: text, usage: responseUsage(usage) };
  if (script.failure) {
    const error = { code: script.failure.code as NonNullable<ResponseObject['error']>['code'], message: script.failure.message };
    push({ type: 'response.failed', response: { ...final, status: 'failed', error } });
  } else if (script.finish === 'length' || script.finish === 'content_filter') {
    const reason = script.finish === 'length' ? 'max_output_tokens' : 'content_filter';
    push({ type: 'response.incomplete', response: { ...final, status: 'incomplete', incomplete_details: { reason } } });
  } else {
    push({ type: 'response.completed', response: final });
  }
  return events;
}

function responseUsage(usage: ReturnType<typeof usageOf>): NonNullable<ResponseObject['usage']> {
  return {
    input_tokens: usage.input,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: usage.output,
    output_tokens_details: { reasoning_tokens: usage.reasoning },
    total_tokens: usage.input + usage.output,
  };
}
