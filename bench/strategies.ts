/**
 * What is measured: the engine (CardSession with the shared governor), and three baselines of what
 * bots commonly do, on the same client, emulator and workload. Baselines create and send the card
 * the same way, then write: one write per delta; a fixed 500 ms throttle per card; a 100 ms
 * throttle per card without any shared budget. They retry nothing and count what was refused.
 */
import { CardSession, type FairGovernor, FeishuApiError, type FeishuClient, type FlushEvent, cardEntityContent } from '../src/index.js';

export interface Job {
  client: FeishuClient;
  /** The app's governor (its limits), shared by every conversation of the run; only the engine uses it. */
  governor: FairGovernor;
  chatId: string;
  /** The model's stream; resolves when it ends. */
  source: () => AsyncGenerator<string>;
  /** Told of each of the engine's accepted text writes (its `flush` events); the baselines have none. */
  onFlush?: (event: FlushEvent) => void;
}

export interface Outcome {
  cardId: string;
  /** Requests the strategy saw refused. */
  refused: number;
}

export interface Strategy {
  name: string;
  run(job: Job): Promise<Outcome>;
}

export const engine: Strategy = {
  name: 'engine (CardSession + shared governor)',
  async run({ client, governor, chatId, source, onFlush }) {
    const session = await CardSession.start(client, { governor, to: { chat_id: chatId } });
    if (onFlush) session.on('flush', onFlush);
    await session.pipe(source());
    return { cardId: session.cardId!, refused: 0 };
  },
};

const CARD = {
  schema: '2.0',
  config: { streaming_mode: true, streaming_config: { print_frequency_ms: { default: 20 }, print_step: { default: 3 } } },
  body: { elements: [{ tag: 'markdown', element_id: 'answer', content: '' }] },
};

/** Creates and sends the card, retrying a refused call up to five times (bots do at least that). */
async function openCard(client: FeishuClient, chatId: string, counter: { refused: number }): Promise<string> {
  const attempt = async <T>(call: () => Promise<T>): Promise<T> => {
    for (let i = 1; ; i++) {
      try {
        return await call();
      } catch (error) {
        counter.refused++;
        if (i >= 5 || !(error instanceof FeishuApiError)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * i));
      }
    }
  };
  const { card_id: cardId } = await attempt(() => client.cardkit.v1.card.create({ data: CARD }));
  await attempt(() => client.im.v1.message.create({ receive_id_type: 'chat_id', receive_id: chatId, content: cardEntityContent(cardId) }));
  return cardId;
}

/** A baseline writer: `everyMs` 0 writes after every delta, otherwise on a fixed timer; one write at a time. */
function baseline(name: string, everyMs: number): Strategy {
  return {
    name,
    async run({ client, chatId, source }) {
      const counter = { refused: 0 };
      const cardId = await openCard(client, chatId, counter);
      let sequence = 0;
      let text = '';
      let written = '';
      const write = async (content: string) => {
        try {
          await client.cardkit.v1.cardElement.content({ card_id: cardId, element_id: 'answer', content, sequence: ++sequence });
          written = content;
        } catch {
          counter.refused++;
        }
      };
      let done = false;
      const ticker = (async () => {
        while (!done && everyMs > 0) {
          await new Promise((resolve) => setTimeout(resolve, everyMs));
          if (text !== written && text !== '') await write(text);
        }
      })();
      for await (const delta of source()) {
        text += delta;
        if (everyMs === 0) await write(text);
      }
      done = true;
      await ticker;
      if (text !== written) await write(text);
      try {
        await client.cardkit.v1.card.settings({ card_id: cardId, settings: { config: { streaming_mode: false } }, sequence: ++sequence });
      } catch {
        counter.refused++;
      }
      return { cardId, refused: counter.refused };
    },
  };
}

export const perDelta = baseline('baseline: one write per delta', 0);
export const throttle500 = baseline('baseline: 500 ms throttle per card', 500);
export const throttle100 = baseline('baseline: 100 ms throttle, no shared governor', 100);

export const STRATEGIES = [engine, perDelta, throttle500, throttle100];
