import { it } from 'vitest';
import { startEmulator } from '../src/emulator/index.js';
import { CardSession } from '../src/index.js';
import { clientFor } from './support/client.js';
it('dbg', async () => {
  const emulator = await startEmulator();
  const session = await CardSession.start(clientFor(emulator).client, { to: { chat_id: 'oc' }, agent: true });
  const paragraph = '这是一个很长的回答，用来填满卡片。'.repeat(40) + '\n\n';
  async function* g() {
    yield { type: 'start' };
    yield { type: 'reasoning-delta', id: 'r', text: 'Plan ' };
    yield { type: 'tool-input-start', id: 'c1', toolName: 'first' };
    yield { type: 'tool-call', toolCallId: 'c1', toolName: 'first', input: { q: 1 } };
    yield { type: 'tool-result', toolCallId: 'c1', toolName: 'first', input: {}, output: 'x' };
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 30; i++) yield { type: 'text-delta', id: 't', text: paragraph };
  }
  session.on('rollover', (e) => console.log('rollover', e));
  await session.pipe(g());
  console.log(JSON.stringify(emulator.card(session.cards[0]!.cardId!)!.card.body).slice(0,1500));
  for (const c of session.cards) console.log(emulator.card(c.cardId!)!.log.map((e) => `${e.endpoint} ${e.code} ${e.element_id ?? ''}`).join('\n'));
  await emulator.close();
});
