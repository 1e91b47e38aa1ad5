/**
 * The governor decides when a write may leave: every write of every session of an app asks it
 * first, so the app's budget (per API per second and per minute, per card per second) is kept
 * across cards rather than by each card on its own. It also owns the app's card sequences.
 */
import type { SequenceStore } from './sequence-store.js';

export interface PermitRequest {
  /** Endpoint name, e.g. `cardkit.cardElement.content`. */
  api: string;
  /** The card written to; card creation and IM calls have none. */
  cardId?: string;
  /** `urgent` for finishing writes and card creation for a waiting user. Default `normal`. */
  priority?: 'normal' | 'urgent';
  signal?: AbortSignal;
}

export interface Governor {
  /** Hands out each card's sequences (reference §15); shared by every session of the app, and by replicas through Redis. */
  readonly sequences: SequenceStore;
  /** Resolves when the write may be dispatched now, and counts it. Rejects with the signal's reason on abort. */
  acquire(request: PermitRequest): Promise<void>;
  /** The platform answered "rate limited" for `api`: hold every card's writes to it for `ms`. */
  pause(api: string, ms: number): void;
  /** The card's session ended: drop what is kept for the card in this process (counters, spacing, sequence). */
  forget(cardId: string): void;
}
