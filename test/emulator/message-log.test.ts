/**
 * The write log of an IM message (`MessageSnapshot.log`): the send or reply that made it, then every patch and
 * recall that reached it, accepted or refused by the handler, with emulated time and the code answered.
 * Refusals before the handler (token, scope, gateway limit, injected faults) are not in it, as for card logs.
 */
import { describe, expect, it } from 'vitest';
import type { Emulator, MessageLogEntry, MessageSnapshot } from '../../src/emulator/index.js';
import { EmulatorState, MAX_LOG_ENTRIES, type Message } from '../../src/emulator/state.js';
import { type ApiResponse, api, createCard, tenantToken, useEmulator } from '../support/emulator-http.js';

const MESSAGES = '/open-apis/im/v1/messages';
const DAY = 24 * 60 * 60_000;

function card(text: string): string {
  return JSON.stringify({ schema: '2.0', body: { elements: [{ tag: 'markdown', element_id: 'md', content: text }] } });
}

const APPS = [
  { appId: 'cli_a', appSecret: 's_a' },
  { appId: 'cli_b', appSecret: 's_b' },
];

/** The entries of `log` as [endpoint, code] pairs. */
function codes(log: MessageLogEntry[]): Array<[string, number]> {
  return log.map((entry) => [entry.endpoint, entry.code]);
}

describe('message write log', () => {
  let emulator: Emulator;
  let token: string;
  const fixture = useEmulator((started) => ({ emulator, token } = started), { apps: APPS });

  async function send(content = card('hi'), extra: Record<string, unknown> = {}): Promise<string> {
    const res = await api(emulator, 'POST', `${MESSAGES}?receive_id_type=chat_id`, {
      token,
      body: { receive_id: 'oc_chat', msg_type: 'interactive', content, ...extra },
    });
    expect(res.body.code).toBe(0);
    return (res.body.data as { message_id: string }).message_id;
  }

  const patch = (messageId: string, content: unknown, as = token): Promise<ApiResponse> =>
    api(emulator, 'PATCH', `${MESSAGES}/${messageId}`, { token: as, body: { content } });

  const log = (messageId: string): MessageLogEntry[] => emulator.message(messageId)?.log ?? [];

  it('the send that made a message is its first entry: im.message.create, code 0, the emulated time and content_bytes', async () => {
    const content = card('你好');
    const before = emulator.clock.now();
    const messageId = await send(content);
    const [entry, ...rest] = log(messageId);
    expect(rest).toEqual([]);
    expect(entry).toEqual({ time: entry!.time, endpoint: 'im.message.create', code: 0, content_bytes: Buffer.byteLength(content) });
    expect(entry!.time).toBeGreaterThanOrEqual(before);
    expect(entry!.time).toBeLessThanOrEqual(emulator.clock.now());
    expect(entry!.content_bytes).toBeGreaterThan(content.length);
  });

  it('a reply is logged on the new message as im.message.reply, not on its parent', async () => {
    const parentId = await send();
    const res = await api(emulator, 'POST', `${MESSAGES}/${parentId}/reply`, { token, body: { msg_type: 'interactive', content: card('re') } });
    const replyId = (res.body.data as { message_id: string }).message_id;
    expect(codes(log(replyId))).toEqual([['im.message.reply', 0]]);
    expect(codes(log(parentId))).toEqual([['im.message.create', 0]]);
  });

  it('a send repeated with the same uuid within the hour writes nothing and logs nothing', async () => {
    const messageId = await send(card('once'), { uuid: 'turn-1' });
    expect(await send(card('once'), { uuid: 'turn-1' })).toBe(messageId);
    expect(codes(log(messageId))).toEqual([['im.message.create', 0]]);
  });

  it('every accepted patch is logged with its emulated time, code 0 and content_bytes, oldest first', async () => {
    const messageId = await send();
    const first = card('one');
    expect((await patch(messageId, first)).body.code).toBe(0);
    emulator.clock.advance(60_000);
    const second = card('two, longer');
    expect((await patch(messageId, second)).body.code).toBe(0);
    const entries = log(messageId);
    expect(codes(entries)).toEqual([
      ['im.message.create', 0],
      ['im.message.patch', 0],
      ['im.message.patch', 0],
    ]);
    expect(entries.map((entry) => entry.content_bytes)).toEqual([Buffer.byteLength(card('hi')), Buffer.byteLength(first), Buffer.byteLength(second)]);
    expect(entries[2]!.time - entries[1]!.time).toBeGreaterThanOrEqual(60_000);
  });

  it('patched faster than 5/s, the sixth patch within a second gets 230020 and is logged with that code; no second holds more than 5 accepted patches', async () => {
    const messageId = await send();
    const answers: number[] = [];
    for (let i = 0; i < 7; i++) answers.push((await patch(messageId, card(`frame ${i}`))).body.code);
    expect(answers).toEqual([0, 0, 0, 0, 0, 230020, 230020]);
    const patches = log(messageId).filter((entry) => entry.endpoint === 'im.message.patch');
    expect(patches.map((entry) => entry.code)).toEqual(answers);
    // The refused frames did not land: the message shows the fifth.
    expect(emulator.message(messageId)?.content).toBe(card('frame 4'));
    const accepted = patches.filter((entry) => entry.code === 0).map((entry) => entry.time);
    for (const start of accepted) {
      expect(accepted.filter((time) => time >= start && time < start + 1000).length).toBeLessThanOrEqual(5);
    }
  });

  it('refused patches appear with their code: 230001 bad content, 230099 card content, 230027 another app, 230031 after 14 days', async () => {
    const messageId = await send();
    expect((await patch(messageId, 42)).body.code).toBe(230001);
    expect((await patch(messageId, 'not json')).body.code).toBe(230001);
    const template = JSON.stringify({ type: 'template', data: { template_id: 'AAq1' } });
    expect((await patch(messageId, template)).body.code).toBe(230099);
    const other = await tenantToken(emulator, 'cli_b', 's_b');
    expect((await patch(messageId, card('theirs'), other)).body.code).toBe(230027);
    emulator.clock.advance(14 * DAY + 60_000);
    // The token ran out meanwhile: a fresh one.
    token = await tenantToken(emulator, 'cli_a', 's_a');
    expect((await patch(messageId, card('late'))).body.code).toBe(230031);
    const entries = log(messageId);
    expect(codes(entries)).toEqual([
      ['im.message.create', 0],
      ['im.message.patch', 230001],
      ['im.message.patch', 230001],
      ['im.message.patch', 230099],
      ['im.message.patch', 230027],
      ['im.message.patch', 230031],
    ]);
    // content_bytes only when the patch carried a content string.
    expect(entries[1]).not.toHaveProperty('content_bytes');
    expect(entries[2]!.content_bytes).toBe(Buffer.byteLength('not json'));
  });

  it('recalls are logged too (im.message.delete), and a patch after the recall is logged with 230011', async () => {
    const messageId = await send();
    const remove = () => api(emulator, 'DELETE', `${MESSAGES}/${messageId}`, { token });
    expect((await remove()).body.code).toBe(0);
    expect((await patch(messageId, card('after'))).body.code).toBe(230011);
    expect((await remove()).body.code).toBe(230110);
    expect(codes(log(messageId))).toEqual([
      ['im.message.create', 0],
      ['im.message.delete', 0],
      ['im.message.patch', 230011],
      ['im.message.delete', 230110],
    ]);
  });

  it('refusals before the handler are not logged: a bad token, a missing scope, an injected fault', async () => {
    const messageId = await send();
    expect((await patch(messageId, card('x'), 't-bogus')).body.code).toBe(99991663);
    emulator.registerApp({ appId: 'cli_a', appSecret: 's_a', scopes: ['cardkit:card:write'] });
    expect((await patch(messageId, card('x'))).body.code).toBe(99991672);
    emulator.registerApp({ appId: 'cli_a', appSecret: 's_a' });
    emulator.faults.add({ kind: 'fail', endpoint: 'im.message.patch', code: 1500, httpStatus: 500 });
    expect((await patch(messageId, card('x'))).body.code).toBe(1500);
    expect(codes(log(messageId))).toEqual([['im.message.create', 0]]);
  });

  it('the per-app gateway limit (99991400) answers before the handler and is not logged', async () => {
    await fixture.restart({ apps: APPS, limits: { apiQps: 2 } });
    const messageId = await send();
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await patch(messageId, card(`p${i}`))).body.code);
    expect(answers).toEqual([0, 0, 99991400]);
    expect(codes(log(messageId))).toEqual([
      ['im.message.create', 0],
      ['im.message.patch', 0],
      ['im.message.patch', 0],
    ]);
  });

  it('a message showing a card entity logs its send, and a refused IM patch on it', async () => {
    const cardId = await createCard(emulator, token);
    const messageId = await send(JSON.stringify({ type: 'card', data: { card_id: cardId } }));
    expect((await patch(messageId, card('x'))).body.code).toBe(230001);
    expect(codes(log(messageId))).toEqual([
      ['im.message.create', 0],
      ['im.message.patch', 230001],
    ]);
  });

  it('GET /_emulator/messages/:message_id and /_emulator/messages serve the log', async () => {
    const messageId = await send();
    await patch(messageId, card('x'));
    const one = (await (await fetch(`${emulator.url}/_emulator/messages/${messageId}`)).json()) as MessageSnapshot;
    expect(one.log).toEqual(emulator.message(messageId)?.log);
    expect(codes(one.log)).toEqual([
      ['im.message.create', 0],
      ['im.message.patch', 0],
    ]);
    const all = (await (await fetch(`${emulator.url}/_emulator/messages`)).json()) as { messages: MessageSnapshot[] };
    expect(all.messages.map((message) => message.log.length)).toEqual([2]);
  });

  it('the snapshot is a copy: changing it does not change the log', async () => {
    const messageId = await send();
    emulator.message(messageId)!.log[0]!.code = 1;
    emulator.message(messageId)!.log.length = 0;
    expect(codes(log(messageId))).toEqual([['im.message.create', 0]]);
  });

  it('every logged write is announced on onChange with its entry', async () => {
    const seen: Array<MessageLogEntry | null> = [];
    const stop = emulator.onChange((event) => {
      if (event.type === 'message') seen.push(event.entry);
    });
    const messageId = await send();
    await patch(messageId, 42);
    stop();
    expect(seen).toEqual(log(messageId));
  });

});

describe('message write log bound', () => {
  // Filling it over HTTP takes 20 000 requests; the bound is the state's, shared with card logs.
  it('a log keeps at most MAX_LOG_ENTRIES (20 000) entries, dropping the oldest first, like a card log', () => {
    const state = new EmulatorState();
    const message = { messageId: 'om_1', log: [] as MessageLogEntry[] } as unknown as Message;
    for (let i = 0; i < MAX_LOG_ENTRIES + 10; i++) state.logMessage(message, { time: i, endpoint: 'im.message.patch', code: 0 });
    expect(MAX_LOG_ENTRIES).toBe(20_000);
    expect(message.log).toHaveLength(MAX_LOG_ENTRIES);
    expect(message.log[0]!.time).toBe(10);
    expect(message.log.at(-1)!.time).toBe(MAX_LOG_ENTRIES + 9);
  });
});
