/**
 * Property tests of CardSession against a real emulator over loopback: any text, cut anywhere and
 * appended with any timing, lands exactly; writes to one card are serialized with strictly
 * increasing sequences (reference §12.6, §15); and a card never gets more than Feishu's 10 writes
 * a second (§16). The emulator keeps the per-card limit at Feishu's 10/s, so the session's own
 * pacing is what is tested; the per-API limits are raised out of the way.
 */
import { REASONING_CARD } from '../support/session.js';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FeishuClient } from '../../src/client/index.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { CardSession, type SessionResult, type StartOptions } from '../../src/index.js';
import { clientFor } from '../support/client.js';
import { elementText } from '../support/emulator-http.js';

/** Feishu's per-card limit (reference §16). */
const CARD_QPS = 10;
const RUN_TIMEOUT_MS = 180_000;

// ---------------------------------------------------------------------------------------------
// Inputs

/** Fragments that break naive text handling: markdown and code fences, ZWJ and flag sequences, combining marks, astral CJK. */
const TRICKY = [
  '```',
  '```ts\n',
  '\n```\n',
  '`',
  '**',
  '_',
  '# ',
  '- ',
  '| a | b |\n|---|---|\n',
  '\n',
  '\n\n',
  ' ',
  '\t',
  '\\',
  '"',
  '<at id=all></at>',
  '中文',
  '𠮷',
  '😀',
  '👍🏽',
  '👩‍👩‍👧‍👦',
  '🇨🇳',
  'e\u0301',
  'a\u0300\u0316',
  '\u200d',
  '\ufe0f',
  'مرحبا',
];

const textUnit = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
);

/** Any Unicode text, short: between `minLength` and `maxLength` units (a unit may be several code points). */
const anyText = (maxLength: number, minLength = 0) => fc.string({ unit: textUnit, minLength, maxLength });

/**
 * What happens after a delta is appended: -1 nothing (the next delta follows in the same tick, a
 * burst), 0 one macrotask, n > 0 a timer of n ms.
 */
const pauseOf = (maxMs: number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(-1) },
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: maxMs }) },
  );

interface Step {
  piece: string;
  pause: number;
  elementId: string;
}

interface Deltas {
  /** What the deltas add up to, per element. */
  texts: Record<string, string>;
  steps: Step[];
}

/**
 * Each element's text cut at random UTF-16 offsets (so also between the halves of a surrogate pair,
 * and at both ends, which gives empty deltas), the deltas interleaved across elements in a random
 * order, each followed by a random pause.
 */
function deltas(elementIds: readonly string[], text: fc.Arbitrary<string>, pause: fc.Arbitrary<number>, maxCuts = 30): fc.Arbitrary<Deltas> {
  const perElement = text.chain((t) =>
    fc
      .uniqueArray(fc.integer({ min: 0, max: t.length }), { maxLength: Math.min(maxCuts, t.length + 1) })
      .map((cuts) => ({ text: t, pieces: piecesOf(t, cuts) })),
  );
  return fc
    .tuple(fc.tuple(...elementIds.map(() => perElement)), fc.infiniteStream(pause), fc.infiniteStream(fc.nat()))
    .map(([cut, pauses, picks]) => {
      const queues = cut.map((c, i) => ({ elementId: elementIds[i]!, pieces: [...c.pieces] }));
      const steps: Step[] = [];
      for (;;) {
        const open = queues.filter((q) => q.pieces.length > 0);
        if (open.length === 0) break;
        const queue = open[take(picks) % open.length]!;
        steps.push({ piece: queue.pieces.shift()!, pause: take(pauses), elementId: queue.elementId });
      }
      return { texts: Object.fromEntries(cut.map((c, i) => [elementIds[i]!, c.text])), steps };
    });
}

function take(stream: fc.Stream<number>): number {
  return stream.next().value as number;
}

function piecesOf(text: string, cuts: number[]): string[] {
  const at = [0, ...[...cuts].sort((a, b) => a - b), text.length];
  return at.slice(1).map((end, i) => text.slice(at[i], end));
}

/** One delta per UTF-16 code unit, each followed by `pauseMs`: lone surrogate halves, one after the other. */
function codeUnitByCodeUnit(text: string, pauseMs: number, elementId = 'answer'): Deltas {
  return { texts: { [elementId]: text }, steps: [...Array(text.length).keys()].map((i) => ({ piece: text[i]!, pause: pauseMs, elementId })) };
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
/** Half a surrogate pair: a high half not followed by a low one, or a low half not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// ---------------------------------------------------------------------------------------------
// Running a session

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pause(ms: number): Promise<void> {
  if (ms < 0) return;
  if (ms === 0) await new Promise((resolve) => setImmediate(resolve));
  else await sleep(ms);
}

/** A card of one's own with two streamed markdown elements, so one card gets writes to two elements. */
const TWO_ELEMENT_CARD: StartOptions = { card: REASONING_CARD, extraElementIds: ['thinking'] };

describe('CardSession properties against the emulator', () => {
  let emulator: Emulator;
  let client: FeishuClient;
  /** Per card and element, every text the emulator held after an accepted write, in order. */
  const held = new Map<string, string[]>();

  beforeAll(async () => {
    emulator = await startEmulator({ limits: { apiQps: 100_000, apiQpm: 10_000_000, cardQps: CARD_QPS } });
    client = clientFor(emulator).client;
    emulator.onChange((event) => {
      if (event.type !== 'card' || event.entry?.code !== 0 || event.entry.element_id === undefined) return;
      const key = `${event.cardId}/${event.entry.element_id}`;
      const texts = held.get(key) ?? [];
      texts.push(elementText(emulator, event.cardId, event.entry.element_id) ?? '');
      held.set(key, texts);
    });
  });
  afterAll(() => emulator.close());
  afterEach(() => emulator.faults.clear());

  async function stream(input: Deltas, options: StartOptions = {}): Promise<{ cardId: string; result: SessionResult }> {
    const session = await CardSession.start(client, options);
    // The write that opened streaming mode holds the card's next slot for one card spacing: wait it out,
    // so the timing of the appends (not the opening) decides how the text is cut into writes.
    await sleep(1000 / CARD_QPS + 20);
    for (const step of input.steps) {
      session.append(step.piece, step.elementId);
      await pause(step.pause);
    }
    const result = await session.finish();
    return { cardId: session.cardId!, result };
  }

  /** The card's log without its creation: every write attempt that reached the card, accepted or not. */
  function writes(cardId: string) {
    const card = emulator.card(cardId);
    if (!card) throw new Error(`the emulator has no card ${cardId}`);
    return card.log.filter((entry) => entry.endpoint !== 'cardkit.card.create');
  }

  function rejected(code: number): number {
    return emulator.stats().rejected[String(code)] ?? 0;
  }

  /** The most log entries that arrived within any 1 s window (a window [t, t + 1000) starting at an entry). */
  function busiestSecond(times: number[]): number {
    const sorted = [...times].sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; i < sorted.length; i++) {
      while (j < sorted.length && sorted[j]! < sorted[i]! + 1000) j++;
      most = Math.max(most, j - i);
    }
    return most;
  }

  it(
    'any text, cut anywhere (inside surrogate pairs too) and appended with any timing, lands exactly',
    async () => {
      let cutPairs = 0;
      let severalWrites = 0;
      await fc.assert(
        fc.asyncProperty(deltas(['answer'], anyText(48), pauseOf(25)), async (input) => {
          const text = input.texts.answer!;
          const { cardId, result } = await stream(input);

          expect(elementText(emulator, cardId)).toBe(text);
          expect(result.text).toBe(text);
          // Appends only ever add to the text: every text the card showed was a prefix of the answer.
          for (const shown of held.get(`${cardId}/answer`) ?? []) expect(text.startsWith(shown)).toBe(true);
          if (input.steps.some((s) => s.piece !== '' && isHighSurrogate(s.piece.charCodeAt(s.piece.length - 1)))) cutPairs++;
          if ((held.get(`${cardId}/answer`)?.length ?? 0) > 1) severalWrites++;
        }),
        {
          numRuns: 25,
          examples: [
            [codeUnitByCodeUnit('👩‍👩‍👧‍👦🇨🇳𠮷', 12)],
            [codeUnitByCodeUnit('😀😀😀😀😀😀😀😀', 0)],
            [codeUnitByCodeUnit('```ts\nconst 中 = "😀";\n```', -1)],
          ],
        },
      );
      // The inputs did cut between the halves of surrogate pairs, and text did land in several writes.
      expect(cutPairs).toBeGreaterThan(2);
      expect(severalWrites).toBeGreaterThan(2);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'a delta ending in half a surrogate pair is not written on its own: every text a write carries is well-formed',
    async () => {
      // The platform decodes JSON into UTF-8 text, where half a pair cannot exist: it would show as
      // U+FFFD, and the next write would no longer extend the text shown (reference §12.2, prefix rule).
      const input = codeUnitByCodeUnit('😀😀😀😀😀😀😀😀😀😀', 25);
      const { cardId, result } = await stream(input);

      expect(result.text).toBe(input.texts.answer);
      const shown = held.get(`${cardId}/answer`) ?? [];
      expect(shown.length).toBeGreaterThan(1);
      // JSON-escaped, so a failure shows the halves ("\ud83d") rather than a replacement character.
      expect(shown.filter((text) => LONE_SURROGATE.test(text)).map((text) => JSON.stringify(text))).toEqual([]);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'accepted sequences strictly increase on every card, and no write is refused with 300317, also with two cards streaming at once',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          deltas(['answer'], anyText(32), pauseOf(30)),
          deltas(['answer'], anyText(32), pauseOf(30)),
          async (first, second) => {
            const runs = await Promise.all([stream(first), stream(second)]);
            for (const { cardId, result } of runs) {
              const entries = writes(cardId);
              const accepted = entries.filter((e) => e.code === 0).map((e) => e.sequence ?? Number.NaN);
              expect(accepted.length).toBeGreaterThan(0);
              expect(accepted[0]).toBeGreaterThanOrEqual(1);
              for (let i = 1; i < accepted.length; i++) expect(accepted[i]).toBeGreaterThan(accepted[i - 1]!);
              expect(entries.filter((e) => e.code === 300317)).toEqual([]);
              expect(emulator.card(cardId)?.sequence).toBe(result.sequence);
            }
            expect(rejected(300317)).toBe(0);
          },
        ),
        { numRuns: 20 },
      );
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'at most one write is in flight per card, also with two elements and injected latency of 20-60 ms or above the card spacing',
    async () => {
      // [low, high] ms of latency on every request; 120-200 ms outlasts the governor's 110 ms per-card spacing.
      const latencies = fc.constantFrom(null, [20, 60] as const, [120, 200] as const);
      await fc.assert(
        fc.asyncProperty(deltas(['answer', 'thinking'], anyText(24), pauseOf(30)), latencies, async (input, latency) => {
          emulator.faults.clear();
          if (latency) emulator.faults.add({ kind: 'latency', latencyMs: latency[0], latencyMaxMs: latency[1] });
          const { cardId, result } = await stream(input, TWO_ELEMENT_CARD);

          // finish() always writes (it closes streaming mode), so the card saw at least one request.
          expect(emulator.card(cardId)?.max_in_flight).toBe(1);
          expect(result.texts).toEqual(input.texts);
          expect(elementText(emulator, cardId, 'answer')).toBe(input.texts.answer);
          expect(elementText(emulator, cardId, 'thinking')).toBe(input.texts.thinking);
        }),
        { numRuns: 15 },
      );
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'never more than 10 writes to one card arrive in any second, and none is refused with 230020',
    async () => {
      let busiest = 0;
      const steady: Deltas = {
        texts: { answer: 'x'.repeat(45) },
        steps: Array.from({ length: 45 }, () => ({ piece: 'x', pause: 30, elementId: 'answer' })),
      };
      await fc.assert(
        fc.asyncProperty(
          deltas(['answer'], anyText(60, 15), pauseOf(70), 45),
          fc.boolean(),
          async (input, latency) => {
            emulator.faults.clear();
            if (latency) emulator.faults.add({ kind: 'latency', latencyMs: 20, latencyMaxMs: 60 });
            const { cardId } = await stream(input);

            const entries = writes(cardId);
            // Every write attempt that reached the card counts, accepted or not.
            const most = busiestSecond(entries.map((e) => e.time));
            expect(most).toBeLessThanOrEqual(CARD_QPS);
            expect(busiestSecond(entries.filter((e) => e.code === 0).map((e) => e.time))).toBeLessThanOrEqual(CARD_QPS);
            expect(entries.filter((e) => e.code === 230020)).toEqual([]);
            expect(rejected(230020)).toBe(0);
            busiest = Math.max(busiest, most);
          },
        ),
        { numRuns: 8, examples: [[steady, false], [steady, true]] },
      );
      // Some runs streamed long enough to press against the limit (the governor spaces a card's
      // writes 110 ms apart, so 9 or 10 fit in a second), so the bound above was really tested.
      expect(busiest).toBeGreaterThanOrEqual(7);
    },
    RUN_TIMEOUT_MS,
  );
});
