// Feishu card markdown → DOM, built with createElement/textContent only: model output can never
// become markup. Covers what the Feishu client renders in a card's markdown component: headings,
// emphasis, strikethrough, inline code, fenced code, nested lists, tables, links and autolinks,
// blockquotes, rules, line breaks, and Feishu's own <font>, <at>, <text_tag> and <br> tags.
// Anything else that looks like HTML is shown as the text it is.

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

/** The URL as an href when it is http(s) or mailto, else null (javascript:, data:, relative …). */
export function safeUrl(raw) {
  const text = String(raw).trim();
  if (!/^(?:https?:\/\/|mailto:)/i.test(text)) return null;
  // Control characters and whitespace inside a URL are how scheme filters get fooled; refuse them.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(text)) return null;
  let url;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
}

/** Colours Feishu accepts in <font color> and <text_tag color>; anything else is ignored. */
const COLOURS = new Set([
  'red', 'green', 'grey', 'gray', 'blue', 'wathet', 'turquoise', 'yellow', 'orange', 'carmine', 'violet', 'purple',
  'indigo', 'lime', 'neutral', 'default',
]);

export function colourName(raw) {
  const name = String(raw ?? '').trim().toLowerCase().replace(/-\d+$/, '');
  if (!COLOURS.has(name)) return null;
  return name === 'gray' ? 'grey' : name;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---------------------------------------------------------------- blocks

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const CLOSING_FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const LIST_ITEM = /^( *)([-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$/;
const TABLE_SEPARATOR = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

const isBlank = (line) => line.trim() === '';
const indentOf = (line) => line.length - line.trimStart().length;

function isTableStart(lines, i) {
  const line = lines[i];
  const next = lines[i + 1];
  // As in GFM, the separator row has as many cells as the header (a half-typed one is not a table yet).
  return next !== undefined && line.includes('|') && next.includes('|') && TABLE_SEPARATOR.test(next) && splitRow(next).length === splitRow(line).length;
}

function startsBlock(lines, i) {
  const line = lines[i];
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || LIST_ITEM.test(line) || isTableStart(lines, i);
}

/** Splits source lines into block tokens. */
export function parseBlocks(lines) {
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1];
      const indent = indentOf(line);
      const body = [];
      i++;
      let closed = false;
      while (i < lines.length) {
        const current = lines[i];
        const closing = CLOSING_FENCE.exec(current);
        if (closing && closing[1][0] === marker[0] && closing[1].length >= marker.length) {
          closed = true;
          i++;
          break;
        }
        body.push(current.slice(Math.min(indent, indentOf(current))));
        i++;
      }
      blocks.push({ type: 'code', lang: fence[2] || '', text: body.join('\n'), closed });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      blocks.push({ type: 'heading', level: heading[1].length, text: heading[2] ?? '' });
      i++;
      continue;
    }
    if (RULE.test(line)) {
      blocks.push({ type: 'rule' });
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && !isBlank(lines[i])) {
        const quoted = QUOTE.exec(lines[i]);
        if (quoted) inner.push(quoted[1]);
        else if (startsBlock(lines, i)) break;
        else inner.push(lines[i]);
        i++;
      }
      blocks.push({ type: 'quote', children: parseBlocks(inner) });
      continue;
    }
    if (isTableStart(lines, i)) {
      const header = splitRow(line);
      const align = splitRow(lines[i + 1]).map((cell) => {
        const c = cell.trim();
        if (c.startsWith(':') && c.endsWith(':')) return 'center';
        if (c.endsWith(':')) return 'right';
        if (c.startsWith(':')) return 'left';
        return '';
      });
      i += 2;
      const rows = [];
      while (i < lines.length && !isBlank(lines[i]) && lines[i].includes('|')) {
        rows.push(splitRow(lines[i]));
        i++;
      }
      blocks.push({ type: 'table', header, align, rows });
      continue;
    }
    if (LIST_ITEM.test(line)) {
      const listLines = [];
      while (i < lines.length) {
        const current = lines[i];
        if (isBlank(current)) {
          // A blank line inside a list: the list goes on if the next text is an item or indented.
          let j = i + 1;
          while (j < lines.length && isBlank(lines[j])) j++;
          if (j < lines.length && (LIST_ITEM.test(lines[j]) || indentOf(lines[j]) >= 2)) {
            for (; i < j; i++) listLines.push('');
            continue;
          }
          break;
        }
        if (listLines.length > 0 && indentOf(current) < 2 && !LIST_ITEM.test(current) && startsBlock(lines, i)) break;
        listLines.push(current);
        i++;
      }
      blocks.push(...parseList(listLines));
      continue;
    }
    const paragraph = [];
    while (i < lines.length && !isBlank(lines[i]) && (paragraph.length === 0 || !startsBlock(lines, i))) {
      paragraph.push(lines[i].trim());
      i++;
    }
    blocks.push({ type: 'paragraph', text: paragraph.join('\n') });
  }
  return blocks;
}

/** Lines of one list block (items, their continuations and nested lists) → list tokens. */
function parseList(lines) {
  const first = LIST_ITEM.exec(lines[0]);
  const base = first ? first[1].length : 0;
  const lists = [];
  let list = null;
  let item = null;
  for (const line of lines) {
    const match = LIST_ITEM.exec(line);
    if (match && match[1].length < base + 2) {
      const ordered = /\d/.test(match[2]);
      if (!list || list.ordered !== ordered) {
        list = { type: 'list', ordered, start: ordered ? parseInt(match[2], 10) : 1, items: [] };
        lists.push(list);
      }
      item = { lines: [match[3] ?? ''], offset: match[1].length + match[2].length + 1 };
      list.items.push(item);
      continue;
    }
    if (!item) continue;
    const indent = indentOf(line);
    item.lines.push(line.slice(Math.min(indent, item.offset)));
  }
  for (const l of lists) {
    for (const it of l.items) {
      while (it.lines.length > 1 && isBlank(it.lines[it.lines.length - 1])) it.lines.pop();
      it.loose = it.lines.some((line, index) => index > 0 && isBlank(line) && index < it.lines.length - 1);
      it.children = parseBlocks(it.lines);
      delete it.lines;
    }
  }
  return lists;
}

/** A table row's cells: split on `|` outside code spans, `\|` kept as a literal bar. */
export function splitRow(line) {
  let text = line.trim();
  if (text.startsWith('|')) text = text.slice(1);
  if (text.endsWith('|') && !text.endsWith('\\|')) text = text.slice(0, -1);
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

function renderBlocks(blocks, parent, tight) {
  for (const block of blocks) {
    switch (block.type) {
      case 'paragraph': {
        if (tight) {
          const span = el('span', 'md-tight');
          appendInline(span, block.text);
          parent.append(span);
        } else {
          const p = el('p');
          appendInline(p, block.text);
          parent.append(p);
        }
        break;
      }
      case 'heading': {
        const h = el(`h${block.level}`);
        appendInline(h, block.text);
        parent.append(h);
        break;
      }
      case 'rule':
        parent.append(el('hr'));
        break;
      case 'code': {
        const pre = el('pre', 'md-code-block');
        if (block.lang) pre.dataset.lang = block.lang;
        const code = el('code', null, block.text);
        pre.append(code);
        parent.append(pre);
        break;
      }
      case 'quote': {
        const quote = el('blockquote');
        renderBlocks(block.children, quote, false);
        parent.append(quote);
        break;
      }
      case 'list': {
        const list = el(block.ordered ? 'ol' : 'ul');
        if (block.ordered && block.start !== 1) list.start = block.start;
        for (const item of block.items) {
          const li = el('li');
          renderBlocks(item.children, li, !item.loose);
          list.append(li);
        }
        parent.append(list);
        break;
      }
      case 'table': {
        const wrap = el('div', 'md-table-wrap');
        const table = el('table');
        const thead = el('thead');
        const headRow = el('tr');
        block.header.forEach((cell, index) => headRow.append(tableCell('th', cell, block.align[index])));
        thead.append(headRow);
        table.append(thead);
        const tbody = el('tbody');
        for (const row of block.rows) {
          const tr = el('tr');
          block.header.forEach((_, index) => tr.append(tableCell('td', row[index] ?? '', block.align[index])));
          tbody.append(tr);
        }
        table.append(tbody);
        wrap.append(table);
        parent.append(wrap);
        break;
      }
      default:
        break;
    }
  }
}

function tableCell(tag, text, align) {
  const cell = el(tag);
  if (align) cell.className = `md-align-${align}`;
  appendInline(cell, text);
  return cell;
}

// ---------------------------------------------------------------- inline

const ESCAPABLE = '\\`*_{}[]()#+-.!|~<>';
const isSpace = (ch) => ch === undefined || /\s/.test(ch);
const isWordChar = (ch) => ch !== undefined && /[\p{L}\p{N}]/u.test(ch);
const ATTRIBUTE = /([A-Za-z_][\w-]*)\s*=\s*(?:'([^']*)'|"([^"]*)"|([^\s'">]+))/g;
const BARE_URL = /^(?:https?:\/\/|mailto:)[^\s<>"'`\u3000-\u303f\u2e80-\u9fff\uff00-\uffef]+/i;

function attributes(text) {
  const found = {};
  for (const match of text.matchAll(ATTRIBUTE)) found[match[1].toLowerCase()] = match[2] ?? match[3] ?? match[4] ?? '';
  return found;
}

/** `text` from `from` on: the index of `delim` that can close emphasis, or -1. */
function findCloser(text, from, delim) {
  let j = text.indexOf(delim, from);
  while (j !== -1) {
    const before = text[j - 1];
    const after = text[j + delim.length];
    const single = delim.length === 1;
    const okFlank = !isSpace(before) && (delim[0] !== '_' || !isWordChar(after));
    const okSingle = !single || (before !== delim && after !== delim);
    if (okFlank && okSingle && j > from) return j;
    j = text.indexOf(delim, j + 1);
  }
  return -1;
}

/** `[label](url)` starting at `i`: { label, url, end } or null. */
function parseLink(text, i) {
  let depth = 0;
  let j = i;
  for (; j < text.length; j++) {
    const ch = text[j];
    if (ch === '\\') {
      j++;
      continue;
    }
    if (ch === '[') depth++;
    else if (ch === ']' && --depth === 0) break;
    else if (ch === '\n' && text[j + 1] === '\n') return null;
  }
  if (j >= text.length || text[j + 1] !== '(') return null;
  const label = text.slice(i + 1, j);
  let k = j + 2;
  let parens = 1;
  for (; k < text.length; k++) {
    const ch = text[k];
    if (ch === '\\') {
      k++;
      continue;
    }
    if (ch === '(') parens++;
    else if (ch === ')' && --parens === 0) break;
  }
  if (k >= text.length) return null;
  let url = text.slice(j + 2, k).trim();
  const titled = /^(\S+)\s+(?:"[^"]*"|'[^']*')$/.exec(url);
  if (titled) url = titled[1];
  if (url.startsWith('<') && url.endsWith('>')) url = url.slice(1, -1);
  return { label, url, end: k + 1 };
}

function trimUrl(url) {
  let end = url.length;
  while (end > 0 && '.,;:!?\'"'.includes(url[end - 1])) end--;
  let out = url.slice(0, end);
  // A closing parenthesis belongs to the URL only when it has an opening one.
  while (out.endsWith(')') && (out.match(/\(/g) ?? []).length < (out.match(/\)/g) ?? []).length) out = out.slice(0, -1);
  return out;
}

function link(href, build) {
  const a = el('a', 'md-link');
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  build(a);
  return a;
}

function mention(attrs, inner) {
  const id = attrs.id ?? attrs.user_id ?? attrs.open_id ?? attrs.union_id ?? attrs.email ?? '';
  const label = id === 'all' ? '所有人' : inner.trim() || id;
  const span = el('span', 'md-at', `@${label}`);
  if (id) span.title = id;
  return span;
}

/** Emphasis (`***`, `**`, `*`, the same with `_`) or strikethrough (`~~`) opening at `i`, or null. */
function emphasisAt(text, i, ch, run, depth, inLink) {
  // A delimiter run opens as a whole: `*`, `**`, `***` (and `_` alike) or `~~`.
  if (ch === '~' ? run !== 2 : run > 3) return null;
  const opens = !isSpace(text[i + run]) && (ch !== '_' || !isWordChar(text[i - 1]));
  const close = opens ? findCloser(text, i + run, ch.repeat(run)) : -1;
  if (close === -1) return null;
  const inner = text.slice(i + run, close);
  const node = el(ch === '~' ? 'del' : run === 1 ? 'em' : 'strong');
  let target = node;
  if (run === 3) {
    target = el('em');
    node.append(target);
  }
  appendInline(target, inner, depth + 1, inLink);
  return { node, end: close + run };
}

/** Appends the inline rendering of `text` to `parent`; inside a link (`inLink`) no further links are made. */
export function appendInline(parent, text, depth = 0, inLink = false) {
  let buffer = '';
  const flush = () => {
    if (buffer) parent.append(document.createTextNode(buffer));
    buffer = '';
  };
  const put = (node) => {
    flush();
    parent.append(node);
  };
  if (depth > 12) {
    parent.append(document.createTextNode(text));
    return;
  }
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '\\' && i + 1 < text.length && ESCAPABLE.includes(text[i + 1])) {
      buffer += text[i + 1];
      i += 2;
      continue;
    }
    if (ch === '\n') {
      put(el('br'));
      i++;
      continue;
    }
    if (ch === '`') {
      let n = 1;
      while (text[i + n] === '`') n++;
      const fence = '`'.repeat(n);
      let close = text.indexOf(fence, i + n);
      while (close !== -1 && text[close + n] === '`') close = text.indexOf(fence, close + n + 1);
      if (close !== -1) {
        let code = text.slice(i + n, close).replace(/\n/g, ' ');
        if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ')) code = code.slice(1, -1);
        put(el('code', 'md-inline-code', code));
        i = close + n;
      } else {
        buffer += fence;
        i += n;
      }
      continue;
    }
    if (ch === '*' || ch === '_' || ch === '~') {
      let run = 1;
      while (text[i + run] === ch) run++;
      const emphasis = emphasisAt(text, i, ch, run, depth, inLink);
      if (emphasis) {
        put(emphasis.node);
        i = emphasis.end;
      } else {
        buffer += ch.repeat(run);
        i += run;
      }
      continue;
    }
    if (ch === '!' && text[i + 1] === '[') {
      const image = parseLink(text, i + 1);
      if (image) {
        put(el('span', 'md-img', `[图片${image.label ? ` ${image.label}` : ''}]`));
        i = image.end;
        continue;
      }
    }
    if (ch === '[' && !inLink) {
      const found = parseLink(text, i);
      if (found) {
        const href = safeUrl(found.url);
        if (href) put(link(href, (a) => appendInline(a, found.label, depth + 1, true)));
        else buffer += text.slice(i, found.end); // not an allowed link: show exactly what was written
        i = found.end;
        continue;
      }
    }
    if (ch === '<') {
      const consumed = inlineTag(text, i, put, depth, inLink);
      if (consumed > 0) {
        i += consumed;
        continue;
      }
    }
    // A bare URL, not glued to a preceding Latin word (but Chinese text may run straight into it).
    if (!inLink && (ch === 'h' || ch === 'H' || ch === 'm' || ch === 'M') && !/[A-Za-z0-9]/.test(text[i - 1] ?? '') && /^(?:https?:|mailto:)/i.test(text.slice(i, i + 8))) {
      const bare = BARE_URL.exec(text.slice(i));
      const url = bare ? trimUrl(bare[0]) : '';
      const href = url.length > 8 ? safeUrl(url) : null;
      if (href) {
        put(link(href, (a) => (a.textContent = url)));
        i += url.length;
        continue;
      }
    }
    buffer += ch;
    i++;
  }
  flush();
}

/** A Feishu tag or an autolink at `text[i] === '<'`: appends it and returns its length, or 0. */
function inlineTag(text, i, put, depth, inLink) {
  const head = text.slice(i);
  const br = /^<br\s*\/?>/i.exec(head);
  if (br) {
    put(el('br'));
    return br[0].length;
  }
  const auto = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i.exec(head);
  if (auto && !inLink) {
    const href = safeUrl(auto[1]);
    if (!href) return 0;
    put(link(href, (a) => (a.textContent = auto[1])));
    return auto[0].length;
  }
  const open = /^<(font|at|text_tag)(\s[^<>]*)?>/i.exec(head);
  if (!open) return 0;
  const name = open[1].toLowerCase();
  const closeTag = `</${name}>`;
  const closeAt = head.toLowerCase().indexOf(closeTag, open[0].length);
  if (closeAt === -1) return 0;
  const inner = head.slice(open[0].length, closeAt);
  const attrs = attributes(open[2] ?? '');
  if (name === 'at') {
    put(mention(attrs, inner));
  } else if (name === 'font') {
    const span = el('span', 'md-font');
    const colour = colourName(attrs.color);
    if (colour) span.classList.add(`c-${colour}`);
    appendInline(span, inner, depth + 1, inLink);
    put(span);
  } else {
    const tag = el('span', 'md-text-tag');
    tag.classList.add(`tag-${colourName(attrs.color) ?? 'neutral'}`);
    appendInline(tag, inner, depth + 1, inLink);
    put(tag);
  }
  return closeAt + closeTag.length;
}

/** Renders Feishu markdown into a new fragment. */
export function renderMarkdown(source) {
  const fragment = document.createDocumentFragment();
  const lines = String(source ?? '').replace(/\r\n?/g, '\n').replace(/\t/g, '    ').split('\n');
  renderBlocks(parseBlocks(lines), fragment, false);
  return fragment;
}
