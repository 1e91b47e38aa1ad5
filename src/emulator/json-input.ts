/**
 * Parsing untrusted JSON safely: `__proto__` keys are dropped (so no merge can reach a prototype),
 * and nesting is bounded (so no recursive walk can overflow the stack). Card JSON nests at most a
 * few levels (containers at most 5, reference §14); anything deeper than MAX_DEPTH is refused.
 */
export const MAX_DEPTH = 64;

export type JsonParseResult = { ok: true; value: unknown } | { ok: false; reason: 'syntax' | 'depth' };

export function parseUntrustedJson(text: string, maxDepth = MAX_DEPTH): JsonParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v: unknown) => (key === '__proto__' ? undefined : v));
  } catch {
    return { ok: false, reason: 'syntax' };
  }
  return depthWithin(value, maxDepth) ? { ok: true, value } : { ok: false, reason: 'depth' };
}

/** True when `value` nests objects and arrays at most `maxDepth` deep (iterative: no recursion). */
export function depthWithin(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= maxDepth) return false;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return true;
}
