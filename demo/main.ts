/**
 * `npm run demo`: an LLM answer typing itself into a Feishu card.
 *
 * With no configuration everything runs in this process: the Feishu emulator (with its live preview
 * page) and an OpenAI-compatible model server. The real `openai` client asks a question, a
 * `CardSession` pipes the streamed answer into an agent card sent to a chat (its reasoning in a collapsed
 * panel, one element per tool step, the answer, a footer), and at the end the card on the emulator is
 * checked against the model's answer, character for character, and against the tool calls it made.
 *
 *   npm run demo                         # one answer, with a live progress line
 *   npm run demo -- --sessions 8         # eight conversations sharing one rate-limit budget
 *   npm run demo -- --minutes 11         # a long answer crossing the 10-minute streaming window
 *   npm run demo -- --transport message  # a message card patched through IM instead of a CardKit card
 *   npm run demo -- --plain              # the demo's own card instead of the agent card
 *   npm run demo -- --keep               # keep the emulator and its preview running afterwards
 *   npm run demo -- --chat               # a bot you chat with in the preview page (or in Feishu), until Ctrl-C
 *   npm run demo -- --help               # every flag, and the variables for real Feishu / a real model
 */
import { setMaxListeners } from 'node:events';
import OpenAI from 'openai';
import { type Emulator, startEmulator } from '../src/emulator/index.js';
import { type Clock, FairGovernor, FeishuClient, type Recipient } from '../src/index.js';
import { ANSWERS, LONG_ANSWER } from './answers.js';
import { runChat } from './chat.js';
import { ConfigError, type DemoConfig, HELP, loadConfig } from './config.js';
import { type ConversationOutcome, type SentCard, reasoningElementOf, runConversation } from './conversation.js';
import { type ModelServer, startModelServer } from './model-server.js';
import { LiveLine, type Tracker } from './progress.js';
import { type RunFacts, check, describeError, exitCode, jsonSummary, registerSecret, sessionsSummary, singleSummary } from './report.js';
import { type Paint, clock, colorsFor, count, duration, padEnd, paint, plural, truncate } from './terminal.js';

/** The app the embedded emulator registers by default. */
const EMULATOR_APP = { appId: 'cli_x', appSecret: 's_x' };

interface Setup {
  emulator: Emulator | undefined;
  modelServer: ModelServer | undefined;
  client: FeishuClient;
  openai: OpenAI;
  model: string;
  /** The session clock: the emulator's (it may run fast), else real time. */
  clock: Clock | undefined;
  /** The app's rate-limit budget and card sequences, shared by every conversation. */
  governor: FairGovernor;
}

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let config: DemoConfig;
  try {
    config = loadConfig(argv, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`demo: ${error.message}\n`);
    return 2;
  }
  if (config.feishu.kind === 'feishu') registerSecret(config.feishu.appSecret);
  if (config.model.kind === 'openai') registerSecret(config.model.apiKey);
  if (config.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }

  const p = paint(!config.json && colorsFor(process.stdout, env));
  const tty = process.stdout.isTTY === true;
  let live: LiveLine | undefined;
  const say = (line = '') => {
    if (config.json) return;
    if (live) live.log(line);
    else process.stdout.write(`${line}\n`);
  };

  // Ctrl-C: first time, stop the answer and close the cards properly; second time, leave at once.
  const interrupt = new AbortController();
  setMaxListeners(0, interrupt.signal); // every session and model request listens to it
  let keepAlive: (() => void) | undefined;
  const onSignal = () => {
    if (keepAlive) return keepAlive();
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort(new Error('interrupted'));
    say(p.yellow('  Interrupted: closing the cards (Ctrl-C again to quit at once)…'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  if (config.chat) return runChat(config, interrupt.signal, say, p);

  const cleanups: (() => Promise<void>)[] = [];
  try {
    const setup = await prepare(config, cleanups);
    const questions = questionsFor(config);
    header(config, setup, questions, say, p);

    const startedAt = performance.now();
    const cardClockStart = setup.emulator?.clock.now();
    const trackers: Tracker[] = [];
    const previewUrl = (card: SentCard) => {
      if (!setup.emulator) return undefined;
      return `${setup.emulator.url}/_emulator/preview#${card.cardId !== null ? `card=${card.cardId}` : `message=${card.messageId}`}`;
    };
    if (!config.json) {
      live = new LiveLine(process.stdout, {
        tty,
        columns: process.stdout.columns,
        render: (spinner) => statusLine(spinner, trackers, performance.now() - startedAt, config, setup, cardClockStart, p),
      });
      live.start();
    }
    const shared = config.feishu.kind === 'feishu';
    const cards: (SentCard | undefined)[] = [];
    const sent = () => cards.filter((card): card is SentCard => card !== undefined);
    let announced = false;
    const announce = () => {
      if (announced || sent().length === 0) return;
      announced = true;
      announceCards(sent(), previewUrl, say, p);
    };
    const outcomes = await Promise.all(
      questions.map(async (question, i): Promise<ConversationOutcome> => {
        // Many cards into one real chat: start them a quarter second apart (IM allows 5 sends/s per chat).
        if (shared && i > 0) await new Promise((resolve) => setTimeout(resolve, 250 * i));
        return runConversation({
          index: i + 1,
          question,
          to: recipient(config, i),
          client: setup.client,
          openai: setup.openai,
          api: config.api,
          model: setup.model,
          transport: config.transport,
          reasoning: config.reasoning,
          card: config.card,
          askReasoning: config.reasoning && config.model.kind === 'openai' && config.api === 'responses',
          governor: setup.governor,
          ...(setup.clock ? { clock: setup.clock } : {}),
          signal: interrupt.signal,
          onTracker: (tracker) => trackers.push(tracker),
          onCard: (card) => {
            cards[i] = card;
            if (sent().length === questions.length) announce();
          },
          onReopen: (reason) => {
            const at = setup.emulator && cardClockStart !== undefined ? `card clock ${clock(setup.emulator.clock.now() - cardClockStart)}: ` : '';
            const who = questions.length > 1 ? `card ${i + 1}: ` : '';
            const why = reason === 'scheduled' ? 'before its 10-minute window closed' : 'after the platform closed it';
            say(`  ${p.cyan('↻')} ${p.dim(`${at}${who}streaming mode re-opened ${why}`)}`);
          },
        });
      }),
    );
    announce(); // the cards that exist, when some could not be created
    live?.stop();
    live = undefined;

    const facts: RunFacts = {
      checked: outcomes.map((outcome) =>
        check(outcome, { emulator: setup.emulator, modelServer: setup.modelServer, reasoning: config.reasoning, card: config.card, model: setup.model }),
      ),
      elapsedMs: performance.now() - startedAt,
      emulator: setup.emulator,
      governor: setup.governor.stats(),
      cardMinutes: setup.emulator && cardClockStart !== undefined ? (setup.emulator.clock.now() - cardClockStart) / 60_000 : undefined,
      clockSpeed: config.clockSpeed,
      interrupted: interrupt.signal.aborted,
    };
    if (config.json) {
      process.stdout.write(
        `${jsonSummary(facts, {
          feishu: config.feishu.kind,
          model: config.model.kind,
          modelName: setup.model,
          api: config.api,
          transport: config.transport,
          card: config.card,
          sessions: config.sessions,
          minutes: config.minutes ?? null,
          clockSpeed: config.clockSpeed,
          tokensPerSecond: config.model.kind === 'embedded' ? config.tokensPerSecond : null,
          reasoning: config.reasoning,
          previewUrls: outcomes.map((o) => (o.transport ? (previewUrl(o) ?? null) : null)),
        })}\n`,
      );
    } else {
      for (const line of questions.length === 1 ? singleSummary(facts, p) : sessionsSummary(facts, p)) say(line);
      say();
    }
    const code = exitCode(facts);

    if (config.keep && !interrupt.signal.aborted) {
      if (setup.emulator) {
        say(`  Serving the emulator and its preview at ${p.cyan(p.link(`${setup.emulator.url}/_emulator/preview`))}`);
        say(p.dim('  Press Ctrl-C to stop.'));
        await new Promise<void>((resolve) => (keepAlive = resolve));
        say();
      } else {
        say(p.dim('  --keep: nothing to keep serving, the card lives in Feishu.'));
      }
    }
    return code;
  } finally {
    live?.stop();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/** Starts what the configuration asks for: the emulator or a real client, the model server or a real model. */
async function prepare(config: DemoConfig, cleanups: (() => Promise<void>)[]): Promise<Setup> {
  let emulator: Emulator | undefined;
  let client: FeishuClient;
  let clock: Clock | undefined;
  if (config.feishu.kind === 'emulator') {
    const started = await startEmulator({ clockSpeed: config.clockSpeed });
    emulator = started;
    cleanups.push(() => started.close());
    clock = started.clock;
    client = new FeishuClient({ ...EMULATOR_APP, domain: started.url, now: () => started.clock.now() });
  } else {
    const { appId, appSecret, domain } = config.feishu;
    client = new FeishuClient({ appId, appSecret, domain });
  }

  let modelServer: ModelServer | undefined;
  let openai: OpenAI;
  if (config.model.kind === 'embedded') {
    // --minutes: the model pauses between paragraphs (a tool call) so that the answer lasts that long on the card's clock.
    const minDurationMs = config.minutes === undefined ? 0 : (config.minutes * 60_000) / config.clockSpeed;
    const server = await startModelServer({ tokensPerSecond: config.tokensPerSecond, reasoning: config.reasoning, minDurationMs, model: config.model.model });
    modelServer = server;
    cleanups.push(() => server.close());
    openai = new OpenAI({ apiKey: 'demo', baseURL: server.url });
  } else {
    openai = new OpenAI({ apiKey: config.model.apiKey, ...(config.model.baseURL ? { baseURL: config.model.baseURL } : {}) });
  }
  return { emulator, modelServer, client, openai, model: config.model.model, clock, governor: new FairGovernor() };
}

function questionsFor(config: DemoConfig): string[] {
  return Array.from({ length: config.sessions }, (_, i) => {
    if (config.question !== undefined) return config.question;
    if (config.minutes !== undefined) return LONG_ANSWER.question;
    return ANSWERS[i % ANSWERS.length]!.question;
  });
}

/** Where card `i` goes: its own chat on the emulator (N users asking at once), the configured receiver on Feishu. */
function recipient(config: DemoConfig, i: number): Recipient {
  if (config.feishu.kind === 'emulator') return { chat_id: `oc_demo_chat_${String(i + 1).padStart(3, '0')}` };
  return { [config.feishu.receiveIdType]: config.feishu.receiveId } as Recipient;
}

function header(config: DemoConfig, setup: Setup, questions: string[], say: (line?: string) => void, p: Paint): void {
  const row = (label: string, value: string) => say(`  ${p.dim(padEnd(label, 11))}${value}`);
  say();
  say(`  ${p.bold('feishu-card-session')} ${p.dim('· an LLM answer streaming into a Feishu card')}`);
  say();
  if (setup.emulator) {
    row('Feishu', `embedded emulator ${p.cyan(setup.emulator.url)} ${p.dim(`(app ${EMULATOR_APP.appId}${config.clockSpeed !== 1 ? `, clock ×${config.clockSpeed}` : ''})`)}`);
  } else if (config.feishu.kind === 'feishu') {
    const host = config.feishu.domain === 'lark' ? 'open.larksuite.com' : config.feishu.domain === 'feishu' ? 'open.feishu.cn' : config.feishu.domain;
    row('Feishu', `${host} ${p.dim(`(app ${config.feishu.appId} → ${config.feishu.receiveIdType} ${config.feishu.receiveId})`)}`);
  }
  const api = config.api === 'chat' ? 'Chat Completions' : 'Responses';
  if (setup.modelServer) {
    row('Model', `${setup.model} on the embedded OpenAI-compatible server ${p.cyan(setup.modelServer.url)} ${p.dim(`(${api} API, ${count(config.tokensPerSecond)} tokens/s)`)}`);
  } else if (config.model.kind === 'openai') {
    const host = config.model.baseURL ? safeHost(config.model.baseURL) : 'api.openai.com';
    row('Model', `${setup.model} at ${host} ${p.dim(`(${api} API)`)}`);
  }
  if (config.card === 'agent') {
    row('Card', `agent card ${p.dim(`(start({ agent }): ${config.reasoning ? 'the reasoning in a collapsed panel, ' : ''}one element per tool step, the answer, a footer)`)}`);
  } else {
    row('Card', `the demo's own card ${p.dim('(--plain: the answer, a thinking panel and a footer it writes itself)')}`);
  }
  if (config.transport === 'message') {
    row('Transport', `message cards ${p.dim('(the card sent inline in a message and patched whole through IM, at most 5 times a second)')}`);
  }
  if (questions.length === 1) row('Question', questions[0]!);
  else row('Questions', `${plural(questions.length, 'conversation')} at once, ${config.feishu.kind === 'emulator' ? 'each in its own chat' : 'into one chat'}`);
  if (config.minutes !== undefined) {
    const real = (config.minutes * 60_000) / config.clockSpeed;
    row(
      'Long run',
      `${config.minutes} minutes on the card's clock${config.clockSpeed !== 1 ? ` (about ${duration(real)} here)` : ''}; the model pauses between paragraphs as if calling tools`,
    );
    const window =
      config.transport === 'message'
        ? 'a message card has no streaming mode: no 10-minute window to re-open'
        : 'streaming mode closes 10 minutes after it opens, so the session re-opens it in time';
    say(`  ${' '.repeat(11)}${p.dim(window)}`);
    if (config.feishu.kind === 'emulator' && config.clockSpeed > 60) {
      say(`  ${' '.repeat(11)}${p.yellow(`at ×${config.clockSpeed} a second of real time is ${Math.round(config.clockSpeed)} s on the card: the session, which looks once a second, may re-open late`)}`);
    }
  }
  say();
}

/** The preview URLs (or, on Feishu, the card or message ids), once every card exists. */
function announceCards(cards: readonly SentCard[], previewUrl: (card: SentCard) => string | undefined, say: (line?: string) => void, p: Paint): void {
  if (cards.length > 8) {
    const url = previewUrl(cards[0]!);
    if (url) say(`  ${p.dim(padEnd('Preview', 11))}${p.cyan(p.link(url.replace(/#.*$/, '')))} ${p.dim(`(${cards.length} cards)`)}`);
  } else {
    cards.forEach((card, i) => {
      const label = padEnd(cards.length === 1 ? 'Preview' : `Card ${i + 1}`, 11);
      const url = previewUrl(card);
      const id = card.cardId ?? `message ${card.messageId}`;
      say(url ? `  ${p.dim(label)}${p.cyan(p.link(url))}` : `  ${p.dim(padEnd(cards.length === 1 ? 'Card' : `Card ${i + 1}`, 11))}${id} ${p.dim('(sent; watch it in Feishu)')}`);
    });
  }
  say();
}

function statusLine(
  spinner: string,
  trackers: readonly Tracker[],
  elapsedMs: number,
  config: DemoConfig,
  setup: Setup,
  cardClockStart: number | undefined,
  p: Paint,
): string {
  const now = performance.now();
  const parts: string[] = [];
  const cardClock = setup.emulator && cardClockStart !== undefined && config.clockSpeed !== 1 ? `card clock ${clock(setup.emulator.clock.now() - cardClockStart)}` : undefined;
  if (config.sessions === 1) {
    const t = trackers[0];
    const answer = t?.chars('answer') ?? 0;
    const thinking = t?.chars(reasoningElementOf(config.card)) ?? 0;
    if (!t || t.firstTokenAt === undefined) parts.push('waiting for the model');
    else parts.push(`${config.reasoning ? `thinking ${count(thinking)} · ` : ''}answer ${count(answer)} chars`);
    // A message card has no sequence: each patch replaces the whole card.
    parts.push(plural(t?.writes ?? 0, 'write'), ...(t?.transport === 'message' ? [] : [`seq ${t?.sequence ?? 0}`]), `lag ${duration(t?.lag(now) ?? 0)}`);
    if (cardClock) parts.push(cardClock, `re-opens ${t?.reopens ?? 0}`);
  } else {
    const chars = trackers.reduce((n, t) => n + t.chars('answer'), 0);
    const writes = trackers.reduce((n, t) => n + t.writes, 0);
    const lag = Math.max(0, ...trackers.map((t) => t.lag(now)));
    const done = trackers.filter((t) => t.done).length;
    parts.push(`${trackers.length} cards`, `${count(chars)} chars`, plural(writes, 'write'), `max lag ${duration(lag)}`, `${done}/${config.sessions} done`);
    if (cardClock) parts.push(cardClock, `re-opens ${trackers.reduce((n, t) => n + t.reopens, 0)}`);
  }
  return `  ${p.cyan(spinner)} ${p.dim(duration(elapsedMs).padStart(6))}  ${parts.join(p.dim(' · '))}`;
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'a custom endpoint';
  }
}

// `npm run demo | head`: a reader that goes away is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
});

main(process.argv.slice(2), process.env).then(
  // Exit once stdout has taken everything: a pipe takes 64 KiB at a time, and --json of many sessions is more.
  (code) => process.stdout.write('', () => process.exit(code)),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${truncate(describeError(error), 2000)}\n`);
    if (process.env.DEMO_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  },
);
