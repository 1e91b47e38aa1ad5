// @ts-check
// Where things close in one piece of inline text, found in one pass each: the `]` or `)` matching a
// bracket or parenthesis, the next backtick run of a given length, the next closing Feishu tag, the
// next emphasis closer. A parser that searched the rest of the text again at every opener would take
// quadratic time on text full of openers that never close (`[[[[…`, `*a *a *a …`, `<font><font>…`).

const BACKSLASH = 0x5c;

/** Positions in increasing order, queried with a non-decreasing `from`: amortized constant time per query. */
class Cursor {
  /** @param {number[]} positions */
  constructor(positions) {
    this.positions = positions;
    this.at = 0;
  }

  /**
   * The first position >= `from`, or -1.
   * @param {number} from
   */
  next(from) {
    // A smaller `from` than last time (not expected) restarts the walk rather than answering wrong.
    if (this.at > 0 && (this.positions[this.at - 1] ?? -1) >= from) this.at = 0;
    while (this.at < this.positions.length && (this.positions[this.at] ?? 0) < from) this.at++;
    return this.positions[this.at] ?? -1;
  }
}

export class InlineIndex {
  /** @param {string} text */
  constructor(text) {
    this.text = text;
    /** @type {Int32Array | null} matching `]` / `)` by opener position, -1 when unmatched */
    this.matches = null;
    /** @type {Map<number, Cursor> | null} backtick runs by run length */
    this.codeRuns = null;
    /** @type {Map<string, Cursor> | null} closing tags (`</font>` …) by lower-case tag name */
    this.closingTags = null;
    /** @type {Map<string, { from: number, found: number }>} last emphasis closer found, by delimiter */
    this.closers = new Map();
    /** The run of characters a bare URL may span, last computed: [start, end). */
    this.urlRun = { start: -1, end: -1 };
  }

  /**
   * The `]` matching the `[` at `open` (not across a blank line), or -1.
   * @param {number} open
   */
  closingBracket(open) {
    return this.#matches()[open] ?? -1;
  }

  /**
   * The `)` matching the `(` at `open`, or -1.
   * @param {number} open
   */
  closingParen(open) {
    return this.#matches()[open] ?? -1;
  }

  /** One pass pairs brackets and parentheses; a backslash hides the character after it. */
  #matches() {
    if (this.matches) return this.matches;
    const text = this.text;
    const matches = new Int32Array(text.length).fill(-1);
    /** @type {number[]} */
    const brackets = [];
    /** @type {number[]} */
    const parens = [];
    for (let j = 0; j < text.length; j++) {
      const ch = text.charCodeAt(j);
      if (ch === BACKSLASH) {
        j++;
        continue;
      }
      const c = text[j];
      if (c === '[') brackets.push(j);
      else if (c === ']') {
        const open = brackets.pop();
        if (open !== undefined) matches[open] = j;
      } else if (c === '\n' && text[j + 1] === '\n') brackets.length = 0; // a link label never spans a blank line
      else if (c === '(') parens.push(j);
      else if (c === ')') {
        const open = parens.pop();
        if (open !== undefined) matches[open] = j;
      }
    }
    this.matches = matches;
    return matches;
  }

  /**
   * Where the first run of exactly `length` backticks after `from` starts, or -1.
   * @param {number} from
   * @param {number} length
   */
  codeCloser(from, length) {
    if (!this.codeRuns) {
      /** @type {Map<number, number[]>} */
      const runs = new Map();
      for (const match of this.text.matchAll(/`+/g)) {
        const list = runs.get(match[0].length) ?? [];
        list.push(match.index);
        runs.set(match[0].length, list);
      }
      this.codeRuns = new Map([...runs].map(([n, starts]) => [n, new Cursor(starts)]));
    }
    return this.codeRuns.get(length)?.next(from) ?? -1;
  }

  /**
   * Where the first `</name>` (any case) at or after `from` starts, or -1.
   * @param {string} name lower case
   * @param {number} from
   */
  closingTag(name, from) {
    if (!this.closingTags) {
      /** @type {Map<string, number[]>} */
      const found = new Map();
      for (const match of this.text.matchAll(/<\/(font|at|text_tag)>/gi)) {
        const key = (match[1] ?? '').toLowerCase();
        const list = found.get(key) ?? [];
        list.push(match.index);
        found.set(key, list);
      }
      this.closingTags = new Map([...found].map(([key, list]) => [key, new Cursor(list)]));
    }
    return this.closingTags.get(name)?.next(from) ?? -1;
  }

  /**
   * The first position after `from` where `delim` can close emphasis, or -1. `find` does the search;
   * the answer is remembered, so openers that never close cost one search between them, not one each.
   * @param {number} from
   * @param {string} delim
   * @param {(from: number) => number} find
   */
  closer(from, delim, find) {
    const last = this.closers.get(delim);
    // No closer in (last.from, ∞) means none in (from, ∞) either; a closer beyond `from` is still the first.
    if (last && from >= last.from && (last.found === -1 || last.found > from)) return last.found;
    const found = find(from);
    this.closers.set(delim, { from, found });
    return found;
  }

  /**
   * Where the run of characters a bare URL may contain, starting at or spanning `i`, ends.
   * @param {number} i
   * @param {RegExp} urlChars a sticky pattern matching such a run
   */
  urlRunEnd(i, urlChars) {
    if (i >= this.urlRun.start && i < this.urlRun.end) return this.urlRun.end;
    urlChars.lastIndex = i;
    const match = urlChars.exec(this.text);
    this.urlRun = { start: i, end: i + (match?.[0].length ?? 0) };
    return this.urlRun.end;
  }
}
