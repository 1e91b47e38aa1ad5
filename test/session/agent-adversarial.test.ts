/**
 * Adversarial tests of the agent card (`start({ agent })`): faults injected through the emulator while
 * the layout's structural writes travel (lost and dropped answers, 5xx, sequence conflicts, rate limits),
 * aborts at every stage, tool results at odd times, hostile and huge step names and arguments, hundreds
 * of parallel tool calls, reasoning that resumes or fills a card, answers past 4 tables with steps, and
 * the message transport. Each test checks the cards as the emulator recorded them: within 30 KB and 200
 * elements, nothing refused, the answer exact across cards, every step shown once in a terminal status
 * on the last card it appears on, every card closed.
 */
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, type FeishuClient, type SessionResult, SessionStateError, type StartOptions } from '../../src/index.js';
import { type AgentView, cardView, messageView } from '../support/agent-view.js';
import { clientFor } from '../support/client.js';
import { useEmulator } from '../support/emulator-http.js';
import { FAST_RETRY, sleep, waitFor } from '../support/session.js';
import { type Beat, type Part, run } from '../support/agent-run.js';

type Json = Record<string, unknown>;

const CONTINUED = '\n\n_(continued below)_';
const INTERRUPTED = '\n\n_(interrupted)_';
const BATCH = 'cardkit.card.batchUpdate';
const CREATE = 'cardkit.cardElement.create';
const UPDATE_ELEMENT = 'cardkit.cardElement.update';
const MAX_CARD_BYTES = 30 * 1024;
/** Past this many cards, a session is in a rollover storm (the test fails at once). */
const MAX_CARDS = 8;

const TERMINAL = /^(✅|❌|🔧) /;

function countTagged(node: unknown): number {
  if (Array.isArray(node)) return node.reduce((n: number, child) => n + countTagged(child), 0);
  if (typeof node !== 'object' || node === null) return 0;
  const record = node as Json;
  return (typeof record.tag === 'string' ? 1 : 0) + Object.values(record).reduce((n: number, child) => n + countTagged(child), 0);
}

/** The cards of a session as the emulator has them, read as agent views (CardKit or message). */
function cardsOf(emulator: Emulator, result: SessionResult): { json: Json; view: AgentView; streaming: boolean | undefined }[] {
  return result.cards.map((ref) => {
    if (ref.cardId !== null) {
      const snapshot = emulator.card(ref.cardId)!;
      return { json: snapshot.card, view: cardView(emulator, ref.cardId), streaming: snapshot.streaming_mode };
    }
    const json = JSON.parse(emulator.message(ref.messageId!)!.content) as Json;
    return { json, view: messageView(emulator, ref.messageId!), streaming: undefined };
  });
}

/** Step element id → its line, per card. */
function stepLines(json: Json): Map<string, string> {
  const lines = new Map<string, string>();
  const elements = ((json.body as Json | undefined)?.elements ?? []) as Json[];
  for (const element of elements) {
    const id = element.element_id;
    if (typeof id !== 'string' || !/^agent_step_\d+$/.test(id)) continue;
    const title = ((element.header as Json | undefined)?.title as Json | undefined)?.content;
    lines.set(id, (element.tag === 'collapsible_panel' ? title : element.content) as string);
  }
  return lines;
}

/**
 * The invariants of every agent run: each card within 30 KB and 200 elements and closed, nothing refused
 * by the emulator, the answer exact across cards, each step in a terminal status on the last card it
 * appears on (and shown once per card), and as many steps as the session reported.
 */
function expectSound(emulator: Emulator, result: SessionResult, answer: string, options: { allowRejected?: string[] } = {}): AgentView[] {
  const cards = cardsOf(emulator, result);
  for (const { json, streaming } of cards) {
    expect(Buffer.byteLength(JSON.stringify(json))).toBeLessThanOrEqual(MAX_CARD_BYTES);
    expect(countTagged((json.body as Json).elements)).toBeLessThanOrEqual(200);
    if (streaming !== undefined) expect(streaming).toBe(false);
  }
  const rejected = Object.fromEntries(Object.entries(emulator.stats().rejected).filter(([code]) => !(options.allowRejected ?? []).includes(code)));
  expect(rejected).toEqual({});
  const views = cards.map((c) => c.view);
  expect(views.map((v) => v.answer.replaceAll(CONTINUED, '')).join('')).toBe(answer);
  // Each step: the last card it appears on shows it ended.
  const last = new Map<string, string>();
  for (const { json } of cards) {
    const lines = stepLines(json);
    const order = ((json.body as Json).elements as Json[]).map((e) => e.element_id);
    expect(new Set(order).size).toBe(order.length);
    for (const [id, line] of lines) last.set(id, line);
  }
  expect(last.size).toBe(result.steps.length);
  for (const [id, line] of last) expect(line, id).toMatch(TERMINAL);
  return views;
}

/** Every code block in `markdown` is closed by a bare fence at least as long as the one that opened it. */
function fencesClosed(markdown: string): boolean {
  let open: string | undefined;
  for (const line of markdown.split('\n')) {
    const fence = /^`{3,}/.exec(line)?.[0];
    if (open === undefined) open = fence;
    else if (fence !== undefined && /^`+$/.test(line) && fence.length >= open.length) open = undefined;
  }
  return open === undefined;
}

/**
 * Watches a session for a rollover storm (cards multiplying past MAX_CARDS): `race` settles with the
 * session's result, or with 'storm' as soon as one is seen, so such a test fails at once instead of
 * hanging (an abort does not stop a storm: the ending rolls over too). The runaway session dies with
 * the emulator closed after the test.
 */
function watchStorm(session: CardSession): { cards: () => number; race: (ending: Promise<SessionResult>) => Promise<SessionResult | 'storm'> } {
  let cards = 1;
  let stormed: (value: 'storm') => void = () => undefined;
  const storm = new Promise<'storm'>((resolve) => (stormed = resolve));
  session.on('rollover', (event) => {
    if (event.kind === 'card' && ++cards > MAX_CARDS) stormed('storm');
  });
  return {
    cards: () => cards,
    race: (ending) => {
      ending.catch(() => undefined);
      return Promise.race([ending, storm]);
    },
  };
}

describe('the agent card, adversarially', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  const client = (): FeishuClient => clientFor(emulator).client;
  const start = (options: StartOptions = {}) =>
    CardSession.start(client(), { to: { chat_id: 'oc_agent' }, title: 'Agent', agent: true, retry: FAST_RETRY, ...options });

  describe('faults during structural writes', () => {
    const STEPS: Beat[] = [
      { reasoning: 'Thinking it over. ' },
      { call: 'c1', name: 'one', input: { n: 1 }, result: 'r1', runMs: 120 },
      { call: 'c2', name: 'two', input: { n: 2 }, result: 'r2', runMs: 120 },
      { call: 'c3', name: 'three', input: { n: 3 }, error: 'boom', runMs: 120 },
      { answer: 'All ' },
      { answer: 'done.' },
    ];

    for (const [kind, endpoint] of [
      ['lose_response', BATCH],
      ['lose_response', CREATE],
      ['lose_response', UPDATE_ELEMENT],
      ['drop', BATCH],
      ['drop', CREATE],
      ['drop', UPDATE_ELEMENT],
    ] as const) {
      it(`a ${kind} on ${endpoint} never adds a step twice (the retry is keyed by its uuid)`, async () => {
        const session = await start();
        // Let the start's own batch_update (opening streaming) through first.
        emulator.faults.add({ kind, endpoint, count: 2 });
        const result = await session.pipe(run(STEPS));
        const views = expectSound(emulator, result, 'All done.', { allowRejected: ['200770'] });
        expect(views).toHaveLength(1);
        expect(views[0]!.order).toEqual(['agent_thinking', 'agent_step_1', 'agent_step_2', 'agent_step_3', 'answer']);
        expect(views[0]!.steps.map((s) => s.split(' · ')[1])).toEqual(['done', 'done', 'failed']);
        expect(views[0]!.reasoning).toBe('Thinking it over. ');
      });
    }

    for (const [code, endpoint] of [
      [300120, BATCH],
      [300120, CREATE],
      [300317, BATCH],
      [300317, CREATE],
      [300317, UPDATE_ELEMENT],
      [99991400, BATCH],
      [99991400, CREATE],
    ] as const) {
      it(`a ${code} on ${endpoint} is retried and the card ends exactly as without it`, async () => {
        const session = await start();
        emulator.faults.add({ kind: 'fail', endpoint, code, count: 2, ...(code === 99991400 ? { headers: { 'x-ogw-ratelimit-reset': '0' } } : {}) });
        const result = await session.pipe(run(STEPS));
        // Sequence conflicts are jumped past at once (not counted as retries): the emulator saw both refusals.
        expect(emulator.stats().rejected[String(code)]).toBe(2);
        const views = expectSound(emulator, result, 'All done.', { allowRejected: [String(code)] });
        expect(views[0]!.order).toEqual(['agent_thinking', 'agent_step_1', 'agent_step_2', 'agent_step_3', 'answer']);
        expect(views[0]!.steps.map((s) => s.split(' · ')[1])).toEqual(['done', 'done', 'failed']);
      });
    }

    it('a fatal refusal of a structural write fails the session, and the card is still closed', async () => {
      const session = await start();
      emulator.faults.add({ kind: 'fail', endpoint: CREATE, code: 10002, count: 50 });
      emulator.faults.add({ kind: 'fail', endpoint: BATCH, code: 10002, count: 1 });
      const error = await session.pipe(run(STEPS)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect(session.state).toBe('failed');
      expect(emulator.card(session.cardId!)!.streaming_mode).toBe(false);
    });
  });

  describe('aborts at every stage', () => {
    it('during reasoning: the panel ends "Thought for N s", the answer is the interrupted mark, the card closed', async () => {
      const controller = new AbortController();
      const session = await start({ signal: controller.signal });
      const piping = session.pipe(run([{ reasoning: 'Hmm, ' }, { pause: 300 }, { reasoning: 'let me see. ' }, { pause: 5000 }, { answer: 'never' }]));
      await waitFor(() => cardView(emulator, session.cardId!).reasoning === 'Hmm, let me see. ', 'the reasoning');
      controller.abort(new Error('stop'));
      const result = await piping.catch(() => session.finish());
      expect(result.aborted).toBe(true);
      const views = expectSound(emulator, result, INTERRUPTED);
      expect(views[0]!.thinking).toMatch(/^Thought for \d+ s$/);
      expect(views[0]!.reasoning).toBe('Hmm, let me see. ');
    });

    it('during arguments streaming (a step with partial input): it ends failed and the partial JSON is shown as text', async () => {
      const session = await start();
      async function* partial(): AsyncGenerator<Part> {
        yield { type: 'tool-input-start', id: 'c1', toolName: 'search' };
        yield { type: 'tool-input-delta', id: 'c1', delta: '{"q": "hal' };
        await sleep(5000);
      }
      const piping = session.pipe(partial());
      await waitFor(() => cardView(emulator, session.cardId!).steps.length === 1, 'the step');
      const result = await session.abort('user');
      await piping.catch(() => undefined);
      const views = expectSound(emulator, result, INTERRUPTED);
      expect(views[0]!.steps).toEqual([expect.stringMatching(/^❌ \*\*search\*\* · failed/)]);
      expect(views[0]!.details[0]).toContain('{"q": "hal');
      expect(result.steps[0]).toMatchObject({ status: 'failed', error: 'interrupted' });
    });

    it('during the final flush (finish() then abort() at once, steps still due): one ending, every step terminal', async () => {
      const session = await start({ agent: { footer: true } });
      await session.pipe(run([{ starts: 'c1', name: 'a' }, { starts: 'c2', name: 'b' }, { answer: 'Partial answer.' }]), { finish: false });
      emulator.faults.add({ kind: 'latency', endpoint: '*', latencyMs: 150 });
      const finishing = session.finish();
      const aborting = session.abort('late');
      const [finished, aborted] = await Promise.all([finishing, aborting]);
      expect(aborted).toBe(finished);
      emulator.faults.clear();
      const views = expectSound(emulator, finished, finished.aborted ? 'Partial answer.' + INTERRUPTED : 'Partial answer.');
      expect(views[0]!.steps.every((line) => TERMINAL.test(line))).toBe(true);
    });

    it('an abort while a structural write is in flight with latency ends every step failed on the card', async () => {
      const session = await start();
      emulator.faults.add({ kind: 'latency', endpoint: BATCH, latencyMs: 300, count: 3 });
      emulator.faults.add({ kind: 'latency', endpoint: CREATE, latencyMs: 300, count: 3 });
      const piping = session.pipe(run([{ answer: 'Go. ' }, { starts: 'c1', name: 'a' }, { starts: 'c2', name: 'b' }, { starts: 'c3', name: 'c' }, { pause: 5000 }]));
      await sleep(200);
      const result = await session.abort('now');
      await piping.catch(() => undefined);
      expect(result.steps.map((s) => s.status)).toEqual(['failed', 'failed', 'failed']);
      const views = expectSound(emulator, result, 'Go. ' + INTERRUPTED);
      expect(views[0]!.steps).toHaveLength(3);
      expect(views[0]!.steps.every((line) => line.includes('· failed'))).toBe(true);
    });
  });

  describe('tool results at odd times', () => {
    it('finish() while the app still runs tools: steps end "called", then toolResult() is refused as the session is over', async () => {
      const session = await start();
      await session.pipe(run([{ starts: 'c1', name: 'lookup' }, { answer: 'Asked for a lookup.' }]), { finish: false });
      const result = await session.finish();
      expect(result.steps.map((s) => s.status)).toEqual(['called']);
      expect(() => session.toolResult('c1', 'late')).toThrow(SessionStateError);
      expect(() => session.toolError('c1', new Error('late'))).toThrow(SessionStateError);
      expectSound(emulator, result, 'Asked for a lookup.');
      expect(cardView(emulator, session.cardId!).steps).toEqual(['🔧 **lookup** · called']);
    });

    it('toolResult() for an id no source announced is a TypeError at the call and adds no phantom step to the card', async () => {
      const session = await start();
      await session.pipe(run([{ starts: 'c1', name: 'real' }, { answer: 'Answer.' }]), { finish: false });
      session.toolResult('c1', 'ok');
      expect(() => session.toolResult('nobody-called-this', 'ghost')).toThrow(TypeError);
      expect(() => session.toolError('nobody-called-this', 'ghost')).toThrow(/no tool call with id "nobody-called-this"/);
      const result = await session.finish();
      expectSound(emulator, result, 'Answer.');
      expect(cardView(emulator, session.cardId!).steps).toEqual([expect.stringMatching(/^✅ \*\*real\*\* · done/)]);
      expect(result.steps.map((s) => s.id)).toEqual(['c1']);
    });

    it('a tool result that arrives twice (result then error) keeps a terminal status and the card matches the report', async () => {
      const session = await start();
      const result = await session.pipe(run([{ starts: 'c1', name: 'flaky' }, { resultOf: 'c1', output: 'ok' }, { errorOf: 'c1', error: 'then failed' }, { answer: 'x' }]));
      const views = expectSound(emulator, result, 'x');
      const status = result.steps[0]!.status;
      expect(views[0]!.steps[0]).toContain(`· ${status}`);
    });

    it('an invalid call id is a TypeError and the session goes on', async () => {
      const session = await start();
      expect(() => session.toolResult('', 1)).toThrow(TypeError);
      expect(() => session.toolResult(42 as unknown as string, 1)).toThrow(TypeError);
      session.append('fine');
      const result = await session.finish();
      expectSound(emulator, result, 'fine');
    });
  });

  describe('hostile and huge steps', () => {
    it('names with markdown, backticks, </font>, <at>, newlines and emoji are shown as text; no write refused', async () => {
      const names = ['**bold**_x_', '`code` ``` fence', "</font><font color='red'>", '<at id=all></at>', 'a\n# heading\n- list', '🧑‍🚀🏳️‍🌈', '[link](http://x)', '\\'];
      const session = await start({ agent: { footer: { model: "</font>**gpt**<at id=all></at>" } } });
      const beats: Beat[] = names.map((name, i) => ({ call: `c${i}`, name, input: { s: '```\n</font>' }, result: '````' }));
      beats.push({ answer: 'Safe.' });
      const result = await session.pipe(run(beats));
      const views = expectSound(emulator, result, 'Safe.');
      expect(views[0]!.steps).toHaveLength(names.length);
      for (const line of views[0]!.steps) {
        expect(line).not.toMatch(/(^|[^\\])<(\/)?(font|at)/);
        // No unescaped newline that would start a heading or list inside the title.
        expect(line).not.toMatch(/\n#/);
      }
      expect(views[0]!.footer).toMatch(/^<font color='grey'>[^<]*\\<\/font\\>/);
      // The argument fences stay closed: the code block's fence is longer than any run inside.
      for (const detail of views[0]!.details) expect(fencesClosed(detail), detail).toBe(true);
    });

    it('a 20,000-character tool name of markdown markers (40 KB escaped) does not roll cards over without end', async () => {
      const session = await start();
      const storm = watchStorm(session);
      const outcome = await storm.race(session.pipe(run([{ call: 'c1', name: '*'.repeat(20_000), input: {}, result: 'ok' }, { answer: 'After the long name.' }])));
      expect(outcome, `cards made: ${storm.cards()}`).not.toBe('storm');
      const result = outcome as SessionResult;
      expect(storm.cards()).toBeLessThanOrEqual(2);
      expect(result.aborted).toBe(false);
      expectSound(emulator, result, 'After the long name.');
    });

    it('a stepTitle that returns 40 KB does not roll cards over without end', async () => {
      // The line keeps the default's status icon so the shared checks can read it; the rest is 40 KB.
      const session = await start({ agent: { stepTitle: (step) => `${step.status === 'done' ? '✅' : '⏳'} ${step.name} ${'y'.repeat(40_000)}` } });
      const storm = watchStorm(session);
      const outcome = await storm.race(session.pipe(run([{ call: 'c1', name: 'big', input: {}, result: 'ok' }, { answer: 'Fine.' }])));
      expect(outcome, `cards made: ${storm.cards()}`).not.toBe('storm');
      const result = outcome as SessionResult;
      expect(storm.cards()).toBeLessThanOrEqual(2);
      expect(result.aborted).toBe(false);
      expectSound(emulator, result, 'Fine.');
    });

    it('a 40 KB "thought" label does not roll cards over without end', async () => {
      const session = await start({ agent: { labels: { thought: () => 'z'.repeat(40_000) } } });
      const storm = watchStorm(session);
      const outcome = await storm.race(session.pipe(run([{ reasoning: 'short thought' }, { answer: 'Answer.' }])));
      expect(outcome, `cards made: ${storm.cards()}`).not.toBe('storm');
      const result = outcome as SessionResult;
      expect(storm.cards()).toBeLessThanOrEqual(2);
      expect(result.aborted).toBe(false);
      expectSound(emulator, result, 'Answer.');
    });

    it('a 20,000-character plain tool name fits a fresh card: shown cut to 100 characters, once, done', async () => {
      const session = await start();
      const storm = watchStorm(session);
      const name = 'n'.repeat(20_000);
      const outcome = await storm.race(session.pipe(run([{ answer: 'Before. ' }, { call: 'c1', name, input: {}, result: 'ok' }, { answer: 'After.' }])));
      expect(outcome, `cards made: ${storm.cards()}`).not.toBe('storm');
      const views = expectSound(emulator, outcome as SessionResult, 'Before. After.');
      expect(views.flatMap((v) => v.steps).filter((line) => line.includes(`${'n'.repeat(100)}…`))).toHaveLength(1);
      expect(views.flatMap((v) => v.steps).filter((line) => line.includes('n'.repeat(101)))).toEqual([]);
    });

    it('arguments of emoji and surrogate pairs are cut at a code point, never half a pair', async () => {
      const session = await start({ agent: { details: { arguments: 5, result: 3 } } });
      const input = '😀'.repeat(6) + '\ud83d'; // ends in a lone high surrogate
      const result = await session.pipe(run([{ call: 'c1', name: 'emoji', input, result: '🏳️‍🌈🏳️‍🌈' }, { answer: 'ok' }]));
      const views = expectSound(emulator, result, 'ok');
      const detail = views[0]!.details[0]!;
      expect(detail).toContain('😀'.repeat(5) + '\n… (2 more characters)');
      expect(detail).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    });

    it('hostile JSON inputs (circular, bigint, undefined, functions) are shown without failing the session', async () => {
      const circular: Json = { a: 1 };
      circular.self = circular;
      const session = await start();
      async function* parts(): AsyncGenerator<Part> {
        await sleep(0);
        yield { type: 'tool-call', toolCallId: 'c1', toolName: 'circ', input: circular };
        yield { type: 'tool-result', toolCallId: 'c1', toolName: 'circ', input: circular, output: 10n };
        yield { type: 'tool-call', toolCallId: 'c2', toolName: 'fn', input: () => 1 };
        yield { type: 'tool-result', toolCallId: 'c2', toolName: 'fn', input: {}, output: undefined };
        yield { type: 'text-delta', id: 't', text: 'Survived.' };
      }
      const result = await session.pipe(parts());
      const views = expectSound(emulator, result, 'Survived.');
      expect(views[0]!.steps).toHaveLength(2);
    });
  });

  describe('many steps', () => {
    it('250 tool calls running at once do not roll cards over without end while they run', async () => {
      const session = await start();
      const storm = watchStorm(session);
      const beats: Beat[] = [];
      for (let i = 1; i <= 250; i++) beats.push({ starts: `p${i}`, name: `tool_${i}`, input: { i } });
      beats.push({ pause: 1500 });
      for (let i = 1; i <= 250; i++) beats.push({ resultOf: `p${i}`, output: i });
      beats.push({ answer: 'All 250 ran.' });
      const outcome = await storm.race(session.pipe(run(beats)));
      expect(outcome, `cards made: ${storm.cards()}`).not.toBe('storm');
      const result = outcome as SessionResult;
      expect(result.aborted).toBe(false);
      expect(storm.cards()).toBeLessThanOrEqual(6);
      const views = expectSound(emulator, result, 'All 250 ran.');
      expect(views.flatMap((v) => v.steps).filter((line) => line.includes('· done'))).toHaveLength(250);
    }, 10_000);

    it('250 sequential quick tool calls end with every step done once, in order, over as few cards as needed', async () => {
      const session = await start({ agent: { details: false } });
      const storm = watchStorm(session);
      const beats: Beat[] = [];
      for (let i = 1; i <= 250; i++) beats.push({ call: `s${i}`, name: `t${i}`, input: {}, result: i });
      beats.push({ answer: 'Done.' });
      const outcome = await storm.race(session.pipe(run(beats)));
      expect(outcome, `cards made: ${storm.cards()}`).not.toBe('storm');
      const result = outcome as SessionResult;
      expect(result.aborted).toBe(false);
      const views = expectSound(emulator, result, 'Done.');
      const names = views.flatMap((v) => v.steps).map((line) => /\*\*(t\d+)\*\*/.exec(line)![1]);
      expect(names).toEqual(Array.from({ length: 250 }, (_, i) => `t${i + 1}`));
      expect(storm.cards()).toBeLessThanOrEqual(3);
    }, 10_000);
  });

  describe('reasoning', () => {
    it('reasoning that resumes after the answer started: one panel, above the steps, all reasoning in it, "Thought for" at the end', async () => {
      const session = await start();
      // The step's element create is slow: the reasoning arrives while it travels.
      emulator.faults.add({ kind: 'latency', endpoint: CREATE, latencyMs: 200, count: 1 });
      const result = await session.pipe(
        run([{ answer: 'First part. ' }, { call: 'c1', name: 'x', input: {}, result: 1 }, { reasoning: 'Wait, ' }, { pause: 200 }, { reasoning: 'reconsider.' }, { answer: 'Second part.' }]),
      );
      const views = expectSound(emulator, result, 'First part. Second part.');
      expect(views[0]!.order).toEqual(['agent_thinking', 'agent_step_1', 'answer']);
      expect(views[0]!.reasoning).toBe('Wait, reconsider.');
      expect(views[0]!.thinking).toMatch(/^Thought for \d+ s$/);
    });

    it('reasoning big enough to fill a card rolls over; the reasoning is exact across cards and every panel ends "Thought for"', async () => {
      const session = await start();
      const storm = watchStorm(session);
      const chunk = '推理过程的一部分，很长很长。'.repeat(50) + '\n\n';
      const beats: Beat[] = [];
      for (let i = 0; i < 30; i++) beats.push({ reasoning: chunk });
      beats.push({ call: 'c1', name: 'after', input: {}, result: 'ok' }, { answer: 'Concluded.' });
      const outcome = await storm.race(session.pipe(run(beats)));
      expect(outcome, `cards made: ${storm.cards()}`).not.toBe('storm');
      const result = outcome as SessionResult;
      expect(storm.cards()).toBeLessThan(MAX_CARDS);
      expect(result.cards.length).toBeGreaterThan(1);
      const views = expectSound(emulator, result, 'Concluded.');
      expect(views.map((v) => v.reasoning ?? '').join('')).toBe(chunk.repeat(30));
      for (const view of views) if (view.thinking !== undefined) expect(view.thinking).toMatch(/^Thought for \d+ s$/);
    }, 10_000);
  });

  describe('the footer on a full card', () => {
    for (const transport of ['cardkit', 'message'] as const) {
      it(`${transport}: an answer that leaves no room for the footer: the footer goes on the last card, the answer exact`, async () => {
        const session = await start({ transport, agent: { footer: { model: 'm'.repeat(100) } } });
        const storm = watchStorm(session);
        // Close to 30 KB of answer: the footer cannot fit beside it.
        const answer = 'a'.repeat(29_200);
        const outcome = await storm.race(session.pipe(run([{ call: 'c1', name: 't', input: {}, result: 1 }, { answer }, { usage: { inputTokens: 1, outputTokens: 2 } }])));
        expect(outcome, `cards made: ${storm.cards()}`).not.toBe('storm');
        const views = expectSound(emulator, outcome as SessionResult, answer);
        expect(views.filter((v) => v.footer !== undefined)).toHaveLength(1);
        expect(views.at(-1)!.footer).toContain('3 tokens');
      });
    }
  });

  describe('answers past 4 tables with steps', () => {
    const table = (n: number) => `\n\n| k${n} | v |\n|---|---|\n| a | ${n} |\n\n`;

    it('CardKit: 9 tables and steps between them: the steps stay above the answer, the answer joined is exact', async () => {
      const session = await start();
      const beats: Beat[] = [];
      let answer = '';
      for (let i = 1; i <= 9; i++) {
        beats.push({ answer: `Part ${i}.` + table(i) });
        answer += `Part ${i}.` + table(i);
        beats.push({ call: `c${i}`, name: `t${i}`, input: { i }, result: i });
      }
      const result = await session.pipe(run(beats));
      const views = expectSound(emulator, result, answer);
      for (const view of views) {
        const firstAnswer = view.order.findIndex((id) => /^answer(_\d+)?$/.test(id));
        const lastStep = view.order.findLastIndex((id) => id.startsWith('agent_step_'));
        expect(lastStep).toBeLessThan(firstAnswer);
      }
    });

    it('message transport: 9 tables and steps: the same', async () => {
      const session = await start({ transport: 'message', agent: { footer: true } });
      const beats: Beat[] = [];
      let answer = '';
      for (let i = 1; i <= 9; i++) {
        beats.push({ answer: `Part ${i}.` + table(i) });
        answer += `Part ${i}.` + table(i);
        beats.push({ call: `c${i}`, name: `t${i}`, input: { i }, result: i });
      }
      const result = await session.pipe(run(beats));
      const views = expectSound(emulator, result, answer);
      expect(views.at(-1)!.order.at(-1)).toBe('agent_footer');
    });
  });

  describe('message transport', () => {
    it('250 parallel tool calls on message cards do not roll over without end', async () => {
      const session = await start({ transport: 'message' });
      const storm = watchStorm(session);
      const beats: Beat[] = [];
      for (let i = 1; i <= 250; i++) beats.push({ starts: `p${i}`, name: `tool_${i}` });
      beats.push({ pause: 1500 });
      for (let i = 1; i <= 250; i++) beats.push({ resultOf: `p${i}`, output: i });
      beats.push({ answer: 'Done.' });
      const outcome = await storm.race(session.pipe(run(beats)));
      expect(outcome, `cards made: ${storm.cards()}`).not.toBe('storm');
      const result = outcome as SessionResult;
      expect(result.aborted).toBe(false);
      expect(storm.cards()).toBeLessThanOrEqual(6);
      expectSound(emulator, result, 'Done.');
    }, 10_000);

    it('reasoning of nearly three message cards rolls over without end neither', async () => {
      const session = await start({ transport: 'message' });
      const storm = watchStorm(session);
      const chunk = '消息里的推理。'.repeat(100) + '\n\n';
      const beats: Beat[] = [];
      for (let i = 0; i < 40; i++) beats.push({ reasoning: chunk });
      beats.push({ answer: 'Concluded.' });
      const outcome = await storm.race(session.pipe(run(beats)));
      expect(outcome, `cards made: ${storm.cards()}`).not.toBe('storm');
      const result = outcome as SessionResult;
      const views = expectSound(emulator, result, 'Concluded.');
      expect(views.map((v) => v.reasoning ?? '').join('')).toBe(chunk.repeat(40));
    });

    it('a long answer with a running step rolls over; every step ends terminal on its last message', async () => {
      const session = await start({ transport: 'message' });
      const paragraph = '消息卡片的长回答。'.repeat(60) + '\n\n';
      const beats: Beat[] = [{ reasoning: 'Plan.' }, { starts: 'c1', name: 'slow' }, { call: 'c2', name: 'fast', input: {}, result: 1 }];
      for (let i = 0; i < 25; i++) beats.push({ answer: paragraph });
      beats.push({ resultOf: 'c1', output: 'late' }, { answer: 'End.' });
      const result = await session.pipe(run(beats));
      expect(result.cards.length).toBeGreaterThan(1);
      expectSound(emulator, result, paragraph.repeat(25) + 'End.');
    });

    it('an abort during a tool on a message card ends the step failed and the message carries the interrupted mark', async () => {
      const controller = new AbortController();
      const session = await start({ transport: 'message', signal: controller.signal });
      const piping = session.pipe(run([{ answer: 'Working. ' }, { call: 'c1', name: 'slow', input: {}, result: 'late', runMs: 5000 }]));
      await waitFor(() => messageView(emulator, session.messageId!).steps.length === 1, 'the running step');
      controller.abort(new Error('stop'));
      const result = await piping.catch(() => session.finish());
      const views = expectSound(emulator, result, 'Working. ' + INTERRUPTED);
      expect(views[0]!.steps).toEqual([expect.stringMatching(/^❌ \*\*slow\*\* · failed/)]);
    });

    it('a 5xx on a message patch while steps change is retried and the message ends complete', async () => {
      const session = await start({ transport: 'message' });
      emulator.faults.add({ kind: 'fail', endpoint: 'im.message.patch', code: 300120, count: 2 });
      emulator.faults.add({ kind: 'lose_response', endpoint: 'im.message.patch', count: 1 });
      const result = await session.pipe(run([{ call: 'c1', name: 'a', input: {}, result: 1 }, { call: 'c2', name: 'b', input: {}, error: 'no' }, { answer: 'Ok.' }]));
      const views = expectSound(emulator, result, 'Ok.', { allowRejected: ['300120'] });
      expect(views[0]!.steps.map((s) => s.split(' · ')[1])).toEqual(['done', 'failed']);
    });
  });
});
