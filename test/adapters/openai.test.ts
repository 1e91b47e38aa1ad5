/**
 * The openai adapters: chat completion chunks and Responses events, read from the real `openai`
 * package (its plain streams, its helpers, its `toReadableStream()` bytes) against a local
 * OpenAI-compatible server, and from hand-built events for what that server does not send.
 */
import { AIMessageChunk } from '@langchain/core/messages';
import type OpenAI from 'openai';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AnswerEvent } from '../../src/adapters/answer-events.js';
import { openaiChatAdapter, openaiResponsesAdapter } from '../../src/adapters/openai.js';
import { bytesAdapter } from '../../src/adapters/text.js';
import { eventsFrom, textsOf } from '../support/adapters.js';
import { type ModelScript, type OpenAIServer, useOpenAIServer } from '../support/openai-server.js';

type ResponseEvent = OpenAI.Responses.ResponseStreamEvent;
type Unnumbered<T> = T extends unknown ? Omit<T, 'sequence_number'> : never;

const bytes = bytesAdapter([openaiChatAdapter, openaiResponsesAdapter]);

const WEATHER_CALLS = [
  { name: 'get_weather', arguments: ['{"city":', ' "Paris", ', '"unit": "°C"}'] },
  { id: 'call_time', name: 'get_time', arguments: ['{"tz":"Europe/Paris"}'] },
];

/** The tool events of WEATHER_CALLS, as both APIs stream them. */
const WEATHER_TOOL_EVENTS: AnswerEvent[] = [
  { kind: 'tool-start', id: 'call_1', name: 'get_weather' },
  { kind: 'tool-input', id: 'call_1', delta: '{"city":' },
  { kind: 'tool-input', id: 'call_1', delta: ' "Paris", ' },
  { kind: 'tool-input', id: 'call_1', delta: '"unit": "°C"}' },
];
const TIME_TOOL_EVENTS: AnswerEvent[] = [
  { kind: 'tool-start', id: 'call_time', name: 'get_time' },
  { kind: 'tool-input', id: 'call_time', delta: '{"tz":"Europe/Paris"}' },
];
const WEATHER_CALL: AnswerEvent = { kind: 'tool-call', id: 'call_1', name: 'get_weather', input: { city: 'Paris', unit: '°C' } };
const TIME_CALL: AnswerEvent = { kind: 'tool-call', id: 'call_time', name: 'get_time', input: { tz: 'Europe/Paris' } };

/** Reasoning, an answer with multi-byte text, WEATHER_CALLS and usage: a full answer, as both APIs stream it. */
const WEATHER_SCRIPT: ModelScript = {
  reasoning: ['The user ', 'wants weather.'],
  answer: ['Let me ', 'check 中文 👩‍👩‍👧.'],
  toolCalls: WEATHER_CALLS,
  usage: { input: 12, output: 30, reasoning: 8 },
};
/** The reasoning and answer events of WEATHER_SCRIPT, and its usage. */
const WEATHER_TEXT_EVENTS: AnswerEvent[] = [
  { kind: 'reasoning', text: 'The user ' },
  { kind: 'reasoning', text: 'wants weather.' },
  { kind: 'answer', text: 'Let me ' },
  { kind: 'answer', text: 'check 中文 👩‍👩‍👧.' },
];
const WEATHER_USAGE: AnswerEvent = { kind: 'usage', usage: { inputTokens: 12, outputTokens: 30, totalTokens: 42, reasoningTokens: 8 } };

/** Chunks or events of other SDKs, which the openai adapters must not take for theirs. */
const FOREIGN_FIRST_CHUNKS: Record<string, unknown> = {
  'a string': 'Hello',
  'AI SDK fullStream text-delta': { type: 'text-delta', id: '0', text: 'Hi' },
  'AI SDK fullStream start': { type: 'start' },
  'AI SDK fullStream error': { type: 'error', error: new Error('boom') },
  'AI SDK UI message stream error': { type: 'error', errorText: 'boom' },
  'Anthropic message_start': { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', content: [] } },
  'Anthropic content_block_delta': { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
  'Anthropic error': { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
  'LangChain AIMessageChunk': new AIMessageChunk({ content: 'Hi' }),
  'LangChain streamEvents event': { event: 'on_chat_model_stream', data: { chunk: new AIMessageChunk({ content: 'Hi' }) } },
};

describe('openai adapters, against an OpenAI-compatible server', () => {
  let server: OpenAIServer;
  let openai: OpenAI;
  useOpenAIServer((started) => ({ server, openai } = started));
  beforeEach(() => {
    server.queue.length = 0;
  });

  const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
  const chat = (withUsage = true) =>
    openai.chat.completions.create({ model: 'm', messages, stream: true, ...(withUsage ? { stream_options: { include_usage: true } } : {}) });
  const responses = () => openai.responses.create({ model: 'm', input: 'Weather in Paris?', stream: true });

  describe('chat completion chunks', () => {
    it('maps reasoning_content, content, streamed tool calls, finish and usage, in order', async () => {
      server.script = WEATHER_SCRIPT;
      const events = await eventsFrom(openaiChatAdapter, await chat());

      expect(events).toEqual([
        ...WEATHER_TEXT_EVENTS,
        ...WEATHER_TOOL_EVENTS,
        ...TIME_TOOL_EVENTS,
        WEATHER_CALL,
        TIME_CALL,
        { kind: 'finish', reason: 'tool_calls' },
        WEATHER_USAGE,
      ]);
    });

    it('reads delta.reasoning (vLLM, OpenRouter) as reasoning', async () => {
      server.script = { reasoningField: 'reasoning', reasoning: ['Hmm', ', yes.'], answer: ['Yes.'] };
      const events = await eventsFrom(openaiChatAdapter, await chat(false));

      expect(textsOf(events)).toEqual({ answer: 'Yes.', reasoning: 'Hmm, yes.' });
      expect(events.at(-1)).toEqual({ kind: 'finish', reason: 'stop' });
    });

    it('reports usage only when the request asks for it (stream_options.include_usage)', async () => {
      server.script = { answer: ['Hi.'] };
      const events = await eventsFrom(openaiChatAdapter, await chat(false));

      expect(events).toEqual([
        { kind: 'answer', text: 'Hi.' },
        { kind: 'finish', reason: 'stop' },
      ]);
    });

    it('hands over arguments that do not parse (a call cut by max_tokens) as their text', async () => {
      server.script = { answer: [], toolCalls: [{ name: 'get_weather', arguments: ['{"city": "Pa'] }], finish: 'length' };
      const events = await eventsFrom(openaiChatAdapter, await chat(false));

      expect(events.slice(-2)).toEqual([
        { kind: 'tool-call', id: 'call_1', name: 'get_weather', input: '{"city": "Pa' },
        { kind: 'finish', reason: 'length' },
      ]);
    });

    it('chat.completions.stream() yields the same events as create({ stream: true })', async () => {
      server.script = { reasoning: ['Think.'], answer: ['Let me check.'], toolCalls: WEATHER_CALLS, usage: { input: 5, output: 9 } };
      const expected = await eventsFrom(openaiChatAdapter, await chat());

      expect(openaiChatAdapter.matches(await firstChunk(openai.chat.completions.stream({ model: 'm', messages })))).toBe(true);
      const stream = openai.chat.completions.stream({ model: 'm', messages, stream_options: { include_usage: true } });
      expect(await eventsFrom(openaiChatAdapter, stream)).toEqual(expected);
    });

    it('a stream() helper hands out only chunks emitted after iteration began: one read after it ended never yields nor ends', async () => {
      server.script = { answer: ['Lost.'] };
      const stream = openai.chat.completions.stream({ model: 'm', messages });
      await stream.done();

      const next = stream[Symbol.asyncIterator]().next();
      expect(await Promise.race([next, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 300))])).toBe('still waiting');
    });

    it('toReadableStream() bytes (NDJSON), read through the bytes adapter, give the same events', async () => {
      server.script = { reasoning: ['Think.'], answer: ['Let me check 中文.'], toolCalls: WEATHER_CALLS, usage: { input: 5, output: 9 } };
      const expected = await eventsFrom(openaiChatAdapter, await chat());
      const body = (await chat()).toReadableStream();

      expect(await eventsFrom(bytes, body)).toEqual(expected);
    });

    it('the raw HTTP body (SSE), read through the bytes adapter, gives the same events', async () => {
      server.script = { reasoning: ['Think.'], answer: ['Let me check 中文.'], toolCalls: WEATHER_CALLS, usage: { input: 5, output: 9 } };
      const expected = await eventsFrom(openaiChatAdapter, await chat());

      expect(await eventsFrom(bytes, await rawBody('/v1/chat/completions', { stream_options: { include_usage: true } }))).toEqual(expected);
    });

    it('an { error } chunk that fails the stream midway is an error event (the SDK throws it; raw bytes carry it)', async () => {
      server.script = { answer: ['Partial'], failure: { code: 'server_error', message: 'The model crashed' } };
      await expect(eventsFrom(openaiChatAdapter, await chat(false))).rejects.toThrow('The model crashed');

      const events = await eventsFrom(bytes, await rawBody('/v1/chat/completions'));
      expect(events.slice(0, 1)).toEqual([{ kind: 'answer', text: 'Partial' }]);
      expect(events).toHaveLength(2);
      const error = events[1] as Extract<AnswerEvent, { kind: 'error' }>;
      expect(error.kind).toBe('error');
      expect(error.error.message).toBe('openai chat completion chunks: The model crashed (server_error)');
      expect(error.error.cause).toMatchObject({ code: 'server_error', message: 'The model crashed' });
    });

    describe('runTools()', () => {
      const tools = [
        {
          type: 'function' as const,
          function: {
            name: 'get_weather',
            description: 'The weather in a city',
            parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } } },
            parse: (args: string) => JSON.parse(args) as { city: string },
            function: ({ city }: { city: string }) => ({ city, temperature: 21 }),
          },
        },
      ];
      const steps = () => {
        server.queue.push(
          { answer: ['Let me check.'], toolCalls: [WEATHER_CALLS[0]!] },
          { answer: ['It is ', '21 °C in Paris.'] },
        );
        return openai.chat.completions.runTools({ model: 'm', messages, tools, stream: true });
      };
      const stepEvents: AnswerEvent[] = [
        { kind: 'answer', text: 'Let me check.' },
        ...WEATHER_TOOL_EVENTS,
        WEATHER_CALL,
        { kind: 'finish', reason: 'tool_calls' },
      ];
      const finalEvents: AnswerEvent[] = [
        { kind: 'answer', text: 'It is ' },
        { kind: 'answer', text: '21 °C in Paris.' },
        { kind: 'finish', reason: 'stop' },
      ];

      it('iterated, yields every step, each ending with its finish, and no tool results (the runner keeps them)', async () => {
        const events = await eventsFrom(openaiChatAdapter, steps());

        expect(events).toEqual([...stepEvents, ...finalEvents]);
        expect(server.requests.slice(-2).map((request) => request.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions']);
      });

      it('its toReadableStream() bytes also carry each tool result, between the steps', async () => {
        const events = await eventsFrom(bytes, steps().toReadableStream());

        expect(events).toEqual([
          ...stepEvents,
          { kind: 'tool-result', id: 'call_1', output: { city: 'Paris', temperature: 21 } },
          ...finalEvents,
        ]);
      });
    });

    it('recognises chat chunks (also a usage-only or filter-results chunk), and no other SDK’s first chunk', async () => {
      server.script = { answer: ['Hi'] };
      expect(openaiChatAdapter.matches(await firstChunk(await chat()))).toBe(true);
      expect(openaiChatAdapter.matches({ id: 'x', object: 'chat.completion.chunk', choices: [], usage: null })).toBe(true);
      expect(openaiChatAdapter.matches(await firstChunk(await responses()))).toBe(false);
      for (const [what, chunk] of Object.entries(FOREIGN_FIRST_CHUNKS)) {
        expect(openaiChatAdapter.matches(chunk), what).toBe(false);
      }
    });
  });

  describe('Responses events', () => {
    it('maps the reasoning summary, output text, function calls, usage and finish, in order', async () => {
      server.script = WEATHER_SCRIPT;
      const events = await eventsFrom(openaiResponsesAdapter, await responses());

      expect(events).toEqual([
        ...WEATHER_TEXT_EVENTS,
        ...WEATHER_TOOL_EVENTS,
        WEATHER_CALL,
        ...TIME_TOOL_EVENTS,
        TIME_CALL,
        WEATHER_USAGE,
        { kind: 'finish', reason: 'completed' },
      ]);
    });

    it('responses.stream() yields the same events as create({ stream: true })', async () => {
      server.script = { reasoning: ['Think.'], answer: ['Let me check.'], toolCalls: WEATHER_CALLS, usage: { input: 5, output: 9 } };
      const expected = await eventsFrom(openaiResponsesAdapter, await responses());

      expect(await eventsFrom(openaiResponsesAdapter, openai.responses.stream({ model: 'm', input: 'Weather in Paris?' }))).toEqual(expected);
    });

    it('toReadableStream() bytes (NDJSON) and the raw HTTP body (SSE with event: lines), through the bytes adapter, give the same events', async () => {
      server.script = { reasoning: ['Think.'], answer: ['Let me check 中文.'], toolCalls: WEATHER_CALLS, usage: { input: 5, output: 9 } };
      const expected = await eventsFrom(openaiResponsesAdapter, await responses());

      expect(await eventsFrom(bytes, (await responses()).toReadableStream())).toEqual(expected);
      expect(await eventsFrom(bytes, await rawBody('/v1/responses'))).toEqual(expected);
    });

    it('response.incomplete finishes with its reason (max_output_tokens)', async () => {
      server.script = { answer: ['Cut sho'], finish: 'length', usage: { input: 3, output: 4 } };
      const events = await eventsFrom(openaiResponsesAdapter, await responses());

      expect(events.slice(-2)).toEqual([
        { kind: 'usage', usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7, reasoningTokens: 0 } },
        { kind: 'finish', reason: 'max_output_tokens' },
      ]);
    });

    it('response.failed is an error event carrying the response’s error, after its usage', async () => {
      server.script = { answer: ['Partial'], failure: { code: 'server_error', message: 'The model crashed' }, usage: { input: 3, output: 1 } };
      const events = await eventsFrom(openaiResponsesAdapter, await responses());

      expect(events.slice(0, 2)).toEqual([
        { kind: 'answer', text: 'Partial' },
        { kind: 'usage', usage: { inputTokens: 3, outputTokens: 1, totalTokens: 4, reasoningTokens: 0 } },
      ]);
      const error = events[2] as Extract<AnswerEvent, { kind: 'error' }>;
      expect(events).toHaveLength(3);
      expect(error.kind).toBe('error');
      expect(error.error.message).toBe('openai Responses events: The model crashed (server_error)');
      expect(error.error.cause).toEqual({ code: 'server_error', message: 'The model crashed' });
    });

    it('recognises Responses events (and the error event), and no other SDK’s first chunk', async () => {
      server.script = { answer: ['Hi'] };
      expect(openaiResponsesAdapter.matches(await firstChunk(await responses()))).toBe(true);
      expect(openaiResponsesAdapter.matches({ type: 'error', code: 'ERR', message: 'boom', param: null, sequence_number: 0 })).toBe(true);
      expect(openaiResponsesAdapter.matches(await firstChunk(await chat()))).toBe(false);
      for (const [what, chunk] of Object.entries(FOREIGN_FIRST_CHUNKS)) {
        expect(openaiResponsesAdapter.matches(chunk), what).toBe(false);
      }
    });
  });

  /** The bytes of a streamed request, as fetch() gives them: the SSE the API sends. */
  async function rawBody(path: string, extra: Record<string, unknown> = {}): Promise<ReadableStream<Uint8Array>> {
    const body =
      path === '/v1/responses' ? { model: 'm', input: 'Weather in Paris?', stream: true } : { model: 'm', messages, stream: true, ...extra };
    const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    return response.body!;
  }
});

describe('openai Responses events the test server does not send', () => {
  const read = (events: readonly unknown[]) => eventsFrom(openaiResponsesAdapter, events);
  let sequence = 0;
  /** An event as the API numbers it. */
  const numbered = (event: Unnumbered<ResponseEvent>): ResponseEvent => ({ ...event, sequence_number: sequence++ });

  it('reasoning_text deltas are reasoning; a new summary part or reasoning item begins a new paragraph', async () => {
    const events = await read([
      numbered({ type: 'response.reasoning_summary_text.delta', item_id: 'rs_1', output_index: 0, summary_index: 0, delta: '**Plan**' }),
      numbered({ type: 'response.reasoning_summary_text.delta', item_id: 'rs_1', output_index: 0, summary_index: 0, delta: ' first.' }),
      numbered({ type: 'response.reasoning_summary_text.delta', item_id: 'rs_1', output_index: 0, summary_index: 1, delta: '**Check**' }),
      numbered({ type: 'response.reasoning_text.delta', item_id: 'rs_2', output_index: 1, content_index: 0, delta: 'Raw thought' }),
      numbered({ type: 'response.reasoning_text.delta', item_id: 'rs_2', output_index: 1, content_index: 0, delta: ' goes on.' }),
    ]);

    expect(textsOf(events).reasoning).toBe('**Plan** first.\n\n**Check**\n\nRaw thought goes on.');
    expect(events.every((event) => event.kind === 'reasoning')).toBe(true);
  });

  it('a refusal is answer text', async () => {
    const events = await read([
      numbered({ type: 'response.refusal.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'I can’t help with that.' }),
    ]);
    expect(events).toEqual([{ kind: 'answer', text: 'I can’t help with that.' }]);
  });

  it('the error event is an error', async () => {
    const events = await read([numbered({ type: 'error', code: 'rate_limit_exceeded', message: 'Slow down', param: null })]);

    expect(events).toHaveLength(1);
    expect((events[0] as Extract<AnswerEvent, { kind: 'error' }>).error.message).toBe('openai Responses events: Slow down (rate_limit_exceeded)');
  });

  it('a hosted web search is a tool step, named by its item, ending with its result; its progress events say nothing', async () => {
    const searching = { id: 'ws_1', type: 'web_search_call', status: 'in_progress', action: { type: 'search', query: 'Paris weather' } } as const;
    const events = await read([
      numbered({ type: 'response.output_item.added', output_index: 0, item: searching }),
      numbered({ type: 'response.web_search_call.in_progress', item_id: 'ws_1', output_index: 0 }),
      numbered({ type: 'response.web_search_call.searching', item_id: 'ws_1', output_index: 0 }),
      numbered({ type: 'response.web_search_call.completed', item_id: 'ws_1', output_index: 0 }),
      numbered({ type: 'response.output_item.done', output_index: 0, item: { ...searching, status: 'completed' } }),
      numbered({ type: 'response.output_text.delta', item_id: 'msg_1', output_index: 1, content_index: 0, delta: 'Sunny.', logprobs: [] }),
    ]);

    expect(events).toEqual([
      { kind: 'tool-start', id: 'ws_1', name: 'web_search' },
      { kind: 'tool-call', id: 'ws_1', name: 'web_search', input: { type: 'search', query: 'Paris weather' } },
      { kind: 'tool-result', id: 'ws_1', output: null },
      { kind: 'answer', text: 'Sunny.' },
    ]);
  });

  it('a hosted MCP call streams its arguments and ends with its output, or with its error', async () => {
    const call = { id: 'mcp_1', type: 'mcp_call', name: 'lookup', server_label: 'docs', arguments: '' } as const;
    const events = await read([
      numbered({ type: 'response.output_item.added', output_index: 0, item: call }),
      numbered({ type: 'response.mcp_call_arguments.delta', item_id: 'mcp_1', output_index: 0, delta: '{"q":"x"}' }),
      numbered({ type: 'response.mcp_call_arguments.done', item_id: 'mcp_1', output_index: 0, arguments: '{"q":"x"}' }),
      numbered({ type: 'response.mcp_call.completed', item_id: 'mcp_1', output_index: 0 }),
      numbered({ type: 'response.output_item.done', output_index: 0, item: { ...call, arguments: '{"q":"x"}', output: '{"found":true}' } }),
      numbered({ type: 'response.output_item.added', output_index: 1, item: { ...call, id: 'mcp_2' } }),
      numbered({ type: 'response.output_item.done', output_index: 1, item: { ...call, id: 'mcp_2', arguments: '{}', error: 'server down', status: 'failed' } }),
    ]);

    expect(events).toEqual([
      { kind: 'tool-start', id: 'mcp_1', name: 'lookup' },
      { kind: 'tool-input', id: 'mcp_1', delta: '{"q":"x"}' },
      { kind: 'tool-call', id: 'mcp_1', name: 'lookup', input: { q: 'x' } },
      { kind: 'tool-result', id: 'mcp_1', output: { found: true } },
      { kind: 'tool-start', id: 'mcp_2', name: 'lookup' },
      { kind: 'tool-call', id: 'mcp_2', name: 'lookup', input: {} },
      { kind: 'tool-error', id: 'mcp_2', error: 'server down' },
    ]);
  });

  it('a custom tool call’s free-form input is handed over as text', async () => {
    const call = { id: 'ctc_1', type: 'custom_tool_call', call_id: 'call_sql', name: 'run_sql', input: '' } as const;
    const events = await read([
      numbered({ type: 'response.output_item.added', output_index: 0, item: call }),
      numbered({ type: 'response.custom_tool_call_input.delta', item_id: 'ctc_1', output_index: 0, delta: 'SELECT 1' }),
      numbered({ type: 'response.custom_tool_call_input.done', item_id: 'ctc_1', output_index: 0, input: 'SELECT 1' }),
      numbered({ type: 'response.output_item.done', output_index: 0, item: { ...call, input: 'SELECT 1' } }),
    ]);

    expect(events).toEqual([
      { kind: 'tool-start', id: 'call_sql', name: 'run_sql' },
      { kind: 'tool-input', id: 'call_sql', delta: 'SELECT 1' },
      { kind: 'tool-call', id: 'call_sql', name: 'run_sql', input: 'SELECT 1' },
    ]);
  });

  it('a function call whose arguments were still streaming when the stream stopped is completed by end()', async () => {
    const item = { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '', status: 'in_progress' } as const;
    const events = await read([
      numbered({ type: 'response.output_item.added', output_index: 0, item }),
      numbered({ type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 0, delta: '{"city":"Pa' }),
    ]);

    expect(events.at(-1)).toEqual({ kind: 'tool-call', id: 'call_1', name: 'get_weather', input: '{"city":"Pa' });
  });

  it('reports the types it does not show as unhandled, and ignores only the documented ones', async () => {
    const events = await read([
      numbered({ type: 'response.created', response: {} as OpenAI.Responses.Response }),
      numbered({ type: 'response.in_progress', response: {} as OpenAI.Responses.Response }),
      numbered({ type: 'response.content_part.added', item_id: 'm', output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
      numbered({ type: 'response.output_text.done', item_id: 'm', output_index: 0, content_index: 0, text: 'x', logprobs: [] }),
      numbered({ type: 'response.audio.delta', delta: 'AAAA' }),
      numbered({
        type: 'response.output_text.annotation.added',
        item_id: 'm',
        output_index: 0,
        content_index: 0,
        annotation_index: 0,
        annotation: { type: 'url_citation', url: 'https://example.com', title: 'Example', start_index: 0, end_index: 1 },
      }),
      numbered({
        type: 'response.output_item.added',
        output_index: 1,
        item: { id: 'mcpr_1', type: 'mcp_approval_request', name: 'lookup', server_label: 'docs', arguments: '{}' },
      }),
      { type: 'response.some_future_event', sequence_number: sequence++ },
      'not an event',
    ]);

    expect(events).toEqual([
      { kind: 'unhandled', source: 'openai Responses events', type: 'response.audio.delta' },
      { kind: 'unhandled', source: 'openai Responses events', type: 'response.output_text.annotation.added' },
      { kind: 'unhandled', source: 'openai Responses events', type: 'response.output_item.added (mcp_approval_request)' },
      { kind: 'unhandled', source: 'openai Responses events', type: 'response.some_future_event' },
      { kind: 'unhandled', source: 'openai Responses events', type: 'string' },
    ]);
  });
});

describe('openai chat chunks the test server does not send', () => {
  const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null) => ({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 0,
    model: 'm',
    choices: [{ index: 0, delta, finish_reason }],
  });

  it('a call still open when the stream ends is completed by end()', async () => {
    const events = await eventsFrom(openaiChatAdapter, [
      chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] }),
    ]);

    expect(events.at(-1)).toEqual({ kind: 'tool-call', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } });
  });

  it('servers that number every call 0 or leave out index and id still give one step per call', async () => {
    const events = await eventsFrom(openaiChatAdapter, [
      // Whole calls in one chunk each, all at index 0, told apart by their ids.
      chunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'one', arguments: '{}' } }] }),
      chunk({ tool_calls: [{ index: 0, id: 'b', function: { name: 'two', arguments: '{"x":1}' } }] }),
      chunk({}, 'tool_calls'),
      // No index and no id: told apart by their position.
      chunk({ tool_calls: [{ function: { name: 'three', arguments: '' } }, { function: { name: 'four', arguments: '[1]' } }] }),
      chunk({}, 'stop'),
    ]);

    const steps = events.filter((event) => event.kind === 'tool-call');
    expect(steps).toEqual([
      { kind: 'tool-call', id: 'a', name: 'one', input: {} },
      { kind: 'tool-call', id: 'b', name: 'two', input: { x: 1 } },
      { kind: 'tool-call', id: 'call_0', name: 'three', input: {} },
      { kind: 'tool-call', id: 'call_1', name: 'four', input: [1] },
    ]);
  });

  it('reads only the first choice; a refusal is answer text; the deprecated function_call and audio are unhandled', async () => {
    const events = await eventsFrom(openaiChatAdapter, [
      { ...chunk({ content: 'Second choice' }), choices: [{ index: 1, delta: { content: 'Second choice' }, finish_reason: null }] },
      chunk({ refusal: 'I can’t.' }),
      chunk({ function_call: { name: 'old', arguments: '' } }),
      chunk({ audio: { id: 'a', data: 'AAAA' } }),
      42,
    ]);

    expect(events).toEqual([
      { kind: 'answer', text: 'I can’t.' },
      { kind: 'unhandled', source: 'openai chat completion chunks', type: 'delta.function_call' },
      { kind: 'unhandled', source: 'openai chat completion chunks', type: 'delta.audio' },
      { kind: 'unhandled', source: 'openai chat completion chunks', type: 'number' },
    ]);
  });
});

async function firstChunk(source: AsyncIterable<unknown>): Promise<unknown> {
  for await (const chunk of source) return chunk;
  return undefined;
}
