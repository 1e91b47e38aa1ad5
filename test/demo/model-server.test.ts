/**
 * The demo's embedded OpenAI-compatible server, driven by the real `openai` client (v6): chat and
 * Responses streams carry exactly `answerFor(question)`, reasoning comes first when asked for, tokens are
 * 1-4 characters and never half a surrogate pair, a `search_docs` tool call comes mid-answer in both APIs'
 * wire shapes, pauses stretch the stream, bad requests get 400.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANSWERS, LONG_ANSWER } from '../../demo/answers.js';
import { type ModelServer, scriptFor, startModelServer, tokenize } from '../../demo/model-server.js';

/** `reasoning_content`, the field DeepSeek and other OpenAI-compatible servers stream reasoning in (not in openai's types). */
const reasoningOf = (delta: unknown): string => (delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '';

const QUESTION = ANSWERS[0]!.question;

describe('the embedded model server', () => {
  let server: ModelServer;
  let openai: OpenAI;

  beforeAll(async () => {
    server = await startModelServer({ tokensPerSecond: 4000 });
    openai = new OpenAI({ apiKey: 'demo', baseURL: server.url, maxRetries: 0 });
  });
  afterAll(() => server.close());

  async function chat(question: string, extra: Partial<OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming> = {}) {
    const stream = await openai.chat.completions.create({ model: 'demo-model', messages: [{ role: 'user', content: question }], stream: true, ...extra });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const deltas = chunks.map((c) => c.choices[0]?.delta);
    return {
      chunks,
      content: deltas.map((d) => d?.content ?? '').join(''),
      reasoning: deltas.map((d) => reasoningOf(d)).join(''),
      contentPieces: deltas.map((d) => d?.content).filter((c): c is string => typeof c === 'string' && c !== ''),
      order: deltas.flatMap((d) => (reasoningOf(d) ? ['reasoning'] : d?.content ? ['answer'] : [])),
    };
  }

  async function responses(question: string, extra: Partial<OpenAI.Responses.ResponseCreateParamsStreaming> = {}) {
    const stream = await openai.responses.create({ model: 'demo-model', input: question, stream: true, ...extra });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const text = events.map((e) => (e.type === 'response.output_text.delta' ? e.delta : '')).join('');
    const reasoning = events.map((e) => (e.type === 'response.reasoning_summary_text.delta' ? e.delta : '')).join('');
    return { events, text, reasoning };
  }

  it('streams a chat completion whose text is exactly answerFor(question), framed as OpenAI frames it', async () => {
    const { chunks, content, reasoning } = await chat(QUESTION);
    expect(content).toBe(server.answerFor(QUESTION));
    expect(reasoning).toBe('');
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
    expect(chunks.at(-1)!.choices[0]!.delta).toEqual({});
    expect(chunks.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null)).toBe(true);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'demo-model' && c.id === chunks[0]!.id)).toBe(true);
  });

  it('streams every demo answer (Chinese and English prose, code, tables, lists) exactly, in tokens of 1-4 characters', async () => {
    for (const { question } of [...ANSWERS, LONG_ANSWER]) {
      const { content, contentPieces } = await chat(question);
      expect(content).toBe(server.answerFor(question));
      for (const piece of contentPieces) {
        expect(Array.from(piece).length).toBeGreaterThanOrEqual(1);
        expect(Array.from(piece).length).toBeLessThanOrEqual(4);
        expect(piece).not.toMatch(/^[\udc00-\udfff]|[\ud800-\udbff]$/);
      }
    }
    const answers = [...ANSWERS, LONG_ANSWER].map((a) => server.answerFor(a.question));
    expect(new Set(answers).size).toBe(answers.length);
    const all = answers.join('\n');
    expect(all).toMatch(/```(ts|python|js|json|bash)\n/);
    expect(all).toMatch(/\n\|---\|/);
    expect(all).toMatch(/\n- /);
    expect(all).toMatch(/[\u4e00-\u9fff]/);
    expect(all).toMatch(/[\u{1f300}-\u{1faff}]/u);
  });

  it('never splits a surrogate pair when it cuts tokens', () => {
    const text = '🚀a🎉bc😀😀😀😀😀d'.repeat(20);
    for (let seed = 0; seed < 20; seed++) {
      let state = seed;
      const random = () => ((state = (state * 9301 + 49297) % 233280) / 233280);
      const tokens = tokenize(text, random);
      expect(tokens.join('')).toBe(text);
      for (const token of tokens) expect(token).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    }
  });

  it('answers the same question with the same text every time, and an unknown question with a scripted answer that quotes it', async () => {
    expect(server.answerFor(QUESTION)).toBe(server.answerFor(`  ${QUESTION}  `));
    const other = 'What is the capital of Mongolia?';
    expect(server.answerFor(other)).toBe(server.answerFor(other));
    expect(server.answerFor(other).startsWith(`> ${other}`)).toBe(true);
    expect((await chat(other)).content).toBe(server.answerFor(other));
  });

  it('streams the Responses API as typed events with sequence numbers, the text exactly answerFor(question)', async () => {
    const question = ANSWERS[1]!.question;
    const { events, text, reasoning } = await responses(question);
    expect(text).toBe(server.answerFor(question));
    expect(reasoning).toBe('');
    const types: string[] = events.map((e) => e.type);
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    const order: string[] = ['response.created', 'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.done', 'response.completed'];
    expect(order.map((t) => types.indexOf(t))).toEqual([...order.map((t) => types.indexOf(t))].sort((a, b) => a - b));
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    // With the tool call mid-answer the text is two messages; together they are the answer.
    const done = events.map((e) => (e.type === 'response.output_text.done' ? e.text : '')).join('');
    expect(done).toBe(server.answerFor(question));
    const completed = events.at(-1)!;
    expect(completed.type === 'response.completed' && completed.response.output_text).toBe(server.answerFor(question));
  });

  it('streams a search_docs tool call after the first paragraph of a chat answer: delta.tool_calls pieces, then a pause, then the rest', async () => {
    const paused = await startModelServer({ tokensPerSecond: 4000, toolMs: 300 });
    try {
      const client = new OpenAI({ apiKey: 'demo', baseURL: paused.url, maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: QUESTION }], stream: true });
      let content = '';
      let before = '';
      let args = '';
      let argsEndedAt = 0;
      let resumedAt = 0;
      const calls: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta;
        for (const call of delta?.tool_calls ?? []) {
          if (calls.length === 0) before = content;
          calls.push(call);
          args += call.function?.arguments ?? '';
          argsEndedAt = performance.now();
        }
        if (delta?.content && calls.length > 0 && resumedAt === 0) resumedAt = performance.now();
        content += delta?.content ?? '';
      }
      const expected = paused.toolCallFor(QUESTION)!;
      expect(expected).toEqual({ name: 'search_docs', arguments: JSON.stringify({ query: QUESTION }) });
      expect(content).toBe(paused.answerFor(QUESTION));
      expect(before).toBe(`${scriptFor(QUESTION).blocks[0]!}\n\n`);
      expect(calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'search_docs', arguments: '' } });
      expect(calls[0]!.id).toMatch(/^call_\w+$/);
      expect(calls.slice(1).every((c) => c.index === 0 && c.id === undefined && c.function?.name === undefined)).toBe(true);
      expect(calls.length).toBeGreaterThan(2);
      expect(args).toBe(expected.arguments);
      expect(resumedAt - argsEndedAt).toBeGreaterThanOrEqual(250);
    } finally {
      await paused.close();
    }
  });

  it('streams the tool call in the Responses API as a function_call item between two messages, the text of both exactly the answer', async () => {
    const { events, text } = await responses(QUESTION);
    expect(text).toBe(server.answerFor(QUESTION));
    const added = events.filter((e) => e.type === 'response.output_item.added').map((e) => e.type === 'response.output_item.added' && e.item);
    expect(added.map((item) => item && item.type)).toEqual(['message', 'function_call', 'message']);
    const call = added[1] as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ type: 'function_call', name: 'search_docs', arguments: '', status: 'in_progress' });
    expect(call.call_id).toMatch(/^call_\w+$/);
    const deltas = events.filter((e) => e.type === 'response.function_call_arguments.delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.every((e) => e.item_id === call.id && e.output_index === 1)).toBe(true);
    const expected = server.toolCallFor(QUESTION)!.arguments;
    expect(deltas.map((e) => e.delta).join('')).toBe(expected);
    const argsDone = events.find((e) => e.type === 'response.function_call_arguments.done');
    expect(argsDone).toMatchObject({ item_id: call.id, output_index: 1, name: 'search_docs', arguments: expected });
    const texts = events.filter((e) => e.type === 'response.output_text.done').map((e) => e.type === 'response.output_text.done' && e.text);
    expect(texts.join('')).toBe(server.answerFor(QUESTION));
    expect(texts[0]).toBe(`${scriptFor(QUESTION).blocks[0]!}\n\n`);
    const types = events.map((e) => e.type);
    expect(types.indexOf('response.function_call_arguments.delta')).toBeGreaterThan(types.indexOf('response.output_text.done'));
    expect(types.lastIndexOf('response.output_text.delta')).toBeGreaterThan(types.indexOf('response.function_call_arguments.done'));
    const completed = events.at(-1)!;
    expect(completed.type === 'response.completed' && completed.response.output.map((item) => item.type)).toEqual(['message', 'function_call', 'message']);
  });

  it('calls no tool when started with toolCalls: false', async () => {
    const quiet = await startModelServer({ tokensPerSecond: 4000, toolCalls: false });
    try {
      expect(quiet.toolCallFor(QUESTION)).toBeUndefined();
      const client = new OpenAI({ apiKey: 'demo', baseURL: quiet.url, maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: QUESTION }], stream: true });
      let content = '';
      for await (const chunk of stream) {
        expect(chunk.choices[0]?.delta.tool_calls).toBeUndefined();
        content += chunk.choices[0]?.delta.content ?? '';
      }
      expect(content).toBe(quiet.answerFor(QUESTION));
    } finally {
      await quiet.close();
    }
  });

  it('answers a chat completion without streaming as one chat.completion', async () => {
    const completion = await openai.chat.completions.create({ model: 'demo-model', messages: [{ role: 'user', content: QUESTION }] });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]!.message.content).toBe(server.answerFor(QUESTION));
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(completion.choices[0]!.message.tool_calls).toMatchObject([{ type: 'function', function: { name: 'search_docs', arguments: server.toolCallFor(QUESTION)!.arguments } }]);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('streams reasoning before the answer when the request asks for it (chat reasoning_effort, Responses reasoning)', async () => {
    const question = ANSWERS[2]!.question;
    const chatRun = await chat(question, { reasoning_effort: 'low' });
    expect(chatRun.reasoning).toBe(server.reasoningFor(question));
    expect(chatRun.content).toBe(server.answerFor(question));
    const firstAnswer = chatRun.order.indexOf('answer');
    expect(chatRun.order.slice(0, firstAnswer).every((k) => k === 'reasoning')).toBe(true);
    expect(chatRun.order.slice(firstAnswer).every((k) => k === 'answer')).toBe(true);

    const responsesRun = await responses(question, { reasoning: { effort: 'low', summary: 'auto' } });
    expect(responsesRun.reasoning).toBe(server.reasoningFor(question));
    expect(responsesRun.text).toBe(server.answerFor(question));
    const types = responsesRun.events.map((e) => e.type);
    expect(types.lastIndexOf('response.reasoning_summary_text.delta')).toBeLessThan(types.indexOf('response.output_text.delta'));
  });

  it('streams reasoning without being asked when started with reasoning: true', async () => {
    const reasoning = await startModelServer({ tokensPerSecond: 4000, reasoning: true });
    try {
      const client = new OpenAI({ apiKey: 'demo', baseURL: reasoning.url, maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: QUESTION }], stream: true });
      let text = '';
      for await (const chunk of stream) text += reasoningOf(chunk.choices[0]?.delta);
      expect(text).toBe(reasoning.reasoningFor(QUESTION));
    } finally {
      await reasoning.close();
    }
  });

  it('refuses a request without a model, messages or input with a 400 OpenAI error', async () => {
    const noModel = await rejection(openai.chat.completions.create({ messages: [{ role: 'user', content: 'hi' }] } as never));
    expect(noModel).toBeInstanceOf(OpenAI.BadRequestError);
    expect(noModel).toMatchObject({ status: 400, param: 'model', type: 'invalid_request_error' });

    const noMessages = await rejection(openai.chat.completions.create({ model: 'demo-model', messages: [] }));
    expect(noMessages).toMatchObject({ status: 400, param: 'messages', type: 'invalid_request_error' });

    const noInput = await rejection(openai.responses.create({ model: 'demo-model' } as never));
    expect(noInput).toMatchObject({ status: 400, param: 'input', type: 'invalid_request_error' });

    const raw = await fetch(`${server.url}/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{not json' });
    expect(raw.status).toBe(400);
    const body = (await raw.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/JSON/);
  });

  it('streams at the configured token rate, and stretches pauses between paragraphs to last minDurationMs', async () => {
    const paced = await startModelServer({ tokensPerSecond: 400, jitter: 0.2 });
    const stretched = await startModelServer({ tokensPerSecond: 4000, minDurationMs: 1500 });
    try {
      const question = ANSWERS[3]!.question;
      const time = async (s: ModelServer) => {
        const client = new OpenAI({ apiKey: 'demo', baseURL: s.url, maxRetries: 0 });
        const started = performance.now();
        let tokens = 0;
        const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: question }], stream: true });
        for await (const chunk of stream) if (chunk.choices[0]?.delta.content) tokens++;
        return { ms: performance.now() - started, tokens };
      };
      const a = await time(paced);
      expect(a.ms).toBeGreaterThan((a.tokens / 400) * 1000 * 0.7);
      expect(a.ms).toBeLessThan((a.tokens / 400) * 1000 * 3 + 1000);
      const b = await time(stretched);
      expect(b.ms).toBeGreaterThanOrEqual(1500);
      expect(b.ms).toBeLessThan(4000);
    } finally {
      await Promise.all([paced.close(), stretched.close()]);
    }
  });
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => new Error(`expected a rejection, got ${JSON.stringify(value)}`),
    (reason: unknown) => reason,
  );
}
