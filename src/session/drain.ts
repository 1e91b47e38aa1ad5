/**
 * Reads a source into the session until it ends or the session halts it. A model in a long tool call
 * sends nothing for minutes, so the read is raced against the halt: `abort()` settles a pipe at once,
 * and the source is released (its request ends) even while a read is pending.
 */
import { type AnswerEvent, SourceDecoder, type StreamSource, readerOf } from '../adapters/index.js';

export async function drain(source: StreamSource, halt: AbortSignal, take: (event: AnswerEvent) => void): Promise<'ended' | 'halted'> {
  const reader = readerOf(source);
  const decoder = new SourceDecoder();
  let onHalt: (() => void) | undefined;
  const halted = new Promise<'halted'>((resolve) => {
    onHalt = () => resolve('halted');
    if (halt.aborted) resolve('halted');
    else halt.addEventListener('abort', onHalt, { once: true });
  });
  let ended = false;
  try {
    for (;;) {
      const pending = reader.next();
      pending.catch(() => undefined); // a read still pending when the session halts may fail later: not ours to report
      const next = await Promise.race([pending, halted]);
      if (next === 'halted') return 'halted';
      if (next.done) {
        ended = true;
        for (const event of decoder.end()) take(event);
        return 'ended';
      }
      for (const event of decoder.decode(next.value)) take(event);
    }
  } finally {
    halt.removeEventListener('abort', onHalt!);
    if (!ended) reader.cancel();
  }
}
