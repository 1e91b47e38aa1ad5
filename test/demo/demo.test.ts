/**
 * `npm run demo` end to end: the entry point is spawned as a newcomer would run it (a clean environment,
 * no FEISHU_ or OPENAI_ variables), and its JSON summary must say every card ended with exactly the model
 * server's answer, as the emulator holds it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANSWERS, LONG_ANSWER } from '../../demo/answers.js';
import { ANSWER_ID, elementContent } from '../../demo/card.js';
import { type ModelServer, startModelServer } from '../../demo/model-server.js';
import { startEmulator } from '../../src/emulator/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
/** A fast model, so the runs stay short; the demo's default is 60 tokens/s. */
const FAST = ['--rate', '1500'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the demo with no FEISHU_, OPENAI_ or DEMO_ variables (plus `env`), and collects what it printed. */
function demo(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(FEISHU_|OPENAI_|DEMO_)/.test(name) && name !== 'FORCE_COLOR' && name !== 'NO_COLOR'),
  );
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

interface Summary {
  ok: boolean;
  exitCode: number;
  feishu: string;
  model: string;
  transport: string;
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
    steps: { id: string; name: string; status: string; input: unknown }[];
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
      expect(card!.steps[0]).toMatchObject({ name: 'search_docs', input: JSON.parse(call.arguments) as unknown });
      expect(card!.steps[0]!.id).toMatch(/^call_/);
    }
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
    // Each card's accepted writes: opening streaming mode (batch_update), the text, the close (settings).
    const governed = ['cardkit.card.batchUpdate', 'cardkit.cardElement.content', 'cardkit.card.settings'].map((api) => summary.governor[api]?.writes ?? 0);
    expect(governed.reduce((a, b) => a + b, 0)).toBe(contentWrites);
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
    expect(summary.cardMinutes).toBeGreaterThanOrEqual(11);
    expect(performance.now() - started).toBeLessThan(40_000);
  });

  it('prints a readable run without --json: header, preview URL, progress lines (no \\r off a TTY), summary, verdict', async () => {
    const run = await demo(FAST);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Preview\s+http:\/\/127\.0\.0\.1:\d+\/_emulator\/preview#card=\w+/);
    expect(run.stdout).toMatch(/\d+ writes? · seq \d+ · lag /);
    expect(run.stdout).toMatch(/✓ Answered in/);
    expect(run.stdout).toMatch(/tool steps\s+1 \(search_docs\)/);
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
