/**
 * `pipe()` reads `@langchain/core` with its own fake chat models, a real tool and a runnable chain (issue
 * 11): the stream as the SDK gives it, into an agent card on the emulator. The card holds the exact answer
 * and reasoning and one step per tool call, in order, with its status; the result lists the same steps, and
 * the usage.
 */
import { AIMessageChunk } from '@langchain/core/messages';
import { RunnableLambda } from '@langchain/core/runnables';
import { tool as langchainTool } from '@langchain/core/tools';
import { FakeListChatModel, FakeStreamingChatModel } from '@langchain/core/utils/testing';
import { describe, expect, it } from 'vitest';
import { ANSWER, THINKING, outline, useAgentCards } from '../support/sdk-cards.js';

describe('LangChain into an agent card', () => {
  const { start, expectCard } = useAgentCards();
  const pipeOptions = {} as const;
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
