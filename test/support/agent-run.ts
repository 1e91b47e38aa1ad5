/**
 * A scripted agent run, as AI SDK stream parts (`pipe()` reads them by shape): reasoning, answer text,
 * tool calls (arguments streamed in pieces, optionally run for a while, with a result or an error),
 * calls whose result comes later, pauses, gates the test opens by hand, and the final usage.
 */
import { sleep } from './session.js';

export type Part = Record<string, unknown> & { type: string };

export type Beat =
  | { reasoning: string }
  | { answer: string }
  | { call: string; name: string; input: unknown; result?: unknown; error?: string; runMs?: number }
  /** A call started (its arguments given at once) with no result yet. */
  | { starts: string; name: string; input?: unknown }
  /** A result given later in the run, for a call made without one. */
  | { resultOf: string; output: unknown; name?: string }
  | { errorOf: string; error: string }
  | { pause: number }
  /** Waits until `gate` resolves (the test saw what it wanted), so no stage is missed. */
  | { gate: Promise<void> }
  | { usage: { inputTokens: number; outputTokens: number } };

export async function* run(beats: readonly Beat[]): AsyncGenerator<Part> {
  yield { type: 'start' };
  for (const beat of beats) {
    if ('pause' in beat) await sleep(beat.pause);
    else if ('gate' in beat) await beat.gate;
    else if ('reasoning' in beat) yield { type: 'reasoning-delta', id: 'r', text: beat.reasoning };
    else if ('answer' in beat) yield { type: 'text-delta', id: 't', text: beat.answer };
    else if ('resultOf' in beat) yield { type: 'tool-result', toolCallId: beat.resultOf, toolName: beat.name ?? '', input: {}, output: beat.output };
    else if ('errorOf' in beat) yield { type: 'tool-error', toolCallId: beat.errorOf, toolName: '', input: {}, error: new Error(beat.error) };
    else if ('starts' in beat) {
      yield { type: 'tool-input-start', id: beat.starts, toolName: beat.name };
      yield { type: 'tool-call', toolCallId: beat.starts, toolName: beat.name, input: beat.input ?? {} };
    } else if ('usage' in beat) {
      const usage = { ...beat.usage, totalTokens: beat.usage.inputTokens + beat.usage.outputTokens };
      yield { type: 'finish', finishReason: 'stop', totalUsage: usage };
    } else {
      yield { type: 'tool-input-start', id: beat.call, toolName: beat.name };
      const json = JSON.stringify(beat.input);
      for (let i = 0; i < json.length; i += 7) yield { type: 'tool-input-delta', id: beat.call, delta: json.slice(i, i + 7) };
      yield { type: 'tool-call', toolCallId: beat.call, toolName: beat.name, input: beat.input };
      if (beat.runMs) await sleep(beat.runMs);
      if (beat.result !== undefined) yield { type: 'tool-result', toolCallId: beat.call, toolName: beat.name, input: beat.input, output: beat.result };
      if (beat.error !== undefined) yield { type: 'tool-error', toolCallId: beat.call, toolName: beat.name, input: beat.input, error: new Error(beat.error) };
    }
  }
}

/** A promise the test resolves by hand, for a `gate` beat. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
