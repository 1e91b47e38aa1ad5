/**
 * A write that arrives late (the emulator holds it 400 ms before counting it, as a busy event loop or a slow
 * connection would) must not put one call too many in a platform second: the governor counts this process's
 * calls of each API from their answers. Real HTTP to the emulator, a tight content budget (4 calls a second).
 */
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, FairGovernor } from '../../src/index.js';
import { clientFor } from '../support/client.js';
import { useEmulator } from '../support/emulator-http.js';
import { busiestWindow } from '../support/windows.js';

const CONTENT = 'cardkit.cardElement.content';
const LIMITS = { apiQps: 4, apiQpm: 1000, cardQps: 10 };
/** The APIs that carry a card's text: content, and the two a write spills to. */
const TEXT_APIS = [CONTENT, 'cardkit.cardElement.patch', 'cardkit.card.batchUpdate'];

describe('late arrivals against a tight per-API budget', () => {
  let emulator: Emulator;
  useEmulator((s) => ({ emulator } = s), { limits: LIMITS });

  for (const spill of [false, true]) {
    it(`eight cards written at once while the first content write arrives 400 ms late (spill ${spill ? 'on' : 'off'}): no 99991400, every card exact`, async () => {
      const { client } = clientFor(emulator);
      await client.tenantAccessToken();
      const governor = new FairGovernor({ limits: LIMITS, spill });
      const sessions = await Promise.all(
        Array.from({ length: 8 }, (_, i) => CardSession.start(client, { governor, to: { chat_id: `oc_${i}` }, retry: { baseDelayMs: 20, maxDelayMs: 200 } })),
      );
      emulator.faults.add({ kind: 'latency', endpoint: CONTENT, latencyMs: 400, count: 1 });
      const results = await Promise.all(
        sessions.map((session, i) => {
          session.append(`answer ${i}: 飞书卡片 ✓`);
          return session.finish();
        }),
      );
      expect(emulator.stats().rejected).toEqual({});
      for (const [i, result] of results.entries()) expect(markdown(emulator, result.cardId!)).toBe(`answer ${i}: 飞书卡片 ✓`);
      // What the emulator counted, API by API: no second of its held more than four calls of one.
      const log = results.flatMap((r) => emulator.card(r.cardId!)!.log.filter((e) => e.code === 0));
      const text = log.filter((e) => TEXT_APIS.includes(e.endpoint) && e.content_length !== undefined && e.content_length > 0);
      // Spill off: all eight through the content API. On: some spill (a batch_update's text is not counted here).
      if (!spill) expect(text.filter((e) => e.endpoint === CONTENT)).toHaveLength(8);
      else expect(text.filter((e) => e.endpoint === CONTENT).length).toBeGreaterThan(0);
      for (const api of new Set(log.map((e) => e.endpoint))) {
        expect(busiestWindow(log.filter((e) => e.endpoint === api).map((e) => e.time), 1000), api).toBeLessThanOrEqual(4);
      }
    }, 30_000);
  }
});

function markdown(emulator: Emulator, cardId: string): string | undefined {
  const body = emulator.card(cardId)!.card.body as { elements: { element_id?: string; content?: string }[] };
  return body.elements.find((e) => e.element_id === 'answer')?.content;
}
