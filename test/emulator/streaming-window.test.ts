import { describe, expect, it } from 'vitest';
import { type Emulator } from '../../src/emulator/index.js';
import { createCard, elementText, patchSettings, putContent, streamingCard, useEmulator } from '../support/emulator-http.js';

describe('streaming window', () => {
  let emulator: Emulator;
  let token: string;
  const fixture = useEmulator((started) => ({ emulator, token } = started));

  it('content writes land while streaming mode is open and the card shows the full text', async () => {
    const cardId = await createCard(emulator, token);
    expect((await putContent(emulator, token, cardId, 1, 'Hello')).body.code).toBe(0);
    expect((await putContent(emulator, token, cardId, 2, 'Hello, world')).body.code).toBe(0);
    expect(elementText(emulator, cardId)).toBe('Hello, world');
    expect(emulator.card(cardId)).toMatchObject({ streaming_mode: true, sequence: 2, summary: '[生成中...]' });
  });

  it('closes itself 10 minutes after it was opened: first write 200850, later writes 300309', async () => {
    const cardId = await createCard(emulator, token);
    emulator.clock.advance(9 * 60_000);
    expect((await putContent(emulator, token, cardId, 1, 'a')).body.code).toBe(0);
    emulator.clock.advance(60_000);
    const first = await putContent(emulator, token, cardId, 2, 'ab');
    expect([first.status, first.body.code]).toEqual([400, 200850]);
    const later = await putContent(emulator, token, cardId, 3, 'abc');
    expect([later.status, later.body.code]).toEqual([400, 300309]);
    expect(elementText(emulator, cardId)).toBe('a');
    expect(emulator.card(cardId)?.streaming_mode).toBe(false);
  });

  it('writes do not extend the window', async () => {
    const cardId = await createCard(emulator, token);
    for (let i = 1; i <= 5; i++) {
      emulator.clock.advance(100_000);
      expect((await putContent(emulator, token, cardId, i, 'x'.repeat(i))).body.code).toBe(0);
    }
    emulator.clock.advance(100_001);
    expect((await putContent(emulator, token, cardId, 6, 'xxxxxx')).body.code).toBe(200850);
  });

  it('settings with streaming_mode true re-opens it for a full new window', async () => {
    const cardId = await createCard(emulator, token);
    emulator.clock.advance(600_000);
    expect((await putContent(emulator, token, cardId, 1, 'a')).body.code).toBe(200850);
    expect((await patchSettings(emulator, token, cardId, 2, { config: { streaming_mode: true } })).body.code).toBe(0);
    expect((await putContent(emulator, token, cardId, 3, 'ab')).body.code).toBe(0);
    emulator.clock.advance(599_000);
    expect((await putContent(emulator, token, cardId, 4, 'abc')).body.code).toBe(0);
    expect(elementText(emulator, cardId)).toBe('abc');
  });

  it('content into a card that never had streaming mode gets 300309', async () => {
    const cardId = await createCard(emulator, token, streamingCard({ config: { streaming_mode: false } }));
    expect((await putContent(emulator, token, cardId, 1, 'a')).body.code).toBe(300309);
  });

  it('closing streaming mode ends the "[生成中...]" summary; a developer summary stays', async () => {
    const cardId = await createCard(emulator, token);
    expect(emulator.card(cardId)?.summary).toBe('[生成中...]');
    await patchSettings(emulator, token, cardId, 1, { config: { streaming_mode: false } });
    expect(emulator.card(cardId)?.summary).toBeNull();
    await patchSettings(emulator, token, cardId, 2, { config: { streaming_mode: true, summary: { content: 'Thinking' } } });
    expect(emulator.card(cardId)?.summary).toBe('Thinking');
    await patchSettings(emulator, token, cardId, 3, { config: { streaming_mode: false } });
    expect(emulator.card(cardId)).toMatchObject({ summary: 'Thinking', streaming_mode: false });
  });

  it('the streaming timeout is configurable and runs on the emulator clock', async () => {
    await fixture.restart({ streamingTimeoutMs: 60_000, clockSpeed: 1000 });
    const cardId = await createCard(emulator, token);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect((await putContent(emulator, token, cardId, 1, 'late')).body.code).toBe(200850);
  });
});
