// @ts-check
// GFM tables in Feishu card markdown: a header row, a separator row (`| :-- | :-: | --: |`) with as
// many cells, then rows until a blank line or a line without `|`. Short rows are padded with empty
// cells only up to MAX_TABLE_PADDING per table: a 2,000-column header over 3,000 one-cell rows would
// otherwise make six million cells.
/** @typedef {import('./md-blocks.js').Block} Block */

/** Empty cells added to short rows, per table, beyond which short rows stay short (each costs a DOM node). */
const MAX_TABLE_PADDING = 10_000;
const SEPARATOR_CELL = /^:?-+:?$/;

/** @param {string} line */
const isBlank = (line) => line.trim() === '';

/**
 * The alignment of each column when `line` is a table's separator row (`| :-- | :-: | --: |`), else null.
 * @param {string} line
 * @returns {string[] | null}
 */
function separatorAlignments(line) {
  if (!line.includes('-')) return null;
  const cells = splitRow(line);
  if (!cells.every((cell) => SEPARATOR_CELL.test(cell))) return null;
  return cells.map((cell) => {
    if (cell.startsWith(':') && cell.endsWith(':')) return 'center';
    if (cell.endsWith(':')) return 'right';
    if (cell.startsWith(':')) return 'left';
    return '';
  });
}

/**
 * The column alignments when a table starts at line `i`, else null.
 * @param {string[]} lines
 * @param {number} i
 */
export function tableAt(lines, i) {
  const line = lines[i];
  const next = lines[i + 1];
  if (line === undefined || next === undefined || !line.includes('|') || !next.includes('|')) return null;
  const align = separatorAlignments(next);
  // As in GFM, the separator row has as many cells as the header (a half-typed one is not a table yet).
  return align && align.length === splitRow(line).length ? align : null;
}

/**
 * The table starting at line `start` (header, separator, rows): its token and the line after it.
 * @param {string[]} align the columns' alignments, from {@link tableAt}
 * @param {string[]} lines
 * @param {number} start
 * @returns {{ block: Block, end: number }}
 */
export function parseTable(align, lines, start) {
  const header = splitRow(lines[start] ?? '');
  /** @type {string[][]} */
  const rows = [];
  let padding = MAX_TABLE_PADDING;
  let i = start + 2;
  for (; i < lines.length && !isBlank(lines[i] ?? '') && (lines[i] ?? '').includes('|'); i++) {
    // As in GFM, a row keeps as many cells as the header: extra ones are dropped, missing ones added empty.
    const row = splitRow(lines[i] ?? '').slice(0, header.length);
    const missing = Math.min(header.length - row.length, padding);
    padding -= missing;
    for (let n = 0; n < missing; n++) row.push('');
    rows.push(row);
  }
  return { block: { type: 'table', header, align, rows }, end: i };
}

/**
 * A table row's cells: split on `|` outside code spans, `\|` kept as a literal bar.
 * @param {string} line
 * @returns {string[]}
 */
export function splitRow(line) {
  let text = line.trim();
  if (text.startsWith('|')) text = text.slice(1);
  if (text.endsWith('|') && !text.endsWith('\\|')) text = text.slice(0, -1);
  /** @type {string[]} */
  const cells = [];
  let cell = '';
  let inCode = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && text[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (ch === '`') {
      inCode = !inCode;
      cell += ch;
    } else if (ch === '|' && !inCode) {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += ch;
    }
  }
  cells.push(cell.trim());
  return cells;
}
