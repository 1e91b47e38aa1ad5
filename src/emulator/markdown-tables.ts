/**
 * Counts the tables in a markdown component's text the way the card renderer finds them (GFM tables,
 * reference §14, §27): a header row followed by a delimiter row (`| a | b |` then `|---|---|`) with as many
 * cells, outside fenced code. One pass over the lines, each line looked at a constant number of times.
 */

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})/;
const DELIMITER_CELL = /^:?-+:?$/;

/** Number of tables in `text`. */
export function countMarkdownTables(text: string): number {
  let tables = 0;
  let fence: string | null = null;
  let previous: string | null = null;
  let inTable = false;
  for (const line of text.split('\n')) {
    if (fence !== null) {
      if (closesFence(line, fence)) fence = null;
      previous = null;
      continue;
    }
    const opener = FENCE_OPEN.exec(line);
    if (opener && !(opener[1]!.startsWith('`') && line.slice(opener[0].length).includes('`'))) {
      fence = opener[1]!;
      previous = null;
      inTable = false;
      continue;
    }
    if (inTable) {
      // A table runs until a blank line or a line that is no row; its rows never start another table.
      inTable = line.trim() !== '' && line.includes('|');
    } else if (previous !== null && isDelimiterRow(line, previous)) {
      tables++;
      inTable = true;
    }
    previous = line;
  }
  return tables;
}

function closesFence(line: string, fence: string): boolean {
  const trimmed = line.trimEnd();
  const indent = trimmed.length - trimmed.trimStart().length;
  if (indent > 3) return false;
  const marker = trimmed.trimStart();
  if (marker.length < fence.length) return false;
  for (const char of marker) if (char !== fence[0]) return false;
  return true;
}

/** True when `line` is a delimiter row whose cells match those of the header row `header`. */
function isDelimiterRow(line: string, header: string): boolean {
  if (!line.includes('|') || !line.includes('-') || !header.includes('|')) return false;
  const cells = splitRow(line);
  if (cells.length === 0 || !cells.every((cell) => DELIMITER_CELL.test(cell))) return false;
  return splitRow(header).length === cells.length;
}

/** The cells of a table row: split at unescaped pipes, one optional leading and trailing pipe dropped. */
function splitRow(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === '\\' && line[i + 1] === '|') {
      cell += '\\|';
      i++;
    } else if (char === '|') {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += char;
    }
  }
  cells.push(cell.trim());
  const trimmed = line.trim();
  if (trimmed.startsWith('|')) cells.shift();
  if (trimmed.endsWith('|') && !trimmed.endsWith('\\|') && cells.length > 0) cells.pop();
  return cells;
}
