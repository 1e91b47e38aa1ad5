// @ts-check
// Links in inline markdown: `[label](url)` (and `![alt](key)` images) and bare URLs in running text.
// Only what `safeUrl` allows becomes a link; the rest is shown as written.
import { safeUrl } from './safe-values.js';

/** @typedef {import('./md-inline-index.js').InlineIndex} InlineIndex */

/**
 * `[label](url)` starting at `text[i] === '['`: { label, url, end } or null.
 * @param {string} text
 * @param {number} i
 * @param {InlineIndex} index
 * @returns {{ label: string, url: string, end: number } | null}
 */
export function parseLink(text, i, index) {
  const close = index.closingBracket(i);
  if (close === -1 || text[close + 1] !== '(') return null;
  const end = index.closingParen(close + 1);
  if (end === -1) return null;
  let url = text.slice(close + 2, end).trim();
  const titled = /^(\S+)\s+(?:"[^"]*"|'[^']*')$/.exec(url);
  if (titled) url = titled[1] ?? url;
  if (url.startsWith('<') && url.endsWith('>')) url = url.slice(1, -1);
  return { label: text.slice(i + 1, close), url, end: end + 1 };
}

/** Characters a bare URL may contain: not whitespace, control characters, quotes, angle brackets or CJK punctuation and text. */
// eslint-disable-next-line no-control-regex
const URL_CHARS = /[^\s\u0000-\u001f\u007f<>"'`\u3000-\u303f\u2e80-\u9fff\uff00-\uffef]*/y;
const BARE_URL_START = /^(?:https?:\/\/|mailto:)/i;
/** Longer than any real host and port; a longer "authority" is not a link, and is not parsed at all. */
const MAX_AUTHORITY = 512;

/**
 * A bare URL (`https://…`, `mailto:…`) starting at `i`, not glued to a preceding Latin word (Chinese
 * text may run straight into it): { url, href } or null. Its trailing punctuation is not part of it.
 * @param {string} text
 * @param {number} i
 * @param {InlineIndex} index
 * @returns {{ url: string, href: string } | null}
 */
export function bareUrlAt(text, i, index) {
  if (/[A-Za-z0-9]/.test(text[i - 1] ?? '')) return null;
  const scheme = BARE_URL_START.exec(text.slice(i, i + 8))?.[0];
  if (!scheme) return null;
  const end = index.urlRunEnd(i, URL_CHARS);
  // The host decides whether an http(s) URL parses; check it alone first, so that text full of broken
  // URLs (`http://[http://[…`) costs a few characters per attempt, not the rest of the line.
  if (scheme.toLowerCase() !== 'mailto:') {
    const hostStart = i + scheme.length;
    let hostEnd = hostStart;
    while (hostEnd < end && hostEnd - hostStart <= MAX_AUTHORITY && !'/?#\\'.includes(text[hostEnd] ?? '/')) hostEnd++;
    if (hostEnd - hostStart > MAX_AUTHORITY || !URL.canParse(`${text.slice(i, hostEnd)}/`)) return null;
  }
  const url = trimUrl(text.slice(i, end));
  const href = url.length > 8 ? safeUrl(url) : null;
  return href ? { url, href } : null;
}

/**
 * A bare URL without the punctuation that ends the sentence around it.
 * @param {string} url
 */
function trimUrl(url) {
  let end = url.length;
  while (end > 0 && '.,;:!?\'"'.includes(url[end - 1] ?? '')) end--;
  // A closing parenthesis belongs to the URL only when it has an opening one.
  let opens = 0;
  let closes = 0;
  for (let k = 0; k < end; k++) {
    if (url[k] === '(') opens++;
    else if (url[k] === ')') closes++;
  }
  while (end > 0 && url[end - 1] === ')' && opens < closes) {
    end--;
    closes--;
  }
  return url.slice(0, end);
}
