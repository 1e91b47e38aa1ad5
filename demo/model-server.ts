/**
 * An embedded OpenAI-compatible model server, so the demo (and tests) can drive the real `openai`
 * client without an API key. It speaks the OpenAI wire format on loopback:
 *
 * - `POST /v1/chat/completions`: with `stream: true`, SSE chunks (`choices[0].delta.content`; first a
 *   role chunk, last a chunk with `finish_reason`, then `data: [DONE]`); otherwise a `chat.completion`.
 *   The tool call is `delta.tool_calls[0]` pieces: first its `id`, `type` and `function.name`, then
 *   `function.arguments` a few characters at a time.
 * - `POST /v1/responses`: with `stream: true`, typed SSE events (`response.created` …
 *   `response.output_text.delta` … `response.completed`, each with `sequence_number`); otherwise a `response`.
 *   The tool call is a `function_call` output item between two `message` items, its arguments streamed
 *   by `response.function_call_arguments.delta` and closed by `.done`.
 *
 * The tool call (`search_docs`, arguments `{"query": …}`) comes after the answer's first paragraph, then
 * a pause while the "tool runs", then the rest of the answer, all in one stream: the text before and
 * after the call is exactly `answerFor(question)`. A real API would end the response at the call and
 * answer again once given the tool's output; the demo has no tools to run, so one stream plays both.
 * - `GET /v1/models`: the one model it serves.
 *
 * Answers are scripted (see `answers.ts`) and chosen deterministically per question; `answerFor(question)`
 * says exactly what will be streamed. Tokens of 1-4 characters (never half a surrogate pair) come at a
 * steady rate with jitter, reasoning first when asked for, with optional tool-like pauses between paragraphs.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ANSWERS, LONG_ANSWER, type ScriptedAnswer } from './answers.js';
import { seededRandom } from './random.js';

export interface ModelServerOptions {
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
  /** Tokens per second. Default 60. */
  tokensPerSecond?: number;
  /** Each gap between tokens varies by up to this fraction either way. Default 0.5. */
  jitter?: number;
  /**
   * Stream a reasoning part before the answer: `true` always, `false` never, `'auto'` when the request asks
   * for it (chat `reasoning_effort`, Responses `reasoning`). Default `'auto'`.
   */
  reasoning?: boolean | 'auto';
  /** A tool-like pause of this many ms between paragraphs of the answer. Default 0. */
  pauseMs?: number;
  /**
   * Call the `search_docs` tool after the answer's first paragraph (answers of one paragraph call none).
   * Default true.
   */
  toolCalls?: boolean;
  /** How long the tool "runs": the pause after its call, on top of `pauseMs`. Default 300. */
  toolMs?: number;
  /**
   * Stretch the pauses between paragraphs so that one streamed answer takes at least this long (a model
   * calling tools for minutes). Default 0.
   */
  minDurationMs?: number;
  /** The model name answered when a request names none (requests must name one; this is for `/v1/models`). Default `demo-model`. */
  model?: string;
}

export interface ModelServer {
  /** Base URL for the `openai` client, e.g. `http://127.0.0.1:41234/v1`. */
  readonly url: string;
  readonly port: number;
  /** The exact answer text the server streams for this question. */
  answerFor(question: string): string;
  /** The tool call streamed mid-answer for this question (none when `toolCalls` is off or the answer is one paragraph). */
  toolCallFor(question: string): { name: string; arguments: string } | undefined;
  /** The exact reasoning text streamed before the answer (when reasoning is on) for this question. */
  reasoningFor(question: string): string;
  /** Requests answered so far (each streamed or not). */
  readonly requests: number;
  /** Streams the client closed before their end (a stopped answer cancels its request). */
  readonly cancelled: number;
  /** Stops listening, ends streams in flight. Calling it again returns the same promise. */
  close(): Promise<void>;
}

const DEFAULTS = { tokensPerSecond: 60, jitter: 0.5, pauseMs: 0, toolCalls: true, toolMs: 300, minDurationMs: 0, model: 'demo-model' } as const;

/** The tool the model calls mid-answer. */
export const TOOL_NAME = 'search_docs';

/** Starts the server; resolves once it listens. */
export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const o = resolve(options);
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // one listener per stream in flight, however many
  let requests = 0;
  const counts = { cancelled: 0 };
  const server = createServer((req, res) => {
    requests++;
    handle(req, res, o, stop.signal, counts).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, `internal error: ${error instanceof Error ? error.message : String(error)}`, 'server_error');
      else res.destroy();
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(o.port, o.host, () => {
      server.off('error', fail);
      done();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}/v1`,
    port,
    answerFor: (question) => join(scriptFor(question).blocks),
    toolCallFor: (question) => (o.toolCalls ? toolCallFor(scriptFor(question)) : undefined),
    reasoningFor: (question) => scriptFor(question).reasoning,
    get requests() {
      return requests;
    },
    get cancelled() {
      return counts.cancelled;
    },
    close: () => {
      closing ??= new Promise<void>((done, fail) => {
        stop.abort();
        server.close((error) => (error ? fail(error) : done()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

type Resolved = Required<Omit<ModelServerOptions, 'reasoning'>> & { reasoning: boolean | 'auto' };

function resolve(options: ModelServerOptions): Resolved {
  const o = { host: '127.0.0.1', port: 0, reasoning: 'auto' as const, ...DEFAULTS, ...options };
  const check = (name: string, value: number, ok: boolean) => {
    if (typeof value !== 'number' || !ok) throw new RangeError(`options.${name} is out of range; received ${String(value)}`);
  };
  check('tokensPerSecond', o.tokensPerSecond, o.tokensPerSecond > 0 && Number.isFinite(o.tokensPerSecond));
  check('jitter', o.jitter, o.jitter >= 0 && o.jitter < 1);
  check('pauseMs', o.pauseMs, o.pauseMs >= 0 && Number.isFinite(o.pauseMs));
  check('toolMs', o.toolMs, o.toolMs >= 0 && Number.isFinite(o.toolMs));
  if (typeof o.toolCalls !== 'boolean') throw new TypeError(`options.toolCalls must be a boolean; received ${String(o.toolCalls)}`);
  check('minDurationMs', o.minDurationMs, o.minDurationMs >= 0 && Number.isFinite(o.minDurationMs));
  check('port', o.port, Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535);
  return o;
}

// ---------------------------------------------------------------------------------------------
// What is said

/** The script answering `question`: its own answer when it is one of the demo's questions, else one picked by hash. */
export function scriptFor(question: string): ScriptedAnswer {
  const q = question.trim();
  const known = [...ANSWERS, LONG_ANSWER].find((a) => a.question === q);
  if (known) return known;
  const picked = ANSWERS[hash(q) % ANSWERS.length]!;
  const quoted = Array.from(q.replace(/\s+/g, ' ')).slice(0, 200).join('');
  return {
    question: q,
    reasoning: `The question is not one of the demo's scripted ones, so I answer with the closest script I have. ${picked.reasoning}`,
    blocks: [`> ${quoted}\n\n_This embedded demo model answers from a short script; here is the closest answer it has._`, ...picked.blocks],
  };
}

const join = (blocks: readonly string[]) => blocks.join('\n\n');

/** The tool call made after the answer's first paragraph: its name and its JSON arguments. */
interface ToolCall {
  name: string;
  arguments: string;
}

/** The call `script` makes: a search for the question (cut to 80 characters); none for a one-paragraph answer. */
function toolCallFor(script: ScriptedAnswer): ToolCall | undefined {
  if (script.blocks.length < 2) return undefined;
  const query = Array.from(script.question.replace(/\s+/g, ' ')).slice(0, 80).join('');
  return { name: TOOL_NAME, arguments: JSON.stringify({ query }) };
}

/**
 * A step of a stream: a token of reasoning or answer; the tool call starting, a piece of its arguments, its
 * arguments complete; or a pause after a paragraph (a tool running for `extraMs`).
 */
type Step =
  | { kind: 'reasoning' | 'answer'; text: string }
  | { kind: 'tool-start'; call: ToolCall }
  | { kind: 'tool-arguments'; call: ToolCall; text: string }
  | { kind: 'tool-done'; call: ToolCall }
  | { kind: 'pause'; boundary: number; boundaries: number; extraMs: number };

/** The steps of one answer. Token boundaries are seeded by the question, so a question always streams the same way. */
function stepsFor(script: ScriptedAnswer, withReasoning: boolean, o: Resolved): Step[] {
  const random = seededRandom(hash(script.question));
  const steps: Step[] = [];
  if (withReasoning) for (const text of tokenize(script.reasoning, random)) steps.push({ kind: 'reasoning', text });
  const call = o.toolCalls ? toolCallFor(script) : undefined;
  const boundaries = script.blocks.length - 1;
  script.blocks.forEach((block, index) => {
    for (const text of tokenize(block, random)) steps.push({ kind: 'answer', text });
    if (index < boundaries) {
      steps.push({ kind: 'answer', text: '\n\n' });
      if (index === 0 && call) {
        steps.push({ kind: 'tool-start', call });
        for (const text of tokenize(call.arguments, random)) steps.push({ kind: 'tool-arguments', call, text });
        steps.push({ kind: 'tool-done', call });
      }
      steps.push({ kind: 'pause', boundary: index + 1, boundaries, extraMs: index === 0 && call ? o.toolMs : 0 });
    }
  });
  return steps;
}

/** The answer as its messages: one, or (with a tool call) the text before the call and the text after it. */
function messagesOf(steps: Step[]): string[] {
  const messages = [''];
  for (const step of steps) {
    if (step.kind === 'answer') messages[messages.length - 1] += step.text;
    else if (step.kind === 'tool-done') messages.push('');
  }
  return messages;
}

const toolCallOf = (steps: Step[]): ToolCall | undefined => steps.find((s) => s.kind === 'tool-start')?.call;

/** Splits text into tokens of 1-4 code points (CJK: 1-2), so a surrogate pair is never split. */
export function tokenize(text: string, random: () => number = Math.random): string[] {
  const points = Array.from(text);
  const tokens: string[] = [];
  for (let i = 0; i < points.length; ) {
    let n = 1 + Math.floor(random() * 4);
    if (/[\u2e80-\u9fff\uac00-\ud7af\uff00-\uffef]/u.test(points[i]!)) n = Math.min(n, 2);
    tokens.push(points.slice(i, i + n).join(''));
    i += n;
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Requests

interface Request {
  model: string;
  question: string;
  stream: boolean;
  reasoning: boolean;
  includeUsage: boolean;
}

class BadRequest extends Error {
  constructor(
    message: string,
    readonly param: string | null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, o: Resolved, stop: AbortSignal, counts: { cancelled: number }): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
  if (req.method === 'GET' && path === '/v1/models') {
    sendJson(res, 200, { object: 'list', data: [{ id: o.model, object: 'model', created: 1_700_000_000, owned_by: 'feishu-card-session-demo' }] });
    return;
  }
  const api = path === '/v1/chat/completions' ? 'chat' : path === '/v1/responses' ? 'responses' : undefined;
  if (api === undefined || req.method !== 'POST') {
    sendError(res, 404, `Unknown request URL: ${req.method ?? ''} ${path}. This server answers POST /v1/chat/completions and POST /v1/responses.`, 'invalid_request_error', null, 'unknown_url');
    return;
  }
  let request: Request;
  try {
    const body = await readJson(req);
    request = api === 'chat' ? chatRequest(body, o) : responsesRequest(body, o);
  } catch (error) {
    if (!(error instanceof BadRequest)) throw error;
    sendError(res, 400, error.message, 'invalid_request_error', error.param, error.code);
    return;
  }
  const script = scriptFor(request.question);
  const steps = stepsFor(script, request.reasoning, o);
  if (!request.stream) {
    sendJson(res, 200, api === 'chat' ? chatCompletion(request, script, steps) : responseObject(request, script, steps, 'completed', ids()));
    return;
  }
  const done = new AbortController();
  res.on('close', () => done.abort());
  const signal = AbortSignal.any([done.signal, stop]);
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  try {
    if (api === 'chat') await streamChat(res, request, script, steps, o, signal);
    else await streamResponses(res, request, script, steps, o, signal);
    res.end();
  } catch (error) {
    if (!signal.aborted) throw error;
    // The client went away mid-stream (not the server closing): its request was cancelled.
    if (done.signal.aborted && !stop.aborted) counts.cancelled++;
    res.destroy();
  }
}

const MAX_BODY = 1024 * 1024;

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new BadRequest('The request body is larger than 1 MiB.', null);
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequest('We could not parse the JSON body of your request. Send a JSON object.', null);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('The request body must be a JSON object.', null);
  return body as Record<string, unknown>;
}

function common(body: Record<string, unknown>): { model: string; stream: boolean } {
  if (body.model === undefined) throw new BadRequest('you must provide a model parameter', 'model', 'missing_required_parameter');
  if (typeof body.model !== 'string' || body.model.trim() === '') throw new BadRequest("Invalid type for 'model': expected a non-empty string.", 'model', 'invalid_type');
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    throw new BadRequest("Invalid type for 'stream': expected a boolean.", 'stream', 'invalid_type');
  }
  return { model: body.model, stream: body.stream === true };
}

function chatRequest(body: Record<string, unknown>, o: Resolved): Request {
  const { model, stream } = common(body);
  const messages = body.messages;
  if (messages === undefined) throw new BadRequest("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new BadRequest("Invalid 'messages': expected a non-empty array of messages.", 'messages', 'invalid_value');
  }
  let question: string | undefined;
  messages.forEach((message: unknown, index) => {
    const m = message as { role?: unknown; content?: unknown } | null;
    if (typeof m !== 'object' || m === null || typeof m.role !== 'string') {
      throw new BadRequest(`Invalid 'messages[${index}]': expected an object with a string 'role'.`, `messages[${index}]`, 'invalid_type');
    }
    if (m.role === 'user') question = textOf(m.content, 'text') ?? question;
  });
  if (question === undefined) throw new BadRequest("'messages' must contain a user message with text content.", 'messages', 'invalid_value');
  const effort = body.reasoning_effort;
  const asked = typeof effort === 'string' && effort !== 'none';
  const options = body.stream_options as { include_usage?: unknown } | null | undefined;
  return { model, stream, question, reasoning: wantsReasoning(o, asked), includeUsage: options?.include_usage === true };
}

function responsesRequest(body: Record<string, unknown>, o: Resolved): Request {
  const { model, stream } = common(body);
  const input = body.input;
  if (input === undefined) throw new BadRequest("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  let question: string | undefined;
  if (typeof input === 'string') question = input;
  else if (Array.isArray(input)) {
    for (const item of input as unknown[]) {
      const m = item as { role?: unknown; content?: unknown } | null;
      if (typeof m === 'object' && m !== null && m.role === 'user') question = textOf(m.content, 'input_text') ?? question;
    }
  }
  if (question === undefined || question.trim() === '') {
    throw new BadRequest("Invalid 'input': expected a non-empty string or a list of items with a user message.", 'input', 'invalid_value');
  }
  const reasoning = body.reasoning as { effort?: unknown } | null | undefined;
  const asked = typeof reasoning === 'object' && reasoning !== null && reasoning.effort !== 'none';
  return { model, stream, question, reasoning: wantsReasoning(o, asked), includeUsage: true };
}

function wantsReasoning(o: Resolved, asked: boolean): boolean {
  return o.reasoning === 'auto' ? asked : o.reasoning;
}

/** Text of a message's content: a string, or the text parts of a list. */
function textOf(content: unknown, partType: string): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts = (content as { type?: unknown; text?: unknown }[])
    .filter((part) => (part?.type === partType || part?.type === 'text') && typeof part.text === 'string')
    .map((part) => part.text as string);
  return texts.length > 0 ? texts.join('\n') : undefined;
}

// ---------------------------------------------------------------------------------------------
// Pacing

/** Hands out tokens at the configured rate; a late server catches up without sleeping. */
class Pacer {
  readonly #start = performance.now();
  #due = this.#start;

  constructor(
    readonly o: Resolved,
    readonly signal: AbortSignal,
  ) {}

  /** Waits until the next token is due. */
  async token(): Promise<void> {
    const gap = (1000 / this.o.tokensPerSecond) * (1 + this.o.jitter * (Math.random() * 2 - 1));
    this.#due += gap;
    await this.#until(this.#due);
  }

  /** A tool-like pause after paragraph `boundary` of `boundaries`, `extraMs` longer while a tool runs. */
  async pause(boundary: number, boundaries: number, extraMs: number): Promise<void> {
    const now = performance.now();
    const target = Math.max(this.#due, now) + this.o.pauseMs + extraMs;
    const stretched = this.o.minDurationMs > 0 ? this.#start + (this.o.minDurationMs * boundary) / boundaries : 0;
    this.#due = Math.max(target, stretched);
    await this.#until(this.#due);
  }

  async #until(due: number): Promise<void> {
    const wait = due - performance.now();
    if (wait >= 1) await sleep(wait, undefined, { signal: this.signal });
    else this.signal.throwIfAborted();
  }
}

type Emitted = Exclude<Step, { kind: 'pause' }>;

/** Writes SSE messages, one write per batch of tokens that are due together; a call's start and end take no time. */
async function paced(steps: Step[], o: Resolved, signal: AbortSignal, emit: (step: Emitted) => void): Promise<void> {
  const pacer = new Pacer(o, signal);
  for (const step of steps) {
    if (step.kind === 'pause') await pacer.pause(step.boundary, step.boundaries, step.extraMs);
    else {
      if (step.kind !== 'tool-start' && step.kind !== 'tool-done') await pacer.token();
      emit(step);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Chat Completions

function ids() {
  const hex = randomBytes(12).toString('hex');
  return { id: hex, created: Math.floor(Date.now() / 1000) };
}

function usage(request: Request, steps: Step[]) {
  const prompt = Math.max(1, Math.ceil(Array.from(request.question).length / 2));
  const reasoning = steps.filter((s) => s.kind === 'reasoning').length;
  const completion = steps.filter((s) => s.kind === 'answer' || s.kind === 'tool-arguments').length + reasoning;
  return { prompt, completion, reasoning };
}

/** The call's id as the client sees it (`call_…`), and its output item's id in the Responses API (`fc_…`). */
const callId = (id: string) => `call_${id}`;
const functionCallItemId = (id: string) => `fc_${id}`;

function chatCompletion(request: Request, script: ScriptedAnswer, steps: Step[]) {
  const { id, created } = ids();
  const u = usage(request, steps);
  const call = toolCallOf(steps);
  return {
    id: `chatcmpl-${id}`,
    object: 'chat.completion',
    created,
    model: request.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: join(script.blocks),
          refusal: null,
          ...(call ? { tool_calls: [{ id: callId(id), type: 'function', function: { name: call.name, arguments: call.arguments } }] } : {}),
          ...(request.reasoning ? { reasoning_content: script.reasoning } : {}),
        },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
    usage: chatUsage(u),
    system_fingerprint: 'fp_demo',
  };
}

function chatUsage(u: ReturnType<typeof usage>) {
  return {
    prompt_tokens: u.prompt,
    completion_tokens: u.completion,
    total_tokens: u.prompt + u.completion,
    completion_tokens_details: { reasoning_tokens: u.reasoning },
  };
}

async function streamChat(res: ServerResponse, request: Request, _script: ScriptedAnswer, steps: Step[], o: Resolved, signal: AbortSignal): Promise<void> {
  const { id, created } = ids();
  const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) => ({
    id: `chatcmpl-${id}`,
    object: 'chat.completion.chunk',
    created,
    model: request.model,
    system_fingerprint: 'fp_demo',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...extra,
  });
  const send = (value: unknown) => res.write(`data: ${JSON.stringify(value)}\n\n`);
  send(chunk({ role: 'assistant', content: '', refusal: null }));
  await paced(steps, o, signal, (step) => {
    switch (step.kind) {
      case 'answer':
        return send(chunk({ content: step.text }));
      case 'reasoning':
        return send(chunk({ reasoning_content: step.text }));
      case 'tool-start':
        return send(chunk({ tool_calls: [{ index: 0, id: callId(id), type: 'function', function: { name: step.call.name, arguments: '' } }] }));
      case 'tool-arguments':
        return send(chunk({ tool_calls: [{ index: 0, function: { arguments: step.text } }] }));
      case 'tool-done':
        return; // a chat stream says nothing when a call's arguments are complete
    }
  });
  send(chunk({}, 'stop'));
  if (request.includeUsage) send({ ...chunk({}), choices: [], usage: chatUsage(usage(request, steps)) });
  res.write('data: [DONE]\n\n');
}

// ---------------------------------------------------------------------------------------------
// Responses

/** The output items of a finished response: reasoning, then the message, or the messages around the tool call. */
function outputItems(request: Request, script: ScriptedAnswer, steps: Step[], id: string): Record<string, unknown>[] {
  const output: Record<string, unknown>[] = [];
  if (request.reasoning) output.push(reasoningItem(id, script.reasoning));
  const call = toolCallOf(steps);
  messagesOf(steps).forEach((text, index) => {
    if (index > 0 && call) output.push(functionCallItem(id, call, 'completed'));
    output.push(messageItem(messageId(id, index), text, 'completed'));
  });
  return output;
}

function responseObject(request: Request, script: ScriptedAnswer, steps: Step[], status: 'in_progress' | 'completed', id: { id: string; created: number }) {
  const done = status === 'completed';
  const output = done ? outputItems(request, script, steps, id.id) : [];
  const call = toolCallOf(steps);
  const u = usage(request, steps);
  return {
    id: `resp_${id.id}`,
    object: 'response',
    created_at: id.created,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model: request.model,
    output,
    output_text: done ? join(script.blocks) : '',
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: request.reasoning ? 'medium' : null, summary: request.reasoning ? 'auto' : null },
    store: false,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: call ? [FUNCTION_TOOL] : [],
    top_p: 1,
    truncation: 'disabled',
    usage: done
      ? {
          input_tokens: u.prompt,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: u.completion,
          output_tokens_details: { reasoning_tokens: u.reasoning },
          total_tokens: u.prompt + u.completion,
        }
      : null,
    metadata: {},
  };
}

function reasoningItem(id: string, text: string | undefined) {
  return { id: `rs_${id}`, type: 'reasoning', summary: text === undefined ? [] : [{ type: 'summary_text', text }] };
}

/** The tool as a Responses request declares it (the response echoes its tools). */
const FUNCTION_TOOL = {
  type: 'function',
  name: TOOL_NAME,
  description: "Searches the library's documentation.",
  parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'], additionalProperties: false },
  strict: true,
};

/** The id of the answer's `index`th message item (0 before the tool call, 1 after it). */
const messageId = (id: string, index: number) => (index === 0 ? `msg_${id}` : `msg_${id}_${index}`);

function functionCallItem(id: string, call: ToolCall, status: 'in_progress' | 'completed') {
  return {
    id: functionCallItemId(id),
    type: 'function_call',
    status,
    arguments: status === 'completed' ? call.arguments : '',
    call_id: callId(id),
    name: call.name,
  };
}

/** `id` is the item's own id (see `messageId`). */
function messageItem(id: string, text: string | undefined, status: 'in_progress' | 'completed') {
  return {
    id,
    type: 'message',
    role: 'assistant',
    status,
    content: text === undefined ? [] : [{ type: 'output_text', text, annotations: [], logprobs: [] }],
  };
}

async function streamResponses(res: ServerResponse, request: Request, script: ScriptedAnswer, steps: Step[], o: Resolved, signal: AbortSignal): Promise<void> {
  const id = ids();
  let sequence = 0;
  const send = (event: Record<string, unknown> & { type: string }) =>
    res.write(`event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: sequence++ })}\n\n`);
  const messages = messagesOf(steps);
  const reasoningIndex = 0;
  const summary = { item_id: `rs_${id.id}`, output_index: reasoningIndex, summary_index: 0 };
  /** The output item being streamed; output indexes count the items in the order they open. */
  const at: { phase: 'start' | 'reasoning' | 'answer' | 'between'; nextIndex: number; message: number; text?: { item_id: string; output_index: number; content_index: number } } = {
    phase: 'start',
    nextIndex: 0,
    message: 0,
  };
  const call = { item_id: functionCallItemId(id.id), output_index: -1 };

  const openReasoning = () => {
    at.nextIndex++;
    send({ type: 'response.output_item.added', output_index: reasoningIndex, item: reasoningItem(id.id, undefined) });
    send({ type: 'response.reasoning_summary_part.added', ...summary, part: { type: 'summary_text', text: '' } });
  };
  const closeReasoning = () => {
    send({ type: 'response.reasoning_summary_text.done', ...summary, text: script.reasoning });
    send({ type: 'response.reasoning_summary_part.done', ...summary, part: { type: 'summary_text', text: script.reasoning } });
    send({ type: 'response.output_item.done', output_index: reasoningIndex, item: reasoningItem(id.id, script.reasoning) });
  };
  const openMessage = () => {
    if (at.phase === 'reasoning') closeReasoning();
    at.text = { item_id: messageId(id.id, at.message), output_index: at.nextIndex++, content_index: 0 };
    at.phase = 'answer';
    send({ type: 'response.output_item.added', output_index: at.text.output_index, item: messageItem(at.text.item_id, undefined, 'in_progress') });
    send({ type: 'response.content_part.added', ...at.text, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
  };
  const closeMessage = () => {
    if (at.phase !== 'answer') openMessage();
    const text = messages[at.message] ?? '';
    send({ type: 'response.output_text.done', ...at.text, text, logprobs: [] });
    send({ type: 'response.content_part.done', ...at.text, part: { type: 'output_text', text, annotations: [], logprobs: [] } });
    send({ type: 'response.output_item.done', output_index: at.text!.output_index, item: messageItem(at.text!.item_id, text, 'completed') });
    at.message++;
    at.phase = 'between';
  };

  send({ type: 'response.created', response: responseObject(request, script, steps, 'in_progress', id) });
  send({ type: 'response.in_progress', response: responseObject(request, script, steps, 'in_progress', id) });
  await paced(steps, o, signal, (step) => {
    switch (step.kind) {
      case 'reasoning':
        if (at.phase === 'start') openReasoning();
        at.phase = 'reasoning';
        send({ type: 'response.reasoning_summary_text.delta', ...summary, delta: step.text });
        return;
      case 'answer':
        if (at.phase !== 'answer') openMessage();
        send({ type: 'response.output_text.delta', ...at.text, delta: step.text, logprobs: [] });
        return;
      case 'tool-start':
        closeMessage();
        call.output_index = at.nextIndex++;
        send({ type: 'response.output_item.added', output_index: call.output_index, item: functionCallItem(id.id, step.call, 'in_progress') });
        return;
      case 'tool-arguments':
        send({ type: 'response.function_call_arguments.delta', ...call, delta: step.text });
        return;
      case 'tool-done':
        send({ type: 'response.function_call_arguments.done', ...call, name: step.call.name, arguments: step.call.arguments });
        send({ type: 'response.output_item.done', output_index: call.output_index, item: functionCallItem(id.id, step.call, 'completed') });
        return;
    }
  });
  closeMessage();
  send({ type: 'response.completed', response: responseObject(request, script, steps, 'completed', id) });
}

// ---------------------------------------------------------------------------------------------
// Helpers

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, message: string, type: string, param: string | null = null, code: string | null = null): void {
  sendJson(res, status, { error: { message, type, param, code } });
}

/** FNV-1a over UTF-16 units. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

