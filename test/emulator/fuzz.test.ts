/**
 * Property and fuzz tests: random and malformed requests thrown at a real emulator over loopback.
 * Invariants: every request is answered (no hang), `/open-apis` answers carry the platform envelope
 * with a numeric `code` and an `X-Tt-Logid` and are never 5xx, `/_emulator` answers are JSON objects,
 * the emulator process is not corrupted, and afterwards the server still does its job.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, type EmulatorLimits, startEmulator } from '../../src/emulator/index.js';
import { api, contentPath, createCard, elementText, putContent, streamingCard, tenantToken } from '../support/emulator-http.js';

/** Limits high enough that rate limiting does not hide the handler code behind it. */
const HIGH_LIMITS: EmulatorLimits = {
  apiQps: 1_000_000,
  apiQpm: 1_000_000,
  cardQps: 1_000_000,
  messagePatchQps: 1_000_000,
  chatSendQps: 1_000_000,
};

const HEALTH_APP = { appId: 'cli_health', appSecret: 's_health' };

/** What the fuzzed requests may refer to: ids that exist, and a valid token. */
interface Fixture {
  token: string;
  cardId: string;
  /** A card entity already sent as a message (IM sends of it give 230099/200780). */
  sentCardId: string;
  /** A message showing a card entity. */
  entityMessageId: string;
  /** A message with an inline card, which IM PATCH may update. */
  inlineMessageId: string;
}

async function setUpFixture(emulator: Emulator): Promise<Fixture> {
  emulator.registerApp(HEALTH_APP);
  const token = await tenantToken(emulator);
  const cardId = await createCard(emulator, token);
  const sentCardId = await createCard(emulator, token);
  const send = (content: string) =>
    api(emulator, 'POST', '/open-apis/im/v1/messages?receive_id_type=chat_id', {
      token,
      body: { receive_id: 'oc_fuzz', msg_type: 'interactive', content },
    });
  const entity = await send(JSON.stringify({ type: 'card', data: { card_id: sentCardId } }));
  const inline = await send(JSON.stringify(streamingCard()));
  return {
    token,
    cardId,
    sentCardId,
    entityMessageId: (entity.body.data as { message_id: string }).message_id,
    inlineMessageId: (inline.body.data as { message_id: string }).message_id,
  };
}

/** After the fuzzing: a fresh token, a create, a content write and the control view all work. */
async function expectStillServing(emulator: Emulator): Promise<void> {
  const token = await tenantToken(emulator, HEALTH_APP.appId, HEALTH_APP.appSecret);
  const cardId = await createCard(emulator, token);
  const write = await putContent(emulator, token, cardId, 1, 'still serving');
  expect([write.status, write.body.code]).toEqual([200, 0]);
  const view = await fetch(`${emulator.url}/_emulator/cards/${cardId}`, { signal: AbortSignal.timeout(5000) });
  expect(view.status).toBe(200);
  expect(await view.json()).toMatchObject({ card_id: cardId, sequence: 1, streaming_mode: true });
  expect(elementText(emulator, cardId)).toBe('still serving');
}

/** Keys the emulator process must never find on Object.prototype; removes any it finds. */
function prototypePollution(): string[] {
  const added = Object.keys(Object.prototype);
  for (const key of added) delete (Object.prototype as Record<string, unknown>)[key];
  return added;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

/**
 * Any JSON value as text. fast-check favours keys such as `__proto__`, `constructor` and `toString`,
 * which is wanted here: every property below also checks that Object.prototype stays clean.
 */
const jsonText = fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value));

/** JSON text of a value of some type a field may not expect, including numbers JSON.parse turns odd. */
const oddValueText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'null',
    'true',
    'false',
    '0',
    '-0',
    '-1',
    '1.5',
    '1e999',
    '-1e999',
    '2147483648',
    '123456789012345678901234567890',
    '9007199254740993',
    '""',
    '" "',
    '[]',
    '{}',
    '[[[[[[[[]]]]]]]]',
    '"\\u0000"',
    '"\\ud800"',
    '"𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ 中文 🙂"',
  ),
  jsonText,
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.oneof(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 71, max: 20_000 })).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 1, max: 200_000 }).map((n) => JSON.stringify('x'.repeat(n))),
);

/** Card JSON elements of any shape: known and unknown tags, good and bad ids, nesting. */
const elementArb = fc.letrec((tie) => ({
  element: fc.record(
    {
      tag: fc.oneof(
        fc.constantFrom('markdown', 'plain_text', 'div', 'button', 'collapsible_panel', 'column_set', 'column', 'form', 'img'),
        fc.string({ maxLength: 8 }),
        fc.constantFrom(null, 1),
      ),
      element_id: fc.oneof(
        fc.constantFrom('answer', 'note', 'panel', 'a1', 'x_2', '1bad', 'bad-id', '', 'a'.repeat(21)),
        fc.string({ maxLength: 22 }),
        fc.integer(),
      ),
      content: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.integer(), fc.constant(null)),
      text: tie('element'),
      elements: fc.array(tie('element'), { maxLength: 3 }),
    },
    { requiredKeys: [] },
  ),
})).element;

/** Card JSON, mostly 2.0-shaped and sometimes broken in one place. */
const cardArb = fc.record(
  {
    schema: fc.constantFrom('2.0', '1.0', 2, null),
    config: fc.record(
      {
        streaming_mode: fc.oneof(fc.boolean(), fc.constant('yes')),
        update_multi: fc.oneof(fc.boolean(), fc.constant(null)),
        summary: fc.oneof(fc.record({ content: fc.oneof(fc.string(), fc.integer()) }), fc.string()),
      },
      { requiredKeys: [] },
    ),
    body: fc.oneof(
      fc.record({ elements: fc.oneof(fc.array(elementArb, { maxLength: 5 }), fc.constant({}), fc.string()) }, { requiredKeys: [] }),
      fc.constantFrom(null, [], 'body'),
    ),
    header: fc.record({ title: fc.record({ tag: fc.constant('plain_text'), content: fc.string() }) }),
  },
  { requiredKeys: [] },
);

/** Text carried inside a JSON-string field (`data`, `settings`, `element`, `content` …). */
const innerJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', '{}', '[]', 'null', '0', '"str"', '{', '{"schema":"2.0"', '[{"action":'),
  jsonText,
  cardArb.map((card) => JSON.stringify(card)),
  elementArb.map((element) => JSON.stringify(element)),
  fc.array(elementArb, { maxLength: 4 }).map((elements) => JSON.stringify(elements)),
  fc
    .array(
      fc.record({
        action: fc.constantFrom('partial_update_setting', 'add_elements', 'delete_elements', 'partial_update_element', 'update_element', 'nope'),
        params: fc.oneof(
          fc.record(
            {
              settings: fc.oneof(fc.record({ config: fc.record({ streaming_mode: fc.boolean() }) }), jsonText.map((t) => JSON.parse(t) as unknown)),
              type: fc.constantFrom('append', 'insert_before', 'insert_after', 'sideways'),
              target_element_id: fc.constantFrom('answer', 'panel', 'missing', ''),
              elements: fc.array(elementArb, { maxLength: 2 }),
              element_ids: fc.array(fc.constantFrom('answer', 'note', 'missing', 5), { maxLength: 2 }),
              element_id: fc.constantFrom('answer', 'note', 'stop_btn', 'missing'),
              partial_element: fc.oneof(elementArb, fc.constant(null)),
              element: fc.oneof(elementArb, fc.constant('x')),
            },
            { requiredKeys: [] },
          ),
          fc.constantFrom(null, [], 'params'),
        ),
      }),
      { maxLength: 3 },
    )
    .map((actions) => JSON.stringify(actions))
    ,
  fc.string({ unit: 'binary', maxLength: 30 }),
);

/** How one body field is sent: its valid value, left out, an odd value, or (for JSON-string fields) odd JSON inside. */
type FieldChoice = { kind: 'valid' } | { kind: 'missing' } | { kind: 'raw'; text: string } | { kind: 'inner'; text: string };

function fieldChoice(jsonStringField: boolean): fc.Arbitrary<FieldChoice> {
  const choices: fc.WeightedArbitrary<FieldChoice>[] = [
    { weight: 5, arbitrary: fc.constant({ kind: 'valid' }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'missing' }) },
    { weight: 3, arbitrary: oddValueText.map((text) => ({ kind: 'raw', text })) },
  ];
  if (jsonStringField) choices.push({ weight: 4, arbitrary: innerJsonText.map((text) => ({ kind: 'inner', text })) });
  return fc.oneof(...choices);
}

/** One API endpoint the emulator serves, with a valid value for every body field. */
interface EndpointSpec {
  name: string;
  method: string;
  path(f: Fixture): string;
  fields: Record<string, (f: Fixture, emulator: Emulator) => unknown>;
  /** Fields whose value is a JSON document serialized as a string. */
  jsonStringFields: string[];
}

const CARDS = '/open-apis/cardkit/v1/cards';
const nextSequence = (f: Fixture, emulator: Emulator) => (emulator.card(f.cardId)?.sequence ?? 0) + 1;
const freshUuid = () => `u-${Math.random().toString(36).slice(2)}`;

const ENDPOINT_SPECS: EndpointSpec[] = [
  {
    name: 'auth.tenantAccessToken.internal',
    method: 'POST',
    path: () => '/open-apis/auth/v3/tenant_access_token/internal',
    fields: { app_id: () => 'cli_x', app_secret: () => 's_x' },
    jsonStringFields: [],
  },
  {
    name: 'cardkit.card.create',
    method: 'POST',
    path: () => CARDS,
    fields: { type: () => 'card_json', data: () => JSON.stringify(streamingCard()) },
    jsonStringFields: ['data'],
  },
  {
    name: 'cardkit.card.update',
    method: 'PUT',
    path: (f) => `${CARDS}/${f.cardId}`,
    fields: {
      card: () => ({ type: 'card_json', data: JSON.stringify(streamingCard()) }),
      uuid: freshUuid,
      sequence: nextSequence,
    },
    jsonStringFields: [],
  },
  {
    name: 'cardkit.card.settings',
    method: 'PATCH',
    path: (f) => `${CARDS}/${f.cardId}/settings`,
    fields: {
      settings: () => JSON.stringify({ config: { streaming_mode: true } }),
      uuid: freshUuid,
      sequence: nextSequence,
    },
    jsonStringFields: ['settings'],
  },
  {
    name: 'cardkit.card.batchUpdate',
    method: 'POST',
    path: (f) => `${CARDS}/${f.cardId}/batch_update`,
    fields: {
      actions: () => JSON.stringify([{ action: 'partial_update_element', params: { element_id: 'answer', partial_element: { content: 'b' } } }]),
      uuid: freshUuid,
      sequence: nextSequence,
    },
    jsonStringFields: ['actions'],
  },
  {
    name: 'cardkit.card.idConvert',
    method: 'POST',
    path: () => `${CARDS}/id_convert`,
    fields: { message_id: (f) => f.inlineMessageId },
    jsonStringFields: [],
  },
  {
    name: 'cardkit.cardElement.create',
    method: 'POST',
    path: (f) => `${CARDS}/${f.cardId}/elements`,
    fields: {
      type: () => 'append',
      target_element_id: () => 'panel',
      elements: () => JSON.stringify([{ tag: 'markdown', content: 'added' }]),
      uuid: freshUuid,
      sequence: nextSequence,
    },
    jsonStringFields: ['elements'],
  },
  {
    name: 'cardkit.cardElement.update',
    method: 'PUT',
    path: (f) => `${CARDS}/${f.cardId}/elements/answer`,
    fields: {
      element: () => JSON.stringify({ tag: 'markdown', element_id: 'answer', content: 'replaced' }),
      uuid: freshUuid,
      sequence: nextSequence,
    },
    jsonStringFields: ['element'],
  },
  {
    name: 'cardkit.cardElement.patch',
    method: 'PATCH',
    path: (f) => `${CARDS}/${f.cardId}/elements/answer`,
    fields: { partial_element: () => JSON.stringify({ content: 'patched' }), uuid: freshUuid, sequence: nextSequence },
    jsonStringFields: ['partial_element'],
  },
  {
    name: 'cardkit.cardElement.content',
    method: 'PUT',
    path: (f) => contentPath(f.cardId),
    fields: { content: () => 'streamed text', uuid: freshUuid, sequence: nextSequence },
    jsonStringFields: [],
  },
  {
    name: 'cardkit.cardElement.delete',
    method: 'DELETE',
    path: (f) => `${CARDS}/${f.cardId}/elements/stop_btn`,
    fields: { uuid: freshUuid, sequence: nextSequence },
    jsonStringFields: [],
  },
  {
    name: 'im.message.create',
    method: 'POST',
    path: () => '/open-apis/im/v1/messages?receive_id_type=chat_id',
    fields: {
      receive_id: () => 'oc_fuzz_target',
      msg_type: () => 'interactive',
      content: (f) => JSON.stringify({ type: 'card', data: { card_id: f.sentCardId } }),
      uuid: freshUuid,
    },
    jsonStringFields: ['content'],
  },
  {
    name: 'im.message.reply',
    method: 'POST',
    path: (f) => `/open-apis/im/v1/messages/${f.entityMessageId}/reply`,
    fields: {
      msg_type: () => 'text',
      content: () => JSON.stringify({ text: 'reply' }),
      reply_in_thread: () => false,
      uuid: freshUuid,
    },
    jsonStringFields: ['content'],
  },
  {
    name: 'im.message.patch',
    method: 'PATCH',
    path: (f) => `/open-apis/im/v1/messages/${f.inlineMessageId}`,
    fields: { content: () => JSON.stringify(streamingCard()) },
    jsonStringFields: ['content'],
  },
];

/** Path segments: the routes' own words, ids, odd percent-encoding, unicode, dots, empties. */
const segmentArb = (f: () => Fixture) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('cardkit', 'v1', 'cards', 'elements', 'content', 'settings', 'batch_update', 'id_convert', 'im', 'messages', 'reply', 'auth', 'v3', 'tenant_access_token', 'internal', 'answer', 'note', 'stop_btn') },
    { weight: 2, arbitrary: fc.constantFrom('CARD', 'MESSAGE').map((which) => (which === 'CARD' ? f().cardId : f().inlineMessageId)) },
    { weight: 3, arbitrary: fc.constantFrom('', '.', '..', '%', '%zz', '%E0%A4%A', '%2F', '%00', '%25', '%C0%AF', '%FF%FE', '%u0041', '%2e%2e', ';', 'a;b=c', '~', '*') },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 12 }) },
    // Long, but 8 of them stay under Node's 16 KB header limit (above it the parser answers a bare 400).
    { weight: 1, arbitrary: fc.constant('x'.repeat(1500)) },
  );

const queryArb = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?receive_id_type=chat_id', '?receive_id_type=open_id', '?receive_id_type=bogus', '?receive_id_type=', '?receive_id_type=chat_id&receive_id_type=email', '?%zz=%zz', '?&&=&'),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 8 }), { maxKeys: 3 }).map((q) => `?${new URLSearchParams(q).toString()}`),
);

/** Methods Node's HTTP parser accepts; anything else is refused before the emulator sees it. */
const methodArb = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'PROPFIND', 'SEARCH', 'get', 'post', 'delete');

type Auth = 'none' | 'valid' | 'garbage' | 'bearer-only' | 'basic' | 'lowercase' | 'app-token-shape';
const authArb = fc.constantFrom<Auth>('none', 'valid', 'valid', 'valid', 'garbage', 'bearer-only', 'basic', 'lowercase', 'app-token-shape');

function authorization(auth: Auth, token: string): string | undefined {
  switch (auth) {
    case 'none':
      return undefined;
    case 'valid':
      return `Bearer ${token}`;
    case 'garbage':
      return `Bearer t-${'0'.repeat(48)}`;
    case 'bearer-only':
      return 'Bearer ';
    case 'basic':
      return 'Basic Y2xpX3g6c194';
    case 'lowercase':
      return `bearer   ${token}  `;
    case 'app-token-shape':
      return 'Bearer a-123';
  }
}

/** Extra headers with printable (and Latin-1) values; hop-by-hop headers fetch refuses are left out. */
const headersArb = fc.dictionary(
  fc.oneof(
    fc.constantFrom('accept', 'accept-encoding', 'content-type', 'content-encoding', 'x-request-id', 'cookie', 'user-agent', 'x-forwarded-for', 'x-tt-logid', 'origin'),
    fc.stringMatching(/^x-[a-z0-9-]{1,16}$/),
  ),
  fc.oneof(
    fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'gzip', '*/*', ''),
    fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  ),
  { maxKeys: 4 },
);

/** A request body as bytes or text: none, JSON objects of odd fields, truncated JSON, random bytes, non-objects. */
const bodyArb: fc.Arbitrary<string | Uint8Array<ArrayBuffer> | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.dictionary(fc.constantFrom('type', 'data', 'sequence', 'uuid', 'content', 'settings', 'actions', 'elements', 'element', 'partial_element', 'card', 'receive_id', 'msg_type', 'message_id', 'app_id', 'app_secret', 'target_element_id', 'reply_in_thread'), oddValueText, { maxKeys: 6 }).map(objectText) },
  { weight: 2, arbitrary: fc.tuple(jsonText, fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 256 }) },
  { weight: 1, arbitrary: oddValueText },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
);

function objectText(fields: Record<string, string>): string {
  return `{${Object.entries(fields)
    .map(([key, text]) => `${JSON.stringify(key)}:${text}`)
    .join(',')}}`;
}

// ---------------------------------------------------------------------------------------------
// Sending and checking
// ---------------------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Headers;
  contentType: string;
  text: string;
  /** The path the server received: fetch resolves dot segments, so `/open-apis/%2e%2e` arrives as `/`. */
  servedPath: string;
}

/** GETs of the preview page's paths answer HTML (or a plain 404 for unknown assets), not JSON. */
function isPreviewRequest(method: string, path: string): boolean {
  return method.toUpperCase() === 'GET' && (path === '/' || path === '/_emulator/preview' || path.startsWith('/_emulator/preview/'));
}

/** A request that landed on the preview page gets the page's answer, under its Content-Security-Policy. */
function expectPreviewAnswer(answer: Answer, context: unknown): void {
  const where = JSON.stringify(context).slice(0, 600);
  expect(answer.status, where).toBeLessThan(500);
  expect(answer.headers.get('content-security-policy'), where).toMatch(/default-src 'self'/);
}

/** Sends one request; a rejection (no answer, or no answer within 5 s) fails the property. */
async function send(
  emulator: Emulator,
  method: string,
  pathAndQuery: string,
  headers: Record<string, string>,
  body: string | Uint8Array<ArrayBuffer> | undefined,
): Promise<Answer> {
  const upper = method.toUpperCase();
  const withBody = upper !== 'GET' && upper !== 'HEAD' && body !== undefined;
  const url = new URL(`${emulator.url}${pathAndQuery}`);
  const servedPath = url.pathname;
  const response = await fetch(url, {
    method,
    headers,
    ...(withBody ? { body } : {}),
    signal: AbortSignal.timeout(5000),
  });
  const contentType = response.headers.get('content-type') ?? '';
  if (contentType.startsWith('text/event-stream')) {
    await response.body?.cancel();
    return { status: response.status, headers: response.headers, contentType, text: '', servedPath };
  }
  return { status: response.status, headers: response.headers, contentType, text: await response.text(), servedPath };
}

/** The platform envelope every `/open-apis` answer must have. */
function expectPlatformAnswer(answer: Answer, method: string, context: unknown): void {
  if (isPreviewRequest(method, answer.servedPath)) {
    expectPreviewAnswer(answer, context);
    return;
  }
  const where = JSON.stringify(context).slice(0, 600);
  expect(answer.status, `5xx for ${where}`).toBeLessThan(500);
  const logId = answer.headers.get('x-tt-logid');
  expect(logId, `no X-Tt-Logid for ${where}`).toMatch(/^\d{14}[0-9A-F]+$/);
  if (method.toUpperCase() === 'HEAD') {
    expect(answer.text).toBe('');
    return;
  }
  expect(answer.contentType, where).toMatch(/^application\/json/);
  const body = JSON.parse(answer.text) as { code?: unknown; error?: { log_id?: unknown } };
  expect(typeof body.code, `no numeric code for ${where}: ${answer.text.slice(0, 200)}`).toBe('number');
  if (body.code === 0) {
    expect(answer.status, where).toBe(200);
  } else {
    expect(answer.status, where).not.toBe(200);
    expect(body.error?.log_id, where).toBe(logId);
  }
}

function expectNoPollution(context: unknown): void {
  expect(prototypePollution(), `Object.prototype polluted by ${JSON.stringify(context).slice(0, 600)}`).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('fuzzing the emulator over HTTP', () => {
  let emulator: Emulator;
  let fixture: Fixture;
  beforeEach(async () => {
    emulator = await startEmulator({ limits: HIGH_LIMITS });
    fixture = await setUpFixture(emulator);
  });
  afterEach(async () => {
    prototypePollution();
    await emulator.close();
  });

  it('every /open-apis request, however malformed, gets a JSON envelope with a numeric code and a log id, never a 5xx', async () => {
    const routeArb = fc.oneof(
      fc.array(segmentArb(() => fixture), { minLength: 0, maxLength: 8 }).map((segments) => `/open-apis/${segments.join('/')}`),
      fc.constantFrom(...ENDPOINT_SPECS).chain((spec) =>
        fc.tuple(fc.constant(spec.path(fixture).split('?')[0]!), fc.array(fc.tuple(fc.nat(10), segmentArb(() => fixture)), { maxLength: 2 })).map(([path, swaps]) => {
          const parts = path.split('/');
          for (const [at, segment] of swaps) parts[3 + (at % Math.max(1, parts.length - 3))] = segment;
          return parts.join('/');
        }),
      ),
    );
    const requestArb = fc.record({ method: methodArb, path: routeArb, query: queryArb, auth: authArb, headers: headersArb, body: bodyArb });

    await fc.assert(
      fc.asyncProperty(requestArb, async (request) => {
        const headers: Record<string, string> = { ...request.headers };
        const auth = authorization(request.auth, fixture.token);
        if (auth !== undefined) headers.authorization = auth;
        const answer = await send(emulator, request.method, `${request.path}${request.query}`, headers, request.body);
        expectPlatformAnswer(answer, request.method, request);
        expectNoPollution(request);
      }),
      {
        numRuns: 300,
        interruptAfterTimeLimit: 15_000,
        // Found by this property: `..` then an empty segment normalises to the path `//`.
        examples: [[{ method: 'GET', path: '/open-apis/..//', query: '', auth: 'none', headers: {}, body: undefined }]],
      },
    );

    await expectStillServing(emulator);
  }, 30_000);

  it('every CardKit and IM endpoint answers wrongly typed, missing and odd fields with a platform error, never a 5xx', async () => {
    const requestArb = fc.constantFrom(...ENDPOINT_SPECS).chain((spec) =>
      fc.record({
        spec: fc.constant(spec),
        fields: fc.record(
          Object.fromEntries(Object.keys(spec.fields).map((name) => [name, fieldChoice(spec.jsonStringFields.includes(name))])) as Record<string, fc.Arbitrary<FieldChoice>>,
        ),
        /** Most requests break one field only, so that the checks behind the first one are reached too. */
        onlyMutate: fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...Object.keys(spec.fields)) },
          { weight: 2, arbitrary: fc.constant(null) },
        ),
        extra: fc.oneof(
          { weight: 4, arbitrary: fc.constant({}) },
          { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 10 }), oddValueText, { maxKeys: 2 }) },
        ),
        auth: fc.constantFrom<Auth>('valid', 'valid', 'valid', 'valid', 'valid', 'valid', 'none', 'garbage'),
        truncateAt: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
      }),
    );

    await fc.assert(
      fc.asyncProperty(requestArb, async ({ spec, fields, onlyMutate, extra, auth, truncateAt }) => {
        const parts: Record<string, string> = {};
        for (const [name, generated] of Object.entries(fields)) {
          const choice: FieldChoice = onlyMutate === null || onlyMutate === name ? generated : { kind: 'valid' };
          if (choice.kind === 'valid') parts[name] = JSON.stringify(spec.fields[name]!(fixture, emulator));
          else if (choice.kind === 'raw') parts[name] = choice.text;
          else if (choice.kind === 'inner') parts[name] = JSON.stringify(choice.text);
        }
        Object.assign(parts, extra);
        let body = objectText(parts);
        if (truncateAt !== null) body = body.slice(0, truncateAt % (body.length + 1));
        const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
        const value = authorization(auth, fixture.token);
        if (value !== undefined) headers.authorization = value;
        const context = { endpoint: spec.name, auth, body: body.slice(0, 400) };

        const answer = await send(emulator, spec.method, spec.path(fixture), headers, body);

        expectPlatformAnswer(answer, spec.method, context);
        expect([200, 400, 413, 429], JSON.stringify(context)).toContain(answer.status);
        expectNoPollution(context);
        // The card stays inspectable whatever was written into it.
        expect(() => JSON.stringify(emulator.card(fixture.cardId))).not.toThrow();
      }),
      { numRuns: 300, interruptAfterTimeLimit: 15_000 },
    );

    await expectStillServing(emulator);
  }, 30_000);

  it('every /_emulator request gets a JSON object back, never a 5xx', async () => {
    const controlPathArb = fc.oneof(
      fc.constantFrom(
        '/_emulator',
        '/_emulator/',
        '/_emulator/cards',
        '/_emulator/messages',
        '/_emulator/stats',
        '/_emulator/faults',
        '/_emulator/clock',
        '/_emulator/events',
        '/_emulator/apps',
        '/_emulator/tokens/revoke',
        '/_emulator/cards/CARD',
        '/_emulator/cards/CARD/interaction',
        '/_emulator/messages/MESSAGE',
      ),
      fc.array(segmentArb(() => fixture), { minLength: 1, maxLength: 4 }).map((segments) => `/_emulator/${segments.join('/')}`),
    );
    const text = <T>(arb: fc.Arbitrary<T>) => arb.map((value) => JSON.stringify(value) ?? 'null');
    const controlBodyArb = fc.oneof(
      bodyArb,
      fc
        .record(
          {
            kind: fc.oneof(text(fc.constantFrom('latency', 'fail', 'bogus')), oddValueText),
            endpoint: text(fc.oneof(fc.constantFrom('*', 'cardkit.cardElement.content', 'im.message.create', ''), fc.integer())),
            count: text(fc.oneof(fc.integer({ min: -2, max: 3 }), fc.double(), fc.string())),
            latencyMs: text(fc.oneof(fc.integer({ min: -5, max: 5 }), fc.string())),
            code: text(fc.oneof(fc.integer(), fc.constantFrom(0, 99991400))),
            httpStatus: text(fc.oneof(fc.integer({ min: 0, max: 700 }), fc.string())),
            headers: fc.oneof(text(fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 2 })), oddValueText),
            ms: text(fc.oneof(fc.integer({ min: -5, max: 5 }), fc.string(), fc.constant(null))),
            speed: text(fc.oneof(fc.double({ min: -10, max: 1000 }), fc.string())),
            advanceMs: fc.oneof(text(fc.integer({ min: -10, max: 1_000 })), oddValueText),
            app_id: text(fc.oneof(fc.string({ maxLength: 8 }), fc.integer())),
            app_secret: text(fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null))),
            token: text(fc.oneof(fc.string({ maxLength: 8 }), fc.integer())),
          },
          { requiredKeys: [] },
        )
        .map((fields) => objectText(fields as Record<string, string>)),
    );
    const requestArb = fc.record({ method: methodArb, path: controlPathArb, query: queryArb, body: controlBodyArb });

    await fc.assert(
      fc.asyncProperty(requestArb, async (request) => {
        const path = request.path.replace('CARD', fixture.cardId).replace('MESSAGE', fixture.inlineMessageId);
        const answer = await send(emulator, request.method, `${path}${request.query}`, { 'content-type': 'application/json' }, request.body);
        const where = JSON.stringify(request).slice(0, 600);
        expect(answer.status, where).toBeLessThan(500);
        if (isPreviewRequest(request.method, answer.servedPath)) {
          expectPreviewAnswer(answer, request);
          return;
        }
        if (request.method.toUpperCase() === 'HEAD' || answer.contentType.startsWith('text/event-stream')) return;
        const body = JSON.parse(answer.text) as unknown;
        expect(typeof body === 'object' && body !== null && !Array.isArray(body), `${where}: ${answer.text.slice(0, 200)}`).toBe(true);
        expectNoPollution(request);
      }),
      { numRuns: 200, interruptAfterTimeLimit: 10_000 },
    );

    // The fuzzing may have left faults, a fast clock or revoked tokens behind; put those back and check.
    emulator.faults.clear();
    emulator.clock.setSpeed(1);
    await expectStillServing(emulator);
  }, 30_000);

  it.each([
    ['cardkit.card.create', (f: Fixture, card: string) => ['POST', CARDS, { type: 'card_json', data: card }]],
    ['cardkit.card.update', (f: Fixture, card: string) => ['PUT', `${CARDS}/${f.cardId}`, { card: { type: 'card_json', data: card }, sequence: 1 }]],
    ['cardkit.card.settings', (f: Fixture, _card: string, nested: string) => ['PATCH', `${CARDS}/${f.cardId}/settings`, { settings: `{"config":{"x":${nested}}}`, sequence: 1 }]],
    ['cardkit.card.batchUpdate', (f: Fixture, _card: string, _nested: string, element: string) => ['POST', `${CARDS}/${f.cardId}/batch_update`, { actions: `[{"action":"add_elements","params":{"type":"append","elements":[${element}]}}]`, sequence: 1 }]],
    ['cardkit.cardElement.create', (f: Fixture, _card: string, _nested: string, element: string) => ['POST', `${CARDS}/${f.cardId}/elements`, { type: 'append', elements: `[${element}]`, sequence: 1 }]],
    ['cardkit.cardElement.update', (f: Fixture, _card: string, _nested: string, element: string) => ['PUT', `${CARDS}/${f.cardId}/elements/answer`, { element, sequence: 1 }]],
    ['cardkit.cardElement.patch', (f: Fixture, _card: string, nested: string) => ['PATCH', `${CARDS}/${f.cardId}/elements/answer`, { partial_element: `{"x":${nested}}`, sequence: 1 }]],
    ['im.message.create', (_f: Fixture, card: string) => ['POST', '/open-apis/im/v1/messages?receive_id_type=chat_id', { receive_id: 'oc_deep', msg_type: 'interactive', content: card }]],
    ['im.message.patch', (f: Fixture, card: string) => ['PATCH', `/open-apis/im/v1/messages/${f.inlineMessageId}`, { content: card }]],
  ] as [string, (f: Fixture, card: string, nested: string, element: string) => [string, string, unknown]][])(
    '%s answers JSON nested 5,000 levels deep inside a card field with a 4xx, not a 500 (a 10 KB card)',
    async (_endpoint, build) => {
      const depth = 5000;
      const nested = '['.repeat(depth) + ']'.repeat(depth);
      const element = `{"tag":"markdown","element_id":"deep","content":"x","extra":${nested}}`;
      const card = `{"schema":"2.0","body":{"elements":[${element}]}}`;
      const [method, path, body] = build(fixture, card, nested, element);

      const res = await api(emulator, method, path, { token: fixture.token, body });

      expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
      await expectStillServing(emulator);
    },
  );
});

describe('deeply nested request bodies', () => {
  let emulator: Emulator;
  beforeEach(async () => {
    emulator = await startEmulator();
    emulator.registerApp(HEALTH_APP);
  });
  afterEach(() => emulator.close());

  it.each([
    ['arrays', (depth: number) => `{"content":${'['.repeat(depth)}${']'.repeat(depth)},"sequence":1}`],
    ['objects', (depth: number) => `{"content":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)},"sequence":1}`],
  ])('a request body of %s nested 100,000 levels deep is refused with 10002 and the server keeps serving', async (_shape, build) => {
    const token = await tenantToken(emulator);
    const cardId = await createCard(emulator, token);
    const res = await api(emulator, 'PUT', contentPath(cardId), { token, rawBody: build(100_000) });
    expect([res.status, res.body.code]).toEqual([400, 10002]);
    await expectStillServing(emulator);
  });
});

// ---------------------------------------------------------------------------------------------
// Raw sockets
// ---------------------------------------------------------------------------------------------

/** Writes raw bytes to the server; resolves with what came back once the server closes (or after `waitMs`). */
function rawExchange(port: number, chunks: (string | Buffer)[], options: { endAfterWrite?: boolean; waitMs?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(received);
    };
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
      if (options.endAfterWrite) socket.end();
    });
    socket.on('data', (data: Buffer) => (received += data.toString('latin1')));
    socket.on('close', finish);
    socket.on('error', finish);
    setTimeout(finish, options.waitMs ?? 3000);
  });
}

function statusOf(raw: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return match ? Number(match[1]) : undefined;
}

describe('raw-socket abuse', () => {
  let emulator: Emulator;
  let token: string;
  let cardId: string;
  beforeEach(async () => {
    emulator = await startEmulator();
    emulator.registerApp(HEALTH_APP);
    token = await tenantToken(emulator);
    cardId = await createCard(emulator, token);
    expect((await putContent(emulator, token, cardId, 1, 'before')).body.code).toBe(0);
  });
  afterEach(() => emulator.close());

  it('a garbage request line is answered 400 and the server keeps serving', async () => {
    const raw = await rawExchange(emulator.port, ['HELLO THERE\r\n\r\n']);
    expect(statusOf(raw)).toBe(400);
    await expectStillServing(emulator);
  });

  it('random binary garbage is answered 400 or dropped, and the server keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), async (bytes) => {
        const raw = await rawExchange(emulator.port, [Buffer.from(bytes)], { endAfterWrite: true, waitMs: 2000 });
        const status = statusOf(raw);
        if (status !== undefined) expect(status).toBeLessThan(500);
      }),
      { numRuns: 25 },
    );
    await expectStillServing(emulator);
  });

  it('a method Node does not know (or a lowercase one) is refused with 400 before routing', async () => {
    for (const method of ['FOO', 'patch', 'G E T']) {
      const raw = await rawExchange(emulator.port, [`${method} ${contentPath(cardId)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`]);
      expect([method, statusOf(raw)]).toEqual([method, 400]);
    }
    await expectStillServing(emulator);
  });

  it('incomplete headers and then a close leave no trace and the server keeps serving', async () => {
    const raw = await rawExchange(
      emulator.port,
      [`PUT ${contentPath(cardId)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Le`],
      { endAfterWrite: true },
    );
    expect(statusOf(raw) ?? 400).toBeLessThan(500);
    expect(emulator.card(cardId)?.sequence).toBe(1);
    await expectStillServing(emulator);
  });

  it('a body shorter than its Content-Length and then a close is not applied and not counted as an internal error', async () => {
    const body = JSON.stringify({ content: 'cut short', sequence: 2 });
    await rawExchange(
      emulator.port,
      [
        `PUT ${contentPath(cardId)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length + 50}\r\n\r\n`,
        body,
      ],
      { endAfterWrite: true },
    );
    await new Promise((resolve) => setTimeout(resolve, 50));

    expect(elementText(emulator, cardId)).toBe('before');
    expect(emulator.card(cardId)?.sequence).toBe(1);
    expect(emulator.stats().rejected).not.toHaveProperty('1500');
    await expectStillServing(emulator);
  });

  it('a body that stalls halfway does not block other clients', async () => {
    const stalled = connect(emulator.port, '127.0.0.1');
    await new Promise((resolve) => stalled.once('connect', resolve));
    stalled.write(`PUT ${contentPath(cardId)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 1000\r\n\r\n{"content":`);
    try {
      await expectStillServing(emulator);
    } finally {
      stalled.destroy();
    }
  });

  it.each([
    ['an absolute-form target with a broken host', 'GET http://[bad/open-apis/cardkit/v1/cards HTTP/1.1'],
    ['a path of two slashes', 'GET // HTTP/1.1'],
    ['a path starting with two slashes and a broken host', 'GET //[ HTTP/1.1'],
  ])('%s is answered with a 4xx, not a 500', async (_name, requestLine) => {
    const raw = await rawExchange(emulator.port, [`${requestLine}\r\nHost: x\r\nConnection: close\r\n\r\n`]);
    const status = statusOf(raw);
    expect(status, raw).toBeGreaterThanOrEqual(400);
    expect(status, raw).toBeLessThan(500);
    await expectStillServing(emulator);
  });

  it('an oversized header block is refused with a 4xx and the server keeps serving', async () => {
    const raw = await rawExchange(emulator.port, [`GET /open-apis/x HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`]);
    expect([400, 431]).toContain(statusOf(raw));
    await expectStillServing(emulator);
  });

  it('many pipelined requests on one connection are all answered in order', async () => {
    const tokenRequest = (i: number) => {
      const body = JSON.stringify({ app_id: 'cli_x', app_secret: i % 2 ? 's_x' : 'wrong' });
      return `POST /open-apis/auth/v3/tenant_access_token/internal HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    };
    const requests = Array.from({ length: 20 }, (_, i) => tokenRequest(i));
    const raw = await rawExchange(emulator.port, [...requests, `GET /open-apis/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`]);
    const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    expect(statuses).toEqual([...Array.from({ length: 20 }, (_, i) => (i % 2 ? 200 : 400)), 404]);
  });
});
