/**
 * Hostile text for the soak: what a model may really send, cut where a network may really cut it.
 *
 * The whole answer is well-formed UTF-16 (a model's answer arrives as UTF-8 or JSON, neither of which
 * carries a lone surrogate), but it is cut at arbitrary UTF-16 offsets: a delta may end with the high
 * half of an emoji and the next start with its low half, a ZWJ family may be spread over five deltas,
 * `\r\n` may be cut in two. Deltas may be empty. Inside the text: CJK, astral CJK, RTL and bidi
 * overrides, combining marks, zero-width characters, NUL and other controls, noncharacters, markdown and
 * HTML that must stay text.
 */

/** Pieces a text is built from; chosen by weight so a short text still meets most kinds. */
const ATOMS: readonly string[] = [
  // surrogate pairs: emoji, astral CJK, mathematical letters, astral private use
  '😀', '🚀', '𝕏𝔸', '𠀀𠀁', '\u{F0000}', '🦄',
  // ZWJ sequences, skin tones, flags, keycaps, variation selectors
  '👨‍👩‍👧‍👦', '🏳️‍🌈', '👩🏽‍💻', '🇨🇳🇺🇸', '#️⃣', '❤︎', '☺️',
  // combining marks and decomposed Hangul
  'e\u0301', 'a\u0308\u0323', 'Z\u0324\u0354\u0367\u0311\u0343', '\u1100\u1161\u11A8',
  // RTL, bidi controls
  'שלום', 'مرحبا بالعالم', '\u202Eevil\u202C', '\u200F', '\u2067x\u2069',
  // zero-width and invisible
  '\u200B', '\u200C', '\u200D', '\uFEFF', '\u2060', '\u00AD',
  // line breaks of every kind
  '\r\n', '\n', '\r', '\u2028', '\u2029', '\n\n',
  // controls and noncharacters
  '\u0000', '\u0007', '\u001B[31m', '\u007F', '\uFFFE', '\uFFFF', '\uFDD0', '\uE000', '\uFFFD',
  // CJK and friends
  '中文字符测试', '日本語のテキスト', '한국어', '「引号」', '，。！',
  // markup that must stay text
  '**bold**', '`code`', '```js\nalert(1)\n```\n', '<script>alert(1)</script>', '<at id=all></at>',
  '[x](javascript:alert(1))', '| a | b |\n|---|---|\n', '<font color="red">', '\\', '"', '\t',
];

const WORDS: readonly string[] = ['the', 'answer', 'is', 'streamed', 'into', 'a', 'card', 'and', 'every', 'character', 'lands'];

/** A well-formed UTF-16 text of about `units` code units (never cutting a code point). */
export function hostileText(random: () => number, units: number): string {
  let text = '';
  while (text.length < units) {
    const roll = random();
    if (roll < 0.45) text += ATOMS[Math.floor(random() * ATOMS.length)]!;
    else if (roll < 0.9) text += `${WORDS[Math.floor(random() * WORDS.length)]!} `;
    else text += String.fromCodePoint(0x4e00 + Math.floor(random() * 0x5000));
  }
  return text;
}

/** Cuts `text` at arbitrary UTF-16 offsets (inside surrogate pairs too) into pieces of 0..maxPiece units. */
export function splitAnywhere(text: string, random: () => number, maxPiece: number): string[] {
  const pieces: string[] = [];
  let at = 0;
  while (at < text.length) {
    if (random() < 0.04) pieces.push('');
    const length = 1 + Math.floor(random() * random() * maxPiece);
    pieces.push(text.slice(at, at + length));
    at += length;
  }
  return pieces;
}

/** True when the last code unit is a high surrogate: the text ends inside a character. */
export function endsInsideCharacter(text: string): boolean {
  const last = text.charCodeAt(text.length - 1);
  return last >= 0xd800 && last <= 0xdbff;
}

/** The text without a trailing half character. */
export function dropDanglingHigh(text: string): string {
  return endsInsideCharacter(text) ? text.slice(0, -1) : text;
}

/** Size of the text inside a card's JSON, in UTF-8 bytes (the 30 KB card limit counts these). */
export function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text), 'utf8');
}

/** Index of the first UTF-16 unit where `a` and `b` differ; -1 when equal. */
export function firstDifference(a: string, b: string): number {
  if (a === b) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return i;
  return n;
}

/** A short escaped excerpt of `text` around `at`, every code unit visible (lone surrogates as \uXXXX). */
export function excerpt(text: string, at: number, radius = 16): string {
  const start = Math.max(0, at - radius);
  const end = Math.min(text.length, at + radius);
  let out = '';
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    out += code < 0x20 || code === 0x7f || (code >= 0xd800 && code <= 0xdfff) || code > 0x7e ? `\\u${code.toString(16).padStart(4, '0')}` : text[i];
  }
  return `${start > 0 ? '…' : ''}${out}${end < text.length ? '…' : ''}`;
}

/** How `actual` differs from `expected`, for a report line. */
export function describeDifference(expected: string, actual: string): string {
  const at = firstDifference(expected, actual);
  return `lengths ${expected.length} expected / ${actual.length} actual, first difference at unit ${at}: expected "${excerpt(expected, at)}", actual "${excerpt(actual, at)}"`;
}
