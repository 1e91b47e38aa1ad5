/**
 * Inspection and control of a running emulator: the typed helpers of `startEmulator()`'s handle and
 * the `/_emulator/…` HTTP routes both go through this one object.
 */
import type { Services } from './context.js';
import { type ActiveFault, type FaultSpec, Faults } from './faults.js';
import {
  type CardSnapshot,
  type MessageSnapshot,
  type StatsSnapshot,
  cardSnapshot,
  messageSnapshot,
  statsSnapshot,
} from './inspect.js';
import { type EmulatorApp, checkApp } from './options.js';
import { ENDPOINTS } from './routes/index.js';
import type { StateEvent } from './state.js';

export class Controller {
  readonly faults = new Faults(ENDPOINTS);

  constructor(readonly services: Services) {}

  card(cardId: string): CardSnapshot | undefined {
    const card = this.services.state.cards.get(cardId);
    return card && cardSnapshot(this.services, card);
  }

  cards(): CardSnapshot[] {
    return [...this.services.state.cards.values()].map((card) => cardSnapshot(this.services, card));
  }

  message(messageId: string): MessageSnapshot | undefined {
    const message = this.services.state.messages.get(messageId);
    return message && messageSnapshot(message);
  }

  messages(): MessageSnapshot[] {
    return [...this.services.state.messages.values()].map(messageSnapshot);
  }

  stats(): StatsSnapshot {
    return statsSnapshot(this.services);
  }

  addFault(spec: FaultSpec): ActiveFault {
    return this.faults.add(spec);
  }

  /** Revokes tokens (all, an app's, or one); revoked tokens get 99991663 from then on. Returns how many. */
  revokeTokens(filter: { appId?: string; token?: string } = {}): number {
    let revoked = 0;
    for (const [token, info] of this.services.state.tokens) {
      if (info.revoked) continue;
      if (filter.token !== undefined && token !== filter.token) continue;
      if (filter.appId !== undefined && info.appId !== filter.appId) continue;
      info.revoked = true;
      revoked++;
    }
    return revoked;
  }

  /** Puts a card "in interaction" (a user's callback in progress): writes get 200810 until it ends. */
  lockCard(cardId: string, ms = this.services.options.interactionLockMs): boolean {
    const card = this.services.state.cards.get(cardId);
    if (!card) return false;
    card.interactionUntil = this.services.clock.now() + ms;
    return true;
  }

  registerApp(app: EmulatorApp): void {
    this.services.state.addApp(checkApp(app, 'registerApp'));
  }

  /** Forgets cards, messages, tokens, counters, faults and rate-limit windows. Apps stay registered. */
  reset(): void {
    this.services.state.reset();
    this.services.limiter.clear();
    this.faults.clear();
  }

  onChange(listener: (event: StateEvent) => void): () => void {
    this.services.state.events.on('change', listener);
    return () => this.services.state.events.off('change', listener);
  }
}
