/**
 * Chatting with a bot in the live preview (issue 12), in a real headless Chromium: the user picks the p2p
 * chat, types a question in the composer and sends it; the bot (the official SDK's EventDispatcher on its own
 * HTTP server, answering with the library's CardSession) streams a card in reply; the user clicks the card's
 * Stop button, the page shows the bot's toast, the card ends with "(stopped)" and the model server (the demo's
 * OpenAI-compatible server, asked through the real `openai` client) sees its request cancelled.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as lark from '@larksuiteoapi/node-sdk';
import OpenAI from 'openai';
import { type ModelServer, startModelServer } from '../../demo/model-server.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { CardSession, FeishuClient, type SessionResult, stopFromAction } from '../../src/index.js';
import { chromiumInstalled, useBrowser } from '../support/browser.js';
import { createCard, tenantToken } from '../support/emulator-http.js';
import { waitFor } from '../support/session.js';

const APP = { appId: 'cli_chat0preview01', appSecret: 'secret_chat' };

interface Bot {
  /** Every question the bot received, as text. */
  questions: string[];
  /** The answers' pipe() results, in order. */
  answers: Promise<SessionResult>[];
}

describe.skipIf(!chromiumInstalled())('chatting with a bot in the live preview', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });
  const browser = useBrowser();

  async function setUp(): Promise<{ emulator: Emulator; bot: Bot; model: ModelServer }> {
    const emulator = await startEmulator({ apps: [APP] });
    cleanups.push(() => emulator.close());
    // A slow model: the answer is still streaming when the user clicks Stop.
    const model = await startModelServer({ tokensPerSecond: 8, jitter: 0, reasoning: false, toolCalls: false });
    const openai = new OpenAI({ apiKey: 'test', baseURL: model.url });
    const client = new FeishuClient({ appId: APP.appId, appSecret: APP.appSecret, domain: emulator.url });
    const bot: Bot = { questions: [], answers: [] };
    const dispatcher = new lark.EventDispatcher({ loggerLevel: lark.LoggerLevel.fatal }).register({
      'im.message.receive_v1': (event: { message: { message_id: string; content: string } }) => {
        const question = (JSON.parse(event.message.content) as { text: string }).text;
        bot.questions.push(question);
        // Answer in the background: the event is acknowledged at once, as a bot must.
        bot.answers.push(
          CardSession.start(client, { to: { reply_to: event.message.message_id }, stopButton: true }).then(async (session) =>
            session.pipe(await openai.chat.completions.create({ model: 'demo-model', messages: [{ role: 'user', content: question }], stream: true })),
          ),
        );
        return Promise.resolve();
      },
      'card.action.trigger': async (event: unknown) => Promise.resolve(stopFromAction(event) ?? undefined),
    });
    const handle = lark.adaptDefault('/events', dispatcher);
    const server = createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      await model.close();
      await Promise.allSettled(bot.answers);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    await emulator.subscribe(APP.appId, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, verify: false });
    return { emulator, bot, model };
  }

  it('the user sends a question from the composer, the card streams in, and its Stop button stops the answer', async () => {
    const { emulator, bot, model } = await setUp();
    const { page, errors } = await browser.open(emulator.url);
    const chat = emulator.chats().find((known) => known.type === 'p2p' && known.appId === APP.appId)!;

    // The chat list names the p2p chat after its bot; choosing it opens the conversation.
    const chatItem = page.locator(`#chat-list [data-chat-id="${chat.chatId}"] button`);
    await chatItem.waitFor({ timeout: 5000 });
    expect(await chatItem.locator('.item-title').innerText()).toBe(APP.appId);
    await chatItem.click();
    await page.locator('#conversation').waitFor({ state: 'visible' });
    expect(page.url()).toContain(`#chat=${chat.chatId}`);

    // Enter in the composer sends; markup in the question stays text.
    const question = 'Why is the sky <b>blue</b>?';
    await page.locator('#composer-input').fill(question);
    await page.locator('#composer-input').press('Enter');
    const userBubble = page.locator('#conversation-list .conv-row.from-user .text-bubble');
    await userBubble.waitFor({ timeout: 5000 });
    expect(await userBubble.innerText()).toBe(question);
    expect(await page.locator('#conversation-list b').count()).toBe(0);
    expect(await page.locator('#composer-input').inputValue()).toBe('');
    await waitFor(() => bot.questions.length === 1, 'the bot got the question');
    expect(bot.questions).toEqual([question]);

    // The bot's card streams in below the question, marked as a reply to it.
    const botRow = page.locator('#conversation-list .conv-row.from-bot');
    const answer = botRow.locator('[data-element-id="answer"]');
    const expected = model.answerFor(question);
    // The model quotes the question first: the answer is streaming once its words show.
    await answer.filter({ hasText: 'This embedded' }).waitFor({ timeout: 15_000 });
    expect(await botRow.locator('.conv-quote').innerText()).toContain('Why is the sky');
    const order = await page.locator('#conversation-list .conv-row').evaluateAll((rows: Element[]) => rows.map((row) => row.className));
    expect(order).toEqual(['conv-row from-user', 'conv-row from-bot']);

    // Clicking Stop: the toast the bot answered with, the card ends stopped, the button gone, the model released.
    const stop = botRow.locator('[data-element-id="stop_button"]');
    expect(await stop.innerText()).toBe('Stop');
    await stop.click();
    const toast = page.locator('#toast');
    await toast.filter({ hasText: 'Stopped' }).waitFor({ state: 'visible', timeout: 5000 });
    const result = await bot.answers[0]!;
    expect(result.aborted).toBe(true);
    // The model's stream was cut: the server saw its request closed before the answer's end.
    await expect.poll(() => model.cancelled, { timeout: 5000 }).toBe(1);
    expect(expected.startsWith(result.text.replace('\n\n_(stopped)_', ''))).toBe(true);
    expect(result.text.length).toBeLessThan(expected.length);
    await answer.filter({ hasText: '(stopped)' }).waitFor({ timeout: 10_000 });
    await expect.poll(() => stop.count(), { timeout: 5000 }).toBe(0);
    expect(await answer.innerText()).toMatch(/\(stopped\)$/);
    // The toast goes away again.
    await toast.waitFor({ state: 'hidden', timeout: 5000 });
    expect(errors).toEqual([]);
  }, 30_000);

  it('a card not sent in a message keeps its buttons inert', async () => {
    const { emulator } = await setUp();
    const cardId = await createCard(emulator, await tenantToken(emulator, APP.appId, APP.appSecret), {
      schema: '2.0',
      body: { elements: [{ tag: 'button', element_id: 'go', text: { tag: 'plain_text', content: 'Go' }, behaviors: [{ type: 'callback', value: { go: 1 } }] }] },
    });
    const { page, errors } = await browser.open(`${emulator.url}/#card=${cardId}`);
    const button = page.locator('#card-host [data-element-id="go"]');
    await button.waitFor({ timeout: 5000 });
    expect(await button.getAttribute('class')).not.toContain('clickable');
    await button.click();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await page.locator('#toast').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
