/**
 * The Anthropic adapter, read through the real `@anthropic-ai/sdk` against a local server that streams
 * Server-Sent Events as the Messages API does: `messages.create({ stream: true })`, `messages.stream()`
 * and the NDJSON of `MessageStream.toReadableStream()` all become the same answer events.
 */
import Anthropic from '@anthropic-ai/sdk';
import { AIMessageChunk } from '@langchain/core/messages';
import type { TextStreamPart, ToolSet, UIMessageChunk } from 'ai';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicAdapter } from '../../src/adapters/anthropic.js';
import type { AnswerEvent } from '../../src/adapters/answer-events.js';
import { eventsFrom, textsOf } from '../support/adapters.js';
import { type AnthropicScript, type AnthropicServer, anthropicMessages, startAnthropicServer } from '../support/anthropic-server.js';

/** CJK, a 4-byte character, a ZWJ family and a combining mark, each split across text deltas. */
const ANSWER = ['北京今', '天晴，𠮷', '野家 👩‍👩', '‍👧‍👦 caf', 'e\u0301', ' **ok**'];
const THINKING = ['用户问', '天气🌤', '，先查一下。'];
const WEATHER_CALL = { id: 'toolu_01A', name: 'get_weather', input: ['', '{"city": "北', '京", "unit":', ' "celsius"}'] };

const AGENT_SCRIPT: AnthropicScript = {
  thinking: THINKING,
  answer: ANSWER,
  toolUses: [WEATHER_CALL, { id: 'toolu_01B', name: 'get_time', input: [] }],
  usage: { input: 120, output: 87, cacheRead: 30, thinking: 21 },
};

/** Every event of AGENT_SCRIPT, in order. */
const AGENT_EVENTS: AnswerEvent[] = [
  { kind: 'usage', usage: { inputTokens: 150 } },
  ...THINKING.map((text): AnswerEvent => ({ kind: 'reasoning', text })),
  ...ANSWER.map((text): AnswerEvent => ({ kind: 'answer', text })),
  { kind: 'tool-start', id: 'toolu_01A', name: 'get_weather' },
  { kind: 'tool-input', id: 'toolu_01A', delta: '{"city": "北' },
  { kind: 'tool-input', id: 'toolu_01A', delta: '京", "unit":' },
  { kind: 'tool-input', id: 'toolu_01A', delta: ' "celsius"}' },
  { kind: 'tool-call', id: 'toolu_01A', name: 'get_weather', input: { city: '北京', unit: 'celsius' } },
  { kind: 'tool-start', id: 'toolu_01B', name: 'get_time' },
  { kind: 'tool-call', id: 'toolu_01B', name: 'get_time', input: {} },
  { kind: 'usage', usage: { inputTokens: 150, outputTokens: 87, reasoningTokens: 21 } },
  { kind: 'finish', reason: 'tool_use' },
];

const PARAMS = { model: 'claude-sonnet-4-6', max_tokens: 1024, messages: [{ role: 'user' as const, content: '北京天气？' }] };

describe('anthropicAdapter', () => {
  let server: AnthropicServer;
  let client: Anthropic;

  beforeAll(async () => {
    server = await startAnthropicServer();
    client = new Anthropic({ baseURL: server.url, apiKey: 'sk-ant-test', maxRetries: 0 });
  });
  afterAll(() => server.close());

  describe('messages.create({ stream: true })', () => {
    it('reads thinking, the answer, tool calls with streamed input, usage and the stop reason, exactly', async () => {
      server.script = AGENT_SCRIPT;
      const stream = await client.messages.create({ ...PARAMS, stream: true });
      const events = await eventsFrom(anthropicAdapter, stream);

      expect(events).toEqual(AGENT_EVENTS);
      expect(textsOf(events)).toEqual({ answer: ANSWER.join(''), reasoning: THINKING.join('') });
      expect(server.requests.at(-1)).toMatchObject({ path: '/v1/messages', apiKey: 'sk-ant-test', body: { stream: true } });
    });

    it('keeps every character whole when the bytes arrive cut anywhere', async () => {
      server.script = { ...AGENT_SCRIPT, chunkBytes: 7 };
      const events = await eventsFrom(anthropicAdapter, await client.messages.create({ ...PARAMS, stream: true }));

      expect(textsOf(events)).toEqual({ answer: ANSWER.join(''), reasoning: THINKING.join('') });
      expect(events).toEqual(AGENT_EVENTS);
    });

    it('a plain answer finishes with end_turn and its usage', async () => {
      server.script = { answer: ['Hello', ' world'], usage: { input: 9, output: 3 } };
      const events = await eventsFrom(anthropicAdapter, await client.messages.create({ ...PARAMS, stream: true }));

      expect(events).toEqual([
        { kind: 'usage', usage: { inputTokens: 9 } },
        { kind: 'answer', text: 'Hello' },
        { kind: 'answer', text: ' world' },
        { kind: 'usage', usage: { inputTokens: 9, outputTokens: 3 } },
        { kind: 'finish', reason: 'end_turn' },
      ]);
    });

    it('an event type the adapter does not know is reported as unhandled, and the answer still lands', async () => {
      server.script = { answer: ['partial ', 'answer'], extra: [{ event: 'content_block_flux', data: { type: 'content_block_flux', index: 0 } }] };
      const events = await eventsFrom(anthropicAdapter, await client.messages.create({ ...PARAMS, stream: true }));

      expect(events).toContainEqual({ kind: 'unhandled', source: anthropicAdapter.name, type: 'content_block_flux' });
      expect(textsOf(events).answer).toBe('partial answer');
      expect(events.at(-1)).toEqual({ kind: 'finish', reason: 'end_turn' });
    });

    it("an `event: error` mid-answer: the SDK throws it as an APIError of the error's type", async () => {
      server.script = { answer: ['half an '], error: { type: 'overloaded_error', message: 'Overloaded' } };
      const stream = await client.messages.create({ ...PARAMS, stream: true });
      const reader = anthropicAdapter.reader();
      const seen: AnswerEvent[] = [];
      const reading = (async () => {
        for await (const event of stream) seen.push(...reader.read(event));
      })();

      const error = await reading.then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(Anthropic.APIError);
      expect((error as InstanceType<typeof Anthropic.APIError>).type).toBe('overloaded_error');
      expect(textsOf(seen).answer).toBe('half an ');
    });
  });

  describe('messages.stream()', () => {
    it('iterating the MessageStream gives the same events as the raw stream', async () => {
      server.script = AGENT_SCRIPT;
      const events = await eventsFrom(anthropicAdapter, client.messages.stream(PARAMS));

      expect(events).toEqual(AGENT_EVENTS);
    });

    it('an unknown event type is reported as unhandled there too', async () => {
      server.script = { answer: ['ok'], extra: [{ event: 'content_block_flux', data: { type: 'content_block_flux', index: 0 } }] };
      const events = await eventsFrom(anthropicAdapter, client.messages.stream(PARAMS));

      expect(events).toContainEqual({ kind: 'unhandled', source: anthropicAdapter.name, type: 'content_block_flux' });
      expect(textsOf(events).answer).toBe('ok');
    });

    it("an `event: error` rejects the iteration with the SDK's error", async () => {
      server.script = { answer: ['half'], error: { type: 'overloaded_error', message: 'Overloaded' } };

      await expect(eventsFrom(anthropicAdapter, client.messages.stream(PARAMS))).rejects.toThrow(/Overloaded/);
    });

    it('toReadableStream() is NDJSON, one raw event per line, that reads to the same events', async () => {
      server.script = AGENT_SCRIPT;
      const bytes = client.messages.stream(PARAMS).toReadableStream();
      const text = await new Response(bytes).text();
      const lines = text.split('\n');

      // {"type":"message_start","message":{"id":"msg_test","type":"message","role":"assistant",…}}\n{"type":"content_block_start",…}\n…
      expect(lines.at(-1)).toBe('');
      expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'message_start', message: { role: 'assistant', usage: { input_tokens: 120 } } });
      const events = await eventsFrom(anthropicAdapter, lines.slice(0, -1).map((line) => JSON.parse(line) as unknown));
      expect(events).toEqual(AGENT_EVENTS);
    });
  });

  describe('raw events (as a hand-made SSE reader or a relay yields them)', () => {
    const raw = (script: AnthropicScript) => anthropicMessages('claude-test', script).map((message) => message.data);

    it('ping is ignored and an error event ends the answer with an error naming its type', async () => {
      const events = await eventsFrom(anthropicAdapter, raw({ answer: ['half'], error: { type: 'overloaded_error', message: 'Overloaded' } }));

      expect(events.filter((event) => event.kind === 'unhandled')).toEqual([]);
      expect(events.slice(0, 2)).toEqual([
        { kind: 'usage', usage: { inputTokens: 12 } },
        { kind: 'answer', text: 'half' },
      ]);
      const last = events.at(-1);
      expect(last?.kind).toBe('error');
      expect(last?.kind === 'error' && last.error.message).toBe('Anthropic stream error overloaded_error: Overloaded (request_id req_test)');
    });

    it('signature deltas and redacted thinking say nothing; citations are reported as unhandled', async () => {
      const events = await eventsFrom(anthropicAdapter, [
        { type: 'content_block_start', index: 0, content_block: { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix' } },
        { type: 'content_block_stop', index: 0 },
        { type: 'content_block_start', index: 1, content_block: { type: 'thinking', thinking: '', signature: '' } },
        { type: 'content_block_delta', index: 1, delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM' } },
        { type: 'content_block_stop', index: 1 },
        { type: 'content_block_start', index: 2, content_block: { type: 'text', text: '', citations: null } },
        { type: 'content_block_delta', index: 2, delta: { type: 'text_delta', text: 'The grass is green.' } },
        {
          type: 'content_block_delta',
          index: 2,
          delta: {
            type: 'citations_delta',
            citation: { type: 'char_location', cited_text: 'The grass is green.', document_index: 0, document_title: 'Facts', start_char_index: 0, end_char_index: 19, file_id: null },
          },
        },
        { type: 'content_block_stop', index: 2 },
      ]);

      expect(events).toEqual([
        { kind: 'answer', text: 'The grass is green.' },
        { kind: 'unhandled', source: anthropicAdapter.name, type: 'content_block_delta:citations_delta' },
      ]);
    });

    it('a server tool (web search) is a tool step: start, input, call, then its result or its error', async () => {
      const events = await eventsFrom(anthropicAdapter, [
        { type: 'content_block_start', index: 0, content_block: { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {}, caller: { type: 'direct' } } },
        { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"query": "weather"}' } },
        { type: 'content_block_stop', index: 0 },
        {
          type: 'content_block_start',
          index: 1,
          content_block: { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', caller: { type: 'direct' }, content: [{ type: 'web_search_result', title: 'Weather', url: 'https://example.com' }] },
        },
        { type: 'content_block_stop', index: 1 },
        { type: 'content_block_start', index: 2, content_block: { type: 'server_tool_use', id: 'srvtoolu_2', name: 'web_fetch', input: { url: 'https://example.com' }, caller: { type: 'direct' } } },
        { type: 'content_block_stop', index: 2 },
        { type: 'content_block_start', index: 3, content_block: { type: 'web_fetch_tool_result', tool_use_id: 'srvtoolu_2', caller: { type: 'direct' }, content: { type: 'web_fetch_tool_result_error', error_code: 'url_not_accessible' } } },
        { type: 'content_block_stop', index: 3 },
      ]);

      expect(events).toEqual([
        { kind: 'tool-start', id: 'srvtoolu_1', name: 'web_search' },
        { kind: 'tool-input', id: 'srvtoolu_1', delta: '{"query": "weather"}' },
        { kind: 'tool-call', id: 'srvtoolu_1', name: 'web_search', input: { query: 'weather' } },
        { kind: 'tool-result', id: 'srvtoolu_1', output: [{ type: 'web_search_result', title: 'Weather', url: 'https://example.com' }] },
        { kind: 'tool-start', id: 'srvtoolu_2', name: 'web_fetch' },
        // No input pieces streamed: the input the block opened with.
        { kind: 'tool-call', id: 'srvtoolu_2', name: 'web_fetch', input: { url: 'https://example.com' } },
        { kind: 'tool-error', id: 'srvtoolu_2', error: 'url_not_accessible' },
      ]);
    });

    it('tool input that is not JSON is kept as its text; a tool block the stream never closed fails at the end', async () => {
      const events = await eventsFrom(anthropicAdapter, [
        { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'run', input: {} } },
        { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"cmd": "ls' } },
        { type: 'content_block_stop', index: 0 },
        { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_2', name: 'run', input: {} } },
        { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"cmd"' } },
      ]);

      expect(events.filter((event) => event.kind === 'tool-call' || event.kind === 'tool-error')).toEqual([
        { kind: 'tool-call', id: 'toolu_1', name: 'run', input: '{"cmd": "ls' },
        { kind: 'tool-error', id: 'toolu_2', error: 'the stream ended before the tool call was complete' },
      ]);
    });

    it('an unknown content block kind, an unknown delta kind and a chunk of no shape are each reported', async () => {
      const events = await eventsFrom(anthropicAdapter, [
        { type: 'content_block_start', index: 0, content_block: { type: 'container_upload', file_id: 'file_1' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'compaction_delta', content: '…' } },
        'stray text',
      ]);

      expect(events).toEqual([
        { kind: 'unhandled', source: anthropicAdapter.name, type: 'content_block_start:container_upload' },
        { kind: 'unhandled', source: anthropicAdapter.name, type: 'content_block_delta:compaction_delta' },
        { kind: 'unhandled', source: anthropicAdapter.name, type: 'string' },
      ]);
    });
  });

  describe('matches()', () => {
    it('matches the first event of an Anthropic stream, raw or through the SDK', async () => {
      server.script = { answer: ['hi'] };
      const stream = await client.messages.create({ ...PARAMS, stream: true });
      let first: unknown;
      for await (const event of stream) {
        first ??= event;
      }

      expect(anthropicAdapter.matches(first)).toBe(true);
      for (const data of anthropicMessages('claude-test', { answer: ['hi'], error: { type: 'api_error', message: 'Internal server error' } }).map((message) => message.data)) {
        expect(anthropicAdapter.matches(data)).toBe(true);
      }
    });

    it('does not match other sources', () => {
      const openaiChunk: OpenAI.Chat.Completions.ChatCompletionChunk = {
        id: 'chatcmpl-1',
        object: 'chat.completion.chunk',
        created: 0,
        model: 'gpt-test',
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }],
      };
      const responsesEvents: OpenAI.Responses.ResponseStreamEvent[] = [
        { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'hi', logprobs: [], sequence_number: 3 },
        { type: 'error', code: 'server_error', message: 'boom', param: null, sequence_number: 4 },
      ];
      const aiSdkParts = [
        { type: 'start' },
        { type: 'text-delta', id: '0', text: 'hi' },
        { type: 'tool-call', toolCallId: 'call_1', toolName: 'get_weather', input: { city: 'Paris' } },
        { type: 'error', error: new Error('boom') },
      ] satisfies TextStreamPart<ToolSet>[];
      const uiChunks = [
        { type: 'text-delta', id: '0', delta: 'hi' },
        { type: 'error', errorText: 'boom' },
      ] satisfies UIMessageChunk[];
      const others: [string, unknown][] = [
        ['openai chat chunk', openaiChunk],
        ...responsesEvents.map((event): [string, unknown] => [`openai Responses ${event.type}`, event]),
        ...aiSdkParts.map((part): [string, unknown] => [`AI SDK fullStream ${part.type}`, part]),
        ...uiChunks.map((chunk): [string, unknown] => [`AI SDK UI message chunk ${chunk.type}`, chunk]),
        ['LangChain AIMessageChunk', new AIMessageChunk({ content: 'hi' })],
        ['LangChain streamEvents event', { event: 'on_chat_model_stream', data: { chunk: new AIMessageChunk('hi') }, run_id: 'r1', name: 'ChatOpenAI', tags: [], metadata: {} }],
        ['a string', 'hi'],
        ['an empty string', ''],
        ['null', null],
        ['undefined', undefined],
        ['a number', 42],
        ['an array', []],
        ['an empty object', {}],
        ['an object of another type', { type: 'message' }],
      ];

      for (const [name, chunk] of others) expect(anthropicAdapter.matches(chunk), name).toBe(false);
    });
  });
});
