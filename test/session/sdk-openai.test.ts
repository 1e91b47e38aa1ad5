/**
 * `pipe()` reads the `openai` package against a local OpenAI-compatible server (issue 11): the stream as
 * the SDK gives it, into an agent card on the emulator. The card holds the exact answer and reasoning and
 * one step per tool call, in order, with its status; the result lists the same steps, and the usage.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenAIServer, startOpenAIServer } from '../support/openai-server.js';
import { ANSWER, THINKING, outline, useAgentCards } from '../support/sdk-cards.js';

describe('openai into an agent card', () => {
  const { start, expectCard } = useAgentCards();
  const pipeOptions = {} as const;
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
