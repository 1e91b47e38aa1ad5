/**
 * What the per-SDK tests share (issue 11): a fresh emulator per test, an agent card to pipe into, and
 * the check that the card on the emulator holds the exact answer (and reasoning), and one step per tool
 * call in order with its status, as the result lists them.
 */
import { expect } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, type ToolStep } from '../../src/index.js';
import { cardView } from './agent-view.js';
import { clientFor } from './client.js';
import { useEmulator } from './emulator-http.js';

export const ANSWER = ['流式', '回答：', 'the weather ', 'is sunny 🌞', ', 24 °C.'];
export const THINKING = ['The user asks ', 'about the weather; ', '先查一下。'];

/** What a test checks of every step: its order, name, status and input. */
export const outline = (steps: readonly ToolStep[]) => steps.map(({ id, name, status, input }) => ({ id, name, status, input }));

/** Each step line of an agent card as [name, status] (`✅ **weather** · done · 0.1 s`). */
export function cardSteps(lines: readonly string[]): [string, string][] {
  return lines.map((line) => {
    const match = /^\S+ \*\*(.+?)\*\* · (\w+)/.exec(line);
    if (!match) throw new Error(`not a step line: ${line}`);
    return [match[1]!.replace(/\\(.)/g, '$1'), match[2]!];
  });
}

/** Call inside a describe: an emulator per test, `start()` for an agent card on it, `expectCard` for the check. */
export function useAgentCards() {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  return {
    /** An agent card: its reasoning panel, one element per tool step, the answer. */
    start: () => CardSession.start(clientFor(emulator).client, { agent: true }),
    /** The card holds the exact answer (and `reasoning`, when given) and one step per tool call, in order, with its status. */
    expectCard: (session: CardSession, result: { steps: readonly ToolStep[] }, reasoning?: string) => {
      const view = cardView(emulator, session.cardId!);
      expect(view.answer).toBe(ANSWER.join(''));
      expect(view.reasoning).toBe(reasoning);
      expect(cardSteps(view.steps)).toEqual(result.steps.map((step) => [step.name, step.status]));
      return view;
    },
  };
}
