/**
 * The governor decides when a write may leave: every write of every session of an app asks it
 * first, so the app's budget (per API per second and per minute, per card and per message per
 * second) is kept across cards rather than by each card on its own. It also owns the app's card sequences.
 */
import type { SequenceStore } from './sequence-store.js';

export interface PermitRequest {
  /** Endpoint name, e.g. `cardkit.cardElement.content` or `im.message.patch`. */
  api: string;
  /** The card written to (CardKit): at most `cardQps` a second to one card. Card creation and IM calls have none. */
  cardId?: string;
  /**
   * The message a write patches (IM patch): at most `messageQps` a second to one message (reference §16).
   * A write targets one card or one message, never both: a request naming both is refused with a TypeError.
   */
  messageId?: string;
  /**
   * `urgent` for finishing writes and card creation for a waiting user. Default `normal`. Read each time
   * the governor chooses: a write waiting when its card starts ending turns urgent.
   */
  priority?: 'normal' | 'urgent';
  /**
   * Other APIs that can carry the same write (a card's full text through an element patch or batch_update
   * instead of the content API; each API has a budget of its own). When `api`'s budget would make the write wait
   * and one of these has budget now and no write of its own waiting, a governor that spills grants the write
   * through it, and `acquire` resolves with its name.
   */
  alternatives?: readonly string[];
  /**
   * True when the caller will call `answered(request)`, with this same object, once the call it permits has its
   * answer (a session does, for every write). The platform counts a call when it arrives, any moment until its
   * answer: a governor then counts the call as arriving now while it is in flight, and from its answer after.
   * Without it a call counts from its permit.
   */
  reportsAnswer?: boolean;
  signal?: AbortSignal;
}

/** What `Governor.answered` is told: the `PermitRequest` that was granted (or, for a card's or message's window only, its target). */
export interface Answered {
  api?: string;
  cardId?: string | undefined;
  messageId?: string | undefined;
}

export interface Governor {
  /** Hands out each card's sequences (reference §15); shared by every session of the app, and by replicas through Redis. */
  readonly sequences: SequenceStore;
  /**
   * Resolves when the write may be dispatched now, and counts it: with nothing (or `request.api`) when it goes
   * through `request.api`, with the name of one of `request.alternatives` when it was granted through that API
   * instead. Rejects with the signal's reason on abort, and with a TypeError when the request names both a
   * `cardId` and a `messageId`.
   */
  acquire(request: PermitRequest): Promise<string | void>;
  /**
   * Optional: the call permitted for `request` got its answer (accepted or refused), or will never be sent.
   * `request` is the object given to `acquire`: the platform counted the call when it arrived, by now at the
   * latest, so a governor that implements this counts it from now in the API's window (in every replica's, when
   * the budget is shared) and in its card's or message's. An object that was not granted (an `Answered` made
   * afresh) moves the last write to its card or message only.
   */
  answered?(request: Answered): void;
  /** The platform answered "rate limited" for `api`: hold every card's writes to it for `ms`. */
  pause(api: string, ms: number): void;
  /**
   * The card's or the message's session ended: drop what is kept for it in this process (counters,
   * spacing, sequence). `id` is a card id or a message id (`om_…`); both are dropped for it, as the
   * platform's card and message ids never coincide.
   */
  forget(id: string): void;
}
