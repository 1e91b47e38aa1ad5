// @ts-check
import { parseTable, tableAt } from './md-table.js';
// Feishu card markdown, block level: source lines → block tokens (fenced code, headings, rules, quotes,
// lists, tables, paragraphs). Each line test is linear in the line (no pattern that can backtrack over
// a run of spaces), and quotes and lists nest at most MAX_NESTING deep: below that, their markers are
// plain text, so deeper content still shows and parsing stays bounded.

/**
 * @typedef {{ type: 'paragraph', text: string }
 *   | { type: 'heading', level: number, text: string }
 *   | { type: 'rule' }
 *   | { type: 'code', lang: string, text: string, closed: boolean }
 *   | { type: 'quote', children: Block[] }
 *   | { type: 'list', ordered: boolean, start: number, items: ListItem[] }
 *   | { type: 'table', header: string[], align: string[], rows: string[][] }} Block
 * @typedef {{ children: Block[], loose: boolean }} ListItem
 */

/** How deep quotes and lists nest; a deeper marker is shown as text. */
export const MAX_NESTING = 16;

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const CLOSING_FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*))?$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const LIST_ITEM = /^( *)([-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$/;

/** @param {string} line */
const isBlank = (line) => line.trim() === '';
/** @param {string} line */
const indentOf = (line) => line.length - line.trimStart().length;

/**
 * `text` without trailing spaces and tabs (other whitespace, such as U+3000, is text).
 * @param {string} text
 */
function trimEndSpaces(text) {
  let end = text.length;
  while (end > 0 && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--;
  return text.slice(0, end);
}

/**
 * An opening code fence: its marker and language, or null. The info string may not contain a backtick.
 * @param {string} line
 * @returns {{ marker: string, lang: string } | null}
 */
function fenceOf(line) {
  const match = FENCE.exec(line);
  if (!match || match[2]?.includes('`')) return null;
  const lang = /^\S*/.exec((match[2] ?? '').trimStart());
  return { marker: match[1] ?? '', lang: lang?.[0] ?? '' };
}

/**
 * An ATX heading: level and text (an optional closing run of `#` after a space removed), or null.
 * @param {string} line
 * @returns {{ level: number, text: string } | null}
 */
function headingOf(line) {
  const match = HEADING.exec(line);
  if (!match) return null;
  let text = trimEndSpaces(match[2] ?? '');
  let hashes = text.length;
  while (hashes > 0 && text[hashes - 1] === '#') hashes--;
  if (hashes < text.length && hashes > 0 && (text[hashes - 1] === ' ' || text[hashes - 1] === '\t')) text = trimEndSpaces(text.slice(0, hashes));
  return { level: (match[1] ?? '#').length, text };
}

/**
 * @param {string[]} lines
 * @param {number} i
 * @param {number} depth
 */
function startsBlock(lines, i, depth) {
  const line = lines[i] ?? '';
  const containers = depth < MAX_NESTING && (QUOTE.test(line) || LIST_ITEM.test(line));
  return containers || fenceOf(line) !== null || headingOf(line) !== null || RULE.test(line) || tableAt(lines, i) !== null;
}

/**
 * Splits source lines into block tokens; `depth` is how many quotes and lists enclose them.
 * @param {string[]} lines
 * @param {number} [depth]
 * @returns {Block[]}
 */
export function parseBlocks(lines, depth = 0) {
  /** @type {Block[]} */
  const blocks = [];
  const nests = depth < MAX_NESTING;
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    if (isBlank(line)) {
      i++;
      continue;
    }
    const fence = fenceOf(line);
    if (fence) {
      const indent = indentOf(line);
      /** @type {string[]} */
      const body = [];
      i++;
      let closed = false;
      for (; i < lines.length; i++) {
        const current = lines[i] ?? '';
        const closing = CLOSING_FENCE.exec(current)?.[1];
        if (closing && closing[0] === fence.marker[0] && closing.length >= fence.marker.length) {
          closed = true;
          i++;
          break;
        }
        body.push(current.slice(Math.min(indent, indentOf(current))));
      }
      blocks.push({ type: 'code', lang: fence.lang, text: body.join('\n'), closed });
      continue;
    }
    const heading = headingOf(line);
    if (heading) {
      blocks.push({ type: 'heading', ...heading });
      i++;
      continue;
    }
    if (RULE.test(line)) {
      blocks.push({ type: 'rule' });
      i++;
      continue;
    }
    if (nests && QUOTE.test(line)) {
      /** @type {string[]} */
      const inner = [];
      for (; i < lines.length && !isBlank(lines[i] ?? ''); i++) {
        const current = lines[i] ?? '';
        const quoted = QUOTE.exec(current);
        if (quoted) inner.push(quoted[1] ?? '');
        else if (startsBlock(lines, i, depth)) break;
        else inner.push(current);
      }
      blocks.push({ type: 'quote', children: parseBlocks(inner, depth + 1) });
      continue;
    }
    const align = tableAt(lines, i);
    if (align) {
      const table = parseTable(align, lines, i);
      i = table.end;
      blocks.push(table.block);
      continue;
    }
    if (nests && LIST_ITEM.test(line)) {
      const end = listEnd(lines, i, depth);
      blocks.push(...parseList(lines.slice(i, end), depth + 1));
      i = end;
      continue;
    }
    /** @type {string[]} */
    const paragraph = [];
    while (i < lines.length && !isBlank(lines[i] ?? '') && (paragraph.length === 0 || !startsBlock(lines, i, depth))) {
      paragraph.push((lines[i] ?? '').trim());
      i++;
    }
    blocks.push({ type: 'paragraph', text: paragraph.join('\n') });
  }
  return blocks;
}

/**
 * Where the list starting at line `i` ends: after its items, their continuations and nested lists.
 * @param {string[]} lines
 * @param {number} i
 * @param {number} depth
 */
function listEnd(lines, i, depth) {
  let end = i;
  while (end < lines.length) {
    const current = lines[end] ?? '';
    if (isBlank(current)) {
      // A blank line inside a list: the list goes on if the next text is an item or indented.
      let next = end + 1;
      while (next < lines.length && isBlank(lines[next] ?? '')) next++;
      const after = lines[next];
      if (after !== undefined && (LIST_ITEM.test(after) || indentOf(after) >= 2)) {
        end = next;
        continue;
      }
      break;
    }
    if (end > i && indentOf(current) < 2 && !LIST_ITEM.test(current) && startsBlock(lines, end, depth)) break;
    end++;
  }
  return end;
}

/**
 * Lines of one list block (items, their continuations and nested lists) → list tokens.
 * @param {string[]} lines
 * @param {number} depth the depth of the items' content
 * @returns {Block[]}
 */
function parseList(lines, depth) {
  const base = LIST_ITEM.exec(lines[0] ?? '')?.[1]?.length ?? 0;
  /** @type {{ type: 'list', ordered: boolean, start: number, items: { lines: string[], offset: number }[] }[]} */
  const lists = [];
  /** @type {(typeof lists)[number] | null} */
  let list = null;
  /** @type {{ lines: string[], offset: number } | null} */
  let item = null;
  for (const source of lines) {
    const line = isBlank(source) ? '' : source;
    const match = LIST_ITEM.exec(line);
    const indent = match?.[1]?.length ?? 0;
    if (match && indent < base + 2) {
      const marker = match[2] ?? '-';
      const ordered = /\d/.test(marker);
      if (!list || list.ordered !== ordered) {
        list = { type: 'list', ordered, start: ordered ? parseInt(marker, 10) : 1, items: [] };
        lists.push(list);
      }
      item = { lines: [match[3] ?? ''], offset: indent + marker.length + 1 };
      list.items.push(item);
      continue;
    }
    if (!item) continue;
    item.lines.push(line.slice(Math.min(indentOf(line), item.offset)));
  }
  return lists.map((l) => ({
    type: 'list',
    ordered: l.ordered,
    start: l.start,
    items: l.items.map(({ lines: itemLines }) => {
      while (itemLines.length > 1 && isBlank(itemLines[itemLines.length - 1] ?? '')) itemLines.pop();
      const loose = itemLines.some((line, index) => index > 0 && isBlank(line) && index < itemLines.length - 1);
      return { loose, children: parseBlocks(itemLines, depth) };
    }),
  }));
}
