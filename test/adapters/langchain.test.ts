/**
 * The LangChain adapters against the real packages: `ChatOpenAI` (@langchain/openai) streaming from a
 * scripted OpenAI-compatible server on loopback, @langchain/core's fake chat models, messages and tools,
 * and `streamEvents` of a small agent (model → tools → model) built from a RunnableLambda.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dispatchCustomEvent } from '@langchain/core/callbacks/dispatch';
import { AIMessage, AIMessageChunk, type BaseMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { RunnableLambda } from '@langchain/core/runnables';
import { tool } from '@langchain/core/tools';
import type { JsonSchema7ObjectType } from '@langchain/core/utils/json_schema';
import { FakeListChatModel, FakeStreamingChatModel } from '@langchain/core/utils/testing';
import { ChatOpenAI } from '@langchain/openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnswerEvent } from '../../src/adapters/answer-events.js';
import { langchainChunkAdapter, langchainEventsAdapter } from '../../src/adapters/langchain.js';
import { eventsFrom, textsOf } from '../support/adapters.js';

// --- A scripted OpenAI-compatible chat completions server -------------------------------------------

type Chunk = Record<string, unknown>;

interface ChatServer {
  baseURL: string;
  /** What the following requests stream, one answer per request. */
  answers: Chunk[][];
  close(): Promise<void>;
}

async function startChatServer(): Promise<ChatServer> {
  const answers: Chunk[][] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = answers.shift();
      if (!answer) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"no scripted answer"}}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const chunk of answer) {
        const body = { id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1, model: 'test-model', ...chunk };
        res.write(`data: ${JSON.stringify(body)}\n\n`);
      }
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    answers,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const delta = (fields: Chunk, finish_reason: string | null = null): Chunk => ({ choices: [{ index: 0, delta: fields, finish_reason }] });
const callDelta = (index: number, fn: { id?: string; name?: string; args?: string }): Chunk =>
  delta({
    tool_calls: [
      { index, ...(fn.id ? { id: fn.id, type: 'function' } : {}), function: { ...(fn.name ? { name: fn.name } : {}), arguments: fn.args ?? '' } },
    ],
  });
const usageChunk = (prompt: number, completion: number, reasoning?: number): Chunk => ({
  choices: [],
  usage: {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    ...(reasoning === undefined ? {} : { completion_tokens_details: { reasoning_tokens: reasoning } }),
  },
});

/** Reasons, says a line of CJK and emoji, then calls `weather` for 北京 (arguments in two pieces). */
const CALLS_WEATHER: Chunk[] = [
  delta({ role: 'assistant', reasoning_content: '用户问天气，' }),
  delta({ reasoning_content: 'let me check.' }),
  delta({ content: '你好，' }),
  delta({ content: '我查一下 🌤️' }),
  callDelta(0, { id: 'call_1', name: 'weather' }),
  callDelta(0, { args: '{"city":' }),
  callDelta(0, { args: '"北京"}' }),
  delta({}, 'tool_calls'),
  usageChunk(10, 5, 2),
];

/** Calls `weather` twice in one answer, the two calls' chunks interleaved. */
const CALLS_WEATHER_TWICE: Chunk[] = [
  delta({ role: 'assistant', content: '' }),
  callDelta(0, { id: 'call_1', name: 'weather' }),
  callDelta(1, { id: 'call_2', name: 'weather' }),
  callDelta(0, { args: '{"city":"北京"}' }),
  callDelta(1, { args: '{"city":"上海"}' }),
  delta({}, 'tool_calls'),
  usageChunk(10, 6),
];

const ANSWERS_FINALLY: Chunk[] = [
  delta({ role: 'assistant', content: '北京晴，' }),
  delta({ content: '上海多云 ☁️👍🏽' }),
  delta({}, 'stop'),
  usageChunk(20, 3),
];

/** A `weather` tool, as `tool()` makes it from a function and a JSON schema. */
function weatherTool(report: (city: string) => string) {
  const schema: JsonSchema7ObjectType = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
  return tool((input: unknown) => report(String((input as { city?: unknown }).city)), { name: 'weather', description: 'The weather in a city', schema });
}

const weather = weatherTool((city) => `${city}: sunny`);
const failingWeather = weatherTool((city) => {
  throw new Error(`城市不存在: ${city}`);
});

let server: ChatServer;
beforeAll(async () => {
  server = await startChatServer();
});
afterAll(async () => {
  await server.close();
});

function chatModel(): ChatOpenAI {
  return new ChatOpenAI({ model: 'test-model', apiKey: 'test-key', configuration: { baseURL: server.baseURL }, maxRetries: 0 });
}

/**
 * A small agent: asks the model, dispatches a custom `progress` event, runs the tools it called (the
 * last call first, so tool runs do not come in the model's order), and asks again until the model
 * answers without a call. A failing tool's error goes back to the model as an error ToolMessage.
 * `config` is passed on so the nested runs report to `streamEvents` (and the model streams).
 */
function agent(tools: { weather: typeof weather }) {
  const model = chatModel().bindTools([tools.weather]);
  return RunnableLambda.from(async (question: string, config) => {
    const messages: BaseMessage[] = [new HumanMessage(question)];
    for (;;) {
      const answer = await model.invoke(messages, config);
      messages.push(answer);
      const calls = answer.tool_calls ?? [];
      if (calls.length === 0) return answer.text;
      await dispatchCustomEvent('progress', { calls: calls.length }, config);
      for (const call of [...calls].reverse()) {
        try {
          messages.push(await tools.weather.invoke({ ...call, type: 'tool_call' as const }, config));
        } catch (error) {
          messages.push(new ToolMessage({ tool_call_id: call.id ?? '', content: String(error), status: 'error' }));
        }
      }
    }
  });
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

/** A JSON round trip: what a stream looks like after crossing a process boundary. */
function overTheWire<T>(items: T[]): unknown[] {
  return items.map((item) => JSON.parse(JSON.stringify(item)) as unknown);
}

const kinds = (events: AnswerEvent[]) => events.map((event) => event.kind);

// --- AIMessageChunk streams ------------------------------------------------------------------------

describe('langchainChunkAdapter: a chat model stream() of AIMessageChunks', () => {
  it('reads ChatOpenAI: reasoning, the exact answer, a streamed tool call, the finish and usage', async () => {
    server.answers.push(CALLS_WEATHER);
    const stream = await chatModel().bindTools([weather]).stream('北京天气?');
    const events = await eventsFrom(langchainChunkAdapter, stream);

    expect(textsOf(events)).toEqual({ answer: '你好，我查一下 🌤️', reasoning: '用户问天气，let me check.' });
    expect(events.filter((event) => event.kind !== 'answer' && event.kind !== 'reasoning')).toEqual([
      { kind: 'tool-start', id: 'call_1', name: 'weather' },
      { kind: 'tool-input', id: 'call_1', delta: '{"city":' },
      { kind: 'tool-input', id: 'call_1', delta: '"北京"}' },
      { kind: 'tool-call', id: 'call_1', name: 'weather', input: { city: '北京' } },
      { kind: 'finish', reason: 'tool_calls' },
      { kind: 'usage', usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15, reasoningTokens: 2 } },
    ]);
  });

  it('keeps two calls of one answer apart when their chunks interleave, in the order the model made them', async () => {
    server.answers.push(CALLS_WEATHER_TWICE);
    const events = await eventsFrom(langchainChunkAdapter, await chatModel().bindTools([weather]).stream('两个城市'));

    expect(events.filter((event) => event.kind.startsWith('tool-'))).toEqual([
      { kind: 'tool-start', id: 'call_1', name: 'weather' },
      { kind: 'tool-start', id: 'call_2', name: 'weather' },
      { kind: 'tool-input', id: 'call_1', delta: '{"city":"北京"}' },
      { kind: 'tool-input', id: 'call_2', delta: '{"city":"上海"}' },
      { kind: 'tool-call', id: 'call_1', name: 'weather', input: { city: '北京' } },
      { kind: 'tool-call', id: 'call_2', name: 'weather', input: { city: '上海' } },
    ]);
  });

  it('completes a call still open when the stream ends without a finish reason (end())', async () => {
    server.answers.push([delta({ role: 'assistant', content: '' }), callDelta(0, { id: 'call_9', name: 'weather' }), callDelta(0, { args: '{"city":"广州"}' })]);
    const events = await eventsFrom(langchainChunkAdapter, await chatModel().bindTools([weather]).stream('广州'));

    expect(events).toEqual([
      { kind: 'tool-start', id: 'call_9', name: 'weather' },
      { kind: 'tool-input', id: 'call_9', delta: '{"city":"广州"}' },
      { kind: 'tool-call', id: 'call_9', name: 'weather', input: { city: '广州' } },
    ]);
  });

  it('reads the same from serialized chunks ({ lc: 1, type: "constructor", kwargs }) as from instances', async () => {
    server.answers.push(CALLS_WEATHER, CALLS_WEATHER);
    const model = chatModel().bindTools([weather]);
    const direct = await eventsFrom(langchainChunkAdapter, await model.stream('北京天气?'));
    const serialized = overTheWire(await collect(await model.stream('北京天气?')));

    expect(langchainChunkAdapter.matches(serialized[0])).toBe(true);
    expect(await eventsFrom(langchainChunkAdapter, serialized)).toEqual(direct);
  });

  it('reads content blocks as @langchain/anthropic streams them: thinking, text, tool_use with its JSON input, stop_reason, usage that adds up', async () => {
    // The chunks @langchain/anthropic makes from message_start … message_delta.
    const chunks = [
      new AIMessageChunk({ content: [], usage_metadata: { input_tokens: 12, output_tokens: 1, total_tokens: 13 } }),
      new AIMessageChunk({ content: [{ index: 0, type: 'thinking', thinking: '先想一想' }] }),
      new AIMessageChunk({ content: [{ index: 0, type: 'thinking', signature: 'sig' }] }),
      new AIMessageChunk({ content: [{ index: 1, type: 'text', text: '好的，' }] }),
      new AIMessageChunk({ content: [{ index: 1, type: 'text', text: '查天气 🌧' }] }),
      new AIMessageChunk({
        content: [{ index: 2, type: 'tool_use', id: 'toolu_1', name: 'weather', input: '' }],
        tool_call_chunks: [{ index: 2, id: 'toolu_1', name: 'weather', args: '' }],
      }),
      new AIMessageChunk({
        content: [{ index: 2, type: 'input_json_delta', input: '{"city": "深圳"}' }],
        tool_call_chunks: [{ index: 2, args: '{"city": "深圳"}' }],
      }),
      new AIMessageChunk({
        content: [],
        additional_kwargs: { stop_reason: 'tool_use', stop_sequence: null },
        usage_metadata: { input_tokens: 0, output_tokens: 20, total_tokens: 20 },
      }),
    ];

    expect(await eventsFrom(langchainChunkAdapter, chunks)).toEqual([
      { kind: 'usage', usage: { inputTokens: 12, outputTokens: 1, totalTokens: 13 } },
      { kind: 'reasoning', text: '先想一想' },
      { kind: 'answer', text: '好的，' },
      { kind: 'answer', text: '查天气 🌧' },
      { kind: 'tool-start', id: 'toolu_1', name: 'weather' },
      { kind: 'tool-input', id: 'toolu_1', delta: '{"city": "深圳"}' },
      { kind: 'usage', usage: { inputTokens: 12, outputTokens: 21, totalTokens: 33 } },
      { kind: 'tool-call', id: 'toolu_1', name: 'weather', input: { city: '深圳' } },
      { kind: 'finish', reason: 'tool_use' },
    ]);
  });

  it('reads FakeStreamingChatModel content blocks (reasoning, thinking, text) and whole tool calls', async () => {
    const model = new FakeStreamingChatModel({
      sleep: 0,
      chunks: [
        new AIMessageChunk({ content: [{ type: 'reasoning', reasoning: '推理中…' }] }),
        new AIMessageChunk({ content: [{ type: 'thinking', thinking: ' 再想想' }] }),
        new AIMessageChunk({ content: [{ type: 'text', text: '答案是 42 🎉' }] }),
        new AIMessageChunk({ content: '', tool_calls: [{ id: 'fake_1', name: 'weather', args: { city: '杭州' }, type: 'tool_call' }] }),
      ],
    });
    const events = await eventsFrom(langchainChunkAdapter, await model.stream('?'));

    expect(textsOf(events)).toEqual({ answer: '答案是 42 🎉', reasoning: '推理中… 再想想' });
    expect(events.slice(3)).toEqual([
      { kind: 'tool-start', id: 'fake_1', name: 'weather' },
      { kind: 'tool-call', id: 'fake_1', name: 'weather', input: { city: '杭州' } },
    ]);
  });

  it('reads FakeListChatModel, character by character, with the finish reason of its last chunk', async () => {
    const model = new FakeListChatModel({ responses: ['你好 👋🏻!'], generationInfo: { finish_reason: 'stop' } });
    const events = await eventsFrom(langchainChunkAdapter, await model.stream('hi'));

    expect(textsOf(events).answer).toBe('你好 👋🏻!');
    expect(events.at(-1)).toEqual({ kind: 'finish', reason: 'stop' });
    expect(kinds(events).filter((kind) => kind !== 'answer')).toEqual(['finish']);
  });

  it("reads a LangGraph graph's [message, metadata] pairs (streamMode 'messages'): AI chunks, then ToolMessages as results", async () => {
    const meta = (node: string) => ({ langgraph_node: node, langgraph_step: 1 });
    const pairs = [
      [new AIMessageChunk({ content: '查询中', id: 'run-1' }), meta('agent')],
      [new AIMessageChunk({ content: '', tool_call_chunks: [{ index: 0, id: 'call_a', name: 'weather', args: '{"city":"西安"}' }] }), meta('agent')],
      [new AIMessageChunk({ content: '', tool_call_chunks: [{ index: 1, id: 'call_b', name: 'weather', args: '{"city":"?"}' }] }), meta('agent')],
      [new ToolMessage({ tool_call_id: 'call_a', content: '西安: sunny' }), meta('tools')],
      [new ToolMessage({ tool_call_id: 'call_b', content: 'Error: no such city', status: 'error' }), meta('tools')],
      [new AIMessageChunk({ content: '西安晴。' }), meta('agent')],
    ];

    expect(langchainChunkAdapter.matches(pairs[0])).toBe(true);
    expect(await eventsFrom(langchainChunkAdapter, pairs)).toEqual([
      { kind: 'answer', text: '查询中' },
      { kind: 'tool-start', id: 'call_a', name: 'weather' },
      { kind: 'tool-input', id: 'call_a', delta: '{"city":"西安"}' },
      { kind: 'tool-start', id: 'call_b', name: 'weather' },
      { kind: 'tool-input', id: 'call_b', delta: '{"city":"?"}' },
      { kind: 'tool-call', id: 'call_a', name: 'weather', input: { city: '西安' } },
      { kind: 'tool-call', id: 'call_b', name: 'weather', input: { city: '?' } },
      { kind: 'tool-result', id: 'call_a', output: '西安: sunny' },
      { kind: 'tool-error', id: 'call_b', error: 'Error: no such city' },
      { kind: 'answer', text: '西安晴。' },
    ]);
  });

  it('reports content blocks and chunks it does not show as unhandled, never silently', async () => {
    const events = await eventsFrom(langchainChunkAdapter, [
      new AIMessageChunk({ content: [{ type: 'text', text: '看图：' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }),
      { something: 'else' },
      new HumanMessage('not an answer'),
    ]);

    expect(events).toEqual([
      { kind: 'answer', text: '看图：' },
      { kind: 'unhandled', source: langchainChunkAdapter.name, type: 'content:image_url' },
      { kind: 'unhandled', source: langchainChunkAdapter.name, type: 'object' },
      { kind: 'unhandled', source: langchainChunkAdapter.name, type: 'message:human' },
    ]);
  });
});

// --- streamEvents ----------------------------------------------------------------------------------

describe('langchainEventsAdapter: streamEvents', () => {
  it("reads an agent's streamEvents v2: one step per tool call under the model's call id, each with its result, and both answers", async () => {
    server.answers.push(CALLS_WEATHER_TWICE, ANSWERS_FINALLY);
    const events = await eventsFrom(langchainEventsAdapter, agent({ weather }).streamEvents('北京和上海天气?', { version: 'v2' }));

    expect(textsOf(events)).toEqual({ answer: '北京晴，上海多云 ☁️👍🏽', reasoning: '' });
    expect(events.filter((event) => event.kind !== 'answer')).toEqual([
      { kind: 'tool-start', id: 'call_1', name: 'weather' },
      { kind: 'tool-start', id: 'call_2', name: 'weather' },
      { kind: 'tool-input', id: 'call_1', delta: '{"city":"北京"}' },
      { kind: 'tool-input', id: 'call_2', delta: '{"city":"上海"}' },
      { kind: 'usage', usage: { inputTokens: 10, outputTokens: 6, totalTokens: 16 } },
      // on_chat_model_end: a model called inside a chain streams no finish reason.
      { kind: 'tool-call', id: 'call_1', name: 'weather', input: { city: '北京' } },
      { kind: 'tool-call', id: 'call_2', name: 'weather', input: { city: '上海' } },
      { kind: 'finish', reason: 'tool_calls' },
      { kind: 'unhandled', source: langchainEventsAdapter.name, type: 'on_custom_event' },
      // The agent runs 上海 first: its run is matched by its arguments, no second step is started.
      { kind: 'tool-result', id: 'call_2', output: '上海: sunny' },
      { kind: 'tool-result', id: 'call_1', output: '北京: sunny' },
      { kind: 'usage', usage: { inputTokens: 30, outputTokens: 9, totalTokens: 39 } },
      { kind: 'finish', reason: 'stop' },
    ]);
  });

  it('reads reasoning, CJK and emoji text exactly from the model events', async () => {
    server.answers.push(CALLS_WEATHER, ANSWERS_FINALLY);
    const events = await eventsFrom(langchainEventsAdapter, agent({ weather }).streamEvents('北京天气?', { version: 'v2' }));

    expect(textsOf(events)).toEqual({ answer: '你好，我查一下 🌤️北京晴，上海多云 ☁️👍🏽', reasoning: '用户问天气，let me check.' });
    expect(events.filter((event) => event.kind === 'usage').at(-1)).toEqual({
      kind: 'usage',
      usage: { inputTokens: 30, outputTokens: 8, totalTokens: 38, reasoningTokens: 2 },
    });
  });

  it("ends a step whose tool threw as failed, with the error's message (not its stack), matched to its call by its arguments", async () => {
    server.answers.push(CALLS_WEATHER_TWICE, ANSWERS_FINALLY);
    const events = await eventsFrom(langchainEventsAdapter, agent({ weather: failingWeather }).streamEvents('?', { version: 'v2' }));

    // on_tool_error has no ToolMessage: the run that failed for 上海 (run first) is call_2's by its arguments.
    expect(events.filter((event) => event.kind === 'tool-call' || event.kind === 'tool-error')).toEqual([
      { kind: 'tool-call', id: 'call_1', name: 'weather', input: { city: '北京' } },
      { kind: 'tool-call', id: 'call_2', name: 'weather', input: { city: '上海' } },
      { kind: 'tool-error', id: 'call_2', error: '城市不存在: 上海' },
      { kind: 'tool-error', id: 'call_1', error: '城市不存在: 北京' },
    ]);
    expect(events.filter((event) => event.kind === 'tool-start')).toHaveLength(2);
  });

  it('makes a tool run that no model call asked for its own step, under its run id', async () => {
    const chain = RunnableLambda.from(async (city: string, config) => weather.invoke({ city }, config));
    const events = await eventsFrom(langchainEventsAdapter, chain.streamEvents('成都', { version: 'v2' }));

    const runId = events[0]?.kind === 'tool-start' ? events[0].id : '';
    expect(runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(events).toEqual([
      { kind: 'tool-start', id: runId, name: 'weather' },
      { kind: 'tool-call', id: runId, name: 'weather', input: { city: '成都' } },
      { kind: 'tool-result', id: runId, output: '成都: sunny' },
    ]);
  });

  it("reads a chat model's own streamEvents v2, its finish reason from the chunks, said once", async () => {
    server.answers.push(CALLS_WEATHER);
    const events = await eventsFrom(langchainEventsAdapter, chatModel().bindTools([weather]).streamEvents('北京天气?', { version: 'v2' }));

    expect(textsOf(events)).toEqual({ answer: '你好，我查一下 🌤️', reasoning: '用户问天气，let me check.' });
    expect(events.filter((event) => event.kind === 'finish')).toEqual([{ kind: 'finish', reason: 'tool_calls' }]);
    expect(events.filter((event) => event.kind === 'tool-call')).toEqual([
      { kind: 'tool-call', id: 'call_1', name: 'weather', input: { city: '北京' } },
    ]);
  });

  it('reads the same from streamEvents sent over the wire as JSON (serialized messages)', async () => {
    server.answers.push(CALLS_WEATHER_TWICE, ANSWERS_FINALLY, CALLS_WEATHER_TWICE, ANSWERS_FINALLY);
    const direct = await eventsFrom(langchainEventsAdapter, agent({ weather }).streamEvents('?', { version: 'v2' }));
    const wire = overTheWire(await collect(agent({ weather }).streamEvents('?', { version: 'v2' })));

    expect(await eventsFrom(langchainEventsAdapter, wire)).toEqual(direct);
  });

  it("reads @langchain/core 1.x's content-block protocol (a chat model's streamEvents without a version)", async () => {
    server.answers.push(CALLS_WEATHER);
    const stream = chatModel().bindTools([weather]);
    const events = await eventsFrom(langchainEventsAdapter, (stream as unknown as ChatOpenAI).streamEvents('北京天气?'));

    expect(textsOf(events)).toEqual({ answer: '你好，我查一下 🌤️', reasoning: '用户问天气，let me check.' });
    expect(events.filter((event) => event.kind !== 'answer' && event.kind !== 'reasoning')).toEqual([
      { kind: 'tool-start', id: 'call_1', name: 'weather' },
      { kind: 'tool-input', id: 'call_1', delta: '{"city":' },
      { kind: 'tool-input', id: 'call_1', delta: '"北京"}' },
      { kind: 'usage', usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15, reasoningTokens: 2 } },
      // message-finish repeats the usage snapshot: not said twice.
      { kind: 'tool-call', id: 'call_1', name: 'weather', input: { city: '北京' } },
      { kind: 'finish', reason: 'tool_calls' },
    ]);
  });

  it('reads the content-block protocol of a model without a native one (FakeStreamingChatModel, through the compat layer)', async () => {
    const model = new FakeStreamingChatModel({
      sleep: 0,
      chunks: [
        new AIMessageChunk({ content: [{ type: 'thinking', thinking: '嗯', index: 0 }] }),
        new AIMessageChunk({ content: [{ type: 'thinking', thinking: '…', index: 0 }] }),
        new AIMessageChunk({ content: [{ type: 'text', text: '好', index: 1 }] }),
        new AIMessageChunk({ content: [{ type: 'text', text: '的 ✅', index: 1 }] }),
      ],
    });
    const events = await eventsFrom(langchainEventsAdapter, model.streamEvents('?'));

    expect(textsOf(events)).toEqual({ answer: '好的 ✅', reasoning: '嗯…' });
    expect(events.at(-1)).toEqual({ kind: 'finish', reason: 'stop' });
  });

  it('reads the whole message of a model run that streamed no chunks from on_chat_model_end', async () => {
    const output = new AIMessage({
      content: '不流式的回答 📦',
      tool_calls: [{ id: 'call_w', name: 'weather', args: { city: '南京' }, type: 'tool_call' }],
      usage_metadata: { input_tokens: 7, output_tokens: 4, total_tokens: 11 },
      response_metadata: { finish_reason: 'tool_calls' },
    });
    const events = await eventsFrom(langchainEventsAdapter, [
      { event: 'on_chat_model_start', name: 'ChatModel', run_id: 'm1', data: { input: { messages: [] } } },
      { event: 'on_chat_model_end', name: 'ChatModel', run_id: 'm1', data: { output } },
    ]);

    expect(events).toEqual([
      { kind: 'answer', text: '不流式的回答 📦' },
      { kind: 'tool-start', id: 'call_w', name: 'weather' },
      { kind: 'tool-call', id: 'call_w', name: 'weather', input: { city: '南京' } },
      { kind: 'usage', usage: { inputTokens: 7, outputTokens: 4, totalTokens: 11 } },
      { kind: 'finish', reason: 'tool_calls' },
    ]);
  });

  it('ignores chain plumbing and reports event types it does not handle', async () => {
    const events = await eventsFrom(langchainEventsAdapter, [
      { event: 'on_chain_start', name: 'graph', run_id: 'r1', data: { input: {} } },
      { event: 'on_chain_stream', name: 'graph', run_id: 'r1', data: { chunk: { messages: [] } } },
      { event: 'on_retriever_end', name: 'docs', run_id: 'r2', data: { output: [] } },
      { event: 'on_something_new', name: 'x', run_id: 'r3', data: {} },
      { event: 'on_chain_end', name: 'graph', run_id: 'r1', data: { output: {} } },
    ]);

    expect(events).toEqual([{ kind: 'unhandled', source: langchainEventsAdapter.name, type: 'on_something_new' }]);
  });
});

// --- Recognizing the sources -------------------------------------------------------------------------

describe('matches(): each adapter knows its own source and no other', () => {
  const otherSources: [string, unknown][] = [
    ['a string', 'hello'],
    ['bytes', new TextEncoder().encode('hello')],
    ['null', null],
    ['openai chat completion chunk', { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'hi' } }] }],
    ['openai Responses event', { type: 'response.output_text.delta', delta: 'hi', item_id: 'i', output_index: 0, content_index: 0 }],
    ['openai Responses created event', { type: 'response.created', response: { id: 'r' } }],
    ['AI SDK fullStream text part', { type: 'text-delta', id: '0', text: 'hi' }],
    ['AI SDK start part', { type: 'start' }],
    ['AI SDK tool-call part', { type: 'tool-call', toolCallId: 't', toolName: 'weather', input: {} }],
    ['AI SDK UI message text part', { type: 'text-delta', id: '0', delta: 'hi' }],
    ['Anthropic message_start', { type: 'message_start', message: { id: 'm', type: 'message', role: 'assistant', content: [] } }],
    ['Anthropic content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } }],
    ['Anthropic Message', { id: 'm', type: 'message', role: 'assistant', content: [{ type: 'text', text: 'hi' }] }],
    ['a plain object with content', { content: 'hi' }],
  ];

  it.each(otherSources)('neither adapter matches %s', (_name, chunk) => {
    expect(langchainChunkAdapter.matches(chunk)).toBe(false);
    expect(langchainEventsAdapter.matches(chunk)).toBe(false);
  });

  it('the chunk adapter matches AIMessageChunks (instance, serialized, plain dict) and message pairs; not stream events', () => {
    const chunk = new AIMessageChunk({ content: 'hi' });
    expect(langchainChunkAdapter.matches(chunk)).toBe(true);
    expect(langchainChunkAdapter.matches(JSON.parse(JSON.stringify(chunk)))).toBe(true);
    expect(langchainChunkAdapter.matches({ type: 'AIMessageChunk', content: 'hi', tool_call_chunks: [] })).toBe(true);
    expect(langchainChunkAdapter.matches([chunk, { langgraph_node: 'agent' }])).toBe(true);
    expect(langchainChunkAdapter.matches(new HumanMessage('hi'))).toBe(false);
    expect(langchainChunkAdapter.matches({ event: 'on_chat_model_stream', run_id: 'r', data: { chunk } })).toBe(false);
    expect(langchainChunkAdapter.matches({ event: 'message-start', id: 'm' })).toBe(false);
  });

  it('the events adapter matches streamEvents v2 events and the content-block protocol; not AIMessageChunks', () => {
    expect(langchainEventsAdapter.matches({ event: 'on_chain_start', run_id: 'r', name: 'agent', data: {} })).toBe(true);
    expect(langchainEventsAdapter.matches({ event: 'message-start', id: 'm' })).toBe(true);
    expect(langchainEventsAdapter.matches({ event: 'content-block-delta', index: 0, delta: { type: 'text-delta', text: 'hi' } })).toBe(true);
    expect(langchainEventsAdapter.matches(new AIMessageChunk({ content: 'hi' }))).toBe(false);
    expect(langchainEventsAdapter.matches({ event: 'thread.run.created', data: {} })).toBe(false);
  });
});
