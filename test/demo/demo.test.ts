/**
 * `npm run demo` end to end: the entry point is spawned as a newcomer would run it (a clean environment,
 * no FEISHU_ or OPENAI_ variables), and its JSON summary must say every card ended with exactly the model
 * server's answer, as the emulator holds it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANSWERS, LONG_ANSWER } from '../../demo/answers.js';
import { ANSWER_ID, elementContent } from '../../demo/card.js';
import { type ModelServer, startModelServer } from '../../demo/model-server.js';
import { startEmulator } from '../../src/emulator/index.js';
import { cardView, messageView } from '../support/agent-view.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
/** A fast model, so the runs stay short; the demo's default is 60 tokens/s. */
const FAST = ['--rate', '1500'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without FEISHU_, OPENAI_ or DEMO_ variables, nor color settings. */
function cleanEnv(): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(FEISHU_|OPENAI_|DEMO_)/.test(name) && name !== 'FORCE_COLOR' && name !== 'NO_COLOR'),
  );
}

/** Runs the demo with no FEISHU_, OPENAI_ or DEMO_ variables (plus `env`), and collects what it printed. */
function demo(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
  const clean = cleanEnv();
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, ['demo/main.ts', ...args], { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the demo did not end within ${timeoutMs} ms; stdout so far:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs the demo with its stdout a real pipe (a FIFO, as in `npm run demo -- --json | jq`; a child's
 * stdout in Node is a socket) read by a consumer that pauses `pauseMs` after each chunk, so what does not
 * fit in the pipe waits in the demo's process until the reader takes it.
 */
async function demoThroughPipe(args: string[], pauseMs: number, timeoutMs = 60_000): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'demo-pipe-'));
  const fifo = join(dir, 'stdout');
  execFileSync('mkfifo', [fifo]);
  try {
    return await new Promise<Run>((resolve, reject) => {
      const child = spawn('sh', ['-c', 'exec "$0" demo/main.ts "$@" > "$STDOUT_FIFO"', TSX, ...args], {
        cwd: ROOT,
        env: { ...cleanEnv(), STDOUT_FIFO: fifo },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let code: number | null | undefined;
      let ended = false;
      const done = () => {
        if (code === undefined || !ended) return;
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      };
      const reader = createReadStream(fifo, { encoding: 'utf8' });
      reader.on('data', (chunk) => {
        stdout += chunk as string;
        reader.pause();
        setTimeout(() => reader.resume(), pauseMs);
      });
      reader.on('end', () => ((ended = true), done()));
      reader.on('error', reject);
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reader.destroy();
        reject(new Error(`the demo did not end within ${timeoutMs} ms; stderr:\n${stderr}`));
      }, timeoutMs);
      child.on('error', reject);
      child.on('close', (exit) => ((code = exit), done()));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Summary {
  ok: boolean;
  exitCode: number;
  feishu: string;
  model: string;
  modelName: string;
  transport: string;
  card: string;
  cardMinutes: number;
  emulator: { accepted: number; rejected: Record<string, number>; rejections: number };
  governor: Record<string, { writes: number; waits: number }>;
  totals: { conversations: number; exact: number; reopens: number };
  conversations: {
    question: string;
    transport: string;
    fallback: { error: string; remembered: boolean } | null;
    cardId: string | null;
    messageId: string | null;
    exact: boolean;
    answerMatches: boolean;
    expectedFrom: string;
    cardFrom: string;
    streamingClosed: boolean;
    cardText: string;
    writesByEndpoint: Record<string, number>;
    rejectedWrites: Record<string, number>;
    writes: number;
    reopens: number;
    firstCharMs: number;
    card: string;
    steps: { id: string; name: string; status: string; input: unknown }[];
    expectedSteps: { name: string; status: string; input: unknown }[];
    agentCard: {
      order: string[];
      thinking: { title: string; expanded: boolean } | null;
      reasoning: string | null;
      steps: { elementId: string; line: string; name: string; status: string; details: string | null }[];
      answer: string;
      footer: string | null;
    } | null;
    problems: string[];
  }[];
}

/** The one JSON line `--json` prints. */
function summaryOf(run: Run): Summary {
  const lines = run.stdout.trim().split('\n');
  expect(lines, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toHaveLength(1);
  return JSON.parse(lines[0]!) as Summary;
}

describe('npm run demo', () => {
  // Computes the expected answers independently of the demo process.
  let reference: ModelServer;
  beforeAll(async () => {
    reference = await startModelServer();
  });
  afterAll(() => reference.close());

  it('streams one answer into an emulated card and verifies it: exit 0, the card text exactly the model server answer', async () => {
    const run = await demo(['--json', ...FAST]);
    expect(run.code, run.stderr).toBe(0);
    const summary = summaryOf(run);
    expect(summary).toMatchObject({ ok: true, exitCode: 0, feishu: 'emulator', model: 'embedded' });
    const [card] = summary.conversations;
    expect(card).toMatchObject({ exact: true, answerMatches: true, expectedFrom: 'model server', cardFrom: 'emulator', streamingClosed: true, problems: [] });
    expect(card!.cardText).toBe(reference.answerFor(card!.question));
    expect(card!.writes).toBeGreaterThan(1);
    expect(card!.firstCharMs).toBeGreaterThan(0);
    expect(summary.emulator.rejections).toBe(0);
  });

  it('reports the tool the model called mid-answer as a step, in both APIs, and the card text stays exactly the answer', async () => {
    for (const api of ['chat', 'responses']) {
      const run = await demo(['--api', api, '--json', ...FAST]);
      expect(run.code, run.stderr).toBe(0);
      const [card] = summaryOf(run).conversations;
      expect(card!.exact, card!.problems.join('; ')).toBe(true);
      expect(card!.cardText).toBe(reference.answerFor(card!.question));
      const call = reference.toolCallFor(card!.question)!;
      expect(card!.steps).toHaveLength(1);
      // The demo runs no tool and reports no result: the stream only asks for the call, so the step ends `called`.
      expect(card!.steps[0]).toMatchObject({ name: 'search_docs', status: 'called', input: JSON.parse(call.arguments) as unknown });
      expect(card!.steps[0]!.id).toMatch(/^call_/);
      expect(card!.agentCard!.steps).toMatchObject([{ elementId: 'agent_step_1', line: '🔧 **search\\_docs** · called', name: 'search_docs', status: 'called' }]);
    }
  }, 60_000); // two demo runs: slow on a busy machine

  it('the card is an agent card (read on an emulator the test runs): the settled reasoning panel, the tool call as one step ending called, the exact answer, the footer naming the model; on both transports', async () => {
    const emulator = await startEmulator({ apps: [{ appId: 'cli_agent', appSecret: 's_agent' }] });
    try {
      const env = { FEISHU_APP_ID: 'cli_agent', FEISHU_APP_SECRET: 's_agent', FEISHU_RECEIVE_ID: 'oc_agent', FEISHU_DOMAIN: emulator.url };
      for (const transport of ['cardkit', 'message']) {
        const run = await demo(['--transport', transport, '--json', ...FAST], env);
        expect(run.code, run.stderr).toBe(0);
        const summary = summaryOf(run);
        expect(summary).toMatchObject({ ok: true, feishu: 'feishu', card: 'agent', modelName: 'demo-model' });
        const [card] = summary.conversations;
        expect(card).toMatchObject({ exact: true, cardFrom: 'session', transport, steps: [{ name: 'search_docs', status: 'called' }] });
        const view = transport === 'cardkit' ? cardView(emulator, card!.cardId!) : messageView(emulator, card!.messageId!);
        const call = reference.toolCallFor(card!.question)!;
        expect(view.order).toEqual(['agent_thinking', 'agent_step_1', 'answer', 'agent_footer']);
        expect(view.thinking).toMatch(/^Thought for \d+ s$/);
        expect(view.reasoning).toBe(reference.reasoningFor(card!.question));
        expect(view.steps).toEqual(['🔧 **search\\_docs** · called']);
        expect(view.details[0]).toBe(`**Arguments**\n\`\`\`json\n${JSON.stringify(JSON.parse(call.arguments), null, 2)}\n\`\`\``);
        expect(view.answer).toBe(reference.answerFor(card!.question));
        expect(view.footer).toMatch(/^<font color='grey'>demo-model · [\d,]+ tokens · \d+\.\d s<\/font>$/);
      }
      expect(emulator.stats().rejected).toEqual({});
    } finally {
      await emulator.close();
    }
  }, 60_000); // two demo runs: slow on a busy machine

  it('--no-reasoning with the Responses API: an agent card without a reasoning panel, the step and the footer still there, exact', async () => {
    const run = await demo(['--api', 'responses', '--no-reasoning', '--json', ...FAST]);
    expect(run.code, run.stderr).toBe(0);
    const [card] = summaryOf(run).conversations;
    expect(card).toMatchObject({ exact: true, card: 'agent', problems: [] });
    expect(card!.agentCard).toMatchObject({ order: ['agent_step_1', 'answer', 'agent_footer'], thinking: null, steps: [{ name: 'search_docs', status: 'called' }] });
    expect(card!.cardText).toBe(reference.answerFor(card!.question));
  });

  it('--plain: the demo\'s own card as before (no agent elements), the tool step reported from the session, exact', async () => {
    const [json, text] = await Promise.all([demo(['--plain', '--json', ...FAST]), demo(['--plain', ...FAST])]);
    expect(json.code, json.stderr).toBe(0);
    const summary = summaryOf(json);
    expect(summary.card).toBe('plain');
    const [card] = summary.conversations;
    expect(card).toMatchObject({ exact: true, card: 'plain', agentCard: null, steps: [{ name: 'search_docs', status: 'called' }], problems: [] });
    expect(card!.cardText).toBe(reference.answerFor(card!.question));
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/Card\s+the demo's own card/);
    expect(text.stdout).toMatch(/tool steps\s+1 \(search_docs · called\)/);
    expect(text.stdout).not.toMatch(/agent card|Agent card/);
    expect(text.stdout).toMatch(/✓ Exact: the card's text on the emulator \(and its thinking panel\) equals the model server's answer/);
  });

  it('--sessions 3: three conversations at once, three exact cards, no rejection, the governor counted them all', async () => {
    const run = await demo(['--sessions', '3', '--json', ...FAST]);
    expect(run.code, run.stderr).toBe(0);
    const summary = summaryOf(run);
    expect(summary.ok).toBe(true);
    expect(summary.conversations).toHaveLength(3);
    expect(new Set(summary.conversations.map((c) => c.cardId)).size).toBe(3);
    for (const card of summary.conversations) {
      expect(card.exact, card.problems.join('; ')).toBe(true);
      expect(card.cardText).toBe(reference.answerFor(card.question));
    }
    expect(summary.totals).toMatchObject({ conversations: 3, exact: 3 });
    expect(summary.emulator.rejections).toBe(0);
    expect(summary.emulator.rejected).toEqual({});
    expect(summary.governor['cardkit.card.create']?.writes).toBe(3);
    const contentWrites = summary.conversations.reduce((n, c) => n + c.writes, 0);
    // Each card's accepted writes: opening streaming mode (batch_update), the text, the agent card's elements
    // (the reasoning panel, the step, the footer: created, replaced, patched), the close (settings); not creating or sending it.
    const governed = Object.entries(summary.governor).filter(([api]) => api !== 'cardkit.card.create' && api !== 'im.message.create');
    expect(governed.reduce((n, [, v]) => n + v.writes, 0)).toBe(contentWrites);
    for (const card of summary.conversations) expect(card.agentCard!.steps.map((s) => s.status)).toEqual(['called']);
  });

  it('--sessions 40 --json into a pipe: the whole JSON line (far more than a pipe holds at once) arrives before the demo exits', async () => {
    // Exiting at once used to cut it at 64 KiB (`npm run demo -- --sessions 40 --json | wc -c` said 65536).
    const run = await demoThroughPipe(['--sessions', '40', '--json', ...FAST], 100);
    expect(run.code, run.stderr).toBe(0);
    expect(Buffer.byteLength(run.stdout)).toBeGreaterThan(2 * 65_536);
    const summary = summaryOf(run);
    expect(summary.totals).toMatchObject({ conversations: 40, exact: 40 });
  });

  it('--minutes 11 on a fast clock: the answer crosses the 10-minute streaming window, streaming mode is re-opened, the text is exact', { timeout: 60_000 }, async () => {
    const started = performance.now();
    const run = await demo(['--minutes', '11', '--clock-speed', '40', '--json', '--rate', '400']);
    expect(run.code, run.stderr).toBe(0);
    const summary = summaryOf(run);
    const [card] = summary.conversations;
    expect(card!.question).toBe(LONG_ANSWER.question);
    expect(card!.exact, card!.problems.join('; ')).toBe(true);
    expect(card!.cardText).toBe(reference.answerFor(LONG_ANSWER.question));
    expect(card!.reopens).toBeGreaterThanOrEqual(1);
    expect(card!.agentCard).toMatchObject({ order: ['agent_thinking', 'agent_step_1', 'answer', 'agent_footer'], steps: [{ status: 'called' }] });
    expect(summary.cardMinutes).toBeGreaterThanOrEqual(11);
    expect(performance.now() - started).toBeLessThan(40_000);
  });

  it('prints a readable run without --json: header, preview URL, progress lines (no \\r off a TTY), summary, verdict', async () => {
    const run = await demo(FAST);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Preview\s+http:\/\/127\.0\.0\.1:\d+\/_emulator\/preview#card=\w+/);
    expect(run.stdout).toMatch(/\d+ writes? · seq \d+ · lag /);
    expect(run.stdout).toMatch(/✓ Answered in/);
    expect(run.stdout).toMatch(/Card\s+agent card \(start\(\{ agent \}\)/);
    expect(run.stdout).toMatch(/agent card\s+agent_thinking · agent_step_1 · answer · agent_footer\n/);
    expect(run.stdout).toMatch(/ {6}thinking\s+Thought for \d+ s \(collapsed, 133 characters\)\n/);
    expect(run.stdout).toMatch(/ {6}step 1\s+🔧 search_docs · called \(\{"query":".+"\}\)\n/);
    expect(run.stdout).toMatch(/ {6}answer\s+1,173 characters\n/);
    expect(run.stdout).toMatch(/ {6}footer\s+demo-model · [\d,]+ tokens · \d+\.\d s\n/);
    expect(run.stdout).toMatch(/✓ Agent card: 1 step for the model's tool call \(search_docs · called\), the reasoning panel settled, the footer names demo-model\./);
    expect(run.stdout).not.toMatch(/tool steps/);
    expect(run.stdout).toMatch(/✓ Exact: the card's text on the emulator .* equals the model server's answer/);
    expect(run.stdout).not.toContain('\r');
    expect(run.stdout).not.toContain('\u001b[');
    expect(run.stderr).toBe('');
  });

  it('--transport message: the card is sent inline in a message and patched whole; exit 0, the message card text exactly the answer, the writes are its patches', async () => {
    const run = await demo(['--transport', 'message', '--json', ...FAST]);
    expect(run.code, run.stderr).toBe(0);
    const summary = summaryOf(run);
    expect(summary).toMatchObject({ ok: true, exitCode: 0, feishu: 'emulator', transport: 'message' });
    const [card] = summary.conversations;
    expect(card).toMatchObject({ transport: 'message', fallback: null, cardId: null, exact: true, answerMatches: true, cardFrom: 'emulator', streamingClosed: true, problems: [] });
    expect(card!.messageId).toMatch(/^om_/);
    expect(card!.cardText).toBe(reference.answerFor(card!.question));
    // Every accepted write is a patch of the message, as its log on the emulator records them.
    expect(card!.writesByEndpoint).toEqual({ 'im.message.patch': card!.writes });
    expect(card!.writes).toBeGreaterThan(1);
    expect(card!.rejectedWrites).toEqual({});
    expect(Object.keys(summary.governor).sort()).toEqual(['im.message.create', 'im.message.patch']);
    // The agent card rides in the message too: its elements are part of each patch of the whole card.
    expect(card!.agentCard).toMatchObject({ order: ['agent_thinking', 'agent_step_1', 'answer', 'agent_footer'], steps: [{ name: 'search_docs', status: 'called' }] });
    expect(card!.agentCard!.answer).toBe(reference.answerFor(card!.question));
    expect(summary.emulator.rejections).toBe(0);
  });

  it('--transport message without --json: says so in the header and the summary, previews the message, counts its patches, verifies the message card', async () => {
    const run = await demo(['--transport', 'message', ...FAST]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Transport\s+message cards/);
    expect(run.stdout).toMatch(/Preview\s+http:\/\/127\.0\.0\.1:\d+\/_emulator\/preview#message=om_\w+/);
    expect(run.stdout).toMatch(/\d+ writes? · lag /); // no sequence on a message card
    expect(run.stdout).not.toMatch(/ seq \d/);
    expect(run.stdout).toMatch(/transport\s+message card om_\w+/);
    expect(run.stdout).toMatch(/writes\s+\d+ \(patch \d+, none rejected\)/);
    expect(run.stdout).not.toMatch(/re-opens/);
    expect(run.stdout).toMatch(/✓ Exact: the message card's text on the emulator .* equals the model server's answer/);
    expect(run.stderr).toBe('');
  });

  it('an app CardKit refuses (no cardkit:card:write): the session falls back to a message card, the run says so and the card is exact', async () => {
    const emulator = await startEmulator({ apps: [{ appId: 'cli_im_only', appSecret: 's_im_only', scopes: ['im:message'] }] });
    try {
      const run = await demo(FAST, { FEISHU_APP_ID: 'cli_im_only', FEISHU_APP_SECRET: 's_im_only', FEISHU_RECEIVE_ID: 'oc_fallback', FEISHU_DOMAIN: emulator.url });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/Fallback: CardKit refused to create the card \(Feishu answered 99991672 to cardkit\.card\.create\), so the session streamed through a message card instead/);
      expect(run.stdout).toMatch(/transport\s+message card om_\w+/);
      expect(run.stdout).toMatch(/✓ Exact/);
      expect(emulator.cards()).toEqual([]);
      const [message] = emulator.messages();
      const card = JSON.parse(message!.content) as unknown;
      expect(elementContent(card, ANSWER_ID)).toBe(reference.answerFor(ANSWERS[0]!.question));
      expect(messageView(emulator, message!.message_id).steps).toEqual(['🔧 **search\\_docs** · called']);
      expect(emulator.stats().rejected).toEqual({ '99991672': 1 });
    } finally {
      await emulator.close();
    }
  });

  it('--transport takes cardkit or message: another value exits 2 naming the flag and what it received; --help lists it', async () => {
    const [bad, help] = await Promise.all([demo(['--transport', 'webhook']), demo(['--help'])]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--transport must be cardkit or message; received "webhook"');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect(bad.stdout).toBe('');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--transport <cardkit\|message>\n\s+how the card streams/);
    expect(help.stdout).toMatch(/--plain\s+the demo's own card/);
  });

  it('partial configuration (FEISHU_APP_ID only) exits 2 naming FEISHU_APP_SECRET, without a stack trace', async () => {
    const run = await demo(['--json'], { FEISHU_APP_ID: 'cli_partial' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('FEISHU_APP_SECRET');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stderr).not.toMatch(/Error:/);
    expect(run.stdout).toBe('');
  });

  it('OPENAI_BASE_URL without OPENAI_API_KEY, or a bad flag, exits 2 with a message; --help exits 0', async () => {
    const [openai, flag, help] = await Promise.all([
      demo([], { OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' }),
      demo(['--sessions', 'many']),
      demo(['--help']),
    ]);
    expect(openai.code).toBe(2);
    expect(openai.stderr).toContain('OPENAI_API_KEY');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--sessions');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('FEISHU_APP_SECRET');
    expect(help.stdout).toContain('--minutes');
  });
});
