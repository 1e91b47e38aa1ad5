/**
 * One conversation: ask the model (a real `openai` client, chat or Responses, streaming) and pipe its
 * answer into a new card through a `CardSession` (a CardKit card, or a message card), noting on the way
 * what the progress line and the summary show. The card is the library's agent card (`start({ agent })`:
 * the reasoning in a collapsed panel, one element per tool step, the answer, a footer with the model's
 * name), or with `--plain` the demo's own card. The card is created while the model starts thinking, so
 * neither waits for the other.
 */
import type OpenAI from 'openai';
import { pieceOf } from '../src/index.js';
import {
  CardSession,
  type Clock,
  type FairGovernor,
  type FallbackEvent,
  type FeishuClient,
  type Recipient,
  type SessionResult,
  type SessionTransport,
} from '../src/index.js';
import { AGENT_REASONING_ID, ANSWER_ID, FOOTER_ID, THINKING_ID, demoCard, footerText } from './card.js';
import type { Api, DemoConfig } from './config.js';
import { Tracker } from './progress.js';
import { truncate } from './terminal.js';

/** A card as sent: a CardKit card and the message showing it, or a message card (`cardId` null). */
export interface SentCard {
  cardId: string | null;
  messageId: string | null;
}

export interface ConversationOptions {
  index: number;
  question: string;
  to: Recipient;
  client: FeishuClient;
  openai: OpenAI;
  api: Api;
  model: string;
  /** How the card is streamed (the session may still fall back to a message card when CardKit refuses). */
  transport: SessionTransport;
  /** Stream reasoning into the card's "thinking" panel. */
  reasoning: boolean;
  /** The library's agent card (default), or the demo's own card (`--plain`). */
  card: DemoConfig['card'];
  /** Ask the model for a reasoning summary (Responses API, real model). */
  askReasoning: boolean;
  /** The session's clock (the emulator's when it runs fast). */
  clock?: Clock;
  /** The app's budget and sequences, shared by every conversation. */
  governor: FairGovernor;
  signal: AbortSignal;
  /** The conversation's live numbers, as soon as it starts. */
  onTracker?: (tracker: Tracker) => void;
  /** The card exists (and was sent). */
  onCard?: (card: SentCard) => void;
  /** Streaming mode was re-opened. */
  onReopen?: (reason: 'scheduled' | 'expired') => void;
}

export interface ConversationOutcome {
  index: number;
  question: string;
  tracker: Tracker;
  /** How the card was streamed; undefined when no card was made. */
  transport: SessionTransport | undefined;
  /** CardKit refused to create the card, so the session streamed through a message card instead. */
  fallback: FallbackEvent | undefined;
  /** The CardKit card; null for a message card, or when no card was made. */
  cardId: string | null;
  messageId: string | null;
  result: SessionResult | undefined;
  error: unknown;
  /** What the model streamed, as the client received it. */
  streamed: { answer: string; reasoning: string };
}

const INSTRUCTIONS = 'You are a helpful assistant in a Feishu chat. Answer in Markdown (lists, tables and code blocks are fine).';

/** The element the reasoning streams into: the agent card's panel holds `reasoning`, the demo's own card `thinking`. */
export function reasoningElementOf(card: DemoConfig['card']): string {
  return card === 'agent' ? AGENT_REASONING_ID : THINKING_ID;
}

export async function runConversation(o: ConversationOptions): Promise<ConversationOutcome> {
  const reasoningId = reasoningElementOf(o.card);
  const tracker = new Tracker(o.reasoning ? [ANSWER_ID, reasoningId] : [ANSWER_ID]);
  o.onTracker?.(tracker);
  const outcome: ConversationOutcome = {
    index: o.index,
    question: o.question,
    tracker,
    transport: undefined,
    fallback: undefined,
    cardId: null,
    messageId: null,
    result: undefined,
    error: undefined,
    streamed: { answer: '', reasoning: '' },
  };
  try {
    const onFallback = (event: FallbackEvent) => (outcome.fallback = event);
    const [opened, streamed] = await Promise.allSettled([openSession(o, onFallback), openStream(o)]);
    if (opened.status === 'rejected') {
      if (streamed.status === 'fulfilled') streamed.value.controller.abort();
      throw opened.reason;
    }
    const session = opened.value;
    outcome.transport = session.transport;
    tracker.transport = session.transport;
    outcome.cardId = session.cardId;
    outcome.messageId = session.messageId;
    session.on('flush', (event) => tracker.flushed(event));
    session.on('retry', () => tracker.retries++);
    session.on('reopen', (event) => {
      tracker.reopens++;
      if (event.reason === 'expired') tracker.expiredReopens++;
      tracker.writes++;
      tracker.sequence = Math.max(tracker.sequence, event.sequence);
      o.onReopen?.(event.reason);
    });
    session.on('error', () => undefined); // finish() rejects with it
    o.onCard?.({ cardId: session.cardId, messageId: session.messageId });
    if (streamed.status === 'rejected') {
      // The model could not be asked: say so on the card instead of leaving it empty.
      outcome.result = await session.abort(streamed.reason);
      throw streamed.reason;
    }
    try {
      // The agent card streams reasoning into its own panel and writes its own footer.
      await session.pipe(tap(streamed.value, tracker, outcome, o.reasoning ? reasoningId : undefined), {
        finish: false,
        ...(o.reasoning && o.card === 'plain' ? { reasoningElementId: THINKING_ID } : {}),
      });
      if (o.card === 'plain' && session.state === 'open') {
        const seconds = (performance.now() - tracker.startedAt) / 1000;
        session.setText(footerText(o.model, outcome.streamed.answer.length, seconds), FOOTER_ID);
      }
    } catch (error) {
      // Ctrl-C aborts the model request too; the session has already closed the card as interrupted.
      if (!o.signal.aborted) outcome.error = error;
    }
    // After a failing source the session has already been aborted; finish() then gives that result.
    outcome.result = await session.finish();
  } catch (error) {
    outcome.error ??= error;
  } finally {
    tracker.endedAt = performance.now();
  }
  return outcome;
}

function openSession(o: ConversationOptions, onFallback: (event: FallbackEvent) => void): Promise<CardSession> {
  const card =
    o.card === 'agent'
      ? // The agent card builds itself: no card, elementId or extraElementIds; its answer element is `answer`.
        { title: truncate(o.question.replace(/\s+/g, ' '), 60), agent: { reasoning: o.reasoning, footer: { model: o.model } } }
      : {
          card: demoCard({ question: o.question, model: o.model, reasoning: o.reasoning }),
          elementId: ANSWER_ID,
          extraElementIds: o.reasoning ? [THINKING_ID, FOOTER_ID] : [FOOTER_ID],
        };
  return CardSession.start(o.client, {
    transport: o.transport,
    on: { fallback: onFallback },
    to: o.to,
    ...card,
    signal: o.signal,
    governor: o.governor,
    ...(o.clock ? { clock: o.clock } : {}),
  });
}

function openStream(o: ConversationOptions) {
  if (o.api === 'chat') {
    return o.openai.chat.completions.create(
      {
        model: o.model,
        messages: [
          { role: 'system', content: INSTRUCTIONS },
          { role: 'user', content: o.question },
        ],
        stream: true,
        // The usage chunk at the end: the agent card's footer shows the tokens.
        ...(o.card === 'agent' ? { stream_options: { include_usage: true } } : {}),
      },
      { signal: o.signal },
    );
  }
  return o.openai.responses.create(
    {
      model: o.model,
      instructions: INSTRUCTIONS,
      input: o.question,
      stream: true,
      ...(o.askReasoning ? { reasoning: { summary: 'auto' as const } } : {}),
    },
    { signal: o.signal },
  );
}

/** Passes the model's chunks on to the session unchanged, noting each delta and when it arrived. */
async function* tap(source: AsyncIterable<unknown>, tracker: Tracker, outcome: ConversationOutcome, reasoningId: string | undefined): AsyncGenerator<unknown> {
  for await (const chunk of source) {
    const piece = pieceOf(chunk);
    if (piece?.kind === 'answer') {
      outcome.streamed.answer += piece.text;
      tracker.appended(ANSWER_ID, piece.text);
    } else if (piece?.kind === 'reasoning') {
      outcome.streamed.reasoning += piece.text;
      if (reasoningId !== undefined) tracker.appended(reasoningId, piece.text);
    }
    yield chunk;
  }
}
