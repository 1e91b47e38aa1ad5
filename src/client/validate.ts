/**
 * Input checks run before any request is sent (reference §0, §6, §8, §14, §15): a bad argument is a
 * `TypeError` or `RangeError` at the call site that names the field, and nothing goes over the wire.
 */
export const ELEMENT_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,19}$/;
export const INT32_MAX = 2_147_483_647;
export const MAX_CONTENT_CHARS = 100_000;
/** The longest delay Node's timers accept (2^31 - 1 ms, about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

export function requireString(value: unknown, name: string, max = Number.POSITIVE_INFINITY): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${name} must be a non-empty string; received ${describe(value)}`);
  }
  if (value.length > max && charCount(value, max) > max) {
    throw new RangeError(`${name} must be at most ${max} characters; received more`);
  }
  return value;
}

/** Length in characters (code points), the unit of the platform's limits; stops counting past `max`. */
export function charCount(value: string, max = Number.POSITIVE_INFINITY): number {
  let length = 0;
  for (const _ of value) if (++length > max) break;
  return length;
}

/** A timeout in ms: above 0 and at most what timers accept, else every call would time out at once. */
export function requireTimeout(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMEOUT_MS) {
    throw new RangeError(`${name} must be a number of ms above 0 and at most ${MAX_TIMEOUT_MS}; received ${describe(value)}`);
  }
  return value;
}

export function requireElementId(value: unknown, name = 'element_id'): string {
  if (typeof value !== 'string' || !ELEMENT_ID_PATTERN.test(value)) {
    throw new TypeError(
      `${name} must start with a letter and hold only letters, digits and _ (at most 20); received ${describe(value)}`,
    );
  }
  return value;
}

export function requireSequence(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > INT32_MAX) {
    throw new RangeError(`sequence must be an integer in 1..${INT32_MAX}; received ${describe(value)}`);
  }
  return value;
}

export function optionalUuid(value: unknown, max: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length < 1 || (value.length > max && charCount(value, max) > max)) {
    throw new RangeError(`uuid must be a string of 1..${max} characters; received ${describe(value)}`);
  }
  return value;
}

/** Streaming content: a string of 1..100,000 characters (code points). */
export function requireContent(value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`content must be a string; received ${describe(value)}`);
  const length = charCount(value, MAX_CONTENT_CHARS);
  if (length < 1 || length > MAX_CONTENT_CHARS) {
    throw new RangeError(`content must be 1..${MAX_CONTENT_CHARS} characters; received ${length > MAX_CONTENT_CHARS ? 'more' : length}`);
  }
  return value;
}

export function requireOneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new TypeError(`${name} must be one of ${allowed.join(', ')}; received ${describe(value)}`);
  }
  return value as T;
}

/** JSON-string fields accept an object (serialized here) or a string (sent as is). */
export function jsonField(value: unknown, name: string): string {
  if (typeof value === 'string') return requireString(value, name);
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`${name} must be an object or a JSON string; received ${describe(value)}`);
  }
  return JSON.stringify(value);
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
