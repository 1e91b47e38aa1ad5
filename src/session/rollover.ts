/**
 * A card is full (reference §14: 30 KB): the answer goes on in a continuation card (issue 10). What
 * stays on the full card is written whole, cut at a safe place (see markdown-cut.ts) with a short
 * "continued below" note; the card is closed with its summary; a continuation card, its title marked,
 * is created, opened and sent right after it (a message card is sent), to the same chat or as a reply
 * to the same message; every streamed text goes on there from where it stopped.
 */
import type { CardCore } from './card-core.js';
import type { CardLayout } from './card-ops.js';
import { continuationCard, elementsById } from './card-template.js';
import { jsonBytes, safeCut } from './markdown-cut.js';
import type { ResolvedSessionOptions } from './options.js';
import { summarize } from './summary.js';
import { type CardFull, tableCutOf } from './card-writes.js';

export interface RolloverContext {
  o: ResolvedSessionOptions;
  /** The card the session created first (the continuation is built from it). */
  template: Record<string, unknown>;
  /** The layout, if any: what a card closed mid-answer should show (`closing`). */
  layout?: CardLayout;
}

export interface RolledOverTo {
  core: CardCore;
  messageId: string | null;
}

/** Opens the continuation card through the session's transport. */
export type OpenNext = (card: Record<string, unknown>) => Promise<RolledOverTo>;

export async function rollOver(context: RolloverContext, old: CardCore, full: CardFull, openNext: OpenNext): Promise<RolledOverTo> {
  const { o, template } = context;
  const element = full.element;
  const main = old.elements.get(o.elementId)!;
  const note = o.continuedText;
  // Every other text stays on this card as it stands (up to a fifth table, which goes on); the one that overflowed, as far as it fits.
  // A text whose element a layout had not yet added to this card (the card filled first) goes on whole.
  const onCard = old.writer.card ? elementsById(old.writer.card) : undefined;
  const others = [...old.elements.values()]
    .filter((e) => e !== element)
    .map((e) => {
      if (onCard && !onCard.has(e.elementId)) return { e, text: '', absent: true };
      const whole = e.writable().text;
      const tables = tableCutOf(e, whole);
      return { e, text: tables > 0 ? whole.slice(0, tables) : whole, absent: false };
    });
  const room = old.writer.room(element) - jsonBytes(note);
  const physical = element.writable().text;
  // As much as fits, and never a fifth table in the element (a full card may not take a continuation element).
  const fitting = safeCut(physical, { maxBytes: Math.max(room, 64) });
  const tableAt = tableCutOf(element, physical);
  const absent = onCard !== undefined && !onCard.has(element.elementId);
  const cut = absent ? { index: 0, close: '', reopen: '' } : tableAt > 0 && tableAt < fitting.index ? { index: tableAt, close: '', reopen: '' } : fitting;
  const kept = physical.slice(0, cut.index) + cut.close;
  for (const { e, text, absent } of others) if (!absent && (e.dirty || e === main)) await old.writer.writeFinal(e, e === main ? text + note : text);
  if (!absent) await old.writer.writeFinal(element, element === main ? kept + note : kept);
  if (context.layout && old.writer.card) await old.writer.apply(context.layout.closing(old.writer.card), true);
  await old.writer.close(summarize(element === main ? kept : (others.find(({ e }) => e === main)?.text ?? '')));
  old.retire();
  for (const { e, text } of others) e.continueOnNextCard(text.length, '');
  element.continueOnNextCard(cut.index, cut.reopen);

  const card = continuationCard(template, [...old.elements.keys()]);
  return openNext(card);
}
