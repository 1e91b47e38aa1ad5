/**
 * `session.pipe()` with every source form it accepts (strings, web streams of strings or UTF-8
 * bytes, the real `openai` package's chat and Responses streams), each streamed into a card on the
 * emulator over loopback: what the card holds at the end is exactly what the source said.
 */
import { REASONING_CARD, cardLog } from '../support/session.js';
import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { FeishuClient } from '../../src/client/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, type StartOptions, type StreamSource, type UnhandledEvent, UnrecognizedSourceError } from '../../src/index.js';
import { clientFor } from '../support/client.js';
import { elementText, useEmulator } from '../support/emulator-http.js';
import { type OpenAIServer, useOpenAIServer } from '../support/openai-server.js';

/** Multi-byte UTF-8 of every length (2, 3 and 4 bytes), a ZWJ sequence, a combining mark, markdown. */
const UNICODE_ANSWER = [
  '# 标题\n\n',
  'Ünïcödé: é (e\u0301), ',
  '中文字符, 𠮷野家, ',
  'family 👩‍👩‍👧‍👦 and flag 🇨🇳.\n\n',
  '```ts\nconst x = "`"; // 注释\n```\n',
  '| a | b |\n|---|---|\n| 1 | 2 |',
];

const WITH_REASONING: StartOptions = { card: REASONING_CARD, extraElementIds: ['thinking'] };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function* strings(pieces: readonly unknown[], pauseMs = 0): AsyncGenerator<unknown> {
  for (const piece of pieces) {
    if (pauseMs > 0) await sleep(pauseMs);
    yield piece;
  }
}

/** A pull-based web stream that hands out `chunks` one per read, after `pauseMs`. */
function readable<T>(chunks: readonly T[], pauseMs = 0, onCancel?: () => void): ReadableStream<T> {
  let next = 0;
  return new ReadableStream<T>({
    async pull(controller) {
      if (pauseMs > 0) await sleep(pauseMs);
      if (next < chunks.length) controller.enqueue(chunks[next++]!);
      else controller.close();
    },
    cancel() {
      onCancel?.();
    },
  });
}

describe('CardSession.pipe() sources', () => {
  let emulator: Emulator;
  let client: FeishuClient;
  useEmulator((started) => {
    emulator = started.emulator;
    client = clientFor(emulator).client;
  });

  /** Every text an element held on the emulator, in order, from its first write to the end of the test. */
  function recordTexts(elementId = 'answer'): (cardId: string) => string[] {
    const seen = new Map<string, string[]>();
    emulator.onChange((event) => {
      if (event.type !== 'card' || event.entry?.code !== 0 || event.entry.element_id !== elementId) return;
      const texts = seen.get(event.cardId) ?? [];
      texts.push(elementText(emulator, event.cardId, elementId) ?? '');
      seen.set(event.cardId, texts);
    });
    return (cardId) => seen.get(cardId) ?? [];
  }

  function expectClosed(cardId: string): void {
    expect(emulator.card(cardId)?.streaming_mode).toBe(false);
  }

  describe('plain text sources', () => {
    it('an async generator of strings lands exactly, empty strings included', async () => {
      const pieces = ['', ...UNICODE_ANSWER, '', ' and the end.'];
      const session = await CardSession.start(client);
      const result = await session.pipe(strings(pieces, 15));

      const answer = pieces.join('');
      expect(elementText(emulator, session.cardId!)).toBe(answer);
      expect(result.text).toBe(answer);
      expect(result.aborted).toBe(false);
      expectClosed(session.cardId!);
    });

    it('a web ReadableStream of strings lands exactly', async () => {
      const session = await CardSession.start(client);
      const result = await session.pipe(readable(UNICODE_ANSWER, 10));

      const answer = UNICODE_ANSWER.join('');
      expect(elementText(emulator, session.cardId!)).toBe(answer);
      expect(result.text).toBe(answer);
      expectClosed(session.cardId!);
    });

    it('a ReadableStream of UTF-8 bytes cut inside multi-byte characters lands exactly, and no write ever shows a broken character', async () => {
      const answer = UNICODE_ANSWER.join('');
      const bytes = new TextEncoder().encode(answer);
      // Chunks of 1, 2, 3, 5, 1, 2, 3, 5 … bytes: most cuts fall inside a 2-, 3- or 4-byte character.
      const sizes = [1, 2, 3, 5];
      const chunks: Uint8Array[] = [];
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const size = sizes[i % sizes.length]!;
        chunks.push(bytes.slice(at, at + size));
        at += size;
      }
      const strict = new TextDecoder('utf-8', { fatal: true });
      const cutInside = chunks.filter((chunk) => {
        try {
          strict.decode(chunk);
          return false;
        } catch {
          return true;
        }
      });
      expect(cutInside.length).toBeGreaterThan(10);

      const texts = recordTexts();
      const session = await CardSession.start(client);
      // A pause before every chunk lets writes go out while a character is still half-read.
      const result = await session.pipe(readable(chunks, 2));

      expect(elementText(emulator, session.cardId!)).toBe(answer);
      expect(result.text).toBe(answer);
      expect(texts(session.cardId!).length).toBeGreaterThan(1);
      for (const text of texts(session.cardId!)) {
        expect(text).not.toContain('\uFFFD');
        expect(answer.startsWith(text)).toBe(true);
      }
    });
  });

  describe('the openai package (v6) against an OpenAI-compatible server', () => {
    let server: OpenAIServer;
    let openai: OpenAI;
    useOpenAIServer((started) => ({ server, openai } = started));

    const chat = () =>
      openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'Say something' }], stream: true });
    const responses = () => openai.responses.create({ model: 'm', input: 'Say something', stream: true });

    it('chat.completions.create({ stream: true }) lands exactly the streamed answer', async () => {
      server.script = { answer: UNICODE_ANSWER };
      const session = await CardSession.start(client);
      const result = await session.pipe(await chat());

      const answer = UNICODE_ANSWER.join('');
      expect(elementText(emulator, session.cardId!)).toBe(answer);
      expect(result.text).toBe(answer);
      expectClosed(session.cardId!);
      expect(server.requests.at(-1)).toMatchObject({ path: '/v1/chat/completions', body: { model: 'm', stream: true } });
    });

    it('responses.create({ stream: true }) lands exactly the streamed answer', async () => {
      server.script = { answer: UNICODE_ANSWER };
      const session = await CardSession.start(client);
      const result = await session.pipe(await responses());

      const answer = UNICODE_ANSWER.join('');
      expect(elementText(emulator, session.cardId!)).toBe(answer);
      expect(result.text).toBe(answer);
      expectClosed(session.cardId!);
      expect(server.requests.at(-1)).toMatchObject({ path: '/v1/responses', body: { model: 'm', stream: true } });
    });

    it('chat delta.reasoning_content goes to the reasoningElementId of an own card, the answer to the answer', async () => {
      const reasoning = ['Let me think', ' about 中文…', '\n- step 1'];
      server.script = { reasoning, answer: UNICODE_ANSWER };
      const session = await CardSession.start(client, WITH_REASONING);
      const result = await session.pipe(await chat(), { reasoningElementId: 'thinking' });

      expect(elementText(emulator, session.cardId!, 'thinking')).toBe(reasoning.join(''));
      expect(elementText(emulator, session.cardId!, 'answer')).toBe(UNICODE_ANSWER.join(''));
      expect(result.texts).toEqual({ answer: UNICODE_ANSWER.join(''), thinking: reasoning.join('') });
      expectClosed(session.cardId!);
    });

    it('chat delta.reasoning_content is dropped when no reasoningElementId is given', async () => {
      server.script = { reasoning: ['secret thoughts'], answer: ['Just ', 'the answer.'] };
      const session = await CardSession.start(client, WITH_REASONING);
      const result = await session.pipe(await chat());

      expect(elementText(emulator, session.cardId!, 'answer')).toBe('Just the answer.');
      expect(elementText(emulator, session.cardId!, 'thinking')).toBe('');
      expect(emulator.card(session.cardId!)?.log.filter((entry) => entry.element_id === 'thinking')).toEqual([]);
      expect(result.texts).toEqual({ answer: 'Just the answer.', thinking: '' });
    });

    it('chat delta.reasoning_content is dropped on the default card, whose only element is the answer', async () => {
      server.script = { reasoning: ['secret thoughts'], answer: ['Just ', 'the answer.'] };
      const session = await CardSession.start(client);
      const result = await session.pipe(await chat());

      expect(elementText(emulator, session.cardId!)).toBe('Just the answer.');
      expect(result.texts).toEqual({ answer: 'Just the answer.' });
    });

    it('Responses reasoning summary deltas go to the reasoningElementId, output text to the answer', async () => {
      const reasoning = ['First, ', 'the question.'];
      server.script = { reasoning, answer: UNICODE_ANSWER };
      const session = await CardSession.start(client, WITH_REASONING);
      await session.pipe(await responses(), { reasoningElementId: 'thinking' });

      expect(elementText(emulator, session.cardId!, 'thinking')).toBe(reasoning.join(''));
      expect(elementText(emulator, session.cardId!, 'answer')).toBe(UNICODE_ANSWER.join(''));
    });
  });

  describe('sources pipe() cannot read', () => {
    it('a chunk of another kind inside a known source (a number among strings) is reported as unhandled, never dropped silently; the rest lands', async () => {
      const session = await CardSession.start(client);
      const unhandled: UnhandledEvent[] = [];
      session.on('unhandled', (event) => unhandled.push(event));
      const result = await session.pipe(strings(['What ', 'arrived', 42, ' next'], 10));
      expect(elementText(emulator, session.cardId!)).toBe('What arrived next');
      expect(unhandled).toEqual([{ source: 'text', type: 'number', count: 1 }]);
      expect(result.unhandled).toEqual({ 'text: number': 1 });
      expectClosed(session.cardId!);
    });

    it('a first chunk of no known shape is an UnrecognizedSourceError naming what arrived; nothing is written, the source is cancelled and the session stays open', async () => {
      let cancelled = false;
      const session = await CardSession.start(client);
      const piping = session.pipe(readable<unknown>([{ token: 'x', secret: 'never shown' }, 'never'], 5, () => (cancelled = true)));
      const error = await piping.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(UnrecognizedSourceError);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain('an object with keys token, secret');
      expect((error as Error).message).not.toContain('never shown');
      expect(cancelled).toBe(true);
      expect(cardLog(emulator, session.cardId!)).toEqual([]);
      expect(session.state).toBe('open');
      const result = await session.pipe(strings(['a second source'], 1));
      expect(result.text).toBe('a second source');
    });

    it.each([
      ['a number', 42],
      ['null', null],
      ['a plain object', { text: 'hello' }],
      ['a string', 'hello'],
    ])('a source that is not iterable (%s) rejects with a TypeError and writes nothing', async (_, source) => {
      const session = await CardSession.start(client);
      await expect(session.pipe(source as unknown as StreamSource)).rejects.toThrow(TypeError);
      expect(cardLog(emulator, session.cardId!)).toEqual([]);
    });
  });
});
