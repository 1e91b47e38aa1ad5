/**
 * The typed model of an answer stream (issue 11): what any model's stream says, whatever SDK it came
 * from. Each source adapter (openai.ts, ai-sdk.ts, anthropic.ts, langchain.ts, text.ts) turns its
 * SDK's chunks into these events; the session shows them on the card. A chunk an adapter does not
 * handle becomes an `unhandled` event, never silence.
 */

/** A piece of the answer, or of the model's reasoning. */
export interface TextPiece {
  kind: 'answer' | 'reasoning';
  text: string;
}

/** Token counts, as far as the source reports them (counts a source gives again replace the earlier ones). */
export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  reasoningTokens?: number;
}

export type AnswerEvent =
  | TextPiece
  /** The model began a tool call (its arguments may still be streaming). `id` is the source's call id. */
  | { kind: 'tool-start'; id: string; name: string }
  /** A piece of the call's arguments, as the model streams them (JSON text). */
  | { kind: 'tool-input'; id: string; delta: string }
  /** The call's arguments are complete (`input` parsed when the source parses it, else the JSON text). */
  | { kind: 'tool-call'; id: string; name: string; input: unknown }
  /** The tool ran: its result (sources that run tools: AI SDK, LangChain agents). */
  | { kind: 'tool-result'; id: string; output: unknown }
  /** The tool failed. */
  | { kind: 'tool-error'; id: string; error: string }
  | { kind: 'usage'; usage: Usage }
  /** The model ended its answer (or one step of it): `reason` as the source says it (`stop`, `tool_calls`, `end_turn`, `length` …). */
  | { kind: 'finish'; reason: string }
  /** The stream reported a failure inside it (an error part or event); the session ends the card interrupted. */
  | { kind: 'error'; error: Error }
  /** A chunk of a known source that its adapter does not handle: reported (an event and a counter), never silently dropped. */
  | { kind: 'unhandled'; source: string; type: string };

export type AnswerEventKind = AnswerEvent['kind'];

/**
 * Reads one stream of one source kind. Stateful (a tool call's id may come only with its first chunk,
 * a content block's kind only with its start), so a new reader is made for every stream.
 */
export interface ChunkReader {
  /** The events one chunk carries (none for a chunk that says nothing worth showing, such as a keep-alive). */
  read(chunk: unknown): AnswerEvent[];
  /** Events the stream's end completes (a tool call whose arguments were still open). */
  end?(): AnswerEvent[];
}

/** One kind of source: how its chunks look, and how they are read. */
export interface SourceAdapter {
  /** Names the source in errors and `unhandled` events, e.g. `openai chat completion chunks`. */
  readonly name: string;
  /** True when `chunk` (the first of a stream) is this source's. */
  matches(chunk: unknown): boolean;
  reader(): ChunkReader;
}
