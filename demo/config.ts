/**
 * The demo's configuration: command-line flags and environment variables, checked up front. Anything
 * missing or malformed is a `ConfigError` whose message names the flag or variable and says what to
 * do; `main.ts` prints it and exits with code 2. Secrets are kept here and never printed.
 */
import { parseArgs } from 'node:util';
import type { SessionTransport } from '../src/index.js';

export type Api = 'chat' | 'responses';
export type ReceiveIdType = 'chat_id' | 'open_id' | 'user_id' | 'union_id' | 'email';

export type FeishuTarget =
  | { kind: 'emulator' }
  | { kind: 'feishu'; appId: string; appSecret: string; receiveIdType: ReceiveIdType; receiveId: string; domain: string };

export type ModelSource = { kind: 'embedded'; model: string } | { kind: 'openai'; apiKey: string; baseURL: string | undefined; model: string };

export interface DemoConfig {
  help: boolean;
  feishu: FeishuTarget;
  model: ModelSource;
  /** The question of the first conversation; undefined: the demo's own questions. */
  question: string | undefined;
  api: Api;
  /** How every conversation's card is streamed (`--transport`): a CardKit card entity, or a message card patched through IM. */
  transport: SessionTransport;
  sessions: number;
  /** Minutes the answer lasts on the card's clock (`--minutes`), or undefined. */
  minutes: number | undefined;
  /** Speed of the emulator's clock. */
  clockSpeed: number;
  /** Tokens per second of the embedded model. */
  tokensPerSecond: number;
  /** Stream the model's reasoning into a collapsible "thinking" panel. */
  reasoning: boolean;
  /**
   * Which card: the library's agent card (`start({ agent })`: reasoning panel, one element per tool step,
   * the answer, a footer), or (`--plain`) the demo's own card with the answer, reasoning and footer elements.
   */
  card: 'agent' | 'plain';
  keep: boolean;
  json: boolean;
  /** `--chat`: run a bot that answers what is written to it, until Ctrl-C. */
  chat: boolean;
}

/** A configuration mistake: printed without a stack trace, exit code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const RECEIVE_ID_TYPES: readonly ReceiveIdType[] = ['chat_id', 'open_id', 'user_id', 'union_id', 'email'];
const TRANSPORTS: readonly SessionTransport[] = ['cardkit', 'message'];
const FEISHU_REQUIRED = ['FEISHU_APP_ID', 'FEISHU_APP_SECRET', 'FEISHU_RECEIVE_ID'] as const;
const FEISHU_OPTIONAL = ['FEISHU_RECEIVE_ID_TYPE', 'FEISHU_DOMAIN'] as const;
export const DEFAULT_OPENAI_MODEL = 'gpt-4o-mini';
export const EMBEDDED_MODEL = 'demo-model';
/** `--minutes` runs the emulator's clock this much faster than real time unless `--clock-speed` says otherwise. */
export const DEFAULT_LONG_CLOCK_SPEED = 30;
const MAX_SESSIONS = 200;

export const HELP = `Usage: npm run demo -- [options]

Streams an LLM answer into a Feishu card. With no configuration everything runs in this process: an
emulator of the Feishu open platform (with a live preview page) and an OpenAI-compatible model server,
driven by the real \`openai\` client and a CardSession.

Options
  --question <text>        what to ask (default: the demo's own questions)
  --api <chat|responses>   the OpenAI API to stream from (default chat)
  --transport <cardkit|message>
                           how the card streams: a CardKit card entity (default), or a message card patched whole, ≤5/s
  --sessions <n>           run n conversations at once, sharing one rate-limit budget (default 1)
  --minutes <m>            a long answer with tool-like pauses lasting m minutes on the card's clock, so it
                           crosses the 10-minute streaming window (the emulator's clock runs ${DEFAULT_LONG_CLOCK_SPEED}x faster)
  --clock-speed <x>        speed of the emulator's clock (default ${DEFAULT_LONG_CLOCK_SPEED} with --minutes, else 1)
  --rate <tokens/s>        speed of the embedded model (default 60; or env DEMO_TOKENS_PER_SECOND)
  --no-reasoning           no "thinking" panel (shown by default with the embedded model)
  --plain                  the demo's own card (answer, thinking panel, footer) instead of the agent card
                           (the library's start({ agent }): thinking panel, one line per tool step, answer, footer)
  --reasoning              a "thinking" panel for a real model's reasoning too
  --keep                   keep the emulator and its preview running after the answer, until Ctrl-C
  --chat                   run a bot you chat with (in the preview page, or in Feishu with FEISHU_APP_ID and
                           FEISHU_APP_SECRET): each message answered in an agent card with a Stop button, through
                           the SDK's long connection, until Ctrl-C
  --json                   print only the final summary, as one JSON line
  -h, --help               show this help

Environment (all optional)
  FEISHU_APP_ID, FEISHU_APP_SECRET, FEISHU_RECEIVE_ID
                           stream into real Feishu instead of the emulator (all three are needed)
  FEISHU_RECEIVE_ID_TYPE   chat_id (default), open_id, user_id, union_id or email
  FEISHU_DOMAIN            feishu (default), lark, or a base URL such as a running \`npm run emulator\`
  OPENAI_API_KEY           ask a real model instead of the embedded one
  OPENAI_BASE_URL          another OpenAI-compatible endpoint (default OpenAI's)
  OPENAI_MODEL             the model (default ${DEFAULT_OPENAI_MODEL})

Exit codes: 0 the card ended with exactly the model's answer, 1 it did not (or the run failed),
2 configuration error, 130 interrupted.`;

/** Reads flags and environment; throws `ConfigError` on any mistake. */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): DemoConfig {
  const flags = parseFlags(argv);
  const get = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };

  const feishu = feishuTarget(get, flags.chat === true);
  const model = modelSource(get);

  const sessions = flags.sessions === undefined ? 1 : integer('--sessions', flags.sessions, 1, MAX_SESSIONS);
  const minutes = flags.minutes === undefined ? undefined : number('--minutes', flags.minutes, 0.1, 240);
  if (minutes !== undefined && model.kind !== 'embedded') {
    throw new ConfigError(
      '--minutes needs the embedded model: it stretches the answer with tool-like pauses, which a real model does not do on request. Unset OPENAI_API_KEY to use it.',
    );
  }
  const defaultSpeed = minutes !== undefined && feishu.kind === 'emulator' ? DEFAULT_LONG_CLOCK_SPEED : 1;
  const clockSpeed = flags['clock-speed'] === undefined ? defaultSpeed : number('--clock-speed', flags['clock-speed'], 0.01, 10_000);
  if (flags['clock-speed'] !== undefined && feishu.kind !== 'emulator') {
    throw new ConfigError('--clock-speed only applies to the emulator; real Feishu runs on real time. Drop the flag or unset FEISHU_APP_ID.');
  }
  const rateText = flags.rate ?? get('DEMO_TOKENS_PER_SECOND');
  const rateName = flags.rate !== undefined ? '--rate' : 'DEMO_TOKENS_PER_SECOND';
  const tokensPerSecond = rateText === undefined ? 60 : number(rateName, rateText, 0.1, 1_000_000);
  if (flags.reasoning === true && flags['no-reasoning'] === true) throw new ConfigError('--reasoning and --no-reasoning contradict each other; pass one.');
  const reasoning = flags['no-reasoning'] === true ? false : flags.reasoning === true ? true : model.kind === 'embedded';
  const api = flags.api ?? 'chat';
  if (api !== 'chat' && api !== 'responses') throw new ConfigError(`--api must be chat or responses; received ${JSON.stringify(api)}.`);
  const transport = flags.transport ?? 'cardkit';
  if (!(TRANSPORTS as readonly string[]).includes(transport)) {
    throw new ConfigError(`--transport must be cardkit or message; received ${JSON.stringify(transport)}.`);
  }
  const question = flags.question?.trim();
  if (flags.question !== undefined && !question) throw new ConfigError('--question needs some text.');

  return {
    help: flags.help === true,
    feishu,
    model,
    question,
    api,
    transport: transport as SessionTransport,
    sessions,
    minutes,
    clockSpeed,
    tokensPerSecond,
    reasoning,
    card: flags.plain === true ? 'plain' : 'agent',
    keep: flags.keep === true,
    json: flags.json === true,
    chat: flags.chat === true,
  };
}

function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        question: { type: 'string', short: 'q' },
        api: { type: 'string' },
        transport: { type: 'string' },
        sessions: { type: 'string', short: 'n' },
        minutes: { type: 'string' },
        'clock-speed': { type: 'string' },
        rate: { type: 'string' },
        reasoning: { type: 'boolean' },
        'no-reasoning': { type: 'boolean' },
        plain: { type: 'boolean' },
        keep: { type: 'boolean' },
        json: { type: 'boolean' },
        chat: { type: 'boolean' },
      },
    }).values;
  } catch (error) {
    // parseArgs explains itself ("Unknown option '--x'"); add where to look.
    const message = error instanceof Error ? error.message.replace(/\. To specify a positional argument.*$/s, '') : String(error);
    throw new ConfigError(`${message}. See npm run demo -- --help.`);
  }
}

/** Real Feishu when configured; `chat`: a bot answers whoever writes to it, so no FEISHU_RECEIVE_ID is needed. */
function feishuTarget(get: (name: string) => string | undefined, chat: boolean): FeishuTarget {
  const given = [...FEISHU_REQUIRED, ...FEISHU_OPTIONAL].filter((name) => get(name) !== undefined);
  if (given.length === 0) return { kind: 'emulator' };
  const required = chat ? FEISHU_REQUIRED.filter((name) => name !== 'FEISHU_RECEIVE_ID') : FEISHU_REQUIRED;
  const missing = required.filter((name) => get(name) === undefined);
  if (missing.length > 0) {
    throw new ConfigError(
      `${list(given)} ${given.length === 1 ? 'is' : 'are'} set, but ${list(missing)} ${missing.length === 1 ? 'is' : 'are'} not. ` +
        `To stream into real Feishu set ${list(required)}; unset them all to use the embedded emulator.`,
    );
  }
  const receiveIdType = get('FEISHU_RECEIVE_ID_TYPE') ?? 'chat_id';
  if (!(RECEIVE_ID_TYPES as readonly string[]).includes(receiveIdType)) {
    throw new ConfigError(`FEISHU_RECEIVE_ID_TYPE must be one of ${RECEIVE_ID_TYPES.join(', ')}; received ${JSON.stringify(receiveIdType)}.`);
  }
  const domain = get('FEISHU_DOMAIN') ?? 'feishu';
  if (domain !== 'feishu' && domain !== 'lark' && !isHttpUrl(domain)) {
    throw new ConfigError(`FEISHU_DOMAIN must be feishu, lark or an http(s) base URL; received ${JSON.stringify(domain)}.`);
  }
  return {
    kind: 'feishu',
    appId: get('FEISHU_APP_ID')!,
    appSecret: get('FEISHU_APP_SECRET')!,
    receiveIdType: receiveIdType as ReceiveIdType,
    receiveId: get('FEISHU_RECEIVE_ID') ?? '',
    domain,
  };
}

function modelSource(get: (name: string) => string | undefined): ModelSource {
  const apiKey = get('OPENAI_API_KEY');
  const baseURL = get('OPENAI_BASE_URL');
  const model = get('OPENAI_MODEL');
  if (apiKey === undefined) {
    const given = [baseURL === undefined ? undefined : 'OPENAI_BASE_URL', model === undefined ? undefined : 'OPENAI_MODEL'].filter((v) => v !== undefined);
    if (given.length > 0) {
      throw new ConfigError(
        `${list(given)} ${given.length === 1 ? 'is' : 'are'} set, but OPENAI_API_KEY is not. Set OPENAI_API_KEY to ask a real model ` +
          '(any non-empty value for a server that needs no key), or unset them to use the embedded model.',
      );
    }
    return { kind: 'embedded', model: EMBEDDED_MODEL };
  }
  if (baseURL !== undefined && !isHttpUrl(baseURL)) {
    throw new ConfigError(`OPENAI_BASE_URL must be an http(s) URL such as https://api.openai.com/v1; received ${JSON.stringify(baseURL)}.`);
  }
  return { kind: 'openai', apiKey, baseURL, model: model ?? DEFAULT_OPENAI_MODEL };
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}; received ${JSON.stringify(text)}.`);
  }
  return value;
}

function number(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a number from ${min} to ${max}; received ${JSON.stringify(text)}.`);
  }
  return value;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function list(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}`;
}
