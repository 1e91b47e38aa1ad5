/**
 * What one soak session does, decided up front from the seed: how its text is fed (append, setText
 * snapshots, or pipe() of strings, openai chat chunks, Responses events, a byte stream, or a source that
 * fails), the deltas and the pauses between them, and how it ends (finish, abort by call or by signal at
 * a random point, or the source failing).
 */
import type { Recipient } from '../../src/session/index.js';
import { dropDanglingHigh, hostileText, jsonBytes, splitAnywhere } from './text.js';

export type Mode = 'append' | 'snapshots' | 'pipe-strings' | 'pipe-chat' | 'pipe-responses' | 'pipe-bytes' | 'pipe-failing';

export type Ending =
  | { kind: 'finish'; lateAbort: boolean }
  | { kind: 'abort'; at: number; via: 'call' | 'signal' }
  | { kind: 'source-fails'; at: number };

export interface SessionPlan {
  /** `slot.n`: the n-th session of a concurrent slot. */
  name: string;
  mode: Mode;
  /** The whole answer the model would give. */
  text: string;
  /** Deltas (append, pipe) or accumulated snapshots (setText). */
  pieces: string[];
  /** Pause before each piece, ms. */
  gaps: number[];
  ending: Ending;
  to: Recipient | undefined;
  title: string | undefined;
}

const MODES: readonly (readonly [Mode, number])[] = [
  ['append', 30],
  ['snapshots', 8],
  ['pipe-strings', 15],
  ['pipe-chat', 15],
  ['pipe-responses', 8],
  ['pipe-bytes', 10],
  ['pipe-failing', 7],
];

/** The answer's JSON must leave room in the 30 KB card for the header and the interrupted marker. */
const MAX_TEXT_JSON_BYTES = 14_000;

/** One of `weighted`'s values, drawn with its weight. */
export function pick<T>(random: () => number, weighted: readonly (readonly [T, number])[]): T {
  const total = weighted.reduce((sum, [, w]) => sum + w, 0);
  let roll = random() * total;
  for (const [value, weight] of weighted) {
    roll -= weight;
    if (roll < 0) return value;
  }
  return weighted[weighted.length - 1]![0];
}

export function planSession(random: () => number, name: string): SessionPlan {
  const mode = pick(random, MODES);
  let text = random() < 0.03 ? '' : hostileText(random, 20 + Math.floor(random() ** 2 * 1500));
  while (jsonBytes(text) > MAX_TEXT_JSON_BYTES) text = dropDanglingHigh(text.slice(0, Math.floor(text.length * 0.8)));
  let pieces = splitAnywhere(text, random, 24);
  if (mode === 'snapshots') {
    // Accumulated text, as some sources give it: each snapshot a longer prefix, cut anywhere.
    let end = 0;
    pieces = pieces.map((piece) => text.slice(0, (end += piece.length)));
  }
  let idle = 0;
  const gaps = pieces.map(() => {
    if (idle < 2 && random() < 0.015) {
      idle++;
      return 1500 + Math.floor(random() * 3500); // a model calling a tool: nothing for seconds
    }
    return Math.floor(random() ** 2 * 60);
  });
  const at = Math.floor(random() * (pieces.length + 1));
  let ending: Ending;
  if (mode === 'pipe-failing') ending = { kind: 'source-fails', at };
  else if (random() < 0.35) ending = { kind: 'abort', at, via: random() < 0.5 ? 'call' : 'signal' };
  else ending = { kind: 'finish', lateAbort: random() < 0.08 };
  const roll = random();
  const to: Recipient | undefined =
    roll < 0.55 ? { chat_id: `oc_soak_${name}` } : roll < 0.7 ? { open_id: `ou_soak_${name}` } : undefined;
  const title = random() < 0.5 ? hostileText(random, 12) : undefined;
  return { name, mode, text, pieces, gaps, ending, to, title };
}
