// @ts-check
// Values taken from card text that end up in the page's DOM (link targets, colour classes): only the
// few the Feishu client honours get through, everything else is refused.

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

/**
 * The URL as an href when it is http(s) or mailto, else null (javascript:, data:, relative …).
 * @param {unknown} raw
 * @returns {string | null}
 */
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

/**
 * A Feishu colour name (`blue-500` counts as `blue`), or null when Feishu would ignore it.
 * @param {unknown} raw
 * @returns {string | null}
 */
export function colourName(raw) {
  const name = String(raw ?? '').trim().toLowerCase().replace(/-\d+$/, '');
  if (!COLOURS.has(name)) return null;
  return name === 'gray' ? 'grey' : name;
}
