/**
 * Shutdown (issue 13): urgent closing writes go first in the governor. While the budget of the API a
 * card streams through is saturated, every card has a write waiting for it; the writes that close the
 * cards `shutdown()` aborts (the text with the interrupted marker, then the close) are granted before
 * the waiting writes of sessions that go on, also those queued long before, and the writes those
 * sessions keep queueing meanwhile do not hold the close back. With spill on (the default) the closes also take
 * whichever of the card-text APIs has budget.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CardSession, FairGovernor, type FeishuClient, resumeSessions, shutdown } from '../../src/index.js';
import { clientFor } from '../support/client.js';
import { elementText, useEmulator } from '../support/emulator-http.js';
import { INTERRUPTED, paced, sleep } from '../support/session.js';

/** Small limits, so that a few cards saturate an API: about 4.5 writes a second to it once the burst is spent. */
const LIMITS = { apiQps: 5, apiQpm: 300, cardQps: 10, messageQps: 5 };
const CLOSED = 8;
const GOING_ON = 16;

type Transport = 'cardkit' | 'message';
/** The API whose budget the streamed text saturates. */
const STREAMED: Record<Transport, string> = { cardkit: 'cardkit.cardElement.content', message: 'im.message.patch' };
/** The APIs that carry a CardKit card's text when the governor spills (element patch, batch_update) besides content. */
const SPILLED = ['cardkit.cardElement.patch', 'cardkit.cardElement.update', 'cardkit.card.batchUpdate'];

/** An accepted write of the streamed API to a session's card, at the emulator's time. */
interface Landed {
  time: number;
  session: CardSession;
}

function landed(emulator: Emulator, transport: Transport, sessions: readonly CardSession[], apis = [STREAMED[transport]]): Landed[] {
  return sessions
    .flatMap((session) => {
      const log = transport === 'cardkit' ? emulator.card(session.cardId!)!.log : emulator.message(session.messageId!)!.log;
      return log.filter((entry) => apis.includes(entry.endpoint) && entry.code === 0).map((entry) => ({ time: entry.time, session }));
    })
    .sort((a, b) => a.time - b.time);
}

/** The answer a card shows now (a message card's `answer` element, or the CardKit card's). */
function shown(emulator: Emulator, transport: Transport, session: CardSession): string | undefined {
  if (transport === 'cardkit') return elementText(emulator, session.cardId!);
  const card = JSON.parse(emulator.message(session.messageId!)!.content) as { body: { elements: { element_id?: string; content?: string }[] } };
  return card.body.elements.find((element) => element.element_id === 'answer')?.content;
}

describe('shutdown() under a saturated budget', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));
  afterEach(() => resumeSessions());

  /**
   * 8 sessions of one client (those `shutdown()` will abort) and 16 of another (going on), all streaming long
   * answers (12 s of deltas each), far more than the API's budget carries: every card always has a write waiting.
   */
  async function saturate(governor: FairGovernor, transport: Transport) {
    const closing: FeishuClient = clientFor(emulator).client;
    const goingOn: FeishuClient = clientFor(emulator).client;
    const start = (client: FeishuClient, i: number) => CardSession.start(client, { governor, transport, to: { chat_id: `oc_${i}` } });
    const closed = await Promise.all(Array.from({ length: CLOSED }, (_, i) => start(closing, i)));
    const others = await Promise.all(Array.from({ length: GOING_ON }, (_, i) => start(goingOn, CLOSED + i)));
    const pieces = Array.from({ length: 400 }, (_, k) => `piece ${k} `);
    const pipes = [...closed, ...others].map((session) => session.pipe(paced(pieces, 30)).catch((error: unknown) => error));
    await sleep(2000);
    return { closing, goingOn, closed, others, pipes };
  }

  /** At most two writes a closed card after the shutdown began, and the shutdown no slower than they take at the API's pace. */
  function closedAtPace(closes: Landed[], shutdownAt: number, closedAt: number): void {
    expect(closes.length).toBeLessThanOrEqual(2 * CLOSED);
    expect(closedAt - shutdownAt).toBeLessThan(((closes.length + 2) / 4) * 1000 + 1500);
  }

  /** The sessions going on still stream after the shutdown; then they end too, and nothing was refused. */
  async function othersGoOn({ goingOn, others, pipes }: { goingOn: FeishuClient; others: CardSession[]; pipes: Promise<unknown>[] }) {
    expect(others.every((session) => session.state === 'open')).toBe(true);
    await shutdown({ client: goingOn, deadlineMs: 0 });
    await Promise.all(pipes);
    expect(emulator.stats().rejected).toEqual({});
  }

  /** Shuts the `closing` client's sessions down at once; when it began and ended, on the emulator's clock. */
  async function shutDown(closing: FeishuClient) {
    const shutdownAt = emulator.clock.now();
    const result = await shutdown({ client: closing, deadlineMs: 0, reason: 'deploy' });
    return { shutdownAt, result, closedAt: emulator.clock.now() };
  }

  for (const transport of ['cardkit', 'message'] as const) {
    it(`${transport}, one API (spill off): the closing writes of the aborted cards go before the waiting writes of the sessions that go on, which do not hold them back`, async () => {
      const governor = new FairGovernor({ limits: LIMITS, spill: false });
      const { closing, goingOn, closed, others, pipes } = await saturate(governor, transport);
      expect(governor.stats().waiting[STREAMED[transport]]).toBeGreaterThanOrEqual(CLOSED + GOING_ON - 2);
      const { shutdownAt, result, closedAt } = await shutDown(closing);
      expect(result).toEqual({ finished: 0, aborted: CLOSED, failed: 0 });

      // Every aborted card ends with the interrupted marker, closed (CardKit: streaming off).
      for (const session of closed) {
        expect(session.state).toBe('aborted');
        expect(shown(emulator, transport, session)?.endsWith(INTERRUPTED)).toBe(true);
        if (transport === 'cardkit') expect(emulator.card(session.cardId!)!.streaming_mode).toBe(false);
      }
      // Once the shutdown began, the sessions going on, each of which had a write waiting since before it, got
      // (almost) nothing of the API until the last aborted card was closed: at most the writes granted before it
      // began and still on their way. Their waiting in the governor's order would have let about all of them through.
      const during = landed(emulator, transport, others).filter(({ time }) => time > shutdownAt && time <= closedAt);
      expect(during.length).toBeLessThanOrEqual(2);
      // The aborted cards' writes of the API after the shutdown began: at most two each (the waiting one, now
      // urgent, carrying the marker; a message card's close patch), at the budget's pace.
      const closes = landed(emulator, transport, closed).filter(({ time }) => time > shutdownAt);
      closedAtPace(closes, shutdownAt, closedAt);
      await othersGoOn({ goingOn, others, pipes });
    }, 60_000);
  }

  it('cardkit, spill on (the default): the aborted cards close at the pace of their own writes, through whichever API has budget', async () => {
    const governor = new FairGovernor({ limits: LIMITS });
    const { closing, goingOn, closed, others, pipes } = await saturate(governor, 'cardkit');
    // Four APIs carry the text now; the content API's queue still holds most cards.
    expect(governor.stats().waiting[STREAMED.cardkit]).toBeGreaterThanOrEqual(CLOSED);
    const { shutdownAt, result, closedAt } = await shutDown(closing);
    expect(result).toEqual({ finished: 0, aborted: CLOSED, failed: 0 });
    for (const session of closed) {
      expect(elementText(emulator, session.cardId!)?.endsWith(INTERRUPTED)).toBe(true);
      expect(emulator.card(session.cardId!)!.streaming_mode).toBe(false);
    }
    // The closes' text writes, on any of the four APIs: no more than two a card, and the shutdown took no longer
    // than they take at one API's pace (spilling only adds budget).
    const closes = landed(emulator, 'cardkit', closed, [STREAMED.cardkit, ...SPILLED]).filter(({ time }) => time > shutdownAt);
    closedAtPace(closes, shutdownAt, closedAt);
    await othersGoOn({ goingOn, others, pipes });
    // Every card, aborted or not, shows exactly what its session kept.
    for (const session of [...closed, ...others]) expect(elementText(emulator, session.cardId!)).toBe(session.text);
  }, 60_000);
});
