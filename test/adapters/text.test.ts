/**
 * Plain text sources: strings, and bytes (UTF-8 text, or NDJSON / SSE of a known source, told apart
 * by their first line).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AnswerEvent, SourceAdapter } from '../../src/adapters/answer-events.js';
import { openaiChatAdapter, openaiResponsesAdapter } from '../../src/adapters/openai.js';
import { DETECTION_LIMIT, bytesAdapter, isBytes, textAdapter } from '../../src/adapters/text.js';
import { eventsFrom, textsOf } from '../support/adapters.js';

const utf8 = new TextEncoder();
const bytes = bytesAdapter([openaiChatAdapter, openaiResponsesAdapter]);

/** `text`'s UTF-8 bytes, cut at the given byte offsets. */
function cut(text: string, offsets: readonly number[] = []): Uint8Array[] {
  const all = utf8.encode(text);
  const points = [...new Set([0, ...offsets.map((offset) => Math.min(offset, all.length)), all.length])].sort((a, b) => a - b);
  return points.slice(1).map((end, index) => all.slice(points[index], end));
}

/** Every byte on its own: the finest cut, splitting every multi-byte character. */
const byteByByte = (text: string) => cut(text, [...utf8.encode(text).keys()]);

const chatChunk = (delta: Record<string, unknown>, finish_reason: string | null = null) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 0,
  model: 'm',
  choices: [{ index: 0, delta, finish_reason }],
});
const CHAT_CHUNKS = [
  chatChunk({ role: 'assistant', content: '' }),
  chatChunk({ reasoning_content: '想一想' }),
  chatChunk({ content: 'Hello 👩‍👩‍👧' }),
  chatChunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":' } }] }),
  chatChunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
  chatChunk({}, 'tool_calls'),
];
const CHAT_EVENTS: AnswerEvent[] = [
  { kind: 'reasoning', text: '想一想' },
  { kind: 'answer', text: 'Hello 👩‍👩‍👧' },
  { kind: 'tool-start', id: 'call_1', name: 'f' },
  { kind: 'tool-input', id: 'call_1', delta: '{"a":' },
  { kind: 'tool-input', id: 'call_1', delta: '1}' },
  { kind: 'tool-call', id: 'call_1', name: 'f', input: { a: 1 } },
  { kind: 'finish', reason: 'tool_calls' },
];
const NDJSON = CHAT_CHUNKS.map((chunk) => `${JSON.stringify(chunk)}\n`).join('');
const SSE = `${CHAT_CHUNKS.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('')}data: [DONE]\n\n`;

describe('textAdapter: strings', () => {
  it('each non-empty string is a piece of the answer; empty strings are nothing', async () => {
    const events = await eventsFrom(textAdapter, ['', 'Hello', '', ' 世界 👋', '']);

    expect(events).toEqual([
      { kind: 'answer', text: 'Hello' },
      { kind: 'answer', text: ' 世界 👋' },
    ]);
  });

  it('a string that looks like JSON is still text', async () => {
    expect(textsOf(await eventsFrom(textAdapter, [NDJSON])).answer).toBe(NDJSON);
  });

  it('a chunk that is not a string is reported as unhandled', async () => {
    const events = await eventsFrom(textAdapter, ['a', 42, { content: 'b' }, null]);

    expect(events).toEqual([
      { kind: 'answer', text: 'a' },
      { kind: 'unhandled', source: 'text', type: 'number' },
      { kind: 'unhandled', source: 'text', type: 'object' },
      { kind: 'unhandled', source: 'text', type: 'null' },
    ]);
  });

  it('matches strings only', () => {
    expect(textAdapter.matches('')).toBe(true);
    expect(textAdapter.matches(utf8.encode('a'))).toBe(false);
    expect(textAdapter.matches({ type: 'text-delta', text: 'a' })).toBe(false);
  });
});

describe('bytesAdapter: UTF-8 text', () => {
  it('keeps characters split between chunks whole (2-, 3- and 4-byte characters, ZWJ sequences, combining marks)', async () => {
    const text = 'é (e\u0301), 中文, 𠮷, 👩‍👩‍👧‍👦 🇨🇳';
    const events = await eventsFrom(bytes, byteByByte(text));

    expect(textsOf(events)).toEqual({ answer: text, reasoning: '' });
    expect(events.every((event) => event.kind === 'answer' && !event.text.includes('\uFFFD'))).toBe(true);
  });

  it('any cut of any Unicode string’s UTF-8 bytes decodes to exactly that string', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary' }), fc.array(fc.nat({ max: 400 })), async (text, offsets) => {
        const events = await eventsFrom(bytes, cut(text, offsets));
        expect(events.every((event) => event.kind === 'answer')).toBe(true);
        expect(textsOf(events).answer).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('any cut of text that starts like JSON or SSE but is not decodes to exactly that text', async () => {
    const starts = fc.constantFrom('{', '{"', '{ "a": 1 }\n', '{"choices": 1}\n', 'data:', 'data: ', 'data: {"x":1}\n\n', ': comment\n', 'event: x\n', 'id', '\n\n');
    await fc.assert(
      fc.asyncProperty(starts, fc.string({ unit: 'binary' }), fc.array(fc.nat({ max: 80 })), async (start, rest, offsets) => {
        const text = start + rest;
        const events = await eventsFrom(bytes, cut(text, offsets));
        expect(textsOf(events).answer).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('plain text that merely starts with { but is not JSON stays text, whole', async () => {
    for (const text of ['{not json} at all\nand more', '{"key" is how you write it\nnext line', '{\n  "pretty": "JSON, as a model writes it"\n}\n', '{"a": 1}\n{"b": 2}\n']) {
      const events = await eventsFrom(bytes, byteByByte(text));
      expect(textsOf(events).answer, text).toBe(text);
    }
  });

  it('text that starts like SSE but carries no JSON of a known source stays text', async () => {
    for (const text of ['data: hello\n\nworld', ': a comment\nthen plain text', 'data: {"type":"unknown-sdk"}\n\n', 'identity matters']) {
      expect(textsOf(await eventsFrom(bytes, byteByByte(text))).answer, text).toBe(text);
    }
  });

  it('plain text is handed out as it comes, not held back', () => {
    const reader = bytes.reader();

    expect(reader.read(utf8.encode('Hello'))).toEqual([{ kind: 'answer', text: 'Hello' }]);
    expect(reader.read(utf8.encode(', {"world": 1}\n'))).toEqual([{ kind: 'answer', text: ', {"world": 1}\n' }]);
  });

  it('a start that looks like JSON is held at most DETECTION_LIMIT characters, then shown as text', () => {
    const reader = bytes.reader();
    const piece = `{"${'x'.repeat(64 * 1024)}`;
    const held = Math.floor(DETECTION_LIMIT / piece.length);

    for (let index = 0; index < held; index++) expect(reader.read(utf8.encode(piece))).toHaveLength(0);
    const shown = textsOf(reader.read(utf8.encode(piece))).answer;
    expect(shown.length).toBe(piece.length * (held + 1));
    expect(shown === piece.repeat(held + 1)).toBe(true);
  });

  it('a first line that never ends is held only until the stream ends', async () => {
    const events = await eventsFrom(bytes, cut('{"choices": [] and so on', [3, 9]));
    expect(events).toEqual([{ kind: 'answer', text: '{"choices": [] and so on' }]);
  });

  it('accepts any byte chunk: Uint8Array, Node Buffer, ArrayBuffer, another typed array view', async () => {
    const source = [utf8.encode('a'), Buffer.from('b'), utf8.encode('c').buffer, new DataView(utf8.encode('xdx').buffer, 1, 1)];
    expect(textsOf(await eventsFrom(bytes, source)).answer).toBe('abcd');
  });

  it('a chunk that is not bytes is reported as unhandled', async () => {
    const events = await eventsFrom(bytes, [utf8.encode('a'), 'b', 7]);

    expect(events).toEqual([
      { kind: 'answer', text: 'a' },
      { kind: 'unhandled', source: 'UTF-8 bytes', type: 'string' },
      { kind: 'unhandled', source: 'UTF-8 bytes', type: 'number' },
    ]);
  });

  it('matches bytes only', () => {
    expect(bytes.matches(new Uint8Array())).toBe(true);
    expect(bytes.matches(new ArrayBuffer(1))).toBe(true);
    expect(bytes.matches('text')).toBe(false);
    expect(bytes.matches([1, 2])).toBe(false);
    expect(isBytes(Buffer.from('x'))).toBe(true);
  });
});

describe('bytesAdapter: NDJSON and SSE of a known source', () => {
  it('NDJSON lines (toReadableStream()) are parsed and read by the adapter that matches the first line', async () => {
    expect(await eventsFrom(bytes, cut(NDJSON))).toEqual(CHAT_EVENTS);
  });

  it('SSE data lines (an HTTP body) are parsed and read the same way; [DONE] is nothing', async () => {
    expect(await eventsFrom(bytes, cut(SSE))).toEqual(CHAT_EVENTS);
  });

  it('any cut of an NDJSON or SSE stream gives the same events', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(NDJSON, SSE), fc.array(fc.nat({ max: 2000 }), { maxLength: 30 }), async (stream, offsets) => {
        expect(await eventsFrom(bytes, cut(stream, offsets))).toEqual(CHAT_EVENTS);
      }),
      { numRuns: 200 },
    );
  });

  it('reads SSE as the spec writes it: CRLF and CR line ends, event: and id: fields, comments, data split over lines', async () => {
    const [first, second] = [JSON.stringify(chatChunk({ content: 'Hi' })), JSON.stringify(chatChunk({ content: ' there' }))];
    const split = second.indexOf(',') + 1; // between two members, where a line break is JSON whitespace
    const stream =
      `: keep-alive\r\n\r\nevent: chunk\r\nid: 1\r\ndata: ${first}\r\n\r\n` +
      `retry: 1000\rdata:${second.slice(0, split)}\rdata:${second.slice(split)}\r\r` +
      `data: ${JSON.stringify(chatChunk({}, 'stop'))}`; // the last event, without its blank line

    const events = await eventsFrom(bytes, byteByByte(stream));
    expect(events).toEqual([
      { kind: 'answer', text: 'Hi' },
      { kind: 'answer', text: ' there' }, // the two data lines, joined by \n: still the same JSON
      { kind: 'finish', reason: 'stop' },
    ]);
  });

  it('the first parsed object picks the adapter, in the order given; the NDJSON of no known source is text', async () => {
    const seen: unknown[] = [];
    const custom: SourceAdapter = {
      name: 'custom',
      matches: (chunk) => (chunk as { kind?: unknown }).kind === 'custom',
      reader: () => ({ read: (chunk) => (seen.push(chunk), []) }),
    };
    const lines = '{"kind":"custom","n":1}\n{"kind":"custom","n":2}\n';

    expect(await eventsFrom(bytesAdapter([openaiChatAdapter, custom]), cut(lines, [5]))).toEqual([]);
    expect(seen).toEqual([
      { kind: 'custom', n: 1 },
      { kind: 'custom', n: 2 },
    ]);
    expect(textsOf(await eventsFrom(bytes, cut(lines))).answer).toBe(lines);
  });

  it('a line of a known source’s stream that is not JSON is reported as unhandled', async () => {
    const stream = `${JSON.stringify(chatChunk({ content: 'a' }))}\n{"cut off\n${JSON.stringify(chatChunk({ content: 'b' }))}\n`;

    expect(await eventsFrom(bytes, cut(stream))).toEqual([
      { kind: 'answer', text: 'a' },
      { kind: 'unhandled', source: 'openai chat completion chunks', type: 'a line that is not JSON' },
      { kind: 'answer', text: 'b' },
    ]);
  });

  it('the inner reader’s end() runs at the stream’s end (a tool call still open is completed)', async () => {
    const stream = [
      chatChunk({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', arguments: '{}' } }] }),
    ].map((chunk) => `${JSON.stringify(chunk)}\n`);

    expect((await eventsFrom(bytes, cut(stream.join('')))).at(-1)).toEqual({ kind: 'tool-call', id: 'call_1', name: 'f', input: {} });
  });

  it('a wrong adapters list is a TypeError naming what it received', () => {
    expect(() => bytesAdapter('openai' as never)).toThrow(new TypeError('bytesAdapter(adapters): adapters must be an array of source adapters; received string'));
    expect(() => bytesAdapter([openaiChatAdapter, {} as never])).toThrow(/adapters\[1\] is not a source adapter/);
  });
});
