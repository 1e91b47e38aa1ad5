/**
 * The text of one streamed element. `append` is O(1) (a chunk pushed to a list); the chunks are
 * joined only when a write reads the text, so a fast model's thousands of deltas cost thousands of
 * pushes, not thousands of copies of the whole answer. A version number tells what the platform has.
 *
 * A long answer may outgrow one element (more tables than a markdown element may hold): its text then
 * continues in another element, the target. `text` is always the whole answer; what a write sends is
 * the part from `base` on, the part before it having landed in earlier elements.
 *
 * It also knows how long the platform has lacked its text (a flush's `lagMs`): when the oldest change
 * not yet accepted was made, and the oldest made since a write last read the text. Only changes
 * that find neither time set read the clock, so a write cycle reads it at most twice, however
 * many deltas it carries.
 */
import type { StreamTag } from './card-template.js';

export class ElementText {
  readonly #chunks: string[] = [];
  #text = '';
  #version = 0;
  #ackedVersion = 0;
  /** Where the part the target element holds starts in `text`. */
  #base = 0;
  /** Put before the part from `base` on: a code fence or a table header reopened on a continuation card. */
  #prefix = '';
  #target: string;
  /** The elements that hold the text before `base`, in order, with their share. */
  #earlier: { elementId: string; text: string }[] | undefined;
  /** Where the text starts on the card being written (what earlier cards hold is theirs for good). */
  #cardStart = { base: 0, prefix: '' };
  /** Elements that held part of a text a snapshot replaced: to be emptied. */
  #stale: string[] | undefined;
  /** `performance.now()` of the oldest change the platform does not have; -1 when it has them all. */
  #pendingSince = -1;
  /** Of the oldest change since a write last read the text (`sending`), once one is pending; -1: none. */
  #laterSince = -1;

  constructor(
    readonly elementId: string,
    readonly tag: StreamTag,
  ) {
    this.#target = elementId;
  }

  /** The element that receives this text now: `elementId`, or the element it continues in. */
  get target(): string {
    return this.#target;
  }

  /**
   * `kept`, the start of what `writable()` returned, has landed in the target element; the rest continues
   * in `target`. If a snapshot replaced the text meanwhile (it no longer starts with `kept`), the text stays
   * where it is and is written there again, whole.
   */
  continueIn(target: string, kept: string): void {
    if (!this.#current().startsWith(kept)) {
      this.#version++;
      this.#changed();
      return;
    }
    (this.#earlier ??= []).push({ elementId: this.#target, text: kept });
    this.#move(kept.length, '');
    this.#target = target;
  }

  /**
   * The text before `cut` (of what `writable()` returned) stays on the card that is full; the rest goes
   * on, after `reopen`, in this element of the continuation card.
   */
  continueOnNextCard(cut: number, reopen: string): void {
    this.#earlier = undefined;
    this.#stale = undefined;
    this.#move(cut, reopen);
    this.#target = this.elementId;
    this.#cardStart = { base: this.#base, prefix: this.#prefix };
  }

  /** The elements of this card that held part of a text a snapshot replaced, once: the writer empties them. */
  takeStale(): string[] {
    const stale = this.#stale ?? [];
    this.#stale = undefined;
    return stale;
  }

  #move(cut: number, prefix: string): void {
    this.#base += Math.max(0, cut - this.#prefix.length);
    this.#prefix = prefix;
    this.#version++;
    this.#changed();
  }

  /** Every element of the current card holding part of this text, in order, with its share (the last one's is what arrived so far). */
  placement(): { elementId: string; text: string }[] {
    return [...(this.#earlier ?? []), { elementId: this.#target, text: this.#current() }];
  }

  /** What the target element holds: the reopened prefix, then the text from `base` on. */
  #current(): string {
    return this.#prefix + (this.#base === 0 ? this.text : this.text.slice(this.#base));
  }

  append(delta: string): void {
    if (delta === '') return;
    this.#chunks.push(delta);
    this.#version++;
    if (this.#laterSince < 0) this.#changed();
  }

  set(text: string): void {
    const placed = this.#earlier ? this.text.slice(0, this.#base) : '';
    this.#chunks.length = 0;
    this.#text = text;
    this.#version++;
    this.#changed();
    // The snapshot no longer starts with what the earlier elements of this card hold: the text goes back
    // to its own element, and the elements it had continued in are emptied (the card shows the new text only).
    if (this.#earlier && !text.startsWith(placed)) {
      this.#stale = [...(this.#stale ?? []), ...this.#earlier.slice(1).map((part) => part.elementId), this.#target];
      this.#earlier = undefined;
      this.#base = this.#cardStart.base;
      this.#prefix = this.#cardStart.prefix;
      this.#target = this.elementId;
    }
  }

  /** The full text so far. */
  get text(): string {
    if (this.#chunks.length > 0) {
      this.#text += this.#chunks.join('');
      this.#chunks.length = 0;
    }
    return this.#text;
  }

  /**
   * What a write may send now: the text, minus a trailing high surrogate whose low half has not arrived
   * yet (a model's delta can end inside an emoji). Half a character would show as "�" and break the
   * prefix the platform types from; no write ever sends one.
   */
  writable(): { text: string; complete: boolean } {
    const text = this.#current();
    if (!endsInsideCharacter(text)) return { text, complete: true };
    return { text: text.slice(0, -1), complete: false };
  }

  /** The text is final: a trailing half character that will never be completed is dropped. */
  settle(): void {
    const text = this.text;
    if (endsInsideCharacter(text)) this.set(text.slice(0, -1));
  }

  get version(): number {
    return this.#version;
  }

  /** True while the platform does not have the latest text. */
  get dirty(): boolean {
    return this.#version !== this.#ackedVersion;
  }

  /** A write reads the text now, to send it: what changes from here on it does not carry. */
  sending(): void {
    this.#laterSince = -1;
  }

  /**
   * The platform accepted the text as it was at `version` (0: the write held back half a character and
   * covers no version). Returns the ms since the oldest change it carried that the platform lacked.
   */
  acknowledge(version: number): number {
    const lagMs = this.#pendingSince < 0 ? 0 : performance.now() - this.#pendingSince;
    if (version > this.#ackedVersion) {
      this.#ackedVersion = version;
      // What changed after the write read the text is all the platform lacks now.
      this.#pendingSince = version === this.#version ? -1 : this.#laterSince;
      this.#laterSince = -1;
    }
    return lagMs;
  }

  /** A change the platform does not have yet: the first since the last acceptance, or since the last read. */
  #changed(): void {
    if (this.#pendingSince < 0) this.#pendingSince = performance.now();
    else if (this.#laterSince < 0) this.#laterSince = performance.now();
  }
}

function endsInsideCharacter(text: string): boolean {
  const last = text.charCodeAt(text.length - 1);
  return last >= 0xd800 && last <= 0xdbff;
}
