/**
 * `npm run bench -- --json`: one JSON document on stdout, nothing else there. The Markdown tables go to
 * stderr (console.log is pointed at it); a scenario that only prints (long answers, shutdown, the
 * preview) is captured, and each of its tables parsed into rows keyed by the column headers.
 */

export interface ParsedTable {
  /** The paragraph printed just before the table, if any. */
  caption: string | null;
  columns: string[];
  rows: Record<string, string>[];
}

/** Points console.log at stderr, so that stdout carries only the document `write` prints. */
export function tablesToStderr(): void {
  console.log = (...args: unknown[]) => console.error(...args);
}

/** Runs `fn`, keeping what it printed through console.log (still printed), and parses its Markdown tables. */
export async function captureTables<T>(fn: () => Promise<T>): Promise<{ result: T; tables: ParsedTable[] }> {
  const printed: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => {
    printed.push(args.map(String).join(' '));
    log(...args);
  };
  try {
    const result = await fn();
    return { result, tables: parseTables(printed.join('\n')) };
  } finally {
    console.log = log;
  }
}

/** Every Markdown table in `text`: a header row, a `|---|` row, then the rows up to the first line not starting with `|`. */
export function parseTables(text: string): ParsedTable[] {
  const lines = text.split('\n');
  const tables: ParsedTable[] = [];
  let caption: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.startsWith('|') && /^\|[\s:|-]+\|$/.test(lines[i + 1]?.trim() ?? '')) {
      const columns = cells(line);
      const rows: Record<string, string>[] = [];
      for (i += 2; i < lines.length && lines[i]!.trim().startsWith('|'); i++) {
        const values = cells(lines[i]!.trim());
        rows.push(Object.fromEntries(columns.map((column, c) => [column, values[c] ?? ''])));
      }
      tables.push({ caption, columns, rows });
      caption = null;
      i--;
    } else if (line !== '') caption = line;
  }
  return tables;
}

function cells(row: string): string[] {
  return row
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((cell) => cell.trim());
}

/** Writes `document` to stdout as JSON (NaN and Infinity as null) and resolves once it is flushed. */
export function writeDocument(document: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(`${JSON.stringify(document, null, 2)}\n`, (error) => (error ? reject(error) : resolve()));
  });
}
