/**
 * Token counts from an openai usage object. Both APIs report the same four counts under their own
 * field names (chat: `prompt_tokens` …; Responses: `input_tokens` …), so each names its fields here.
 */
import type { Usage } from '../answer-events.js';
import { type Json, isRecord } from './fields.js';

/** Where an API reports its input and output counts, and the details object that holds `reasoning_tokens`. */
export interface UsageFields {
  input: string;
  output: string;
  details: string;
}

/** The counts the usage object gives; those it leaves out stay out (not `undefined`). */
export function usageOf(usage: Json, fields: UsageFields): Usage {
  const detailsField = usage[fields.details];
  const details = isRecord(detailsField) ? detailsField : {};
  return withoutUndefined({
    inputTokens: numberOr(usage[fields.input]),
    outputTokens: numberOr(usage[fields.output]),
    totalTokens: numberOr(usage.total_tokens),
    reasoningTokens: numberOr(details.reasoning_tokens),
  });
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function withoutUndefined(usage: Usage): Usage {
  return Object.fromEntries(Object.entries(usage).filter(([, value]) => value !== undefined));
}
