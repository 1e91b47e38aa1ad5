/**
 * The Vercel AI SDK adapters, driven by the real `ai` package: `streamText` over the SDK's own mock
 * model (`ai/test`), read through `result.stream` (`fullStream` before ai 7) and the UI message stream.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { AIMessageChunk } from '@langchain/core/messages';
import {
  type TextStreamPart,
  type ToolSet,
  type UIMessageChunk,
  createUIMessageStream,
  isStepCount,
  jsonSchema,
  streamText,
  toUIMessageStream,
  tool,
} from 'ai';
import { MockLanguageModelV4, simulateReadableStream } from 'ai/test';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aiSdkFullStreamAdapter, aiSdkUiMessageStreamAdapter } from '../../src/adapters/ai-sdk.js';
import type { AnswerEvent } from '../../src/adapters/answer-events.js';
import { eventsFrom, textsOf } from '../support/adapters.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';

/** A part of a model's stream, as a provider hands it to `streamText` (`LanguageModelV4StreamPart`). */
type ModelPart = Awaited<ReturnType<MockLanguageModelV4['doStream']>>['stream'] extends ReadableStream<infer Part> ? Part : never;

const FULL = 'AI SDK stream parts';
const UI = 'AI SDK UI message chunks';

/** One model call's stream, as a provider hands it to `streamText`. */
function modelCall(parts: ModelPart[]) {
  return { stream: simulateReadableStream({ chunks: parts, chunkDelayInMs: null }) };
}

function modelUsage(input: number, output: number, reasoning?: number) {
  return {
    inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: output, text: output - (reasoning ?? 0), reasoning },
  };
}

const finishWith = (unified: 'stop' | 'tool-calls', usage = modelUsage(1, 1)): ModelPart => ({
  type: 'finish',
  finishReason: { unified, raw: unified },
  usage,
});

const weather = tool({
  description: 'The weather in a city',
  inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
  execute: async ({ city }) => {
    await new Promise((resolve) => setTimeout(resolve, 20)); // the station is slow to answer
    return { city, sky: 'sunny', celsius: 24 };
  },
});

const stations = tool({
  description: 'Weather stations near a city',
  inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } } }),
  execute: (): { stations: string[] } => {
    throw new Error('station network offline');
  },
});

/**
 * An agent run of two steps: reasoning, a sentence, a streamed call to `weather` and an unstreamed call
 * to `stations` (which throws), then the answer.
 */
function agentRun() {
  const model = new MockLanguageModelV4({
    doStream: [
      modelCall([
        { type: 'stream-start', warnings: [] },
        { type: 'reasoning-start', id: 'r1' },
        { type: 'reasoning-delta', id: 'r1', delta: 'The user wants the weather; ' },
        { type: 'reasoning-delta', id: 'r1', delta: 'ask the tools.' },
        { type: 'reasoning-end', id: 'r1' },
        { type: 'text-start', id: 't1' },
        { type: 'text-delta', id: 't1', delta: 'Let me check ' },
        { type: 'text-delta', id: 't1', delta: 'Beijing.' },
        { type: 'text-end', id: 't1' },
        { type: 'tool-input-start', id: 'call-1', toolName: 'weather' },
        { type: 'tool-input-delta', id: 'call-1', delta: '{"city":' },
        { type: 'tool-input-delta', id: 'call-1', delta: '"Beijing"}' },
        { type: 'tool-input-end', id: 'call-1' },
        { type: 'tool-call', toolCallId: 'call-1', toolName: 'weather', input: '{"city":"Beijing"}' },
        { type: 'tool-call', toolCallId: 'call-2', toolName: 'stations', input: '{"city":"Beijing"}' },
        finishWith('tool-calls', modelUsage(100, 40, 12)),
      ]),
      modelCall([
        { type: 'text-start', id: 't2' },
        { type: 'text-delta', id: 't2', delta: ' It is sunny, ' },
        { type: 'text-delta', id: 't2', delta: '24 °C 🌞.' },
        { type: 'text-end', id: 't2' },
        finishWith('stop', modelUsage(180, 15)),
      ]),
    ],
  });
  return streamText({ model, prompt: 'Weather in Beijing?', tools: { weather, stations }, stopWhen: isStepCount(5) });
}

/** What the agent run's answer and reasoning read as, in either stream. */
const AGENT_RUN_TEXTS = {
  answer: 'Let me check Beijing. It is sunny, 24 °C 🌞.',
  reasoning: 'The user wants the weather; ask the tools.',
};

/** The agent run's two tool calls, in either stream (their outcomes follow, as each stream words them). */
const AGENT_RUN_CALLS: AnswerEvent[] = [
  { kind: 'tool-start', id: 'call-1', name: 'weather' },
  { kind: 'tool-input', id: 'call-1', delta: '{"city":' },
  { kind: 'tool-input', id: 'call-1', delta: '"Beijing"}' },
  { kind: 'tool-call', id: 'call-1', name: 'weather', input: { city: 'Beijing' } },
  // The provider sent this call whole, without input parts: its step starts with the call.
  { kind: 'tool-start', id: 'call-2', name: 'stations' },
  { kind: 'tool-call', id: 'call-2', name: 'stations', input: { city: 'Beijing' } },
];

/** A single-step run whose model stream is `parts`. */
function runOf(parts: ModelPart[], options: { tools?: ToolSet; abortSignal?: AbortSignal; includeRawChunks?: boolean } = {}) {
  const model = new MockLanguageModelV4({ doStream: modelCall(parts) });
  return streamText({ model, prompt: 'x', onError: () => {}, maxRetries: 0, ...options });
}

const toolEvents = (events: AnswerEvent[]) => events.filter((event) => event.kind.startsWith('tool-'));

describe('AI SDK stream parts (streamText().stream, fullStream)', () => {
  it('an agent run reads as reasoning, answer, tool steps in order, summed usage and each step’s finish', async () => {
    const events = await eventsFrom(aiSdkFullStreamAdapter, agentRun().stream);

    expect(textsOf(events)).toEqual(AGENT_RUN_TEXTS);
    expect(events).toEqual([
      { kind: 'reasoning', text: 'The user wants the weather; ' },
      { kind: 'reasoning', text: 'ask the tools.' },
      { kind: 'answer', text: 'Let me check ' },
      { kind: 'answer', text: 'Beijing.' },
      ...AGENT_RUN_CALLS,
      // Tools run in parallel and report as they end: the one that throws at once, then the slow one.
      { kind: 'tool-error', id: 'call-2', error: 'station network offline' },
      { kind: 'tool-result', id: 'call-1', output: { city: 'Beijing', sky: 'sunny', celsius: 24 } },
      { kind: 'usage', usage: { inputTokens: 100, outputTokens: 40, totalTokens: 140, reasoningTokens: 12 } },
      { kind: 'finish', reason: 'tool-calls' },
      { kind: 'answer', text: ' It is sunny, ' },
      { kind: 'answer', text: '24 °C 🌞.' },
      { kind: 'usage', usage: { inputTokens: 280, outputTokens: 55, totalTokens: 335, reasoningTokens: 12 } },
      { kind: 'finish', reason: 'stop' },
      { kind: 'usage', usage: { inputTokens: 280, outputTokens: 55, totalTokens: 335, reasoningTokens: 12 } },
      { kind: 'finish', reason: 'stop' },
    ]);
  });

  it('the deprecated fullStream reads the same as stream', async () => {
    const result = agentRun();
    const [fromStream, fromFullStream] = [await eventsFrom(aiSdkFullStreamAdapter, result.stream), await eventsFrom(aiSdkFullStreamAdapter, result.fullStream)];
    expect(fromFullStream).toEqual(fromStream);
  });

  it('a call to a tool that does not exist is a failed step', async () => {
    const result = runOf([{ type: 'tool-call', toolCallId: 'call-9', toolName: 'teleport', input: '{}' }, finishWith('tool-calls')], {
      tools: { weather },
    });

    const events = await eventsFrom(aiSdkFullStreamAdapter, result.stream);

    expect(toolEvents(events)).toEqual([
      { kind: 'tool-start', id: 'call-9', name: 'teleport' },
      { kind: 'tool-call', id: 'call-9', name: 'teleport', input: {} },
      { kind: 'tool-error', id: 'call-9', error: expect.stringContaining("unavailable tool 'teleport'") as string },
    ]);
  });

  it('a tool that streams its progress reports one result, the final one', async () => {
    const progress = tool({
      inputSchema: jsonSchema<Record<string, never>>({ type: 'object' }),
      async *execute() {
        yield { percent: 50 };
        await new Promise((resolve) => setTimeout(resolve, 5)); // the tool works between its reports
        yield { percent: 100, file: 'report.pdf' };
      },
    });
    const result = runOf([{ type: 'tool-call', toolCallId: 'call-1', toolName: 'progress', input: '{}' }, finishWith('tool-calls')], {
      tools: { progress },
    });

    const events = await eventsFrom(aiSdkFullStreamAdapter, result.stream);

    expect(toolEvents(events).filter((event) => event.kind === 'tool-result')).toEqual([
      { kind: 'tool-result', id: 'call-1', output: { percent: 100, file: 'report.pdf' } },
    ]);
  });

  it('an error part is an error event carrying the SDK’s error; the failed step finishes with reason error', async () => {
    const failure = new Error('upstream connection reset');
    const result = runOf([
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Hal' },
      { type: 'error', error: failure },
    ]);

    const events = await eventsFrom(aiSdkFullStreamAdapter, result.stream);

    // The failed step's usage holds no count, so no usage event.
    expect(events).toEqual([
      { kind: 'answer', text: 'Hal' },
      { kind: 'error', error: failure },
      { kind: 'finish', reason: 'error' },
      { kind: 'finish', reason: 'error' },
    ]);
  });

  it('a model call that throws is an error event', async () => {
    const model = new MockLanguageModelV4({
      doStream: () => {
        throw new Error('401: invalid api key');
      },
    });
    const result = streamText({ model, prompt: 'x', onError: () => {}, maxRetries: 0 });

    const events = await eventsFrom(aiSdkFullStreamAdapter, result.stream);

    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'error', error: { message: '401: invalid api key' } });
  });

  it('an aborted run finishes with reason abort, keeping the answer so far', async () => {
    const controller = new AbortController();
    const model = new MockLanguageModelV4({
      doStream: {
        // The provider sends a start and one delta, then stalls until aborted.
        stream: new ReadableStream({
          start(stream) {
            stream.enqueue({ type: 'text-start', id: 't' });
            stream.enqueue({ type: 'text-delta', id: 't', delta: 'Half an answer' });
          },
        }),
      },
    });
    const result = streamText({ model, prompt: 'x', abortSignal: controller.signal });
    async function* abortAfterTheDelta() {
      for await (const part of result.stream) {
        yield part;
        if (part.type === 'text-delta') controller.abort();
      }
    }

    const events = await eventsFrom(aiSdkFullStreamAdapter, abortAfterTheDelta());

    expect(events).toEqual([
      { kind: 'answer', text: 'Half an answer' },
      { kind: 'finish', reason: 'abort' },
    ]);
  });

  it('framing parts are ignored; sources are reported as unhandled', async () => {
    const result = runOf(
      [
        { type: 'raw', rawValue: { provider: 'chunk' } },
        { type: 'source', sourceType: 'url', id: 's1', url: 'https://example.com/weather', title: 'Weather' },
        { type: 'text-start', id: 't' },
        { type: 'text-delta', id: 't', delta: 'Sunny.' },
        { type: 'text-end', id: 't' },
        finishWith('stop'),
      ],
      { includeRawChunks: true },
    );
    const parts: TextStreamPart<ToolSet>[] = [];
    for await (const part of result.stream) parts.push(part);

    const events = await eventsFrom(aiSdkFullStreamAdapter, parts);

    expect(parts.map((part) => part.type)).toEqual(['start', 'start-step', 'raw', 'source', 'text-start', 'text-delta', 'text-end', 'finish-step', 'finish']);
    expect(events.filter((event) => event.kind !== 'usage' && event.kind !== 'finish')).toEqual([
      { kind: 'unhandled', source: FULL, type: 'source' },
      { kind: 'answer', text: 'Sunny.' },
    ]);
  });

  it('reads the field names of ai 4 (textDelta, args, result, step-finish, promptTokens)', async () => {
    const v4Parts = [
      { type: 'step-start', messageId: 'm1', request: {}, warnings: [] },
      { type: 'reasoning', textDelta: 'Think.' },
      { type: 'redacted-reasoning', data: 'opaque' },
      { type: 'text-delta', textDelta: 'Checking.' },
      { type: 'tool-call-streaming-start', toolCallId: 'c1', toolName: 'weather' },
      { type: 'tool-call-delta', toolCallId: 'c1', toolName: 'weather', argsTextDelta: '{"city":"Oslo"}' },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'weather', args: { city: 'Oslo' } },
      { type: 'tool-result', toolCallId: 'c1', toolName: 'weather', args: { city: 'Oslo' }, result: { sky: 'rain' } },
      { type: 'step-finish', finishReason: 'tool-calls', usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 }, isContinued: false },
      { type: 'text-delta', textDelta: ' Rain.' },
      { type: 'step-finish', finishReason: 'stop', usage: { promptTokens: 20, completionTokens: NaN, totalTokens: 22 }, isContinued: false },
      { type: 'finish', finishReason: 'stop', usage: { promptTokens: 30, completionTokens: 7, totalTokens: 37 } },
    ];

    expect(aiSdkFullStreamAdapter.matches(v4Parts[0])).toBe(true);
    expect(await eventsFrom(aiSdkFullStreamAdapter, v4Parts)).toEqual([
      { kind: 'reasoning', text: 'Think.' },
      { kind: 'answer', text: 'Checking.' },
      { kind: 'tool-start', id: 'c1', name: 'weather' },
      { kind: 'tool-input', id: 'c1', delta: '{"city":"Oslo"}' },
      { kind: 'tool-call', id: 'c1', name: 'weather', input: { city: 'Oslo' } },
      { kind: 'tool-result', id: 'c1', output: { sky: 'rain' } },
      { kind: 'usage', usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 } },
      { kind: 'finish', reason: 'tool-calls' },
      { kind: 'answer', text: ' Rain.' },
      { kind: 'usage', usage: { inputTokens: 30, outputTokens: 5, totalTokens: 37 } },
      { kind: 'finish', reason: 'stop' },
      { kind: 'usage', usage: { inputTokens: 30, outputTokens: 7, totalTokens: 37 } },
      { kind: 'finish', reason: 'stop' },
    ]);
  });
});

describe('AI SDK UI message chunks (toUIMessageStream)', () => {
  it('the agent run reads the same answer, reasoning and tool steps, and its finish', async () => {
    const result = agentRun();

    const events = await eventsFrom(aiSdkUiMessageStreamAdapter, toUIMessageStream({ stream: result.stream }));

    expect(textsOf(events)).toEqual(AGENT_RUN_TEXTS);
    // No usage: the UI stream does not carry it. Tool errors read as the UI shows them.
    expect(events.filter((event) => event.kind !== 'answer' && event.kind !== 'reasoning')).toEqual([
      ...AGENT_RUN_CALLS,
      { kind: 'tool-error', id: 'call-2', error: 'Error: station network offline' },
      { kind: 'tool-result', id: 'call-1', output: { city: 'Beijing', sky: 'sunny', celsius: 24 } },
      { kind: 'finish', reason: 'stop' },
    ]);
  });

  it('result.toUIMessageStream() (deprecated in ai 7) reads the same', async () => {
    const result = agentRun();
    const fromMethod = await eventsFrom(aiSdkUiMessageStreamAdapter, result.toUIMessageStream());
    expect(fromMethod).toEqual(await eventsFrom(aiSdkUiMessageStreamAdapter, toUIMessageStream({ stream: result.stream })));
  });

  it('a UI stream claimed by the fullStream adapter (it began with a bare start) reads the same', async () => {
    const result = agentRun();
    const chunks: UIMessageChunk[] = [];
    for await (const chunk of toUIMessageStream({ stream: result.stream })) chunks.push(chunk);

    expect(chunks[0]).toEqual({ type: 'start' });
    expect(aiSdkUiMessageStreamAdapter.matches(chunks[0])).toBe(false);
    expect(aiSdkFullStreamAdapter.matches(chunks[0])).toBe(true);
    expect(await eventsFrom(aiSdkFullStreamAdapter, chunks)).toEqual(await eventsFrom(aiSdkUiMessageStreamAdapter, chunks));
  });

  it('a refused tool call is a failed step', async () => {
    const result = runOf([{ type: 'tool-call', toolCallId: 'call-9', toolName: 'teleport', input: '{}' }, finishWith('tool-calls')], {
      tools: { weather },
    });

    const events = await eventsFrom(aiSdkUiMessageStreamAdapter, toUIMessageStream({ stream: result.stream }));

    expect(toolEvents(events)).toEqual([
      { kind: 'tool-start', id: 'call-9', name: 'teleport' },
      { kind: 'tool-call', id: 'call-9', name: 'teleport', input: {} },
      { kind: 'tool-error', id: 'call-9', error: expect.stringContaining("unavailable tool 'teleport'") as string },
    ]);
  });

  it('an error chunk is an error event with the text the server chose to send', async () => {
    const parts: ModelPart[] = [{ type: 'error', error: new Error('upstream connection reset') }];

    const masked = await eventsFrom(aiSdkUiMessageStreamAdapter, toUIMessageStream({ stream: runOf(parts).stream }));
    const told = await eventsFrom(
      aiSdkUiMessageStreamAdapter,
      toUIMessageStream({ stream: runOf(parts).stream, onError: (error) => (error as Error).message }),
    );

    expect(masked).toEqual([
      { kind: 'error', error: new Error('An error occurred.') },
      { kind: 'finish', reason: 'error' },
    ]);
    expect(told[0]).toEqual({ kind: 'error', error: new Error('upstream connection reset') });
  });

  it('sources and data parts are reported as unhandled; message metadata is ignored', async () => {
    const result = runOf([
      { type: 'source', sourceType: 'url', id: 's1', url: 'https://example.com/weather', title: 'Weather' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Sunny.' },
      { type: 'text-end', id: 't' },
      finishWith('stop'),
    ]);
    const stream = createUIMessageStream({
      execute: ({ writer }) => {
        writer.write({ type: 'data-forecast', data: { days: 3 } });
        writer.write({ type: 'message-metadata', messageMetadata: { model: 'mock' } });
        writer.merge(toUIMessageStream({ stream: result.stream, sendSources: true, generateMessageId: () => 'msg-1' }));
      },
    });
    const chunks: UIMessageChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    const events = await eventsFrom(aiSdkUiMessageStreamAdapter, chunks);

    expect(aiSdkUiMessageStreamAdapter.matches(chunks[0])).toBe(true);
    expect(events).toEqual([
      { kind: 'unhandled', source: UI, type: 'data-forecast' },
      { kind: 'unhandled', source: UI, type: 'source-url' },
      { kind: 'answer', text: 'Sunny.' },
      { kind: 'finish', reason: 'stop' },
    ]);
  });
});

describe('recognizing the two streams', () => {
  it('each adapter claims its own stream’s first chunk', async () => {
    const full = agentRun().stream;
    const ui = toUIMessageStream({ stream: agentRun().stream, generateMessageId: () => 'msg-1' });
    const [fullFirst, uiFirst] = [await firstOf(full), await firstOf(ui)];

    expect(fullFirst).toEqual({ type: 'start' });
    expect(uiFirst).toEqual({ type: 'start', messageId: 'msg-1' });
    expect([aiSdkFullStreamAdapter.matches(fullFirst), aiSdkUiMessageStreamAdapter.matches(fullFirst)]).toEqual([true, false]);
    expect([aiSdkFullStreamAdapter.matches(uiFirst), aiSdkUiMessageStreamAdapter.matches(uiFirst)]).toEqual([false, true]);
  });

  it('the UI adapter claims no part of a fullStream; the fullStream adapter claims a UI chunk only when both streams send it alike', async () => {
    const result = agentRun();
    const parts: unknown[] = [];
    for await (const part of result.stream) parts.push(part);
    const chunks: unknown[] = [];
    for await (const chunk of toUIMessageStream({ stream: result.stream })) chunks.push(chunk);

    expect(parts.filter((part) => aiSdkUiMessageStreamAdapter.matches(part))).toEqual([]);
    for (const chunk of chunks.filter((chunk) => aiSdkFullStreamAdapter.matches(chunk))) expect(parts).toContainEqual(chunk);
    expect(chunks.filter((chunk) => aiSdkUiMessageStreamAdapter.matches(chunk)).length).toBeGreaterThan(10);
  });

  it('neither adapter claims openai, Anthropic or LangChain chunks, strings, bytes or nothing', () => {
    const chatChunk: OpenAI.Chat.Completions.ChatCompletionChunk = {
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 0,
      model: 'gpt',
      choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }],
    };
    const responsesEvents: OpenAI.Responses.ResponseStreamEvent[] = [
      { type: 'response.output_text.delta', item_id: 'msg', output_index: 0, content_index: 0, delta: 'Hi', logprobs: [], sequence_number: 3 },
      { type: 'error', code: 'server_error', message: 'boom', param: null, sequence_number: 4 },
    ];
    const anthropicEvents: Anthropic.Messages.RawMessageStreamEvent[] = [
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '', citations: null } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_stop' },
    ];
    const others: unknown[] = [
      chatChunk,
      ...responsesEvents,
      ...anthropicEvents,
      { type: 'ping' },
      { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      new AIMessageChunk({ content: 'Hi' }),
      new AIMessageChunk({ content: [{ type: 'text', text: 'Hi' }] }),
      { event: 'on_chat_model_stream', run_id: 'r', name: 'ChatOpenAI', tags: [], metadata: {}, data: { chunk: new AIMessageChunk('Hi') } },
      'Hi',
      new TextEncoder().encode('Hi'),
      null,
      undefined,
      42,
    ];

    for (const chunk of others) {
      expect([aiSdkFullStreamAdapter.matches(chunk), aiSdkUiMessageStreamAdapter.matches(chunk)], String(JSON.stringify(chunk))).toEqual([false, false]);
    }
  });
});

describe('through a provider over HTTP (@ai-sdk/openai-compatible)', () => {
  let server: OpenAIServer;
  beforeAll(async () => {
    server = await startOpenAIServer({ answer: ['Hello', ', ', 'world 👋'], reasoning: ['Greet ', 'them.'] });
  });
  afterAll(() => server.close());

  it('the answer and the reasoning arrive whole, and the run finishes', async () => {
    const provider = createOpenAICompatible({ name: 'local', baseURL: `${server.url}/v1`, apiKey: 'test-key' });
    const result = streamText({ model: provider.chatModel('test-model'), prompt: 'Say hello', maxRetries: 0 });

    const events = await eventsFrom(aiSdkFullStreamAdapter, result.stream);

    expect(textsOf(events)).toEqual({ answer: 'Hello, world 👋', reasoning: 'Greet them.' });
    expect(events.filter((event) => event.kind === 'unhandled' || event.kind === 'error')).toEqual([]);
    expect(events.at(-1)).toEqual({ kind: 'finish', reason: 'stop' });
  });
});

async function firstOf<T>(stream: ReadableStream<T>): Promise<T> {
  const reader = stream.getReader();
  const { value } = await reader.read();
  await reader.cancel();
  return value as T;
}
