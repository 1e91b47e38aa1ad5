/**
 * `npm run demo -- --chat`: a real bot you chat with (issue 12). The official SDK's long connection
 * (`WSClient`) brings it the messages written to it and the clicks on its cards; each message is answered
 * with a `CardSession` (an agent card with a Stop button) streaming the model's answer as a reply; a click
 * on Stop goes to `stopFromAction`. On the embedded emulator you write to it from the preview page (or
 * `POST /_emulator/chats/:chat_id/messages`); with FEISHU_APP_ID and FEISHU_APP_SECRET the same bot runs
 * against real Feishu, where you write to it in the Feishu app.
 */
import * as lark from '@larksuiteoapi/node-sdk';
import OpenAI from 'openai';
import { type Emulator, startEmulator } from '../src/emulator/index.js';
import { CardSession, EventDeduper, FeishuClient, stopFromAction } from '../src/index.js';
import type { DemoConfig } from './config.js';
import { type ModelServer, startModelServer } from './model-server.js';
import type { Paint } from './terminal.js';
import { truncate } from './terminal.js';

/** The emulator's app: the SDK's WSClient accepts only ids of `cli_` and 16 hex digits. */
export const CHAT_APP = { appId: 'cli_00000000c0ffee00', appSecret: 'chat_demo_secret' };

const WS_DOMAINS = { feishu: lark.Domain.Feishu, lark: lark.Domain.Lark } as const;

export async function runChat(config: DemoConfig, signal: AbortSignal, say: (line?: string) => void, p: Paint): Promise<number> {
  const closing: (() => Promise<void> | void)[] = [];
  try {
    let emulator: Emulator | undefined;
    /** `domain` for our client ('feishu', 'lark' or a URL), `wsDomain` for the SDK's WSClient. */
    let credentials: { appId: string; appSecret: string; domain: string; wsDomain: string | lark.Domain };
    if (config.feishu.kind === 'emulator') {
      const started = await startEmulator({ apps: [CHAT_APP] });
      emulator = started;
      closing.push(() => started.close());
      credentials = { ...CHAT_APP, domain: started.url, wsDomain: started.url };
    } else {
      const { appId, appSecret, domain } = config.feishu;
      credentials = { appId, appSecret, domain, wsDomain: domain === 'feishu' || domain === 'lark' ? WS_DOMAINS[domain] : domain };
    }
    let modelServer: ModelServer | undefined;
    let openai: OpenAI;
    if (config.model.kind === 'embedded') {
      const server = await startModelServer({ tokensPerSecond: config.tokensPerSecond, reasoning: config.reasoning, model: config.model.model });
      modelServer = server;
      closing.push(() => server.close());
      openai = new OpenAI({ apiKey: 'demo', baseURL: server.url });
    } else {
      openai = new OpenAI({ apiKey: config.model.apiKey, ...(config.model.baseURL ? { baseURL: config.model.baseURL } : {}) });
    }
    const model = config.model.model;
    const feishu = new FeishuClient({ appId: credentials.appId, appSecret: credentials.appSecret, domain: credentials.domain });
    const deduper = new EventDeduper();

    const answer = async (messageId: string, question: string): Promise<void> => {
      const session = await CardSession.start(feishu, {
        to: { reply_to: messageId },
        title: truncate(question, 40),
        agent: { footer: { model } },
        stopButton: true,
        signal,
      });
      say(`  ${p.cyan('→')} ${truncate(question, 60)}`);
      const stream = await openai.chat.completions.create(
        { model, messages: [{ role: 'user', content: question }], stream: true, stream_options: { include_usage: true } },
        { signal },
      );
      const result = await session.pipe(stream);
      const how = result.aborted ? p.yellow('stopped') : p.green('answered');
      say(`  ${p.dim('←')} ${how} ${p.dim(`(${result.text.length} characters, ${result.writes} writes)`)}`);
    };

    const dispatcher = new lark.EventDispatcher({ loggerLevel: lark.LoggerLevel.error }).register({
      'im.message.receive_v1': (event) => {
        if (!deduper.first(event)) return Promise.resolve();
        const { text } = JSON.parse(event.message.content) as { text?: string };
        // Acknowledge at once; the answer takes as long as it takes.
        void answer(event.message.message_id, text ?? '').catch((error: unknown) => say(p.red(`  answer failed: ${error instanceof Error ? error.message : String(error)}`)));
        return Promise.resolve();
      },
      'card.action.trigger': (event: unknown) => Promise.resolve(stopFromAction(event) ?? undefined),
    });
    // The chat is announced once the long connection is up: a message written before would find no bot.
    let ready!: () => void;
    const connected = new Promise<void>((resolve) => (ready = resolve));
    const ws = new lark.WSClient({
      appId: credentials.appId,
      appSecret: credentials.appSecret,
      domain: credentials.wsDomain,
      loggerLevel: lark.LoggerLevel.error,
      onReady: () => ready(),
      onError: (error) => say(p.red(`  the long connection failed: ${error.message}`)),
    });
    closing.unshift(() => ws.close({ force: true }));
    void ws.start({ eventDispatcher: dispatcher });
    await Promise.race([connected, new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]);
    if (emulator) await waitForPing(emulator, credentials.appId, signal);

    say();
    say(`  ${p.bold('feishu-card-session')} ${p.dim('· a bot you chat with (the SDK long connection, agent cards with a Stop button)')}`);
    say();
    if (emulator) {
      const chat = emulator.chats().find((c) => c.type === 'p2p' && c.appId === CHAT_APP.appId)!;
      say(`  ${p.dim('Feishu     ')}embedded emulator ${p.cyan(emulator.url)} ${p.dim(`(app ${CHAT_APP.appId})`)}`);
      say(`  ${p.dim('Chat       ')}${p.cyan(p.link(`${emulator.url}/_emulator/preview#chat=${chat.chatId}`))}`);
      say(`  ${p.dim('           ')}${p.dim(`or: curl -X POST ${emulator.url}/_emulator/chats/${chat.chatId}/messages -H 'content-type: application/json' -d '{"text":"你好"}'`)}`);
    } else {
      say(`  ${p.dim('Feishu     ')}app ${credentials.appId} at ${credentials.domain}: write to the bot in Feishu`);
    }
    if (modelServer) say(`  ${p.dim('Model      ')}${model} on the embedded OpenAI-compatible server ${p.cyan(modelServer.url)}`);
    say(p.dim('  Press Ctrl-C to stop.'));
    say();
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    return 0;
  } finally {
    for (const close of closing) await Promise.resolve(close()).catch(() => undefined);
  }
}

/** The emulator counts a connection once the client pinged (its read loop runs): then the first message is not missed. */
async function waitForPing(emulator: Emulator, appId: string, signal: AbortSignal): Promise<void> {
  while (emulator.longConnections(appId) === 0 && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 20));
}
