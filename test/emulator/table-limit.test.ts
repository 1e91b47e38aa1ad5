/**
 * The markdown table cap (reference §14, §27): at most 4 tables per markdown component by default; a write that
 * leaves more is refused, on IM with 230099 carrying ErrCode 11310, on CardKit with `tableLimit.cardKitCode`.
 */
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { startEmulator } from '../../src/emulator/index.js';
import { type ApiResponse, api, createCard, elementText, putContent, streamingCard, useEmulator } from '../support/emulator-http.js';

const CARDS = '/open-apis/cardkit/v1/cards';
const MESSAGES = '/open-apis/im/v1/messages';
const TABLE_EXT = 'ErrCode: 11310; ErrMsg: card table number over limit; ErrorValue: table; ';

/** `n` small markdown tables, separated by paragraphs. */
function tables(n: number, label = 't'): string {
  return Array.from({ length: n }, (_, i) => `${label}${i}\n\n| a | b |\n|---|---|\n| ${i} | x |\n`).join('\n');
}

function card(...contents: string[]): Record<string, unknown> {
  return { schema: '2.0', body: { elements: contents.map((content, i) => ({ tag: 'markdown', element_id: `md${i}`, content })) } };
}

function create(emulator: Emulator, token: string, json: unknown): Promise<ApiResponse> {
  return api(emulator, 'POST', CARDS, { token, body: { type: 'card_json', data: JSON.stringify(json) } });
}

function expectCardKitRefusal(res: ApiResponse, code = 200220): void {
  expect([res.status, res.body.code]).toEqual([400, code]);
  expect(res.body.msg).toBe(`Failed to generate card content, ext=${TABLE_EXT}`);
}

function expectImRefusal(res: ApiResponse): void {
  expect([res.status, res.body.code]).toEqual([400, 230099]);
  expect(res.body.msg).toBe(`Failed to create card content, ext=${TABLE_EXT}`);
}

describe('markdown table cap on CardKit writes', () => {
  let emulator: Emulator;
  let token: string;
  const fixture = useEmulator((started) => ({ emulator, token } = started));

  it('a markdown component may hold 4 tables; create with a fifth gets 200220 carrying ErrCode 11310 and creates nothing', async () => {
    expect((await create(emulator, token, card(tables(4)))).body.code).toBe(0);
    expectCardKitRefusal(await create(emulator, token, card(tables(5))));
    expect(emulator.cards()).toHaveLength(1);
  });

  it('the cap is per markdown component by default: two components with 4 tables each are accepted', async () => {
    expect((await create(emulator, token, card(tables(4), tables(4)))).body.code).toBe(0);
  });

  it('streaming content that would leave a fifth table is refused, logged, and the element keeps its text', async () => {
    const cardId = await createCard(emulator, token);
    expect((await putContent(emulator, token, cardId, 1, tables(4))).body.code).toBe(0);
    expectCardKitRefusal(await putContent(emulator, token, cardId, 2, tables(5)));
    expect(elementText(emulator, cardId)).toBe(tables(4));
    expect(emulator.card(cardId)?.log.at(-1)).toMatchObject({ endpoint: 'cardkit.cardElement.content', code: 200220 });
  });

  it('every CardKit write that leaves too many tables is refused: update, batch_update, element create, update and patch', async () => {
    const cardId = await createCard(emulator, token);
    const over = { tag: 'markdown', element_id: 'over', content: tables(5) };
    const path = `${CARDS}/${cardId}`;
    const writes: [string, string, Record<string, unknown>][] = [
      ['PUT', path, { card: { type: 'card_json', data: JSON.stringify(card(tables(5))) } }],
      ['POST', `${path}/batch_update`, { actions: JSON.stringify([{ action: 'add_elements', params: { type: 'append', elements: [over] } }]) }],
      ['POST', `${path}/elements`, { type: 'append', elements: JSON.stringify([over]) }],
      ['PUT', `${path}/elements/answer`, { element: JSON.stringify({ ...over, element_id: 'answer' }) }],
      ['PATCH', `${path}/elements/answer`, { partial_element: JSON.stringify({ content: tables(5) }) }],
    ];
    for (const [i, [method, url, body]] of writes.entries()) {
      const res = await api(emulator, method, url, { token, body: { ...body, sequence: i + 1 } });
      expect([method, url, res.body.code]).toEqual([method, url, 200220]);
      expectCardKitRefusal(res);
    }
    expect(emulator.card(cardId)?.card).toMatchObject({ body: streamingCard().body as object });
  });

  it('tables inside code fences, and pipes without a delimiter row, are not counted', async () => {
    const fenced = `${tables(4)}\n\`\`\`md\n${tables(3)}\`\`\`\n~~~~\n${tables(2)}~~~~\na | b | c\nno delimiter | here\n`;
    expect((await create(emulator, token, card(fenced))).body.code).toBe(0);
    const unclosedFence = `${tables(4)}\n\`\`\`\n${tables(6)}`;
    expect((await create(emulator, token, card(unclosedFence))).body.code).toBe(0);
  });

  it('a table without outer pipes counts; a delimiter row whose cells differ from the header row does not start a table', async () => {
    const bare = `${tables(4)}\n\na | b\n--|--\n1 | 2\n`;
    expectCardKitRefusal(await create(emulator, token, card(bare)));
    const mismatched = `${tables(4)}\n\n| a | b | c |\n|---|---|\n`;
    expect((await create(emulator, token, card(mismatched))).body.code).toBe(0);
  });

  it('the rows of a table never start another: a table with many delimiter-like rows is one table', async () => {
    const rows = Array.from({ length: 20 }, () => '|---|---|').join('\n');
    expect((await create(emulator, token, card(`${tables(3)}\n| a | b |\n|---|---|\n${rows}\n`))).body.code).toBe(0);
  });

  it("tableLimit { max: 5, per: 'card' } counts every markdown component's tables and table components together", async () => {
    await fixture.restart({ tableLimit: { max: 5, per: 'card' } });
    expect((await create(emulator, token, card(tables(3), tables(2)))).body.code).toBe(0);
    expectCardKitRefusal(await create(emulator, token, card(tables(3), tables(3))));
    const withComponent = card(tables(5));
    (withComponent.body as { elements: unknown[] }).elements.push({ tag: 'table', columns: [], rows: [] });
    expectCardKitRefusal(await create(emulator, token, withComponent));
  });

  it('tableLimit.cardKitCode 11310 answers the sub-code itself on CardKit writes', async () => {
    await fixture.restart({ tableLimit: { cardKitCode: 11310 } });
    expectCardKitRefusal(await create(emulator, token, card(tables(5))), 11310);
  });

  it('tableLimit is validated up front, naming the field and what was received', async () => {
    await expect(startEmulator({ tableLimit: { max: -1 } })).rejects.toThrow(/tableLimit\.max.*-1/);
    await expect(startEmulator({ tableLimit: { per: 'chat' as 'card' } })).rejects.toThrow(/tableLimit\.per.*"chat"/);
    await expect(startEmulator({ tableLimit: { cardKitCode: 10002 as 11310 } })).rejects.toThrow(/tableLimit\.cardKitCode.*10002/);
  });
});

describe('markdown table cap on IM', () => {
  let emulator: Emulator;
  let token: string;
  useEmulator((started) => ({ emulator, token } = started));

  const send = (content: unknown) =>
    api(emulator, 'POST', `${MESSAGES}?receive_id_type=chat_id`, {
      token,
      body: { receive_id: 'oc_chat', msg_type: 'interactive', content: JSON.stringify(content) },
    });

  it('IM send, reply and patch of a 2.0 card with a fifth table get 230099 carrying ErrCode 11310', async () => {
    expectImRefusal(await send(card(tables(5))));
    const sent = await send(card(tables(4)));
    expect(sent.body.code).toBe(0);
    const messageId = (sent.body.data as { message_id: string }).message_id;
    const reply = await api(emulator, 'POST', `${MESSAGES}/${messageId}/reply`, {
      token,
      body: { msg_type: 'interactive', content: JSON.stringify(card(tables(5))) },
    });
    expectImRefusal(reply);
    expectImRefusal(await api(emulator, 'PATCH', `${MESSAGES}/${messageId}`, { token, body: { content: JSON.stringify(card(tables(5))) } }));
    expect(emulator.messages()).toHaveLength(1);
    expect(emulator.message(messageId)?.updated).toBe(false);
  });

  it('Card JSON 1.0 inline cards are not counted (their markdown renders no tables)', async () => {
    expect((await send({ config: { update_multi: true }, elements: [{ tag: 'markdown', content: tables(6) }] })).body.code).toBe(0);
  });
});
