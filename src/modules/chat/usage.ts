import { roundUsd } from './events.ts';
import type { UsageRow } from './repo.ts';

/** A bot's answers, tokens and estimated cost in a time range, in total and per provider/model/mode. */
export interface UsageSummary {
  bot_id: string;
  from: Date | null;
  to: Date | null;
  messages: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  /** Messages with tokens but no known price (their cost is not in `cost_usd`). */
  unpriced_messages: number;
  errors: number;
  by_model: Array<{
    provider: string | null;
    model: string | null;
    mode: string | null;
    messages: number;
    input_tokens: number;
    output_tokens: number;
    cost_usd: number | null;
  }>;
}

/** Totals of the per-model rows; costs rounded to 1e-8 USD. */
export function summarizeUsage(
  botId: string,
  range: { from?: Date | undefined; to?: Date | undefined },
  rows: readonly UsageRow[],
): UsageSummary {
  const summary: UsageSummary = {
    bot_id: botId,
    from: range.from ?? null,
    to: range.to ?? null,
    messages: 0,
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: 0,
    unpriced_messages: 0,
    errors: 0,
    by_model: [],
  };
  for (const r of rows) {
    const cost = r.cost_usd === null ? null : Number(r.cost_usd);
    summary.messages += r.messages;
    summary.input_tokens += Number(r.input_tokens);
    summary.output_tokens += Number(r.output_tokens);
    summary.cost_usd += cost ?? 0;
    summary.unpriced_messages += r.unpriced;
    summary.errors += r.errors;
    summary.by_model.push({
      provider: r.provider,
      model: r.model,
      mode: r.mode,
      messages: r.messages,
      input_tokens: Number(r.input_tokens),
      output_tokens: Number(r.output_tokens),
      cost_usd: cost,
    });
  }
  summary.cost_usd = roundUsd(summary.cost_usd);
  return summary;
}
