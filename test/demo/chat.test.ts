/**
 * `npm run demo -- --chat` (issue 12): a real bot (the SDK's long connection, CardSession, the embedded
 * model) answers what is written to it in the emulator with a streamed agent card reply; its Stop button
 * stops an answer. Driven over the emulator's HTTP control routes, as the preview page does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startModelServer } from '../../demo/model-server.js';
import { waitFor } from '../support/session.js';

const ROOT = new URL('../../', import.meta.url);

interface Running {
  child: ChildProcess;
  output: () => string;
  /** The emulator's base URL and the bot's p2p chat, read from what the demo printed. */
  base: string;
  chatId: string;
}

async function startChat(rate: number): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'demo/main.ts', '--chat', '--rate', String(rate)], {
    cwd: ROOT.pathname,
    env: { ...process.env, FEISHU_APP_ID: '', FEISHU_APP_SECRET: '', OPENAI_API_KEY: '', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const output = () => chunks.join('');
  await waitFor(() => /curl -X POST (\S+)\/_emulator\/chats\/(oc_\w+)\/messages/.test(output()), `the demo's chat line\n${output()}`, 15_000);
  const [, base, chatId] = /curl -X POST (\S+)\/_emulator\/chats\/(oc_\w+)\/messages/.exec(output())!;
  return { child, output, base: base!, chatId: chatId! };
}

async function json<T>(url: string, body?: unknown): Promise<T> {
  const response = await fetch(url, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await response.json()) as T;
}

type MessageRow = { message_id: string; parent_id: string | null; card_id: string | null };
type CardRow = { card: { body: { elements: { element_id?: string; content?: string }[] } }; log: { endpoint: string; code: number }[] };

describe('npm run demo -- --chat', () => {
  let running: Running | undefined;
  afterEach(async () => {
    if (!running) return;
    const exited = new Promise((resolve) => running!.child.once('exit', resolve));
    running.child.kill('SIGTERM');
    await exited;
    running = undefined;
  });

  /** The bot's card reply to `messageId`, once it exists. */
  const replyCard = async (run: Running, messageId: string): Promise<{ messageId: string; cardId: string } | undefined> => {
    const { messages } = await json<{ messages: MessageRow[] }>(`${run.base}/_emulator/messages`);
    const reply = messages.find((m) => m.parent_id === messageId && m.card_id !== null);
    return reply ? { messageId: reply.message_id, cardId: reply.card_id! } : undefined;
  };
  const closed = (card: CardRow) => card.log.some((e) => e.endpoint === 'cardkit.card.settings' && e.code === 0);
  const answerOf = (card: CardRow) => card.card.body.elements.find((e) => e.element_id === 'answer')?.content;

  it('answers a message with an agent card reply holding exactly the model’s answer; SIGTERM ends it with exit 0', async () => {
    running = await startChat(2000);
    const question = '怎样把大模型的流式回答实时写进飞书卡片？';
    const posted = await json<{ message_id: string }>(`${running.base}/_emulator/chats/${running.chatId}/messages`, { text: question });
    let card: CardRow | undefined;
    for (let i = 0; i < 300 && !(card && closed(card)); i++) {
      const reply = await replyCard(running, posted.message_id);
      if (reply) card = await json<CardRow>(`${running.base}/_emulator/cards/${reply.cardId}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(card && closed(card), running.output()).toBe(true);
    const model = await startModelServer();
    try {
      expect(answerOf(card!)).toBe(model.answerFor(question));
    } finally {
      await model.close();
    }
    expect(card!.card.body.elements.map((e) => e.element_id)).toEqual(['agent_thinking', 'agent_step_1', 'answer', 'agent_footer']);
    const exited = new Promise<number | null>((resolve) => running!.child.once('exit', resolve));
    running.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    running = undefined;
  }, 60_000);

  it('the Stop button of the reply stops the answer: the click is answered "Stopped", the card ends "(stopped)"', async () => {
    running = await startChat(15);
    const posted = await json<{ message_id: string }>(`${running.base}/_emulator/chats/${running.chatId}/messages`, { text: 'Tell me a long story.' });
    let reply: { messageId: string; cardId: string } | undefined;
    let card: CardRow | undefined;
    for (let i = 0; i < 300 && !(card && (answerOf(card) ?? '') !== ''); i++) {
      reply ??= await replyCard(running, posted.message_id);
      if (reply) card = await json<CardRow>(`${running.base}/_emulator/cards/${reply.cardId}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(reply, running.output()).toBeDefined();
    const click = await json<{ toast: { content: string } | null }>(`${running.base}/_emulator/messages/${reply!.messageId}/actions`, {
      action: { tag: 'button', value: { feishu_card_session: 'stop' } },
    });
    expect(click.toast?.content).toBe('Stopped');
    for (let i = 0; i < 100 && !(card && closed(card)); i++) {
      card = await json<CardRow>(`${running.base}/_emulator/cards/${reply!.cardId}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answerOf(card!)).toMatch(/\n\n_\(stopped\)_$/);
    expect(card!.card.body.elements.some((e) => e.element_id === 'stop_button')).toBe(false);
    await waitFor(() => running!.output().includes('stopped'), 'the demo saying the answer was stopped');
  }, 60_000);
});
