/**
 * The text of one streamed element. `append` is O(1) (a chunk pushed to a list); the chunks are
 * joined only when a write reads the text, so a fast model's thousands of deltas cost thousands of
 * pushes, not thousands of copies of the whole answer. A version number tells what the platform has.
 */
import type { StreamTag } from './card-template.js';

export class ElementText {
  readonly #chunks: string[] = [];
  #text = '';
  #version = 0;
  #ackedVersion = 0;

  constructor(
    readonly elementId: string,
    readonly tag: StreamTag,
  ) {}

  append(delta: string): void {
    if (delta === '') return;
    this.#chunks.push(delta);
    this.#version++;
  }

  set(text: string): void {
    this.#chunks.length = 0;
    this.#text = text;
    this.#version++;
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
    const text = this.text;
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

  /** The platform accepted the text as it was at `version`. */
  acknowledge(version: number): void {
    if (version > this.#ackedVersion) this.#ackedVersion = version;
  }
}

function endsInsideCharacter(text: string): boolean {
  const last = text.charCodeAt(text.length - 1);
  return last >= 0xd800 && last <= 0xdbff;
}
