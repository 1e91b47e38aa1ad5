/**
 * `pipe()` reads `@anthropic-ai/sdk` against a local Messages API server (issue 11): the stream as the SDK
 * gives it, into an agent card on the emulator. The card holds the exact answer and reasoning and one step
 * per tool call, in order, with its status; the result lists the same steps, and the usage.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnthropicServer, startAnthropicServer } from '../support/anthropic-server.js';
import { ANSWER, THINKING, outline, useAgentCards } from '../support/sdk-cards.js';

describe('Anthropic into an agent card', () => {
  const { start, expectCard } = useAgentCards();
  const pipeOptions = {} as const;
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

  it('raw stream events of messages.create({ stream: true }), with two tool_use blocks; the app reports one result', async () => {
    server.script = {
      thinking: THINKING,
      answer: ANSWER,
      toolUses: [
        { id: 'toolu_a', name: 'weather', input: ['{"city":"北京"}'] },
        { id: 'toolu_b', name: 'clock', input: ['{}'] },
      ],
    };
    const session = await start();
    const stream = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'q' }], stream: true });
    await session.pipe(stream, { finish: false });
    session.toolResult('toolu_a', { sky: 'sunny' });
    const result = await session.finish();
    expectCard(session, result, THINKING.join(''));
    expect(outline(result.steps)).toEqual([
      { id: 'toolu_a', name: 'weather', status: 'done', input: { city: '北京' } },
      { id: 'toolu_b', name: 'clock', status: 'called', input: {} },
    ]);
  });
});
