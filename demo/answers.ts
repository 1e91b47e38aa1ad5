/**
 * What the embedded model says: a few realistic answers (Chinese and English prose, fenced code, a
 * Markdown table, lists, emoji outside the BMP), each with the reasoning streamed before it, and one
 * long report for runs that cross the 10-minute streaming window. An answer is a list of blocks joined
 * by a blank line; tool-like pauses fall between blocks.
 */

export interface ScriptedAnswer {
  /** The question this answer is written for. */
  question: string;
  /** Streamed before the answer when reasoning is asked for. */
  reasoning: string;
  /** Paragraphs, lists, tables and code blocks, joined by `\n\n`. */
  blocks: string[];
}

const FENCE = '```';

export const ANSWERS: readonly ScriptedAnswer[] = [
  {
    question: '怎样把大模型的流式回答实时写进飞书卡片？',
    reasoning:
      '用户想把 LLM 的流式输出写进飞书卡片。要点是 CardKit 的三条硬规则：每次写入带全文、sequence 严格递增、单卡片每秒 10 次。' +
      '逐 token 写入会被限流，所以应该合并增量。再给一段 TypeScript 示例和一张规则表，最后提醒关闭流式模式。',
    blocks: [
      '把大模型的流式输出写进飞书卡片，关键是理解 CardKit 的三条规则：**每次写入都要带全文**、**sequence 必须严格递增**、' +
        '**每张卡片每秒最多 10 次操作**。逐 token 调用接口既慢又容易触发限流 🚦，正确的做法是先合并（coalesce）增量，再按节奏写入。',
      '## 推荐做法',
      [
        '1. 用 `cardkit.v1.card.create` 创建一张 `streaming_mode: true` 的卡片实体，再通过 IM 接口发送到会话。',
        '2. 模型每吐出一段 delta，就追加到内存里的全文；同一张卡片同一时刻最多只有一个写入在排队。',
        '3. 真正发送时才读取最新全文、分配下一个 sequence，调用 `cardElement.content`。',
        '4. 回答结束后通过 `settings` 关闭流式模式，并设置会话列表里的摘要，卡片就不会一直显示「[生成中...]」。',
      ].join('\n'),
      '## 示例代码',
      [
        `${FENCE}ts`,
        "import OpenAI from 'openai';",
        "import { CardSession, FeishuClient } from 'feishu-card-session';",
        '',
        'const feishu = new FeishuClient({ appId, appSecret });',
        "const session = await CardSession.start(feishu, { to: { chat_id }, title: '回答' });",
        "const stream = await new OpenAI().chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });",
        'const result = await session.pipe(stream); // 流式写入、收尾、关闭流式模式',
        'console.log(`${result.writes} writes, ${result.retries} retries`);',
        FENCE,
      ].join('\n'),
      '## 平台规则一览',
      [
        '| 规则 | 错误码 | 处理方式 |',
        '|---|---|---|',
        '| sequence 必须严格递增 | 300317 | 跳过冲突的序号，继续写 |',
        '| 单张卡片 10 次/秒 | 230020 | 合并增量，匀速写入 |',
        '| 流式模式 10 分钟后自动关闭 | 200850 | 到期前通过 settings 重新打开 |',
        '| 每个接口 50 次/秒、1000 次/分钟 | 99991400 | 全局限流器在所有卡片间公平分配 |',
      ].join('\n'),
      '这样即使几十个对话同时在流式输出，每个字符也都能准确落到卡片上，结束时卡片也一定会被关闭。✅',
    ],
  },
  {
    question: 'Why does every CardKit write carry the full text instead of just the new delta?',
    reasoning:
      'The user asks about the design of the content endpoint. Key points: idempotency of retries, the typewriter effect ' +
      'computing the prefix, lost responses, and coalescing. Give a short explanation, a list, a JSON example and a table.',
    blocks: [
      'Because a full-text write is **idempotent**. If a request times out, you cannot know whether the platform applied it. ' +
        'With deltas, replaying it could print a sentence twice; with the full text, a replay simply writes the same text again. 🔁',
      'It also lets the client do three useful things:',
      [
        '- **Coalesce.** While one write is in flight, new tokens pile up. The next write reads the latest text, so ten deltas cost one call.',
        '- **Retry safely.** Network errors, `5xx` answers and lost responses are retried with a new `sequence` and the same content.',
        '- **Animate.** The card compares the new text with what it shows and types out only the difference, so readers still see a typewriter.',
      ].join('\n'),
      'A write looks like this:',
      [
        `${FENCE}json`,
        '{',
        '  "content": "Because a full-text write is **idempotent**. If a request times out…",',
        '  "sequence": 17',
        '}',
        FENCE,
      ].join('\n'),
      [
        '| approach | calls for 600 tokens | safe to retry | survives a lost response |',
        '|---|---|---|---|',
        '| one delta per token | 600 | no | no |',
        '| full text per token | 600 | yes | yes |',
        '| full text, coalesced at 10 writes/s | ~60 | yes | yes |',
      ].join('\n'),
      'The cost is bandwidth: a 3,000-character answer is resent on every write. At ten writes per second that is still only a few hundred kilobytes, far cheaper than a duplicated paragraph in front of a user.',
    ],
  },
  {
    question: '用 Python 写一个带抖动的指数退避重试，并解释参数怎么选',
    reasoning:
      '需要一个 Python 的指数退避实现：基础延迟、上限、最大次数、full jitter。解释为什么要抖动（避免惊群），' +
      '给出一张延迟表，并说明哪些错误该重试、哪些不该。',
    blocks: [
      '指数退避（exponential backoff）的思路很简单：失败一次就把等待时间翻倍，直到上限；再加上**随机抖动**，避免很多客户端在同一时刻一起重试，把服务再次压垮。',
      [
        `${FENCE}python`,
        'import random',
        'import time',
        '',
        'def retry(call, *, attempts=8, base=0.2, cap=5.0, retryable=(TimeoutError, ConnectionError)):',
        '    """Calls `call()` until it succeeds; sleeps with full jitter between attempts."""',
        '    for attempt in range(1, attempts + 1):',
        '        try:',
        '            return call()',
        '        except retryable:',
        '            if attempt == attempts:',
        '                raise',
        '            delay = random.uniform(0, min(cap, base * 2 ** (attempt - 1)))',
        '            time.sleep(delay)',
        FENCE,
      ].join('\n'),
      '默认参数下，每次重试前最多等待的时间如下：',
      [
        '| 第几次重试 | 上限（秒） | 实际等待 |',
        '|---|---|---|',
        '| 1 | 0.2 | 0 ~ 0.2 |',
        '| 2 | 0.4 | 0 ~ 0.4 |',
        '| 3 | 0.8 | 0 ~ 0.8 |',
        '| 5 | 3.2 | 0 ~ 3.2 |',
        '| 6 及以后 | 5.0 | 0 ~ 5.0 |',
      ].join('\n'),
      '参数怎么选：',
      [
        '- `base`：接近一次正常请求的耗时，太小会在对方还没恢复时就重试。',
        '- `cap`：用户能接受的最长停顿，聊天场景一般 5 秒以内。',
        '- `attempts`：和 `cap` 一起决定最坏情况下的总时长，8 次大约 20 秒。',
        '- 只重试**暂时性**错误（超时、5xx、限流）；参数错误、权限错误重试多少次都不会成功。',
      ].join('\n'),
      '如果服务端返回了 `Retry-After` 或 `x-ogw-ratelimit-reset`，优先按它给的时间等待，比自己猜更准。⏱️',
    ],
  },
  {
    question: 'Should I use SSE or WebSockets to stream LLM tokens to a browser?',
    reasoning:
      'Compare Server-Sent Events and WebSockets for one-way token streaming. SSE is simpler, works over HTTP, reconnects ' +
      'by itself; WebSockets are bidirectional. Recommend SSE for most chat UIs, with a table and a small client snippet.',
    blocks: [
      'For streaming model output to a page, **Server-Sent Events** are usually the better default. Tokens flow one way, from server to browser, which is exactly what SSE was designed for, and it is plain HTTP: proxies, auth headers, compression and HTTP/2 multiplexing all just work.',
      [
        '| | SSE | WebSocket |',
        '|---|---|---|',
        '| direction | server → client | both ways |',
        '| protocol | HTTP (`text/event-stream`) | upgrade to `ws://` |',
        '| reconnects | built in, with `Last-Event-ID` | write it yourself |',
        '| binary frames | no (text only) | yes |',
        '| works through most proxies | yes | usually, needs config |',
      ].join('\n'),
      'The browser side is a few lines:',
      [
        `${FENCE}js`,
        "const source = new EventSource('/chat/stream?id=42');",
        "source.addEventListener('message', (event) => {",
        '  const { delta } = JSON.parse(event.data);',
        "  document.querySelector('#answer').textContent += delta;",
        '});',
        "source.addEventListener('done', () => source.close());",
        FENCE,
      ].join('\n'),
      'Reach for WebSockets when the client must talk back **during** the stream:',
      [
        '1. the user can interrupt or steer the model mid-answer,',
        '2. you stream audio or other binary data,',
        '3. many small messages flow in both directions (collaborative editing, games).',
      ].join('\n'),
      'Either way, send small JSON events rather than raw text, so you can add metadata (usage, tool calls, a final `done`) later without breaking clients. 🚀',
    ],
  },
  {
    question: '帮我列一份周五上线前的检查清单',
    reasoning:
      '上线检查清单：代码冻结、回滚方案、监控告警、灰度节奏、值班安排。用清单和表格组织，中英文术语混排，最后给一个一键回滚的命令示例。',
    blocks: [
      '周五上线风险更高：出问题时周末人手少、响应慢。下面这份清单按时间顺序排列，建议逐项打勾 ☑️。',
      '## 上线前一天',
      [
        '- [ ] 代码冻结（code freeze），只接受修复性提交',
        '- [ ] 回滚方案演练过一次，并记录耗时',
        '- [ ] 数据库迁移可逆，或已准备好兼容旧版本的读写逻辑',
        '- [ ] 监控大盘和告警阈值确认无误，告警能打到值班人手机上',
      ].join('\n'),
      '## 上线当天',
      [
        '| 时间 | 动作 | 负责人 |',
        '|---|---|---|',
        '| 10:00 | 灰度 5% 流量 | 发布负责人 |',
        '| 11:00 | 检查错误率、P99 延迟 | 值班 SRE |',
        '| 14:00 | 扩大到 50% | 发布负责人 |',
        '| 16:00 | 全量，或回滚 | 技术负责人拍板 |',
      ].join('\n'),
      '回滚要做到一条命令完成：',
      [`${FENCE}bash`, '# 回到上一个稳定版本，并等待滚动更新完成', 'kubectl rollout undo deployment/bot-gateway', 'kubectl rollout status deployment/bot-gateway --timeout=5m', FENCE].join('\n'),
      '最后一条最重要：**16:00 之后不再做新的变更**。把剩下的时间留给观察，周末才能安心 🌙。',
    ],
  },
];

/** The long report of `--minutes`: a model that calls tools between paragraphs for many minutes. */
export const LONG_ANSWER: ScriptedAnswer = {
  question: '对流式卡片链路做一次完整的健康检查，边查边汇报',
  reasoning:
    '这是一个需要调用多个工具的长任务：令牌、限流、序号、流式窗口、重试、卡片大小、摘要，逐项检查。每查完一项就先汇报结果，' +
    '中间会有较长的工具调用停顿。流式模式 10 分钟后会关闭，所以卡片必须在窗口到期前重新打开。',
  blocks: [
    '好的，我会逐项检查流式卡片链路，每完成一项就在这里汇报一次。部分检查需要调用工具，中间会有停顿。🔍',
    '### 1. 租户令牌（tenant token）\n调用 `check_tokens`：当前令牌剩余 1 小时 52 分钟，离 30 分钟的续期窗口还远。续期在后台进行，同一时刻只有一个请求在飞，其余调用共享结果。✅',
    '### 2. 接口限流\n调用 `inspect_governor`：`cardElement.content` 最近一分钟 212 次，远低于 1000 次/分钟；每秒峰值 31 次，低于 50 次/秒。没有出现 99991400。✅',
    '### 3. 单卡片频率\n每张卡片的写入间隔不小于 110 ms（100 ms 加 10 ms 余量），所以不会超过 10 次/秒，也就不会收到 230020。✅',
    '### 4. sequence\nThe write log shows strictly increasing sequences on every card, allocated at dispatch rather than at enqueue. No 300317 in the last hour. ✅',
    '### 5. 流式窗口\n流式模式在打开 10 分钟后由平台自动关闭。这次汇报本身就会超过 10 分钟：会话会在窗口到期前 90 秒通过 `settings` 重新打开，卡片不会收到 200850。⏳',
    '### 6. 失败重试\n调用 `replay_faults`：注入 3 次 `1500` 和 1 次丢失响应，全部在退避重试后成功；因为每次写入都带全文，重放不会重复任何文字。✅',
    '### 7. 卡片大小\n当前卡片约 9 KB，上限 30 KB。回答超过 25 KB 时应当拆分到新卡片，而不是等平台返回 200860。✅',
    '### 8. 摘要\n结束时通过 `settings` 同时关闭流式模式并写入摘要，会话列表不会停在「[生成中...]」。✅',
    [
      '### 汇总',
      '',
      '| 检查项 | 结果 | 备注 |',
      '|---|---|---|',
      '| 令牌 | 正常 | 后台续期 |',
      '| 接口限流 | 正常 | 峰值 31/s |',
      '| 单卡片频率 | 正常 | ≤ 9/s |',
      '| sequence | 正常 | 无冲突 |',
      '| 流式窗口 | 正常 | 已按时重新打开 |',
      '| 重试 | 正常 | 4 次注入全部恢复 |',
    ].join('\n'),
    [
      '复查时可以直接跑：',
      '',
      `${FENCE}bash`,
      'npm run demo -- --minutes 11   # 一次跨过 10 分钟流式窗口的长回答',
      FENCE,
    ].join('\n'),
    '全部检查通过，链路健康。🎉',
  ],
};

/** The question the demo asks when none is given. */
export const DEFAULT_QUESTION = ANSWERS[0]!.question;
