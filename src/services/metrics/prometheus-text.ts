import { HISTOGRAM_BOUNDS_MS } from '../../db/schema.ts'
import { errorCategory, type ErrorCategory } from './error-categories.ts'
import type { Outcome } from '../../db/schema.ts'

/**
 * Prometheus text exposition format 0.0.4 for all time, from the rollup's all-time rows. Names
 * follow CloudWatch's Bedrock metrics (Invocations, InvocationThrottles, InvocationsIntervened,
 * InvocationLatency, TimeToFirstToken, InputTokenCount, OutputTokenCount, CacheReadInputTokenCount,
 * CacheWriteInputTokenCount). Counters only go down if calls are
 * deleted from `invocations` (the rollup follows deletes); Prometheus reads that as a reset.
 */

export type ModelTotals = {
  modelId: string
  byOutcome: Record<Outcome, number>
  latencySumMs: number
  latencyBuckets: readonly number[]
  ttftCount: number
  ttftSumMs: number
  ttftBuckets: readonly number[]
  inputTokens: number
  outputTokens: number
  cacheReadInputTokens: number
  cacheWriteInputTokens: number
}

export type ErrorTotals = { modelId: string; outcome: Outcome; type: string; count: number }

/** A label value with backslash, double quote and line feed escaped, as the format requires. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function labels(pairs: Record<string, string>): string {
  const body = Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
    .join(',')
  return `{${body}}`
}

function header(name: string, type: 'counter' | 'histogram', help: string): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`]
}

/** Cumulative `_bucket` lines ending with le="+Inf" (equal to `_count`), then `_sum` and `_count`. */
function histogramLines(name: string, model: string, buckets: readonly number[], sum: number): string[] {
  const lines: string[] = []
  let cumulative = 0
  HISTOGRAM_BOUNDS_MS.forEach((bound, i) => {
    cumulative += buckets[i] ?? 0
    lines.push(`${name}_bucket${labels({ model, le: String(bound) })} ${cumulative}`)
  })
  const count = buckets.reduce((a, b) => a + b, 0)
  lines.push(`${name}_bucket${labels({ model, le: '+Inf' })} ${count}`)
  lines.push(`${name}_sum${labels({ model })} ${sum}`)
  lines.push(`${name}_count${labels({ model })} ${count}`)
  return lines
}

/** Failed calls per model and category ('stopped' calls are not errors: see the outcome counter). */
function errorsByModel(errors: readonly ErrorTotals[]): Map<string, Map<ErrorCategory, number>> {
  const byModel = new Map<string, Map<ErrorCategory, number>>()
  for (const e of errors) {
    if (e.outcome !== 'error' || e.count <= 0) continue
    const categories = byModel.get(e.modelId) ?? new Map<ErrorCategory, number>()
    const category = errorCategory(e.outcome, e.type)
    categories.set(category, (categories.get(category) ?? 0) + e.count)
    byModel.set(e.modelId, categories)
  }
  return byModel
}

export function prometheusText(models: readonly ModelTotals[], errors: readonly ErrorTotals[]): string {
  const failed = errorsByModel(errors)
  const lines: string[] = []

  lines.push(...header('bedrock_invocations_total', 'counter', 'Model calls recorded, by model and outcome (CloudWatch: Invocations).'))
  for (const m of models) {
    for (const [outcome, n] of Object.entries(m.byOutcome)) lines.push(`bedrock_invocations_total${labels({ model: m.modelId, outcome })} ${n}`)
  }

  lines.push(
    ...header(
      'bedrock_invocation_errors_total',
      'counter',
      'Failed model calls by model and error category: throttled, validation, access, server, intervened, other ' +
        '(CloudWatch: InvocationClientErrors, InvocationServerErrors, InvocationsIntervened).',
    ),
  )
  for (const [model, categories] of failed) {
    for (const [category, n] of categories) lines.push(`bedrock_invocation_errors_total${labels({ model, category })} ${n}`)
  }

  lines.push(...header('bedrock_invocation_throttles_total', 'counter', 'Model calls that failed throttled, by model (CloudWatch: InvocationThrottles).'))
  for (const m of models) lines.push(`bedrock_invocation_throttles_total${labels({ model: m.modelId })} ${failed.get(m.modelId)?.get('throttled') ?? 0}`)

  lines.push(...header('bedrock_invocations_intervened_total', 'counter', 'Model calls the guardrail blocked, by model (CloudWatch: InvocationsIntervened).'))
  for (const m of models) lines.push(`bedrock_invocations_intervened_total${labels({ model: m.modelId })} ${failed.get(m.modelId)?.get('intervened') ?? 0}`)

  lines.push(...header('bedrock_invocation_latency_ms', 'histogram', 'Model call latency in milliseconds, every outcome (CloudWatch: InvocationLatency).'))
  for (const m of models) lines.push(...histogramLines('bedrock_invocation_latency_ms', m.modelId, m.latencyBuckets, m.latencySumMs))

  const ttftHelp = 'Time to the first streamed token in milliseconds, for calls that streamed one (CloudWatch: TimeToFirstToken).'
  lines.push(...header('bedrock_time_to_first_token_ms', 'histogram', ttftHelp))
  for (const m of models) lines.push(...histogramLines('bedrock_time_to_first_token_ms', m.modelId, m.ttftBuckets, m.ttftSumMs))

  lines.push(...header('bedrock_input_tokens_total', 'counter', 'Input tokens reported by Bedrock, by model (CloudWatch: InputTokenCount).'))
  for (const m of models) lines.push(`bedrock_input_tokens_total${labels({ model: m.modelId })} ${m.inputTokens}`)

  lines.push(...header('bedrock_output_tokens_total', 'counter', 'Output tokens reported by Bedrock, by model (CloudWatch: OutputTokenCount).'))
  for (const m of models) lines.push(`bedrock_output_tokens_total${labels({ model: m.modelId })} ${m.outputTokens}`)

  const readHelp = 'Input tokens read from the prompt cache, by model; not in bedrock_input_tokens_total (CloudWatch: CacheReadInputTokenCount).'
  lines.push(...header('bedrock_cache_read_input_tokens_total', 'counter', readHelp))
  for (const m of models) lines.push(`bedrock_cache_read_input_tokens_total${labels({ model: m.modelId })} ${m.cacheReadInputTokens}`)

  const writeHelp = 'Input tokens written to the prompt cache, by model; not in bedrock_input_tokens_total (CloudWatch: CacheWriteInputTokenCount).'
  lines.push(...header('bedrock_cache_write_input_tokens_total', 'counter', writeHelp))
  for (const m of models) lines.push(`bedrock_cache_write_input_tokens_total${labels({ model: m.modelId })} ${m.cacheWriteInputTokens}`)

  return `${lines.join('\n')}\n`
}
