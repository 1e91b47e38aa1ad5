// @ts-check
// Feishu card markdown, inline level: one left-to-right pass over a paragraph's text that appends
// text, line breaks, code spans, emphasis, links, images and Feishu tags to a parent element. Each
// opener looks up where it closes in an InlineIndex of that text, so the pass is linear in the text;
// content nested deeper than MAX_INLINE_DEPTH is shown as plain text (nothing is dropped).
import { el } from './dom.js';
import { InlineIndex } from './md-inline-index.js';
import { bareUrlAt, parseLink } from './md-inline-links.js';
import { tagAt } from './md-inline-tags.js';
import { colourName, safeUrl } from './safe-values.js';

/** @typedef {import('./md-inline-tags.js').InlineTag} InlineTag */

const MAX_INLINE_DEPTH = 12;
const ESCAPABLE = '\\`*_{}[]()#+-.!|~<>';
/** @param {string | undefined} ch */
const isSpace = (ch) => ch === undefined || /\s/.test(ch);
/** @param {string | undefined} ch */
const isWordChar = (ch) => ch !== undefined && /[\p{L}\p{N}]/u.test(ch);

/**
 * Appends the inline rendering of `text` to `parent`; inside a link (`inLink`) no further links are made.
 * @param {Node} parent
 * @param {string} text
 * @param {number} [depth]
 * @param {boolean} [inLink]
 */
export function appendInline(parent, text, depth = 0, inLink = false) {
  if (depth > MAX_INLINE_DEPTH) {
    parent.appendChild(document.createTextNode(text));
    return;
  }
  const index = new InlineIndex(text);
  let buffer = '';
  /** @param {Node} node */
  const put = (node) => {
    if (buffer) parent.appendChild(document.createTextNode(buffer));
    buffer = '';
    parent.appendChild(node);
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? '';
    const next = text[i + 1];
    if (ch === '\\' && next !== undefined && ESCAPABLE.includes(next)) {
      buffer += next;
      i += 2;
      continue;
    }
    if (ch === '\n') {
      put(el('br'));
      i++;
      continue;
    }
    if (ch === '`' || ch === '*' || ch === '_' || ch === '~') {
      let run = 1;
      while (text[i + run] === ch) run++;
      const span = ch === '`' ? codeSpan(text, i, run, index) : emphasis(text, i, ch, run, index, depth, inLink);
      if (span) {
        put(span.node);
        i = span.end;
      } else {
        buffer += ch.repeat(run);
        i += run;
      }
      continue;
    }
    if (ch === '!' && next === '[') {
      const image = parseLink(text, i + 1, index);
      if (image) {
        put(el('span', 'md-img', `[图片${image.label ? ` ${image.label}` : ''}]`));
        i = image.end;
        continue;
      }
    }
    if (ch === '[' && !inLink) {
      const found = parseLink(text, i, index);
      if (found) {
        const href = safeUrl(found.url);
        if (href) put(link(href, (a) => appendInline(a, found.label, depth + 1, true)));
        else buffer += text.slice(i, found.end); // not an allowed link: show exactly what was written
        i = found.end;
        continue;
      }
    }
    if (ch === '<') {
      const tag = tagAt(text, i, index, inLink);
      if (tag) {
        put(tagNode(tag, depth, inLink));
        i = tag.end;
        continue;
      }
    }
    if (!inLink && 'hHmM'.includes(ch)) {
      const bare = bareUrlAt(text, i, index);
      if (bare) {
        put(link(bare.href, (a) => (a.textContent = bare.url)));
        i += bare.url.length;
        continue;
      }
    }
    buffer += ch;
    i++;
  }
  if (buffer) parent.appendChild(document.createTextNode(buffer));
}

/**
 * A code span opened by `run` backticks at `i`: closed by the next run of exactly as many.
 * @param {string} text
 * @param {number} i
 * @param {number} run
 * @param {InlineIndex} index
 * @returns {{ node: Node, end: number } | null}
 */
function codeSpan(text, i, run, index) {
  const close = index.codeCloser(i + run, run);
  if (close === -1) return null;
  let code = text.slice(i + run, close).replace(/\n/g, ' ');
  if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ')) code = code.slice(1, -1);
  return { node: el('code', 'md-inline-code', code), end: close + run };
}

/**
 * Emphasis (`***`, `**`, `*`, the same with `_`) or strikethrough (`~~`) opening at `i`, or null.
 * @param {string} text
 * @param {number} i
 * @param {string} ch
 * @param {number} run
 * @param {InlineIndex} index
 * @param {number} depth
 * @param {boolean} inLink
 * @returns {{ node: Node, end: number } | null}
 */
function emphasis(text, i, ch, run, index, depth, inLink) {
  // A delimiter run opens as a whole: `*`, `**`, `***` (and `_` alike) or `~~`.
  if (ch === '~' ? run !== 2 : run > 3) return null;
  const opens = !isSpace(text[i + run]) && (ch !== '_' || !isWordChar(text[i - 1]));
  if (!opens) return null;
  const delim = ch.repeat(run);
  const close = index.closer(i + run, delim, (from) => findCloser(text, from, delim));
  if (close === -1) return null;
  const node = el(ch === '~' ? 'del' : run === 1 ? 'em' : 'strong');
  let target = node;
  if (run === 3) {
    target = el('em');
    node.append(target);
  }
  appendInline(target, text.slice(i + run, close), depth + 1, inLink);
  return { node, end: close + run };
}

/**
 * `text` from `from` on: the first index after `from` of `delim` that can close emphasis, or -1.
 * @param {string} text
 * @param {number} from
 * @param {string} delim
 */
function findCloser(text, from, delim) {
  let j = text.indexOf(delim, from);
  while (j !== -1) {
    const before = text[j - 1];
    const after = text[j + delim.length];
    const okFlank = !isSpace(before) && (delim[0] !== '_' || !isWordChar(after));
    const okSingle = delim.length !== 1 || (before !== delim && after !== delim);
    if (okFlank && okSingle && j > from) return j;
    j = text.indexOf(delim, j + 1);
  }
  return -1;
}

/**
 * @param {string} href
 * @param {(a: HTMLAnchorElement) => void} build
 */
function link(href, build) {
  const a = el('a', 'md-link');
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  build(a);
  return a;
}

/**
 * @param {InlineTag} tag
 * @param {number} depth
 * @param {boolean} inLink
 * @returns {Node}
 */
function tagNode(tag, depth, inLink) {
  switch (tag.kind) {
    case 'br':
      return el('br');
    case 'autolink':
      return link(tag.href, (a) => (a.textContent = tag.url));
    case 'at':
      return mention(tag.attrs, tag.inner);
    case 'font': {
      const span = el('span', 'md-font');
      const colour = colourName(tag.attrs.color);
      if (colour) span.classList.add(`c-${colour}`);
      appendInline(span, tag.inner, depth + 1, inLink);
      return span;
    }
    case 'text_tag': {
      const span = el('span', 'md-text-tag');
      span.classList.add(`tag-${colourName(tag.attrs.color) ?? 'neutral'}`);
      appendInline(span, tag.inner, depth + 1, inLink);
      return span;
    }
  }
}

/**
 * `<at id=…>`: a mention pill, `@所有人` for `id=all`.
 * @param {Record<string, string>} attrs
 * @param {string} inner
 */
function mention(attrs, inner) {
  const id = attrs.id ?? attrs.user_id ?? attrs.open_id ?? attrs.union_id ?? attrs.email ?? '';
  const label = id === 'all' ? '所有人' : inner.trim() || id;
  const span = el('span', 'md-at', `@${label}`);
  if (id) span.title = id;
  return span;
}
