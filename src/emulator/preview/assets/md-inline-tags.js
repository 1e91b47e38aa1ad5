// @ts-check
// Feishu's own inline tags in markdown (`<br>`, `<font color>`, `<at id>`, `<text_tag color>`) and
// `<https://…>` autolinks, recognised at a `<`. Anything else that looks like HTML stays text.
import { safeUrl } from './safe-values.js';

/** @typedef {import('./md-inline-index.js').InlineIndex} InlineIndex */
/**
 * @typedef {{ kind: 'br', end: number }
 *   | { kind: 'autolink', url: string, href: string, end: number }
 *   | { kind: 'font' | 'at' | 'text_tag', attrs: Record<string, string>, inner: string, end: number }} InlineTag
 */

const BR = /<br\s*\/?>/iy;
const AUTOLINK = /<((?:https?:\/\/|mailto:)[^\s<>]+)>/iy;
const OPEN_TAG = /<(font|at|text_tag)(\s[^<>]*)?>/iy;

/**
 * The tag or autolink at `text[i] === '<'`, or null. Inside a link (`inLink`) no autolink is made.
 * @param {string} text
 * @param {number} i
 * @param {InlineIndex} index
 * @param {boolean} inLink
 * @returns {InlineTag | null}
 */
export function tagAt(text, i, index, inLink) {
  const br = sticky(BR, text, i);
  if (br) return { kind: 'br', end: i + br[0].length };
  const auto = sticky(AUTOLINK, text, i);
  if (auto && !inLink) {
    const url = auto[1] ?? '';
    const href = safeUrl(url);
    return href ? { kind: 'autolink', url, href, end: i + auto[0].length } : null;
  }
  const open = sticky(OPEN_TAG, text, i);
  if (!open) return null;
  const kind = /** @type {'font' | 'at' | 'text_tag'} */ ((open[1] ?? '').toLowerCase());
  const innerStart = i + open[0].length;
  const close = index.closingTag(kind, innerStart);
  if (close === -1) return null;
  return { kind, attrs: attributes(open[2] ?? ''), inner: text.slice(innerStart, close), end: close + kind.length + 3 };
}

/**
 * @param {RegExp} pattern a sticky pattern
 * @param {string} text
 * @param {number} at
 */
function sticky(pattern, text, at) {
  pattern.lastIndex = at;
  return pattern.exec(text);
}

const NAME = /[A-Za-z_][\w-]*/y;
const VALUE = /\s*=\s*(?:'([^']*)'|"([^"]*)"|([^\s'">]+))/y;

/**
 * A tag's `name=value` attributes (names lower-cased; values quoted or not), read left to right in one pass.
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function attributes(text) {
  /** @type {Record<string, string>} */
  const found = {};
  let at = 0;
  while (at < text.length) {
    const name = sticky(NAME, text, at);
    if (!name) {
      at++;
      continue;
    }
    at += name[0].length;
    const value = sticky(VALUE, text, at);
    if (!value) continue;
    found[name[0].toLowerCase()] = value[1] ?? value[2] ?? value[3] ?? '';
    at += value[0].length;
  }
  return found;
}
