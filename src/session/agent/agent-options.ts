/** The agent card's options (`CardSession.start({ agent })`), their defaults and checks. */
import type { ToolStep } from '../answer-report.js';

export interface AgentLabels {
  /** The reasoning panel's title while the model thinks. Default `Thinking…`. */
  thinking: string;
  /** The reasoning panel's title once the model moved on. Default `Thought for N s`. */
  thought: (seconds: number) => string;
  /** A step's status words. Defaults `running`, `done`, `failed`, `called` (the model asked for the call; the stream ended without its result). */
  running: string;
  done: string;
  failed: string;
  called: string;
  /** Headings inside a step's panel. Defaults `Arguments`, `Result`, `Error`. */
  arguments: string;
  result: string;
  error: string;
}

export interface AgentFooterOptions {
  /** The model's name, shown first. Default none. */
  model?: string;
  /** Show the tokens the source reported. Default true. */
  tokens?: boolean;
  /** Show the time from the session's start to its end. Default true. */
  elapsed?: boolean;
}

export interface AgentCardOptions {
  /** Show the model's reasoning in a collapsed panel. Default true. */
  reasoning?: boolean;
  /** Show one line per tool call. Default true. */
  steps?: boolean;
  /**
   * Characters of a step's arguments and result shown in its collapsed panel (cut with a mark beyond);
   * `false` shows each step as one line, with no panel. Default `{ arguments: 300, result: 600 }`.
   */
  details?: { arguments?: number; result?: number } | false;
  /** A footer under the answer once it ends: the model, tokens, elapsed time. `true` for the defaults. Default off. */
  footer?: boolean | AgentFooterOptions;
  /** The words the card uses. */
  labels?: Partial<AgentLabels>;
  /** A step's line, as markdown, instead of the default (`🔧 **name** · status · 1.2 s`). */
  stepTitle?: (step: ToolStep) => string;
}

export interface ResolvedAgentOptions {
  reasoning: boolean;
  steps: boolean;
  details: { arguments: number; result: number } | false;
  footer: Required<Omit<AgentFooterOptions, 'model'>> & { model: string | undefined } | false;
  labels: AgentLabels;
  stepTitle: ((step: ToolStep) => string) | undefined;
}

export const DEFAULT_LABELS: AgentLabels = {
  thinking: 'Thinking…',
  thought: (seconds) => `Thought for ${seconds} s`,
  running: 'running',
  done: 'done',
  failed: 'failed',
  called: 'called',
  arguments: 'Arguments',
  result: 'Result',
  error: 'Error',
};

/** At most this many characters of a step's arguments or result (a card holds 30 KB). */
const MAX_DETAIL_CHARS = 4000;

export function resolveAgentOptions(agent: unknown): ResolvedAgentOptions {
  const options: AgentCardOptions = agent === true ? {} : (agent as AgentCardOptions);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError('options.agent must be true or an object of agent card options');
  }
  for (const key of ['reasoning', 'steps'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') throw new TypeError(`options.agent.${key} must be a boolean`);
  }
  let details: ResolvedAgentOptions['details'] = { arguments: 300, result: 600 };
  if (options.details === false) details = false;
  else if (options.details !== undefined) {
    if (typeof options.details !== 'object' || options.details === null) throw new TypeError('options.agent.details must be false or { arguments?, result? }');
    details = {
      arguments: chars('details.arguments', options.details.arguments ?? 300),
      result: chars('details.result', options.details.result ?? 600),
    };
  }
  let footer: ResolvedAgentOptions['footer'] = false;
  if (options.footer !== undefined && options.footer !== false) {
    const f: AgentFooterOptions = options.footer === true ? {} : options.footer;
    if (typeof f !== 'object' || f === null) throw new TypeError('options.agent.footer must be a boolean or { model?, tokens?, elapsed? }');
    if (f.model !== undefined && typeof f.model !== 'string') throw new TypeError('options.agent.footer.model must be a string');
    footer = { model: f.model, tokens: f.tokens ?? true, elapsed: f.elapsed ?? true };
  }
  const labels = { ...DEFAULT_LABELS, ...options.labels };
  for (const [key, value] of Object.entries(labels)) {
    const want = key === 'thought' ? 'function' : 'string';
    if (typeof value !== want) throw new TypeError(`options.agent.labels.${key} must be a ${want}`);
  }
  if (options.stepTitle !== undefined && typeof options.stepTitle !== 'function') throw new TypeError('options.agent.stepTitle must be a function');
  return { reasoning: options.reasoning ?? true, steps: options.steps ?? true, details, footer, labels, stepTitle: options.stepTitle };
}

function chars(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_DETAIL_CHARS) {
    throw new RangeError(`options.agent.${name} must be an integer from 0 to ${MAX_DETAIL_CHARS}; received ${String(value)}`);
  }
  return value;
}
