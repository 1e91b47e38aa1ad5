/**
 * The live preview's event stream (`/_emulator/events`): many pages may watch one emulator at once, and
 * each subscriber is a listener on the emulator's change feed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { createCard, useEmulator } from '../support/emulator-http.js';

interface Subscriber {
  /** Resolves once the stream's text so far contains `marker`. */
  waitFor(marker: string): Promise<void>;
  close(): Promise<void>;
}

async function subscribe(emulator: Emulator): Promise<Subscriber> {
  const response = await fetch(`${emulator.url}/_emulator/events`);
  expect(response.status).toBe(200);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  return {
    async waitFor(marker) {
      while (!text.includes(marker)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${JSON.stringify(marker)}; got ${JSON.stringify(text)}`);
        text += value;
      }
    },
    close: () => reader.cancel(),
  };
}

describe('live preview event stream', () => {
  let emulator: Emulator;
  let token: string;
  useEmulator((started) => ({ emulator, token } = started));

  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  afterEach(() => {
    process.off('warning', onWarning);
  });

  it('thirty subscribers at once each get every change, and Node prints no MaxListenersExceededWarning', async () => {
    warnings.length = 0;
    process.on('warning', onWarning);
    const subscribers = await Promise.all(Array.from({ length: 30 }, () => subscribe(emulator)));
    await Promise.all(subscribers.map((s) => s.waitFor(': connected')));

    const cardId = await createCard(emulator, token);
    await Promise.all(subscribers.map((s) => s.waitFor(`"cardId":"${cardId}"`)));
    await Promise.all(subscribers.map((s) => s.close()));

    // Node emits the warning on a later tick; give it one.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
  });
});
