/**
 * `pipe()` reads the Vercel AI SDK (`ai`) with its own mock model (`ai/test`) and real tool execution
 * (issue 11): the stream as the SDK gives it, into an agent card on the emulator. The card holds the exact
 * answer and reasoning and one step per tool call, in order, with its status; the result lists the same
 * steps, and the usage.
 */
import { isStepCount, jsonSchema, streamText, tool } from 'ai';
import { MockLanguageModelV4, simulateReadableStream } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { ANSWER, THINKING, outline, useAgentCards } from '../support/sdk-cards.js';

describe('Vercel AI SDK into an agent card', () => {
  const { start, expectCard } = useAgentCards();
  const pipeOptions = {} as const;
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
