/**
 * A tiny Anthropic Messages API server on loopback for tests that drive the real `@anthropic-ai/sdk`:
 * `POST /v1/messages` with `stream: true` answers Server-Sent Events as the API sends them
 * (`event: <type>\ndata: <json>\n\n`: message_start, a ping, a thinking block closed by its signature,
 * the text block, tool_use blocks whose input streams as input_json_delta pieces, message_delta with
 * the stop reason and usage, message_stop), from a script the test sets. Point the SDK at it with
 * `new Anthropic({ baseURL: server.url, apiKey: 'test', maxRetries: 0 })`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Anthropic from '@anthropic-ai/sdk';
import { readJsonRequest, send, startEventStream, startSseServer } from './sse-server.js';

type StreamEvent = Anthropic.RawMessageStreamEvent;

/** One SSE message: its `event:` name and its `data:` JSON (the API repeats the name as `data.type`). */
export interface SseMessage {
  event: string;
  data: unknown;
}

export interface ToolUseScript {
  /** The block's id, e.g. `toolu_01`. */
  id: string;
  name: string;
  /** The input's JSON text, in the input_json_delta pieces it is streamed as (the API often sends `''` first). */
  input: string[];
}

/** What the next streamed message is made of. */
export interface AnthropicScript {
  /** Thinking, streamed first as thinking_delta pieces in a thinking block (then its signature_delta). */
  thinking?: string[];
  /** The answer, in the text_delta pieces it is streamed as. */
  answer: string[];
  /** Tool calls after the answer, one tool_use block each. */
  toolUses?: ToolUseScript[];
  /** Defaults to `tool_use` when the script has tool calls, else `end_turn`. */
  stopReason?: Anthropic.StopReason;
  usage?: { input: number; output: number; cacheRead?: number; thinking?: number };
  /** Messages sent verbatim right after the text block (e.g. an event type the SDK does not know). */
  extra?: SseMessage[];
  /** Ends the stream after the text block with `event: error` (as the API does when it is overloaded mid-answer). */
  error?: { type: string; message: string };
  /**
   * Writes the response body in pieces of this many bytes, cutting SSE lines and UTF-8 characters
   * anywhere (as TCP may); by default each SSE message is written whole.
   */
  chunkBytes?: number;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  /** The key the request carried: `x-api-key`, or the `Authorization: Bearer` token (what this SDK version sends). */
  apiKey: string | undefined;
  body: Record<string, unknown>;
}

export interface AnthropicServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`: the SDK's `baseURL` (it adds `/v1/messages`). */
  readonly url: string;
  /** What the following requests stream. */
  script: AnthropicScript;
  /** Every request received, oldest first. */
  readonly requests: ReceivedRequest[];
  close(): Promise<void>;
}

export async function startAnthropicServer(script: AnthropicScript = { answer: ['Hello', ' world'] }): Promise<AnthropicServer> {
  const requests: ReceivedRequest[] = [];
  const state = { script };
  const server = await startSseServer(
    (req, res) => handle(req, res, state.script, requests),
    (res, message) => sendError(res, 500, 'api_error', message),
  );
  return {
    url: server.url,
    get script() {
      return state.script;
    },
    set script(next: AnthropicScript) {
      state.script = next;
    },
    requests,
    close: () => server.close(),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, script: AnthropicScript, requests: ReceivedRequest[]): Promise<void> {
  const { method, path, body } = await readJsonRequest(req);
  if (body === undefined) {
    sendError(res, 400, 'invalid_request_error', 'the body is not JSON');
    return;
  }
  const xApiKey = req.headers['x-api-key'];
  const apiKey = typeof xApiKey === 'string' ? xApiKey : /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  requests.push({ method, path, apiKey, body });
  if (method !== 'POST' || path !== '/v1/messages') {
    sendError(res, 404, 'not_found_error', `no route for ${method} ${path}`);
    return;
  }
  if (body.stream !== true) {
    sendError(res, 400, 'invalid_request_error', 'this test server only streams: pass stream: true');
    return;
  }
  const model = typeof body.model === 'string' ? body.model : 'claude-test';
  startEventStream(res);
  const sse = anthropicMessages(model, script).map((message) => `event: ${message.event}\ndata: ${JSON.stringify(message.data)}\n\n`);
  if (script.chunkBytes === undefined) {
    for (const message of sse) await send(res, message);
  } else {
    const bytes = Buffer.from(sse.join(''), 'utf8');
    for (let start = 0; start < bytes.length; start += script.chunkBytes) await send(res, bytes.subarray(start, start + script.chunkBytes));
  }
  res.end();
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_test' }));
}

/**
 * The SSE messages one scripted answer is streamed as, in order. Exported so a test can also feed
 * the very same events to an adapter directly (as a hand-made SSE reader would), ping and error included.
 */
export function anthropicMessages(model: string, script: AnthropicScript): SseMessage[] {
  const messages: SseMessage[] = [];
  const push = (event: StreamEvent | { type: 'ping' }) => messages.push({ event: event.type, data: event });
  const usage = script.usage ?? { input: 12, output: 34 };
  const toolUses = script.toolUses ?? [];
  let index = 0;

  push({
    type: 'message_start',
    message: {
      id: 'msg_test',
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      container: null,
      diagnostics: null,
      stop_details: null,
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: usage.input,
        // The API's placeholder before the answer begins.
        output_tokens: 1,
        cache_creation: null,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: usage.cacheRead ?? 0,
        inference_geo: null,
        output_tokens_details: null,
        server_tool_use: null,
        service_tier: 'standard',
        speed: null,
      },
    },
  });
  push({ type: 'ping' });

  if (script.thinking !== undefined) {
    push({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } });
    for (const thinking of script.thinking) push({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking } });
    push({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' } });
    push({ type: 'content_block_stop', index });
    index++;
  }

  push({ type: 'content_block_start', index, content_block: { type: 'text', text: '', citations: null } });
  for (const text of script.answer) push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
  push({ type: 'content_block_stop', index });
  index++;

  messages.push(...(script.extra ?? []));
  if (script.error !== undefined) {
    messages.push({ event: 'error', data: { type: 'error', error: script.error, request_id: 'req_test' } });
    return messages;
  }

  for (const tool of toolUses) {
    push({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: tool.id, name: tool.name, input: {}, caller: { type: 'direct' } } });
    for (const partial_json of tool.input) push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } });
    push({ type: 'content_block_stop', index });
    index++;
  }

  push({
    type: 'message_delta',
    delta: { stop_reason: script.stopReason ?? (toolUses.length > 0 ? 'tool_use' : 'end_turn'), stop_sequence: null, stop_details: null, container: null },
    usage: {
      input_tokens: usage.input,
      output_tokens: usage.output,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: usage.cacheRead ?? 0,
      output_tokens_details: usage.thinking === undefined ? null : { thinking_tokens: usage.thinking },
      server_tool_use: null,
    },
  });
  push({ type: 'message_stop' });
  return messages;
}
