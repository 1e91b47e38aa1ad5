/**
 * The README's bot ("Quick start: a real bot") runs as printed against the emulator (issue 12): the code
 * block is taken from README.md, its one import of the package pointed at the source (the package is not
 * built in a checkout), and run in its own process with the environment the README names. A user writes
 * in the bot's chat; the bot answers in a streamed card reply; the Stop button's callback reaches it too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/emulator/index.js';
import { type OpenAIServer, startOpenAIServer } from './support/openai-server.js';
import { sleep, waitFor } from './support/session.js';

const ROOT = new URL('../', import.meta.url);
const APP = { appId: 'cli_a1b2c3d4e5f60718', appSecret: 'readme_secret', encryptKey: 'readme-encrypt-key' };
const ANSWER = ['CardKit ', 'streams ', 'text into ', 'a card: ', '流式卡片。'];

/** The TypeScript block of the README section "Quick start: a real bot", and the line it says replaces its last for the long connection. */
function readmeBot(): { block: string; longConnection: string } {
  const readme = readFileSync(new URL('README.md', ROOT), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start: a real bot'), readme.indexOf('## CardSession'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  const longConnection = /replace the last line with\s+`([^`]+)`/.exec(section)?.[1];
  if (!block || !longConnection) throw new Error('README has no code block (or no long-connection line) under "Quick start: a real bot"');
  return { block, longConnection };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("the README's bot", () => {
  let child: ChildProcess | undefined;
  const closing: (() => Promise<void>)[] = [];
  afterEach(async () => {
    child?.kill('SIGTERM');
    await Promise.all(closing.splice(0).map((close) => close()));
  });

  it('answers a message written in the emulator with a streamed card reply, over HTTP event subscription, encrypted', async () => {
    const source = readmeBot().block;
    expect(source).toContain("from 'feishu-card-session'");
    const dir = new URL('test-artifacts/readme-bot/', ROOT);
    mkdirSync(dir, { recursive: true });
    const file = new URL('bot.ts', dir);
    writeFileSync(file, source.replace("from 'feishu-card-session'", `from '${new URL('src/index.ts', ROOT).pathname}'`));

    const emulator: Emulator = await startEmulator({ apps: [APP] });
    closing.push(() => emulator.close());
    const model: OpenAIServer = await startOpenAIServer({ answer: ANSWER });
    closing.push(() => model.close());
    const port = await freePort();
    const output: string[] = [];
    child = spawn(process.execPath, ['--import', 'tsx', file.pathname], {
      cwd: ROOT.pathname,
      env: {
        ...process.env,
        FEISHU_APP_ID: APP.appId,
        FEISHU_APP_SECRET: APP.appSecret,
        FEISHU_ENCRYPT_KEY: APP.encryptKey,
        FEISHU_DOMAIN: emulator.url,
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: `${model.url}/v1`,
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));

    // The bot's URL passes the url_verification challenge once it is up.
    const url = `http://127.0.0.1:${port}/webhook/event`;
    for (let tries = 0; ; tries++) {
      try {
        await emulator.subscribe(APP.appId, { url });
        break;
      } catch (error) {
        if (tries > 100) throw new Error(`the bot never answered the challenge: ${String(error)}\n${output.join('')}`);
        await sleep(100);
      }
    }

    const chat = emulator.chats().find((c) => c.type === 'p2p')!;
    const question = await emulator.postMessage(chat.chatId, { text: 'What is CardKit?' });
    expect(question.deliveries[0]!.state).toBe('delivered');
    const reply = () => emulator.messages().find((m) => m.parent_id === question.messageId);
    await waitFor(() => {
      const cardId = reply()?.card_id;
      // Closed: the session's last write (settings, streaming off) was accepted.
      return cardId !== undefined && cardId !== null && emulator.card(cardId)!.log.some((e) => e.endpoint === 'cardkit.card.settings' && e.code === 0);
    }, `the bot's card reply, closed\n${output.join('')}`, 15_000);
    expect(emulator.card(reply()!.card_id!)!.streaming_mode).toBe(false);
    const card = emulator.card(reply()!.card_id!)!;
    const elements = (card.card.body as { elements: { element_id?: string; content?: string }[] }).elements;
    expect(elements.find((e) => e.element_id === 'answer')?.content).toBe(ANSWER.join(''));
    // The Stop button left with the last write.
    expect(elements.some((e) => e.element_id === 'stop_button')).toBe(false);
    expect(model.requests.at(-1)?.body).toMatchObject({ messages: [{ role: 'user', content: 'What is CardKit?' }], stream: true });
    // The answer is over: a click on the (stale) Stop button is answered "Already finished" by the bot.
    const click = await emulator.clickCard(reply()!.message_id, { action: { tag: 'button', value: { feishu_card_session: 'stop' } } });
    expect(click.toast).toEqual({ type: 'info', content: 'Already finished' });
  }, 60_000);

  it('runs through the long connection too, with the last line replaced as the README says', async () => {
    const { block, longConnection } = readmeBot();
    const lines = block.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^createServer\(/);
    const source = [...lines.slice(0, -1), longConnection].join('\n');
    const dir = new URL('test-artifacts/readme-bot/', ROOT);
    mkdirSync(dir, { recursive: true });
    const file = new URL('bot-ws.ts', dir);
    writeFileSync(file, source.replace("from 'feishu-card-session'", `from '${new URL('src/index.ts', ROOT).pathname}'`));

    const app = { appId: 'cli_00000000deadbeef', appSecret: 'readme_ws_secret' };
    const emulator: Emulator = await startEmulator({ apps: [app] });
    closing.push(() => emulator.close());
    const model: OpenAIServer = await startOpenAIServer({ answer: ANSWER });
    closing.push(() => model.close());
    const output: string[] = [];
    child = spawn(process.execPath, ['--import', 'tsx', file.pathname], {
      cwd: ROOT.pathname,
      env: { ...process.env, FEISHU_APP_ID: app.appId, FEISHU_APP_SECRET: app.appSecret, FEISHU_DOMAIN: emulator.url, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: `${model.url}/v1` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    await waitFor(() => emulator.longConnections(app.appId) === 1, `the bot's long connection\n${output.join('')}`, 15_000);

    const chat = emulator.chats().find((c) => c.type === 'p2p')!;
    const question = await emulator.postMessage(chat.chatId, { text: 'Over the socket?' });
    expect(question.deliveries[0]!.state).toBe('delivered');
    const reply = () => emulator.messages().find((m) => m.parent_id === question.messageId);
    await waitFor(() => {
      const cardId = reply()?.card_id;
      return cardId !== undefined && cardId !== null && emulator.card(cardId)!.log.some((e) => e.endpoint === 'cardkit.card.settings' && e.code === 0);
    }, `the bot's card reply, closed\n${output.join('')}`, 15_000);
    const elements = (emulator.card(reply()!.card_id!)!.card.body as { elements: { element_id?: string; content?: string }[] }).elements;
    expect(elements.find((e) => e.element_id === 'answer')?.content).toBe(ANSWER.join(''));
  }, 60_000);
});
