/**
 * A tiny OpenAI-compatible server on loopback for tests that drive the real `openai` package: it
 * streams Server-Sent Events for `POST /v1/chat/completions` and `POST /v1/responses` (with
 * `stream: true`), shaped as OpenAI sends them, from a script the test sets.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type OpenAI from 'openai';

type ChatChunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type ChatDelta = OpenAI.Chat.Completions.ChatCompletionChunk.Choice['delta'] & { reasoning_content?: string };
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
  /** Every request received, oldest first. */
  readonly requests: ReceivedRequest[];
  close(): Promise<void>;
}

export async function startOpenAIServer(script: ModelScript = { answer: ['Hello', ' world'] }): Promise<OpenAIServer> {
  const requests: ReceivedRequest[] = [];
  const state = { script };
  const server = createServer((req, res) => {
    void handle(req, res, state.script, requests).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, String(error));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    get script() {
      return state.script;
    },
    set script(next: ModelScript) {
      state.script = next;
    },
    requests,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, script: ModelScript, requests: ReceivedRequest[]): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    sendError(res, 400, 'the body is not JSON');
    return;
  }
  requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, body });
  if (req.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/v1/responses')) {
    sendError(res, 404, `no route for ${req.method ?? ''} ${path}`);
    return;
  }
  if (body.stream !== true) {
    sendError(res, 400, 'this test server only streams: pass stream: true');
    return;
  }
  const model = typeof body.model === 'string' ? body.model : 'test-model';
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  if (path === '/v1/chat/completions') {
    for (const chunk of chatChunks(model, script)) await send(res, `data: ${JSON.stringify(chunk)}\n\n`);
    await send(res, 'data: [DONE]\n\n');
  } else {
    for (const event of responseEvents(model, script)) await send(res, `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  }
  res.end();
}

/** Writes one SSE message and yields to the event loop, so the client reads messages as they come. */
async function send(res: ServerResponse, message: string): Promise<void> {
  res.write(message);
  await new Promise((resolve) => setImmediate(resolve));
}

function sendError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: null } }));
}

function chatChunks(model: string, script: ModelScript): ChatChunk[] {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: ChatDelta, finish: ChatChunk['choices'][number]['finish_reason'] = null): ChatChunk => ({
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  });
  return [
    chunk({ role: 'assistant', content: '' }),
    ...(script.reasoning ?? []).map((piece) => chunk({ reasoning_content: piece })),
    ...script.answer.map((piece) => chunk({ content: piece })),
    chunk({}, 'stop'),
  ];
}

function responseEvents(model: string, script: ModelScript): ResponseEvent[] {
  const events: ResponseEvent[] = [];
  let sequence = 0;
  // Every event carries the next sequence_number, as the API numbers them.
  const push = (event: Unnumbered<ResponseEvent>) => events.push({ ...event, sequence_number: sequence++ });
  const created_at = Math.floor(Date.now() / 1000);
  const response = (status: 'in_progress' | 'completed', output: OutputItem[]): ResponseObject => ({
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

  const item_id = 'msg_test';
  const output_index = output.length;
  const text = script.answer.join('');
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
  push({ type: 'response.completed', response: { ...response('completed', output), output_text: text } });
  return events;
}
