/**
 * `pipe()` takes every popular SDK's stream as it is (issue 11): the real packages, against local
 * servers or their own test utilities, into a card on the emulator. The card holds the exact answer
 * and reasoning; the result lists one step per tool call, in order, with its status, and the usage.
 */
import Anthropic from '@anthropic-ai/sdk';
import { AIMessageChunk } from '@langchain/core/messages';
import { RunnableLambda } from '@langchain/core/runnables';
import { tool as langchainTool } from '@langchain/core/tools';
import { FakeListChatModel, FakeStreamingChatModel } from '@langchain/core/utils/testing';
import { isStepCount, jsonSchema, streamText, tool } from 'ai';
import { MockLanguageModelV4, simulateReadableStream } from 'ai/test';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, type FeishuClient, type ToolStep } from '../../src/index.js';
import { type AnthropicServer, startAnthropicServer } from '../support/anthropic-server.js';
import { clientFor } from '../support/client.js';
import { cardView } from '../support/agent-view.js';
import { useEmulator } from '../support/emulator-http.js';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';

const ANSWER = ['流式', '回答：', 'the weather ', 'is sunny 🌞', ', 24 °C.'];
const THINKING = ['The user asks ', 'about the weather; ', '先查一下。'];

/** What a test checks of every step: its order, name, status and input. */
const outline = (steps: readonly ToolStep[]) => steps.map(({ id, name, status, input }) => ({ id, name, status, input }));

/** Each step line of an agent card as [name, status] (`✅ **weather** · done · 0.1 s`). */
function cardSteps(lines: readonly string[]): [string, string][] {
  return lines.map((line) => {
    const match = /^\S+ \*\*(.+?)\*\* · (\w+)/.exec(line);
    if (!match) throw new Error(`not a step line: ${line}`);
    return [match[1]!.replace(/\\(.)/g, '$1'), match[2]!];
  });
}

describe('pipe() reads every SDK', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  const newClient = (): FeishuClient => clientFor(emulator).client;
  /** An agent card: its reasoning panel, one element per tool step, the answer. */
  const start = () => CardSession.start(newClient(), { agent: true });
  const pipeOptions = {} as const;
  /** The card on the emulator holds the exact answer (and reasoning, when given) and one step per tool call, in order, with its status. */
  const expectCard = (session: CardSession, result: { steps: readonly ToolStep[] }, reasoning?: string) => {
    const view = cardView(emulator, session.cardId!);
    expect(view.answer).toBe(ANSWER.join(''));
    expect(view.reasoning).toBe(reasoning);
    expect(cardSteps(view.steps)).toEqual(result.steps.map((step) => [step.name, step.status]));
    return view;
  };

  describe('openai', () => {
    let server: OpenAIServer;
    let openai: OpenAI;
    beforeAll(async () => {
      server = await startOpenAIServer();
      openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.url}/v1` });
    });
    afterAll(() => server.close());

    it('chat completions with reasoning, tool calls and usage', async () => {
      server.script = {
        answer: ANSWER,
        reasoning: THINKING,
        toolCalls: [
          { id: 'call_a', name: 'weather', arguments: ['{"city":', '"北京"}'] },
          { id: 'call_b', name: 'clock', arguments: [] },
        ],
        usage: { input: 30, output: 12 },
      };
      const session = await start();
      const stream = await openai.chat.completions.create({ model: 'm', messages: [], stream: true, stream_options: { include_usage: true } });
      const result = await session.pipe(stream, pipeOptions);
      expectCard(session, result, THINKING.join(''));
      expect(outline(result.steps)).toEqual([
        { id: 'call_a', name: 'weather', status: 'called', input: { city: '北京' } },
        { id: 'call_b', name: 'clock', status: 'called', input: {} },
      ]);
      expect(result.usage).toMatchObject({ inputTokens: 30, outputTokens: 12 });
      expect(result.finishReason).toBe('tool_calls');
      expect(result.unhandled).toEqual({});
    });

    it('Responses events', async () => {
      server.script = { answer: ANSWER, reasoning: THINKING, toolCalls: [{ id: 'call_r', name: 'search', arguments: ['{"q":"x"}'] }] };
      const session = await start();
      const stream = await openai.responses.create({ model: 'm', input: 'q', stream: true });
      const result = await session.pipe(stream, pipeOptions);
      expectCard(session, result, THINKING.join(''));
      expect(outline(result.steps)).toEqual([{ id: 'call_r', name: 'search', status: 'called', input: { q: 'x' } }]);
    });

    it("a helper stream's toReadableStream() bytes read as the events they carry, not as JSON text", async () => {
      server.script = { answer: ANSWER };
      const session = await start();
      const stream = await openai.chat.completions.create({ model: 'm', messages: [], stream: true });
      const result = await session.pipe(stream.toReadableStream());
      expectCard(session, result);
    });
  });

  describe('Anthropic', () => {
    let server: AnthropicServer;
    let anthropic: Anthropic;
    beforeAll(async () => {
      server = await startAnthropicServer();
      anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: server.url });
    });
    afterAll(() => server.close());

    it('messages.stream() with thinking, a tool_use block and usage', async () => {
      server.script = {
        thinking: THINKING,
        answer: ANSWER,
        toolUses: [{ id: 'toolu_01', name: 'weather', input: ['', '{"city": ', '"北京"}'] }],
        usage: { input: 40, output: 20 },
      };
      const session = await start();
      const result = await session.pipe(anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'q' }] }), pipeOptions);
      expectCard(session, result, THINKING.join(''));
      expect(outline(result.steps)).toEqual([{ id: 'toolu_01', name: 'weather', status: 'called', input: { city: '北京' } }]);
      expect(result.usage).toMatchObject({ inputTokens: 40, outputTokens: 20 });
      expect(result.finishReason).toBe('tool_use');
    });
  });

  describe('Vercel AI SDK', () => {
    const usage = (input: number, output: number) => ({
      inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: output, text: output, reasoning: undefined },
    });

    function agent() {
      const weather = tool({
        inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } } }),
        execute: ({ city }) => ({ city, sky: 'sunny' }),
      });
      const stations = tool({
        inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } } }),
        execute: (): string => {
          throw new Error('station network offline');
        },
      });
      const model = new MockLanguageModelV4({
        doStream: [
          {
            stream: simulateReadableStream({
              chunkDelayInMs: null,
              chunks: [
                { type: 'reasoning-start', id: 'r' },
                ...THINKING.map((delta) => ({ type: 'reasoning-delta' as const, id: 'r', delta })),
                { type: 'reasoning-end', id: 'r' },
                { type: 'tool-call', toolCallId: 'c1', toolName: 'weather', input: '{"city":"北京"}' },
                { type: 'tool-call', toolCallId: 'c2', toolName: 'stations', input: '{"city":"北京"}' },
                { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage: usage(10, 5) },
              ],
            }),
          },
          {
            stream: simulateReadableStream({
              chunkDelayInMs: null,
              chunks: [
                { type: 'text-start', id: 't' },
                ...ANSWER.map((delta) => ({ type: 'text-delta' as const, id: 't', delta })),
                { type: 'text-end', id: 't' },
                { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: usage(20, 8) },
              ],
            }),
          },
        ],
      });
      return streamText({ model, prompt: 'q', tools: { weather, stations }, stopWhen: isStepCount(3) });
    }

    it('streamText().fullStream of an agent: the tool that ran is done, the one that threw failed', async () => {
      const session = await start();
      const result = await session.pipe(agent().fullStream, pipeOptions);
      expectCard(session, result, THINKING.join(''));
      expect(outline(result.steps)).toEqual([
        { id: 'c1', name: 'weather', status: 'done', input: { city: '北京' } },
        { id: 'c2', name: 'stations', status: 'failed', input: { city: '北京' } },
      ]);
      expect(result.steps[0]!.output).toEqual({ city: '北京', sky: 'sunny' });
      expect(result.steps[1]!.error).toContain('station network offline');
      expect(result.usage).toMatchObject({ inputTokens: 30, outputTokens: 13 });
      expect(result.finishReason).toBe('stop');
    });

    it('textStream (plain strings) and the UI message stream', async () => {
      const plain = await start();
      const plainResult = await plain.pipe(agent().textStream);
      expectCard(plain, plainResult);
      expect(plainResult.steps).toEqual([]);
      const ui = await start();
      const result = await ui.pipe(agent().toUIMessageStream(), pipeOptions);
      expectCard(ui, result, THINKING.join(''));
      expect(result.steps.map((step) => step.status)).toEqual(['done', 'failed']);
    });

    it("passing streamText()'s result instead of one of its streams is a TypeError that says which to pass", async () => {
      const session = await start();
      await expect(session.pipe(agent() as never)).rejects.toThrow(/pass result\.fullStream/);
      await session.finish();
    });
  });

  describe('LangChain', () => {
    it('model.stream() AIMessageChunks: reasoning and text blocks, a tool call', async () => {
      const model = new FakeStreamingChatModel({
        sleep: 0,
        chunks: [
          ...THINKING.map((reasoning) => new AIMessageChunk({ content: [{ type: 'reasoning', reasoning }] })),
          ...ANSWER.map((text) => new AIMessageChunk({ content: [{ type: 'text', text }] })),
          new AIMessageChunk({ content: '', tool_calls: [{ id: 'lc_1', name: 'weather', args: { city: '北京' }, type: 'tool_call' }] }),
        ],
      });
      const session = await start();
      const result = await session.pipe(await model.stream('q'), pipeOptions);
      expectCard(session, result, THINKING.join(''));
      expect(outline(result.steps)).toEqual([{ id: 'lc_1', name: 'weather', status: 'called', input: { city: '北京' } }]);
    });

    it("a chain's streamEvents: the tool run is a step, done with its output; the model's text is the answer", async () => {
      const weather = langchainTool((input: unknown) => `${String((input as { city: string }).city)}: sunny`, {
        name: 'weather',
        description: 'The weather in a city',
        schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      });
      const model = new FakeListChatModel({ responses: [ANSWER.join('')] });
      const chain = RunnableLambda.from(async (question: string, config) => {
        await weather.invoke({ city: '北京' }, config);
        return model.invoke(question, config);
      });
      const session = await start();
      const result = await session.pipe(chain.streamEvents('q', { version: 'v2' }), pipeOptions);
      expectCard(session, result);
      expect(result.steps.map(({ name, status, output }) => ({ name, status, output }))).toEqual([{ name: 'weather', status: 'done', output: '北京: sunny' }]);
    });
  });
});
