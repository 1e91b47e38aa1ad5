/**
 * The long-answer scenario of `npm run bench` (issue 10): N conversations at once, each model streaming
 * an answer of about 60 KB of realistic markdown (Chinese and English prose, headings, lists, code
 * blocks, up to 14 tables) in deltas of a few hundred characters, into the emulator with Feishu's limits
 * (30 KB per card, 4 tables per markdown element, 50/s and 1000/min per API, 10/s per card). The engine
 * (CardSession, which rolls over into new elements and continuation cards) against a baseline that
 * streams the whole answer into one card with a 500 ms throttle. Characters lost: what of the answer the
 * emulator's cards do not hold, read in order, the engine's documented notes and repairs not counted.
 *
 *   npx tsx bench/long-answers.ts            # N = 1, 5, 20
 *   npx tsx bench/long-answers.ts --n 5
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { seededRandom as random } from '../demo/random.js';
import { type Emulator, startEmulator } from '../src/emulator/index.js';
import { CardSession, FairGovernor, FeishuClient } from '../src/index.js';
import { LIMITS } from './scenario.js';
import { type Job, throttle500 } from './strategies.js';
import { type TimedDelta, model } from './workload.js';

// ---------------------------------------------------------------- the answers

const ZH = [
  '飞书卡片的流式更新让用户在模型生成时就能看到答案的每一个字。',
  '每次写入都必须携带严格递增的序号，否则平台会拒绝这次更新。',
  '当多个用户同时提问时，所有卡片共享同一个应用的调用额度。',
  '一张卡片的内容不能超过三十千字节，超出的部分需要放到新的卡片里继续显示。',
  '表格是最容易出问题的地方：一个 Markdown 组件最多只能包含四个表格。',
  '流式模式在打开十分钟后会自动关闭，所以长时间的回答需要重新打开它。',
  '如果请求被限流，客户端应该按照响应头给出的时间等待，而不是立即重试。',
  '我们建议把模型的输出先合并，再按照固定的节奏写入卡片。',
  '在生产环境中，网络抖动和超时是常态，每一次写入都应该可以安全地重试。',
  '下面的例子展示了如何在一个真实的机器人里使用这个库。',
];
const EN = [
  'Streaming a card means sending the full text on every write; the client types out what was appended.',
  'A governor shared by every session keeps the app inside its budget, fairly between cards, so no answer starves.',
  'The platform counts calls when they arrive, so a safety margin on every window avoids surprises at the edges.',
  'Long answers are where most bots fail: the card stops growing at 30 KB and the rest of the text is simply gone.',
  'Tables deserve special care, because the fifth table in one markdown element makes the whole write fail.',
  'When a write is refused for a transient reason, retrying it with the same text is always safe.',
  'The model does not wait for the card, so the text that arrives meanwhile is coalesced into the next write.',
  'In practice, most answers are short, but the long ones are the ones users remember when they break.',
  'Each continuation card is sent right after the previous one, so the conversation reads in order.',
  'Keep the number of moving parts small: one session per answer, one governor per app.',
];
const WORDS = ['session', 'governor', '序号', 'card_id', '限流', 'streaming', '表格', 'sequence', '卡片', 'rollover', '重试', 'budget'];
const EMOJI = ['✅', '🚀', '⚠️', '📌'];
/** Tables per answer, by answer index: most answers carry more than the 4 a markdown element holds. */
const TABLES = [10, 3, 7, 14, 2, 6];

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

function paragraph(next: () => number, pool: string[]): string {
  const sentences = Array.from({ length: 3 + Math.floor(next() * 5) }, () => pick(next, pool));
  return sentences.join(pool === EN ? ' ' : '');
}

function list(next: () => number): string {
  const ordered = next() < 0.4;
  const items = Array.from({ length: 3 + Math.floor(next() * 5) }, (_, i) => {
    const item = `${ordered ? `${i + 1}.` : '-'} **${pick(next, WORDS)}**：${pick(next, next() < 0.5 ? ZH : EN)} \`${pick(next, WORDS)}\``;
    return next() < 0.25 ? `${item}\n   - ${pick(next, EN)} ${pick(next, EMOJI)}` : item;
  });
  return items.join('\n');
}

function code(next: () => number, block: number): string {
  const lines = 4 + Math.floor(next() * 26);
  switch (Math.floor(next() * 4)) {
    case 0:
      return `\`\`\`ts\n${Array.from({ length: lines }, (_, i) => `const step${block}_${i} = await session.append(chunks[${i}]); // 第 ${i} 步：写入`).join('\n')}\n\`\`\``;
    case 1:
      return `\`\`\`python\ndef handle_${block}(event):\n${Array.from({ length: lines }, (_, i) => `    total += len(event.deltas[${i}])  # 合并第 ${i} 段`).join('\n')}\n    return total\n\`\`\``;
    case 2:
      return `\`\`\`bash\n${Array.from({ length: lines }, (_, i) => `curl -s -X PATCH "$HOST/open-apis/cardkit/v1/cards/$CARD/elements/answer/content" -d '{"sequence": ${i + 1}}'`).join('\n')}\n\`\`\``;
    default:
      // A table inside a fence is code, not a table: it counts towards no cap.
      return `\`\`\`markdown\n| 列 | value |\n|---|---|\n${Array.from({ length: Math.min(lines, 8) }, (_, i) => `| 行 ${i} | ${i * block} |`).join('\n')}\n\`\`\``;
  }
}

function table(next: () => number, n: number): string {
  const columns = 3 + Math.floor(next() * 2);
  const header = ['限制', 'Limit', '数值', 'Notes'].slice(0, columns);
  const rows = Array.from({ length: 3 + Math.floor(next() * 12) }, (_, r) =>
    Array.from({ length: columns }, (_, c) => (c === 0 ? `${pick(next, WORDS)} ${n}.${r}` : c === 2 ? `${Math.floor(next() * 1000)}` : pick(next, WORDS))),
  );
  return [header, header.map((_, c) => (c === 2 ? '---:' : '---')), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** An answer of about `bytes` UTF-8 bytes of markdown with `tables` tables, different per seed. */
export function longAnswer(seed: number, tables: number, bytes = 60_000): string {
  const next = random(seed);
  const tableBlocks = Array.from({ length: tables }, (_, i) => `Table ${i + 1}：${pick(next, ZH)}\n\n${table(next, i + 1)}`);
  let size = Buffer.byteLength(tableBlocks.join('\n\n'));
  const blocks: string[] = [];
  for (let section = 1; size < bytes; ) {
    const roll = next();
    const block =
      roll < 0.08 ? `## ${section++}. ${pick(next, WORDS)} 与 ${pick(next, WORDS)}`
      : roll < 0.38 ? paragraph(next, ZH)
      : roll < 0.65 ? paragraph(next, EN)
      : roll < 0.8 ? list(next)
      : roll < 0.92 ? code(next, blocks.length)
      : `> ${pick(next, EMOJI)} ${pick(next, ZH)}`;
    blocks.push(block);
    size += Buffer.byteLength(block) + 2;
  }
  for (const block of tableBlocks) blocks.splice(1 + Math.floor(next() * blocks.length), 0, block);
  return `${blocks.join('\n\n')}\n`;
}

/** Deltas of 150-450 characters (code points), as a fast model sends them. */
function deltas(text: string, seed: number): string[] {
  const next = random(seed);
  const chars = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < chars.length; ) {
    const size = 150 + Math.floor(next() * 300);
    out.push(chars.slice(i, i + size).join(''));
    i += size;
  }
  return out;
}

/** Deltas per second the model sends (±30% jitter each): about 4,500 characters a second. */
const DELTAS_PER_SECOND = 15;

// ---------------------------------------------------------------- the strategies

/** A card of an answer: a card entity, or a message card (cardId null). */
interface CardRef {
  cardId: string | null;
  messageId: string | null;
}

interface LongOutcome {
  /** Every card of the answer, in order. */
  cards: CardRef[];
  error?: string;
}

interface LongStrategy {
  name: string;
  run(job: Job): Promise<LongOutcome>;
}

function engineOver(transport: 'cardkit' | 'message', name: string): LongStrategy {
  return {
    name,
    async run({ client, governor, chatId, source }) {
      const session = await CardSession.start(client, { governor, to: { chat_id: chatId }, transport });
      try {
        for await (const delta of source()) session.append(delta);
        return { cards: (await session.finish()).cards };
      } catch (error) {
        return { cards: [...session.cards], error: String(error) };
      }
    },
  };
}

const engine = engineOver('cardkit', 'engine (CardSession + shared governor)');
const engineMessages = engineOver('message', 'engine, message cards (transport: message)');

const oneCard: LongStrategy = {
  name: 'baseline: one card, 500 ms throttle',
  async run(job) {
    const { cardId } = await throttle500.run(job);
    return { cards: [{ cardId, messageId: null }] };
  },
};

// ---------------------------------------------------------------- what the cards hold

/** The streamed element and the elements it continued in (`answer`, `answer_2` …), joined in card order. */
function cardText(emulator: Emulator, { cardId, messageId }: CardRef): string {
  const texts: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (record.tag === 'markdown' && typeof record.element_id === 'string' && /^answer(_\d+)?$/.test(record.element_id)) {
        texts.push(typeof record.content === 'string' ? record.content : '');
      }
      for (const [key, value] of Object.entries(record)) if (key !== 'header') visit(value);
    }
  };
  const content = messageId === null ? undefined : emulator.message(messageId)?.content;
  visit(cardId === null ? (content === undefined ? undefined : (JSON.parse(content) as { body?: unknown }).body) : emulator.card(cardId)?.card.body);
  return texts.join('');
}

const NOTE = '\n\n_(continued below)_';
const FENCE_LINE = /^(`{3,}|~{3,})[^\n]*\n/;
const HEADER_ROWS = /^[^\n]*\|[^\n]*\n[^\n]*-[^\n]*\n/;

interface Coverage {
  /** Characters (code points) of the answer that no card holds where it belongs. */
  lost: number;
  exact: boolean;
  /** What did not read as the answer, for the report. */
  problems: string[];
}

const codePoints = (text: string) => Array.from(text).length;

/**
 * Reads the cards in order against the answer (as test/session/rollover.test.ts's `rebuild`): each card
 * but the last must end with the "continued below" note; a card may start with a reopened fence or a
 * repeated table header and end with a closing fence (the documented repairs). Each card's share is
 * the longest of those readings that continues the answer where the previous card stopped; text the
 * cards skip, and the rest after the last card, is lost.
 */
function coverage(cardTexts: string[], answer: string): Coverage {
  const problems: string[] = [];
  let pos = 0;
  let lost = 0;
  cardTexts.forEach((raw, i) => {
    let text = raw;
    if (text.endsWith(NOTE)) text = text.slice(0, -NOTE.length);
    else if (i < cardTexts.length - 1) problems.push(`card ${i + 1} does not end with the continued-below note`);
    const starts = [text];
    if (i > 0) {
      const fence = FENCE_LINE.exec(text);
      if (fence) starts.push(text.slice(fence[0].length));
      const header = HEADER_ROWS.exec(text);
      if (header) starts.push(text.slice(header[0].length));
    }
    const variants = starts.flatMap((t) => {
      const closed = /\n?(`{3,}|~{3,})$/.exec(t);
      return closed ? [t, t.slice(0, closed.index), t.slice(0, -closed[1]!.length)] : [t];
    });
    const share = variants.filter((v) => answer.startsWith(v, pos)).sort((a, b) => b.length - a.length)[0];
    if (share !== undefined) {
      pos += share.length;
      return;
    }
    // The card does not continue the answer here: count the text it skipped or lacks.
    const later = variants.map((v) => ({ v, at: v === '' ? -1 : answer.indexOf(v, pos) })).find(({ at }) => at > pos);
    if (later) {
      problems.push(`card ${i + 1} skips characters ${pos}-${later.at} of the answer`);
      lost += codePoints(answer.slice(pos, later.at));
      pos = later.at + later.v.length;
      return;
    }
    let same = 0;
    while (same < text.length && text[same] === answer[pos + same]) same++;
    problems.push(`card ${i + 1} departs from the answer at character ${pos + same}: card has ${JSON.stringify(text.slice(same, same + 40))}, answer ${JSON.stringify(answer.slice(pos + same, pos + same + 40))}`);
    pos += same;
  });
  lost += codePoints(answer.slice(pos));
  return { lost, exact: lost === 0 && problems.length === 0, problems };
}

// ---------------------------------------------------------------- one row

interface LongRow {
  strategy: string;
  n: number;
  seconds: number;
  cardsPerAnswer: number[];
  writesByApi: Record<string, number>;
  rejected: Record<string, number>;
  lost: number;
  answerChars: number;
  exact: number;
  /** Cards still streaming after the answer ended. */
  streaming: number;
  findings: string[];
}

async function longScenario(strategy: LongStrategy, n: number, seed = 1): Promise<LongRow> {
  const emulator = await startEmulator({ limits: LIMITS });
  emulator.faults.add({ kind: 'latency', latencyMs: 30, latencyMaxMs: 80 });
  const client = new FeishuClient({ appId: 'cli_x', appSecret: 's_x', domain: emulator.url });
  // The content API alone, as the figures in the README were measured (spill is measured by the sustained benchmark).
  const governor = new FairGovernor({ limits: LIMITS, appId: 'cli_x', spill: false });
  const now = () => emulator.clock.now();
  const answers = Array.from({ length: n }, (_, i) => longAnswer(seed * 1000 + i, TABLES[i % TABLES.length]!));
  const started = performance.now();
  const results = await Promise.allSettled(
    answers.map((text, i) => {
      const pieces = deltas(text, seed * 7 + i);
      const log: TimedDelta[] = [];
      return strategy.run({ client, governor, chatId: `oc_long_${i}`, source: () => model(pieces, DELTAS_PER_SECOND, seed + i, now, log) });
    }),
  );
  const seconds = (performance.now() - started) / 1000;

  const row: LongRow = { strategy: strategy.name, n, seconds, cardsPerAnswer: [], writesByApi: {}, rejected: {}, lost: 0, answerChars: 0, exact: 0, streaming: 0, findings: [] };
  results.forEach((result, i) => {
    const answer = answers[i]!;
    const where = `seed ${seed}, answer ${i} (${codePoints(answer)} characters, ${TABLES[i % TABLES.length]} tables)`;
    row.answerChars += codePoints(answer);
    const cards = result.status === 'fulfilled' ? result.value.cards : [];
    if (result.status === 'rejected') row.findings.push(`${where}: failed: ${String(result.reason)}`);
    else if (result.value.error) row.findings.push(`${where}: failed: ${result.value.error}`);
    row.cardsPerAnswer.push(cards.length);
    row.streaming += cards.filter(({ cardId }) => cardId !== null && emulator.card(cardId)?.streaming_mode).length;
    const { lost, exact, problems } = coverage(cards.map((card) => cardText(emulator, card)), answer);
    row.lost += lost;
    if (exact) row.exact++;
    for (const problem of problems) row.findings.push(`${where}: ${problem}`);
  });
  const stats = emulator.stats();
  row.writesByApi = Object.fromEntries(Object.entries(stats.endpoints).map(([api, count]) => [api, count.accepted]));
  row.rejected = stats.rejected;
  await emulator.close();
  return row;
}

// ---------------------------------------------------------------- the table

function line(row: LongRow): string {
  const min = Math.min(...row.cardsPerAnswer);
  const max = Math.max(...row.cardsPerAnswer);
  const cards = min === max ? `${min}` : `${min}-${max}`;
  const writes = Object.entries(row.writesByApi)
    .filter(([api, count]) => count > 0 && !api.startsWith('auth'))
    .map(([api, count]) => `${api.replace('cardkit.card.', '').replace('cardkit.cardElement.', 'element.').replace('im.message.', 'im.')} ${count}`)
    .join(', ');
  const refused = Object.entries(row.rejected).map(([code, count]) => `${code}×${count}`).join(' ') || '0';
  const lost = row.lost === 0 ? '0' : `${row.lost.toLocaleString('en')} of ${row.answerChars.toLocaleString('en')} (${Math.round((row.lost / row.answerChars) * 100)}%)`;
  const open = row.streaming > 0 ? ` (${row.streaming} cards left streaming)` : '';
  return `| ${row.n} | ${row.strategy} | ${cards} | ${writes} | ${refused} | ${lost} | ${row.exact}/${row.n}${open} | ${row.seconds.toFixed(1)} |`;
}

export async function benchLongAnswers(options: { ns?: number[]; seed?: number } = {}): Promise<void> {
  const ns = options.ns ?? [1, 5, 20];
  const seed = options.seed ?? 1;
  const sample = longAnswer(seed * 1000, TABLES[0]!);
  console.log(
    `\nLong answers: ~${Math.round(Buffer.byteLength(sample) / 1024)} KB of markdown each (~${codePoints(sample).toLocaleString('en')} characters; ` +
      `Chinese and English prose, lists, code blocks, ${TABLES.join('/')} tables by answer), in deltas of 150-450 characters at ~${DELTAS_PER_SECOND}/s, ` +
      `into the emulator with 30-80 ms injected latency, Feishu's limits ${JSON.stringify(LIMITS)}, 30 KB per card and 4 tables per markdown element. ` +
      `Characters lost: what the cards, read in order, do not hold (the engine's "continued below" notes and fence/table-header repairs not counted).\n`,
  );
  console.log('| N | strategy | cards per answer | accepted writes | rejected (code×count) | characters lost | exact answers | s |');
  console.log('|---|---|---|---|---|---|---|---|');
  const findings: string[] = [];
  for (const n of ns) {
    for (const strategy of [engine, engineMessages, oneCard]) {
      const row = await longScenario(strategy, n, seed);
      console.log(line(row));
      if (strategy !== oneCard) findings.push(...row.findings.map((finding) => `N = ${n}, ${finding}`));
    }
  }
  if (findings.length > 0) console.log(`\nEngine findings:\n${findings.map((finding) => `- ${finding}`).join('\n')}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '1,5,20' }, seed: { type: 'string', default: '1' } } });
  await benchLongAnswers({ ns: values.n.split(',').map(Number), seed: Number(values.seed) });
}
