/** The chat-list summary set when a card finishes: the first characters of the answer, on one line. */
export const SUMMARY_CHARS = 50;

/** Cuts on a code-point boundary (surrogate pairs stay whole) after folding whitespace. */
export function summarize(text: string, maxChars = SUMMARY_CHARS): string {
  const folded = text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(folded.slice(0, maxChars * 2 + 2));
  return chars.length > maxChars ? `${chars.slice(0, maxChars).join('')}…` : chars.join('');
}
