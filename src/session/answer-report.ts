/**
 * What a piped source said besides its text (issue 11): the tool steps of an agent as they run, the
 * token usage, why the model stopped, and the chunks its adapter did not handle. The session reports
 * each change as an event and the whole in its result.
 */
import type { AnswerEvent, Usage } from '../adapters/index.js';
import type { Clock } from './clock.js';

/** One tool call of the answer, as it stands. */
export interface ToolStep {
  /** The source's call id. */
  id: string;
  name: string;
  /**
   * `running` until the source gives its result (`done`) or error (`failed`). When the answer ends with
   * no result, `called`: the model asked for the call and the stream ended (the app runs the tool, as
   * with a single chat completion), or `failed` when the session was aborted while it ran.
   */
  status: 'running' | 'done' | 'failed' | 'called';
  /** The arguments: parsed when complete, else the JSON text streamed so far. */
  input: unknown;
  output?: unknown;
  error?: string;
  /** When the call started and ended, on the session clock. */
  startedAt: number;
  endedAt?: number;
}

export interface UnhandledEvent {
  /** The adapter, e.g. `anthropic message stream events`. */
  source: string;
  /** The chunk kind it did not handle. */
  type: string;
  /** How many such chunks so far. */
  count: number;
}

export interface ReportEvents {
  step: [ToolStep];
  usage: [Usage];
  unhandled: [UnhandledEvent];
}

export class AnswerReport {
  readonly steps: ToolStep[] = [];
  usage: Usage | undefined;
  finishReason: string | undefined;
  readonly unhandled = new Map<string, number>();
  readonly #byId = new Map<string, ToolStep>();
  readonly #clock: Clock;
  readonly #emit: <K extends keyof ReportEvents>(event: K, ...args: ReportEvents[K]) => void;

  constructor(clock: Clock, emit: <K extends keyof ReportEvents>(event: K, ...args: ReportEvents[K]) => void) {
    this.#clock = clock;
    this.#emit = emit;
  }

  /** Takes an event (text and errors are the session's, not counted here); a step that changed is reported with a copy of it. */
  take(event: AnswerEvent): void {
    switch (event.kind) {
      case 'tool-start':
        this.#changed(this.#step(event.id, event.name));
        return;
      case 'tool-input': {
        const step = this.#step(event.id, '');
        step.input = (typeof step.input === 'string' ? step.input : '') + event.delta;
        return; // arguments stream in many pieces: reported once complete
      }
      case 'tool-call': {
        const step = this.#step(event.id, event.name);
        step.input = event.input;
        if (event.name !== '') step.name = event.name;
        this.#changed(step);
        return;
      }
      case 'tool-result':
        this.#end(event.id, 'done', { output: event.output });
        return;
      case 'tool-error':
        this.#end(event.id, 'failed', { error: event.error });
        return;
      case 'usage':
        this.usage = { ...this.usage, ...event.usage };
        this.#emit('usage', { ...this.usage });
        return;
      case 'finish':
        this.finishReason = event.reason;
        return;
      case 'unhandled': {
        const key = `${event.source}: ${event.type}`;
        const count = (this.unhandled.get(key) ?? 0) + 1;
        this.unhandled.set(key, count);
        this.#emit('unhandled', { source: event.source, type: event.type, count });
        return;
      }
    }
  }

  /** True when a step with this call id was reported. */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** The answer ended: a step still running was only called (`called`), or cut short by an abort (`failed`). */
  settle(aborted: boolean): void {
    for (const step of this.steps) {
      if (step.status !== 'running') continue;
      if (aborted) this.#end(step.id, 'failed', { error: 'interrupted' });
      else {
        step.status = 'called';
        this.#changed(step);
      }
    }
  }

  #step(id: string, name: string): ToolStep {
    let step = this.#byId.get(id);
    if (!step) {
      step = { id, name, status: 'running', input: undefined, startedAt: this.#clock.now() };
      this.#byId.set(id, step);
      this.steps.push(step);
    }
    return step;
  }

  #end(id: string, status: 'done' | 'failed', outcome: { output?: unknown; error?: string }): void {
    const step = this.#step(id, '');
    step.status = status;
    step.endedAt = this.#clock.now();
    Object.assign(step, outcome);
    this.#changed(step);
  }

  #changed(step: ToolStep): void {
    this.#emit('step', { ...step });
  }
}
