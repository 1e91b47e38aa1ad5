/**
 * `npm run demo`, interim version: starts the embedded emulator, streams a short answer into a card
 * over raw HTTP the way CardKit expects (full text per write, strictly increasing sequence), closes
 * streaming mode and prints what the emulator recorded. The full demo (a real `openai` stream piped
 * through a CardSession, live preview) replaces this once the session lands.
 */
import { startEmulator } from '../src/emulator/index.js';

const ANSWER = '飞书卡片流式输出演示。This card was streamed into the local emulator, one write per chunk.';

async function call(base: string, method: string, path: string, body: unknown, token?: string) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { code: number; msg: string; [key: string]: unknown };
  if (json.code !== 0) throw new Error(`${method} ${path} failed: ${json.code} ${json.msg}`);
  return json;
}

async function main(): Promise<void> {
  const emulator = await startEmulator();
  try {
    const base = emulator.url;
    const { tenant_access_token: token } = (await call(base, 'POST', '/open-apis/auth/v3/tenant_access_token/internal', {
      app_id: 'cli_x',
      app_secret: 's_x',
    })) as unknown as { tenant_access_token: string };
    const card = {
      schema: '2.0',
      config: { streaming_mode: true, streaming_config: { print_frequency_ms: { default: 30 }, print_step: { default: 2 } } },
      header: { title: { tag: 'plain_text', content: 'Demo' } },
      body: { elements: [{ tag: 'markdown', element_id: 'answer', content: '' }] },
    };
    const created = await call(base, 'POST', '/open-apis/cardkit/v1/cards', { type: 'card_json', data: JSON.stringify(card) }, token);
    const cardId = (created.data as { card_id: string }).card_id;
    let sequence = 0;
    const chars = [...ANSWER];
    for (let end = 8; ; end = Math.min(chars.length, end + 8)) {
      const content = chars.slice(0, end).join('');
      await call(base, 'PUT', `/open-apis/cardkit/v1/cards/${cardId}/elements/answer/content`, { content, sequence: ++sequence }, token);
      process.stdout.write(`\rstreamed ${end}/${chars.length} characters, sequence ${sequence}`);
      if (end === chars.length) break;
      // CardKit allows 10 operations per second on one card; the emulator enforces it.
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    await new Promise((resolve) => setTimeout(resolve, 120));
    const settings = JSON.stringify({ config: { streaming_mode: false, summary: { content: chars.slice(0, 20).join('') } } });
    await call(base, 'PATCH', `/open-apis/cardkit/v1/cards/${cardId}/settings`, { settings, sequence: ++sequence }, token);
    const snapshot = emulator.card(cardId)!;
    process.stdout.write(`\ncard ${cardId}: streaming_mode=${String(snapshot.streaming_mode)}, sequence=${snapshot.sequence}, summary=${JSON.stringify(snapshot.summary)}\n`);
    process.stdout.write('The CardSession demo with a real openai stream and a live preview is coming soon.\n');
  } finally {
    await emulator.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
