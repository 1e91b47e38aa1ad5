/**
 * The Stop button (issue 12): `start({ stopButton: true })` puts a button under the answer; a user clicks
 * it in the emulator, the bot's own server (the official SDK's `EventDispatcher`) hands the callback to
 * `stopFromAction`, which answers with a toast at once and stops the session: the source is released
 * (`pipe()` settles), the card ends with the text so far and "(stopped)", streaming closed, the button gone.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as lark from '@larksuiteoapi/node-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { CardSession, EventDeduper, FeishuClient, STOP_ACTION_VALUE, type SessionResult, SessionStoppedError, stopFromAction } from '../../src/index.js';
import { cardView, messageView } from '../support/agent-view.js';
import { waitFor } from '../support/session.js';

const APP = { appId: 'cli_a1b2c3d4e5f60718', appSecret: 'secret_x' };
const STOP = { tag: 'button', value: { ...STOP_ACTION_VALUE } };

/** A model that says `first` and then thinks for a long time (a response body still open); `released` once it was cancelled. */
function slowModel(first: string) {
  const state = { released: false };
  const stream = new ReadableStream<string>({
    start(controller) {
      controller.enqueue(first);
    },
    cancel() {
      state.released = true;
    },
  });
  return { stream, state };
}

describe('the Stop button', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  /** An emulator, and a bot whose card callbacks go through the SDK's dispatcher to stopFromAction. */
  async function setUp(): Promise<{ emulator: Emulator; client: FeishuClient; chatId: string; handled: unknown[] }> {
    const emulator = await startEmulator({ apps: [APP] });
    cleanups.push(() => emulator.close());
    const handled: unknown[] = [];
    const deduper = new EventDeduper();
    const dispatcher = new lark.EventDispatcher({ loggerLevel: lark.LoggerLevel.fatal }).register({
      'card.action.trigger': (event: unknown) => {
        if (!deduper.first(event)) return Promise.resolve(undefined);
        const answer = stopFromAction(event);
        handled.push(answer);
        return Promise.resolve(answer ?? undefined);
      },
    } as never);
    const handle = lark.adaptDefault('/callback', dispatcher);
    const server = createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await emulator.subscribe(APP.appId, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`, verify: false });
    const client = new FeishuClient({ appId: APP.appId, appSecret: APP.appSecret, domain: emulator.url });
    const chatId = emulator.chats().find((chat) => chat.type === 'p2p')!.chatId;
    return { emulator, client, chatId, handled };
  }

  for (const transport of ['cardkit', 'message'] as const) {
    it(`${transport}: a click stops the answer at once; the card ends with the text so far and "(stopped)", closed, without the button`, async () => {
      const { emulator, client, chatId } = await setUp();
      const session = await CardSession.start(client, { to: { chat_id: chatId }, stopButton: true, transport });
      const view = () => (transport === 'cardkit' ? cardView(emulator, session.cardId!) : messageView(emulator, session.messageId!));
      const elementIds = () => view().order;
      expect(elementIds()).toEqual(['answer', 'stop_button']);
      const model = slowModel('Partial answer, ');
      const piping = session.pipe(model.stream);
      await waitFor(() => view().answer === 'Partial answer, ', 'the first words on the card');

      const click = await emulator.clickCard(session.messageId!, { action: STOP });
      expect(click.toast).toEqual({ type: 'info', content: 'Stopped' });
      const result: SessionResult = await piping;
      expect(result.aborted).toBe(true);
      expect(result.abortReason).toBeInstanceOf(SessionStoppedError);
      expect(model.state.released).toBe(true);
      expect(view().answer).toBe('Partial answer, \n\n_(stopped)_');
      expect(elementIds()).toEqual(['answer']);
      if (transport === 'cardkit') expect(emulator.card(session.cardId!)!.streaming_mode).toBe(false);
      expect(session.state).toBe('aborted');
      // Writes refused while the callback ran (200810) were retried; nothing else was refused.
      expect(Object.keys(emulator.stats().rejected).filter((code) => code !== '200810')).toEqual([]);
    });
  }

  it('the agent card gets the button too; a second click, once the answer ended, answers "Already finished"', async () => {
    const { emulator, client, chatId, handled } = await setUp();
    const session = await CardSession.start(client, { to: { chat_id: chatId }, stopButton: { text: '停止' }, agent: true });
    const button = (emulator.card(session.cardId!)!.card.body as { elements: Record<string, unknown>[] }).elements.find((e) => e.element_id === 'stop_button')!;
    expect(button).toMatchObject({ tag: 'button', text: { content: '停止' }, behaviors: [{ type: 'callback', value: STOP_ACTION_VALUE }] });
    const model = slowModel('Thinking about it. ');
    const piping = session.pipe(model.stream);
    await waitFor(() => cardView(emulator, session.cardId!).answer !== '', 'the first words');
    await emulator.clickCard(session.messageId!, { action: STOP });
    await piping;
    const again = await emulator.clickCard(session.messageId!, { action: STOP });
    expect(again.toast).toEqual({ type: 'info', content: 'Already finished' });
    expect(handled).toHaveLength(2);
  });

  it('a finished answer has no button left; a click of another button is not ours (stopFromAction returns null)', async () => {
    const { emulator, client, chatId, handled } = await setUp();
    const session = await CardSession.start(client, { to: { chat_id: chatId }, stopButton: true });
    await session.pipe(new ReadableStream<string>({ start: (controller) => (controller.enqueue('Done.'), controller.close()) }));
    expect(cardView(emulator, session.cardId!).order).toEqual(['answer']);
    const other = await emulator.clickCard(session.messageId!, { action: { tag: 'button', value: { action: 'like' } } });
    expect(other.toast).toBeNull();
    expect(handled).toEqual([null]);
  });

  it('stopFromAction reads the SDK’s flattened event, the raw v2 envelope and the older callback shape; anything else is null', () => {
    const context = { open_message_id: 'om_not_running', open_chat_id: 'oc_x' };
    const notRunning = { toast: { type: 'info', content: 'Already finished' } };
    expect(stopFromAction({ context, action: STOP })).toEqual(notRunning);
    expect(stopFromAction({ schema: '2.0', header: { event_type: 'card.action.trigger' }, event: { context, action: STOP } })).toEqual(notRunning);
    expect(stopFromAction({ open_message_id: 'om_not_running', action: { tag: 'button', value: JSON.stringify(STOP_ACTION_VALUE) } })).toEqual(notRunning);
    expect(stopFromAction({ context, action: { tag: 'button', value: { action: 'like' } } })).toBeNull();
    expect(stopFromAction(null)).toBeNull();
    expect(stopFromAction('stop')).toBeNull();
  });

  it('stopButton with your own card is a TypeError before anything is created; bad button options too', async () => {
    const { emulator, client } = await setUp();
    await expect(CardSession.start(client, { stopButton: true, card: { schema: '2.0', body: { elements: [{ tag: 'markdown', element_id: 'answer', content: '' }] } } })).rejects.toThrow(/STOP_ACTION_VALUE/);
    await expect(CardSession.start(client, { stopButton: { text: '' } })).rejects.toThrow(TypeError);
    await expect(CardSession.start(client, { stopButton: 'yes' as never })).rejects.toThrow(TypeError);
    expect(emulator.cards()).toEqual([]);
  });

  it('EventDeduper: the first delivery of an event is handled, a redelivery (same event_id, raw or flattened) is not', () => {
    let now = 0;
    const deduper = new EventDeduper({ max: 2, ttlMs: 1000, now: () => now });
    expect(deduper.first({ event_id: 'e1' })).toBe(true);
    expect(deduper.first({ schema: '2.0', header: { event_id: 'e1' } })).toBe(false);
    expect(deduper.first({ uuid: 'v1-event' })).toBe(true);
    expect(deduper.first({})).toBe(true);
    expect(deduper.first({})).toBe(true);
    now = 1000;
    expect(deduper.first({ event_id: 'e1' })).toBe(true);
    expect(deduper.first({ event_id: 'e2' })).toBe(true);
    expect(deduper.first({ event_id: 'e3' })).toBe(true);
    // Only the 2 most recent are kept: e1 was forgotten.
    expect(deduper.first({ event_id: 'e1' })).toBe(true);
    expect(() => new EventDeduper({ max: 0 })).toThrow(RangeError);
  });
});
