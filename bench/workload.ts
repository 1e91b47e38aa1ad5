import { seededRandom as random } from '../demo/random.js';

/**
 * The benchmark's model: realistic answers (Chinese and English prose, a list, a table, a code block)
 * streamed as tokens of 1-4 characters at 50-100 tokens per second, with jitter, like a chat model.
 */
const PARTS = [
  '飞书卡片的流式更新让用户在模型生成时就能看到答案的每一个字。',
  'Streaming a card means sending the full text on every write; the client types out what was appended.',
  '\n\n## 要点\n\n- 每次写入都带有严格递增的 `sequence`\n- 每张卡片每秒最多 10 次操作\n- 流式模式在打开 10 分钟后自动关闭\n\n',
  '| 限制 | 数值 |\n|---|---|\n| 每个 API 每秒 | 50 |\n| 每个 API 每分钟 | 1000 |\n\n',
  '```ts\nconst session = await CardSession.start(client, { to: { chat_id } });\nawait session.pipe(stream);\n```\n\n',
  'A governor shared by every session keeps the app inside its budget, fairly between cards, so no answer starves. ',
  '当多个用户同时提问时，所有卡片共享同一个应用的调用额度；公平的调度让每张卡片都能及时更新。',
];


/** An answer of about `chars` characters, different per seed. */
export function answer(seed: number, chars = 900): string {
  const next = random(seed);
  let text = '';
  while (text.length < chars) text += PARTS[Math.floor(next() * PARTS.length)]!;
  return text;
}

/** Splits text into tokens: CJK 1-2 characters, other text 2-4, never inside a surrogate pair. */
export function tokens(text: string, seed: number): string[] {
  const next = random(seed);
  const chars = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < chars.length; ) {
    const cjk = /[\u3000-\u9fff\uff00-\uffef]/.test(chars[i]!);
    const size = cjk ? 1 + Math.floor(next() * 2) : 2 + Math.floor(next() * 3);
    out.push(chars.slice(i, i + size).join(''));
    i += size;
  }
  return out;
}

export interface TimedDelta {
  text: string;
  /** When the delta was produced, on the emulator clock. */
  at: number;
}

/**
 * Streams `pieces` at `tokensPerSecond` (±30% jitter per token), recording when each was produced.
 * Timers are coarse under load; the production time recorded is the real one.
 */
export async function* model(pieces: string[], tokensPerSecond: number, seed: number, now: () => number, log: TimedDelta[]): AsyncGenerator<string> {
  const next = random(seed);
  const interval = 1000 / tokensPerSecond;
  let due = performance.now();
  for (const text of pieces) {
    due += interval * (0.7 + next() * 0.6);
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    log.push({ text, at: now() });
    yield text;
  }
}
