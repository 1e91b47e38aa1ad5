/**
 * Reading openai's chunks by shape: `openai` is never imported at run time, so every field is
 * `unknown` until one of these checks says what it is.
 */

export type Json = Record<string, unknown>;

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Names a chunk that is not an object: its JavaScript type (`null` and `array` apart). */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Tool arguments as a value: the JSON they spell, none (`{}`) when empty, else the text itself (a cut-off stream). */
export function parsedArguments(text: string): unknown {
  return text === '' ? {} : parsedJson(text);
}

/** A tool's output text as a value: the JSON it spells, else the text itself. */
export function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
