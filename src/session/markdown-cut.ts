/**
 * Where a long markdown answer may be cut so that each part renders as the whole did (reference §14,
 * §21, §27): the platform caps a card at 30 KB and a markdown element at 4 tables, so a long answer must
 * continue in another element or card. A cut never falls inside a grapheme cluster or a surrogate pair,
 * a link, or a table row; it prefers the end of a paragraph, then of a line, then a space. A cut inside
 * a code fence closes the fence on the first part and reopens it (same marker and info string) on the
 * next; a cut inside a table repeats its header row and delimiter row on the next part.
 */

/** Longest text a part may hold, measured as UTF-8 bytes of the text JSON-escaped (what it adds to a card). */
export interface CutLimit {
  maxBytes: number;
}

export interface Cut {
  /** The part before the cut is `text.slice(0, index)`; the rest starts at `index`. Always above 0 when the text is not empty. */
  index: number;
  /** Appended to the first part (closes a code fence left open by the cut); `''` when none. */
  close: string;
  /** Put before the rest (reopens the fence, or repeats a table's header); `''` when none. */
  reopen: string;
}

/** Bytes a UTF-16 code unit adds to a JSON string (a surrogate pair's two halves add 4 together). */
function jsonCost(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x22 || c === 0x5c) return 2;
  if (c < 0x20) return c === 0x0a || c === 0x0d || c === 0x09 || c === 0x08 || c === 0x0c ? 2 : 6;
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c <= 0xdbff) return isLow(text.charCodeAt(i + 1)) ? 2 : 6;
  if (c >= 0xdc00 && c <= 0xdfff) return isHigh(text.charCodeAt(i - 1)) ? 2 : 6;
  return 3;
}

/** UTF-8 bytes of `text` JSON-escaped, without the quotes: what it adds to a serialized card. */
export function jsonBytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) bytes += jsonCost(text, i);
  return bytes;
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

const FENCE = /^ {0,3}(`{3,}|~{3,})([^`\n]*)$/;
/** A table row (a header row with or without outer pipes, as GitHub markdown and the platform read it). */
const TABLE_ROW = /\|/;
const TABLE_DELIMITER = /^ {0,3}\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

interface Fence {
  marker: string;
  info: string;
}

interface Candidate {
  index: number;
  /** 3 paragraph end, 2 line end, 1 space, 0 any character boundary. */
  rank: number;
  fence: Fence | undefined;
  /** Header and delimiter rows of the table the cut is inside, when it is. */
  tableHead: string | undefined;
}

/**
 * The best place to cut `text` so that the first part (with its fence repair) fits `limit.maxBytes`.
 * Returns `index === text.length` when the whole text fits.
 */
export function safeCut(text: string, limit: CutLimit): Cut {
  if (jsonBytes(text) <= limit.maxBytes) return { index: text.length, close: '', reopen: '' };
  // Room for the fence that may have to be closed on this part: "\n" + a marker.
  const budget = Math.max(0, limit.maxBytes - 24);
  let used = 0;
  let end = 0; // the longest prefix within the budget
  while (end < text.length && used + jsonCost(text, end) <= budget) used += jsonCost(text, end++);
  if (end < text.length && isLow(text.charCodeAt(end)) && end > 0) end--; // never between a surrogate pair's halves
  const best = bestCandidate(text, end);
  return { index: best.index, close: closeFor(text, best), reopen: reopenFor(best) };
}

function closeFor(text: string, cut: Candidate): string {
  if (!cut.fence) return '';
  return `${text.endsWith('\n', cut.index) || cut.index === 0 ? '' : '\n'}${cut.fence.marker}`;
}

function reopenFor(cut: Candidate): string {
  if (cut.fence) return `${cut.fence.marker}${cut.fence.info}\n`;
  return cut.tableHead ?? '';
}

type LineKind = 'text' | 'blank' | 'fence' | 'code' | 'table_head' | 'table_delimiter' | 'table_row';

interface Line {
  start: number;
  /** Index of its '\n', or the text's length. */
  end: number;
  kind: LineKind;
  /** The fence open after this line (for code and fence lines that open one). */
  fenceAfter: Fence | undefined;
  /** For table rows: the table's header and delimiter rows. */
  tableHead: string | undefined;
}

/** The lines that start before `end` (and one more, to know whether a table goes on), with their block kind. */
function linesUpTo(text: string, end: number): Line[] {
  const lines: Line[] = [];
  let fence: Fence | undefined;
  let tableHead: string | undefined;
  for (let start = 0; start <= text.length; ) {
    const newline = text.indexOf('\n', start);
    const lineEnd = newline === -1 ? text.length : newline;
    const content = text.slice(start, lineEnd);
    const opener = FENCE.exec(content);
    let kind: LineKind;
    if (fence) {
      const closes = opener !== null && opener[1]![0] === fence.marker[0] && opener[1]!.length >= fence.marker.length && opener[2]!.trim() === '';
      kind = closes ? 'fence' : 'code';
      if (closes) fence = undefined;
    } else if (opener) {
      kind = 'fence';
      fence = { marker: opener[1]!, info: opener[2]! };
      tableHead = undefined;
    } else if (tableHead !== undefined && TABLE_ROW.test(content)) {
      kind = 'table_row';
    } else {
      tableHead = undefined;
      kind = content.trim() === '' ? 'blank' : 'text';
      const next = lineEnd < text.length ? text.slice(lineEnd + 1, nextLineEnd(text, lineEnd + 1)) : '';
      if (TABLE_ROW.test(content) && TABLE_DELIMITER.test(next) && next.includes('-')) {
        kind = 'table_head';
        tableHead = `${content}\n${next}\n`;
      }
    }
    const previous = lines.at(-1);
    if (kind === 'table_row' && previous?.kind === 'table_head') kind = 'table_delimiter';
    lines.push({ start, end: lineEnd, kind, fenceAfter: fence, tableHead: kind.startsWith('table') ? tableHead : undefined });
    if (start > end || newline === -1) break;
    start = lineEnd + 1;
  }
  return lines;
}

function nextLineEnd(text: string, from: number): number {
  const newline = text.indexOf('\n', from);
  return newline === -1 ? text.length : newline;
}

/** The last candidate of each rank before `end`, then the best of them. */
function bestCandidate(text: string, end: number): Candidate {
  const last: (Candidate | undefined)[] = [undefined, undefined, undefined, undefined];
  const lines = linesUpTo(text, end);
  lines.forEach((line, i) => {
    const next = lines[i + 1];
    if (line.kind === 'text') {
      // Spaces outside brackets (a link's text or target is never cut).
      let depth = 0;
      for (let j = line.start; j < Math.min(line.end, end); j++) {
        const c = text.charCodeAt(j);
        if (c === 0x5b || c === 0x28) depth++;
        else if ((c === 0x5d || c === 0x29) && depth > 0) depth--;
        else if (c === 0x20 && depth === 0) last[1] = { index: j + 1, rank: 1, fence: undefined, tableHead: undefined };
      }
    }
    const after = line.end + 1;
    if (after > end || !next) return;
    if (line.fenceAfter) {
      last[2] = { index: after, rank: 2, fence: line.fenceAfter, tableHead: undefined };
    } else if (line.kind === 'table_row' && next.kind === 'table_row') {
      last[2] = { index: after, rank: 2, fence: undefined, tableHead: line.tableHead };
    } else if (line.kind !== 'table_head' && line.kind !== 'table_delimiter') {
      const rank = line.kind === 'blank' ? 3 : 2;
      last[rank] = { index: after, rank, fence: undefined, tableHead: undefined };
    }
  });
  // Prefer the strongest boundary in the last half of what fits; else any boundary; else a character boundary.
  for (const rank of [3, 2, 1]) {
    const candidate = last[rank];
    if (candidate && candidate.index > end / 2) return graphemeSafe(text, candidate);
  }
  for (const rank of [3, 2, 1]) {
    const candidate = last[rank];
    if (candidate && candidate.index > 0) return graphemeSafe(text, candidate);
  }
  // One line longer than the part: cut inside it; inside a code block the fence is still repaired.
  const at = lines.findLastIndex((line) => line.start < end);
  const fence = lines[at]?.kind === 'code' ? lines[at - 1]?.fenceAfter : undefined;
  return graphemeSafe(text, { index: Math.max(1, end), rank: 0, fence, tableHead: undefined });
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Moves a cut back to the start of the grapheme cluster it would split (a combining mark after a space, a ZWJ sequence). */
function graphemeSafe(text: string, candidate: Candidate): Candidate {
  const { index } = candidate;
  if (index <= 0 || index >= text.length) return candidate;
  const from = Math.max(0, index - 64);
  let boundary = from;
  for (const { index: start } of segmenter.segment(text.slice(from, Math.min(text.length, index + 64)))) {
    if (from + start > index) break;
    boundary = from + start;
  }
  if (boundary === index) return candidate;
  // Never give up all progress: a single cluster longer than the budget is cut at a code-point boundary.
  const safe = boundary > 0 ? boundary : isLow(text.charCodeAt(index)) ? index + 1 : index;
  return { ...candidate, index: safe, rank: 0 };
}

/** Markdown tables in `text` (a header row followed by a delimiter row, outside code fences). */
export function countTables(text: string): number {
  return tableStarts(text, Number.POSITIVE_INFINITY).length;
}

/**
 * Where to cut `text` so that the part before holds at most `max` tables: the start of the line that
 * heads table number `max + 1`; -1 when there are no more than `max`.
 */
export function tableCut(text: string, max: number): number {
  return tableStarts(text, max + 1)[max] ?? -1;
}

/** The offsets of the header lines of the first `limit` tables. */
function tableStarts(text: string, limit: number): number[] {
  const starts: number[] = [];
  let fence: string | undefined;
  let previous = '';
  let inTable = false;
  let previousStart = 0;
  let start = 0;
  for (const line of text.split('\n')) {
    const opener = FENCE.exec(line);
    if (fence) {
      if (opener && opener[1]![0] === fence[0] && opener[1]!.length >= fence.length && opener[2]!.trim() === '') fence = undefined;
    } else if (opener) {
      fence = opener[1]!;
      inTable = false;
    } else if (inTable) {
      inTable = TABLE_ROW.test(line);
    } else if (TABLE_DELIMITER.test(line) && TABLE_ROW.test(previous) && line.includes('-')) {
      starts.push(previousStart);
      if (starts.length >= limit) break;
      inTable = true;
    }
    previous = line;
    previousStart = start;
    start += line.length + 1;
  }
  return starts;
}
