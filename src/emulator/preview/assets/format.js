// @ts-check
// How the preview writes times: emulated epoch ms as local wall-clock time.

/**
 * @param {number} n
 * @param {number} [width]
 */
const pad = (n, width = 2) => String(Math.floor(n)).padStart(width, '0');

/**
 * Emulated epoch ms as local HH:MM:SS.mmm; '' for anything that is not a time.
 * @param {unknown} ms
 */
export function clockTime(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
