/**
 * LangChain's `usage_metadata` as Usage. Each AI chunk's usage is a delta (`concat` sums them), so a
 * stream's usage is the running sum of every one it reports.
 */
import type { AnswerEvent, Usage } from '../answer-events.js';
import { isRecord } from './fields.js';

/** Token counts summed over every usage a stream reports (each AI chunk's usage is a delta). */
export class UsageTotals {
  readonly #sum: Usage = {};

  add(metadata: unknown): AnswerEvent[] {
    const usage = usageOf(metadata);
    if (!usage) return [];
    for (const key of Object.keys(usage) as (keyof Usage)[]) this.#sum[key] = (this.#sum[key] ?? 0) + usage[key]!;
    return [{ kind: 'usage', usage: { ...this.#sum } }];
  }
}

/** `UsageMetadata` (`input_tokens`, `output_tokens`, `total_tokens`, `output_token_details.reasoning`) as Usage. */
export function usageOf(metadata: unknown): Usage | undefined {
  if (!isRecord(metadata)) return undefined;
  const usage: Usage = {};
  if (typeof metadata.input_tokens === 'number') usage.inputTokens = metadata.input_tokens;
  if (typeof metadata.output_tokens === 'number') usage.outputTokens = metadata.output_tokens;
  if (typeof metadata.total_tokens === 'number') usage.totalTokens = metadata.total_tokens;
  const details = metadata.output_token_details;
  if (isRecord(details) && typeof details.reasoning === 'number') usage.reasoningTokens = details.reasoning;
  return Object.keys(usage).length > 0 ? usage : undefined;
}
