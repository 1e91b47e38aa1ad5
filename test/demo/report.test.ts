/**
 * The demo's verdict: a card that does not hold exactly the model's answer, or that was left streaming,
 * fails the run (exit 1) with a message that says where the texts part.
 */
import { describe, expect, it } from 'vitest';
import { ANSWER_ID, THINKING_ID, demoCard } from '../../demo/card.js';
import type { ConversationOutcome } from '../../demo/conversation.js';
import type { ModelServer } from '../../demo/model-server.js';
import { Tracker } from '../../demo/progress.js';
import { type RunFacts, check, exitCode, jsonSummary } from '../../demo/report.js';
import type { CardSnapshot, Emulator } from '../../src/emulator/index.js';
import { FeishuApiError } from '../../src/index.js';

const QUESTION = 'Why?';
const ANSWER = 'Because a full-text write is idempotent. 🔁';
const REASONING = 'Think first.';

const modelServer = { answerFor: () => ANSWER, reasoningFor: () => REASONING } as unknown as ModelServer;

function emulatorWith(answer: string, streaming = false): Emulator {
  const card = demoCard({ question: QUESTION, model: 'm', reasoning: true });
  const elements = (card.body as { elements: Record<string, unknown>[] }).elements;
  const panel = elements[0] as { elements: Record<string, unknown>[] };
  panel.elements[0]!.content = REASONING;
  elements[1]!.content = answer;
  const snapshot = { card, streaming_mode: streaming, log: [{ endpoint: 'cardkit.cardElement.content', code: 0 }] } as unknown as CardSnapshot;
  return { card: () => snapshot, stats: () => ({ accepted: 3, rejected: {}, endpoints: {} }) } as unknown as Emulator;
}

function outcome(overrides: Partial<ConversationOutcome> = {}): ConversationOutcome {
  const texts = { [ANSWER_ID]: ANSWER, [THINKING_ID]: REASONING };
  return {
    index: 1,
    question: QUESTION,
    tracker: new Tracker([ANSWER_ID, THINKING_ID]),
    cardId: 'card_1',
    messageId: 'om_1',
    result: { transport: 'cardkit', cardId: 'card_1', messageId: 'om_1', cards: [{ cardId: 'card_1', messageId: 'om_1' }], text: ANSWER, texts, sequence: 3, writes: 3, retries: 0, reopens: 0, aborted: false },
    error: undefined,
    streamed: { answer: ANSWER, reasoning: REASONING },
    ...overrides,
  };
}

function facts(checked: ReturnType<typeof check>[], interrupted = false): RunFacts {
  return { checked, elapsedMs: 10, emulator: undefined, governor: { apis: {}, cards: {}, waiting: {}, fallback: false, sequenceFallback: false, tracked: { counters: 0, spacing: 0 } }, cardMinutes: undefined, clockSpeed: 1, interrupted };
}

describe('the demo verdict', () => {
  it('passes a card that holds exactly the answer and its reasoning, with streaming mode closed', () => {
    const checked = check(outcome(), { emulator: emulatorWith(ANSWER), modelServer, reasoning: true });
    expect(checked.problems).toEqual([]);
    expect(checked.exact).toBe(true);
    expect(exitCode(facts([checked]))).toBe(0);
  });

  it('fails a card whose text differs, saying where', () => {
    const wrong = `${ANSWER.slice(0, 10)}X${ANSWER.slice(11)}`;
    const checked = check(outcome(), { emulator: emulatorWith(wrong), modelServer, reasoning: true });
    expect(checked.exact).toBe(false);
    expect(checked.problems.join('\n')).toMatch(/card's answer .* differ from character 10/);
    expect(exitCode(facts([checked]))).toBe(1);
    const json = JSON.parse(jsonSummary(facts([checked]), {})) as { ok: boolean; exitCode: number; conversations: { exact: boolean; answerMatches: boolean }[] };
    expect(json).toMatchObject({ ok: false, exitCode: 1, conversations: [{ exact: false, answerMatches: false }] });
  });

  it('fails a card left in streaming mode, and a card missing a character at the end', () => {
    const streaming = check(outcome(), { emulator: emulatorWith(ANSWER, true), modelServer, reasoning: true });
    expect(streaming.problems.join('\n')).toMatch(/streaming mode is still on/);
    const short = check(outcome(), { emulator: emulatorWith(ANSWER.slice(0, -2)), modelServer, reasoning: true });
    expect(short.exact).toBe(false);
  });

  it('reports a failed run by its cause, with a hint for Feishu errors, and an interrupted one with exit 130', () => {
    const error = new FeishuApiError({ code: 230002, msg: 'Bot/User can NOT be out of the chat.', httpStatus: 400, logId: undefined, endpoint: 'im.message.create' });
    const failed = check(outcome({ error, cardId: undefined, result: undefined }), { emulator: undefined, modelServer, reasoning: false });
    expect(failed.exact).toBe(false);
    expect(failed.problems[0]).toMatch(/230002/);
    expect(failed.problems[0]).toMatch(/add it to the group/);
    const aborted = outcome();
    aborted.result = { ...aborted.result!, aborted: true };
    const interrupted = check(aborted, { emulator: undefined, modelServer, reasoning: false });
    expect(exitCode(facts([interrupted], true))).toBe(130);
  });
});
