/**
 * Creating the card entity and sending it (reference §1, §11, §13, §15), or sending a message card
 * (seed 004). Create has no idempotency
 * key, so a lost answer leaves an entity this session never learns about; it is therefore created
 * with streaming mode off (such an orphan is never shown and never stuck on "[生成中...]") and the
 * session opens streaming through settings once it knows the card. The send carries an IM uuid kept
 * across attempts, so the user never gets the card twice.
 */
import { v4 as uuidv4 } from 'uuid';
import { type FeishuClient, type MessageContent, cardEntityContent } from '../client/index.js';
import type { CardCore } from './card-core.js';
import type { Dispatcher } from './dispatch.js';
import type { Recipient } from './options.js';

/** Creates the card entity (streaming off); resolves with its id. */
export async function createCard(client: FeishuClient, dispatcher: Dispatcher, card: Record<string, unknown>, signal: AbortSignal | undefined): Promise<string> {
  const data = { ...card, config: { ...(card.config as Record<string, unknown>), streaming_mode: false } };
  const options = signal ? { signal } : {};
  const { value } = await dispatcher.send({
    api: 'cardkit.card.create',
    urgent: true,
    keyed: false,
    ...(signal ? { signal } : {}),
    request: () => client.cardkit.v1.card.create({ data }, options),
  });
  return value!.card_id;
}

/**
 * Sends a card to `to`: `content` is a card entity's (`cardEntityContent`) or an inline card's JSON.
 * Resolves with the message id, or null when a repeat found the card entity already sent.
 */
export async function sendCard(
  client: FeishuClient,
  dispatcher: Dispatcher,
  content: MessageContent,
  to: Recipient,
  signal: AbortSignal | undefined,
): Promise<string | null> {
  const uuid = uuidv4();
  const options = signal ? { signal } : {};
  const common = { urgent: true, keyed: true, ...(signal ? { signal } : {}) };
  const { value } =
    'reply_to' in to
      ? await dispatcher.send({
          ...common,
          api: 'im.message.reply',
          request: () => client.im.v1.message.reply({ message_id: to.reply_to, content, reply_in_thread: to.in_thread ?? false, uuid }, options),
        })
      : await dispatcher.send({
          ...common,
          api: 'im.message.create',
          request: () => {
            const [type, id] = Object.entries(to)[0] as [Exclude<keyof Recipient, 'reply_to' | 'in_thread'>, string];
            return client.im.v1.message.create({ receive_id_type: type, receive_id: id, content, uuid }, options);
          },
        });
  return value?.message_id ?? null;
}

/**
 * Opens streaming mode on a created card and sends it, at once (two APIs, two budgets); resolves with
 * the message id. If either fails, or `signal` aborts meanwhile, the card is closed before this rejects.
 */
export async function beginCard(client: FeishuClient, core: CardCore, to: Recipient | undefined, signal: AbortSignal | undefined): Promise<string | null> {
  const opening = core.run(async () => {
    await core.writer.open('start');
  });
  const sending = to ? sendCard(client, core.dispatcher, cardEntityContent(core.key), to, signal) : Promise.resolve(null);
  const [opened, sent] = await Promise.allSettled([opening, sending]);
  if (opened.status === 'fulfilled' && sent.status === 'fulfilled' && !signal?.aborted) return sent.value;
  const error: unknown = sent.status === 'rejected' ? sent.reason : opened.status === 'rejected' ? opened.reason : signal?.reason;
  core.fail(error instanceof Error ? error : new Error(String(error)));
  await core.closing;
  throw error;
}

/**
 * Sends a message card (the message transport): the card inline, its streamed elements empty. The send
 * carries an IM uuid kept across attempts; a repeat answers the message the first attempt sent.
 */
export async function sendMessageCard(client: FeishuClient, dispatcher: Dispatcher, card: Record<string, unknown>, to: Recipient, signal: AbortSignal | undefined): Promise<string> {
  const messageId = await sendCard(client, dispatcher, card, to, signal);
  if (messageId === null) throw new Error('the platform answered the message card without its message_id');
  return messageId;
}
