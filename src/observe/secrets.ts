/**
 * What telemetry must never carry: every client's app secret and tenant tokens. Each client's
 * `Secrets` is remembered here (weakly: a client that is gone takes them along), so text the library
 * did not write (a source's error message, an abort reason, a server's message) is redacted with all
 * of them before it reaches a log line or a span.
 */

/** A client's secrets (src/client/redact.ts). */
interface Redactor {
  redact(text: string): string;
}

const known = new Set<WeakRef<Redactor>>();
let pruneAt = 64;

/** Called once per client, with the secrets it will hold. */
export function rememberSecrets(secrets: Redactor): void {
  known.add(new WeakRef(secrets));
  if (known.size < pruneAt) return;
  for (const ref of known) if (ref.deref() === undefined) known.delete(ref);
  pruneAt = Math.max(64, known.size * 2);
}

/** `text` with the secrets of every client of the process replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  let result = text;
  for (const ref of known) result = ref.deref()?.redact(result) ?? result;
  return result;
}
