/**
 * Creating the card entity and sending it (reference §1, §11, §15). Create has no idempotency key,
 * so a lost answer can leave an orphan entity that is never sent; the send carries an IM uuid that
 * is kept across attempts, so the user never gets the card twice.
 */
import { v4 as uuidv4 } from 'uuid';
import { type FeishuClient, FeishuApiError, cardEntityContent } from '../client/index.js';
import { delay, governorFor } from '../governor/index.js';
import type { Recipient, ResolvedSessionOptions } from './options.js';
import { checkRecipient } from './options.js';
import { judge } from './retry.js';

export interface OpenedCard {
  cardId: string;
  messageId: string | null;
  /** When streaming mode was opened, on the session clock (the moment create was sent: never later than the platform's). */
  streamingOpenedAt: number;
}

export async function openCard(
  client: FeishuClient,
  o: ResolvedSessionOptions,
  card: Record<string, unknown>,
  to: Recipient | undefined,
): Promise<OpenedCard> {
  const recipient = to === undefined ? undefined : checkRecipient(to);
  o.signal?.throwIfAborted();
  const governor = o.governor ?? governorFor(client);
  const signal = o.signal;
  const retrying = async <T>(api: string, call: (attempt: number) => Promise<T>, replay: boolean): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      await governor.acquire({ api, priority: 'urgent', ...(signal ? { signal } : {}) });
      try {
        return await call(attempt);
      } catch (error) {
        const verdict = judge(error, o.retry, attempt, replay && attempt > 1);
        if (signal?.aborted || attempt >= o.retry.maxAttempts) throw error;
        if (verdict.kind === 'rate_limited') governor.pause(api, verdict.delayMs);
        else if (verdict.kind === 'retry') await delay(verdict.delayMs, signal);
        else throw error;
      }
    }
  };
  let streamingOpenedAt = o.now();
  const { card_id: cardId } = await retrying(
    'cardkit.card.create',
    () => {
      streamingOpenedAt = o.now();
      return client.cardkit.v1.card.create({ data: card }, signal ? { signal } : {});
    },
    false,
  );
  if (!recipient) return { cardId, messageId: null, streamingOpenedAt };
  const uuid = uuidv4();
  const content = cardEntityContent(cardId);
  const options = signal ? { signal } : {};
  try {
    const message =
      'reply_to' in recipient
        ? await retrying(
            'im.message.reply',
            () => client.im.v1.message.reply({ message_id: recipient.reply_to, content, reply_in_thread: recipient.in_thread ?? false, uuid }, options),
            true,
          )
        : await retrying(
            'im.message.create',
            () => {
              const [type, id] = Object.entries(recipient)[0] as [Exclude<keyof Recipient, 'reply_to' | 'in_thread'>, string];
              return client.im.v1.message.create({ receive_id_type: type, receive_id: id, content, uuid }, options);
            },
            true,
          );
    return { cardId, messageId: message.message_id, streamingOpenedAt };
  } catch (error) {
    // A repeated send whose first attempt did bind the card (its answer was lost): the card is out.
    if (error instanceof FeishuApiError && error.code === 230099 && error.msg.includes('200780')) {
      return { cardId, messageId: null, streamingOpenedAt };
    }
    throw error;
  }
}
