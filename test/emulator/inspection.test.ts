import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { createCard, putContent, useEmulator } from '../support/emulator-http.js';

describe('card inspection', () => {
  let emulator: Emulator;
  let token: string;
  useEmulator((started) => ({ emulator, token } = started));

  it('max_in_flight stays 1 while a client waits for each answer before the next write', async () => {
    emulator.faults.add({ kind: 'latency', latencyMs: 20 });
    const cardId = await createCard(emulator, token);
    for (let sequence = 1; sequence <= 3; sequence++) await putContent(emulator, token, cardId, sequence, 'x'.repeat(sequence));
    expect(emulator.card(cardId)?.max_in_flight).toBe(1);
  });

  it('max_in_flight counts concurrent requests to one card, through injected latency', async () => {
    emulator.faults.add({ kind: 'latency', latencyMs: 100 });
    const cardId = await createCard(emulator, token);
    await Promise.all([1, 2, 3].map((sequence) => putContent(emulator, token, cardId, sequence, 'x')));
    expect(emulator.card(cardId)?.max_in_flight).toBe(3);
  });

  it('a card nobody wrote to yet has max_in_flight 0', async () => {
    const cardId = await createCard(emulator, token);
    expect(emulator.card(cardId)?.max_in_flight).toBe(0);
  });
});
