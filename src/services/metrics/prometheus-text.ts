import { GEN_AI_DURATION_BOUNDS_S, GEN_AI_TOKEN_BOUNDS, HISTOGRAM_BOUNDS_MS } from '../../db/schema.ts'
import { UNKNOWN_ERROR_TYPE } from '../../db/rollup-sql.ts'
import { errorCategory, type ErrorCategory } from './error-categories.ts'
import type { Outcome } from '../../db/schema.ts'

/**
 * Prometheus text exposition format 0.0.4 for all time, from the rollups' all-time rows.
 *
 * Two families of names. The OpenTelemetry GenAI semantic conventions' client histograms, as
 * Prometheus spells them (dots to underscores, the unit as a suffix, base units: seconds):
 * gen_ai_client_operation_duration_seconds, gen_ai_client_operation_time_to_first_chunk_seconds
 * and gen_ai_client_token_usage, with the spec's bucket boundaries and attributes
 * (gen_ai_provider_name, gen_ai_operation_name, gen_ai_request_model, gen_ai_token_type, and
 * error_type on failed operations only). And counters named for CloudWatch's Bedrock metrics
 * (Invocations, InvocationThrottles, InvocationsIntervened, InputTokenCount, OutputTokenCount,
 * CacheReadInputTokenCount, CacheWriteInputTokenCount), plus the estimated cost. The two
 * millisecond histograms of before (InvocationLatency, TimeToFirstToken) stay for one release,
 * marked deprecated. No label names a person or a conversation; `instance` is the scrape's own.
 * Counters only go down if calls are deleted from `invocations` (the rollups follow deletes);
 * Prometheus reads that as a reset.
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
  /** The tokens above at the catalogue's prices (USD); null when the model's price is unknown. */
  estimatedCostUsd: number | null
}

/** One all-time row of the GenAI rollup: a model's calls that succeeded (errorType null) or failed with one type. */
export type GenAiTotals = {
  modelId: string
  errorType: string | null
  calls: number
  durationSumMs: number
  durationBuckets: readonly number[]
  ttfcCount: number
  ttfcSumMs: number
  ttfcBuckets: readonly number[]
  inputCalls: number
  inputTokens: number
  inputBuckets: readonly number[]
  outputCalls: number
  outputTokens: number
  outputBuckets: readonly number[]
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

/**
 * Cumulative `_bucket` lines (one per upper bound `les`, then le="+Inf", equal to `_count`), then
 * `_sum` and `_count`. `buckets` holds the calls per bucket, the overflow bucket last.
 */
function histogramLines(name: string, pairs: Record<string, string>, les: readonly string[], buckets: readonly number[], sum: number): string[] {
  const lines: string[] = []
  let cumulative = 0
  les.forEach((le, i) => {
    cumulative += buckets[i] ?? 0
    lines.push(`${name}_bucket${labels({ ...pairs, le })} ${cumulative}`)
  })
  const count = buckets.reduce((a, b) => a + b, 0)
  lines.push(`${name}_bucket${labels({ ...pairs, le: '+Inf' })} ${count}`)
  lines.push(`${name}_sum${labels(pairs)} ${sum}`)
  lines.push(`${name}_count${labels(pairs)} ${count}`)
  return lines
}

const MS_LES = HISTOGRAM_BOUNDS_MS.map(String)
const SECONDS_LES = GEN_AI_DURATION_BOUNDS_S.map(String)
const TOKEN_LES = GEN_AI_TOKEN_BOUNDS.map(String)

/** The attributes every GenAI series carries (the spec's Required ones), as Prometheus labels. */
function genAiLabels(model: string): Record<string, string> {
  return { gen_ai_provider_name: 'aws.bedrock', gen_ai_operation_name: 'chat', gen_ai_request_model: model }
}

/** error.type as the spec wants it: the error's own low-cardinality name, `_OTHER` when none was recorded. */
function specErrorType(type: string): string {
  return type === UNKNOWN_ERROR_TYPE ? '_OTHER' : type
}

function addBuckets(into: number[], from: readonly number[]) {
  from.forEach((n, i) => (into[i] = (into[i] ?? 0) + n))
}

/** The GenAI rollup's rows summed per model (time to first chunk and token usage carry no error_type). */
function genAiByModel(rows: readonly GenAiTotals[]) {
  const byModel = new Map<string, { ttfcSumMs: number; ttfc: number[]; inputTokens: number; input: number[]; outputTokens: number; output: number[] }>()
  for (const r of rows) {
    const m = byModel.get(r.modelId) ?? { ttfcSumMs: 0, ttfc: [], inputTokens: 0, input: [], outputTokens: 0, output: [] }
    m.ttfcSumMs += r.ttfcSumMs
    m.inputTokens += r.inputTokens
    m.outputTokens += r.outputTokens
    addBuckets(m.ttfc, r.ttfcBuckets)
    addBuckets(m.input, r.inputBuckets)
    addBuckets(m.output, r.outputBuckets)
    byModel.set(r.modelId, m)
  }
  return byModel
}

/** The OpenTelemetry GenAI client histograms, in seconds and tokens, with the spec's boundaries. */
function genAiText(rows: readonly GenAiTotals[]): string[] {
  const lines: string[] = []
  const duration = 'gen_ai_client_operation_duration_seconds'
  lines.push(
    ...header(
      duration,
      'histogram',
      'GenAI operation duration in seconds: one Bedrock model call from the request to its last event, every outcome; ' +
        "error_type (the AWS error name or the app's own, _OTHER when none) only on calls that failed or were stopped (OpenTelemetry gen_ai.client.operation.duration).",
    ),
  )
  for (const r of rows) {
    const pairs = r.errorType === null ? genAiLabels(r.modelId) : { ...genAiLabels(r.modelId), error_type: specErrorType(r.errorType) }
    lines.push(...histogramLines(duration, pairs, SECONDS_LES, r.durationBuckets, r.durationSumMs / 1000))
  }
  const byModel = genAiByModel(rows)

  const ttfc = 'gen_ai_client_operation_time_to_first_chunk_seconds'
  lines.push(
    ...header(
      ttfc,
      'histogram',
      'Time to the first chunk in seconds: from the request to the first streamed text or reasoning token, for calls that streamed one ' +
        '(OpenTelemetry gen_ai.client.operation.time_to_first_chunk).',
    ),
  )
  for (const [model, m] of byModel) lines.push(...histogramLines(ttfc, genAiLabels(model), SECONDS_LES, m.ttfc, m.ttfcSumMs / 1000))

  const usage = 'gen_ai_client_token_usage'
  lines.push(
    ...header(
      usage,
      'histogram',
      'Tokens per call, for calls that reported usage: input (prompt-cache reads and writes included) and output ' +
        '(OpenTelemetry gen_ai.client.token.usage; the cache split is on bedrock_cache_*_input_tokens_total).',
    ),
  )
  for (const [model, m] of byModel) {
    lines.push(...histogramLines(usage, { ...genAiLabels(model), gen_ai_token_type: 'input' }, TOKEN_LES, m.input, m.inputTokens))
    lines.push(...histogramLines(usage, { ...genAiLabels(model), gen_ai_token_type: 'output' }, TOKEN_LES, m.output, m.outputTokens))
  }
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

export function prometheusText(models: readonly ModelTotals[], errors: readonly ErrorTotals[], genAi: readonly GenAiTotals[]): string {
  const failed = errorsByModel(errors)
  const lines: string[] = genAiText(genAi)

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

  const latencyHelp =
    'Deprecated, removed in the next release: use gen_ai_client_operation_duration_seconds. Model call latency in milliseconds, every outcome (CloudWatch: InvocationLatency).'
  lines.push(...header('bedrock_invocation_latency_ms', 'histogram', latencyHelp))
  for (const m of models) lines.push(...histogramLines('bedrock_invocation_latency_ms', { model: m.modelId }, MS_LES, m.latencyBuckets, m.latencySumMs))

  const ttftHelp =
    'Deprecated, removed in the next release: use gen_ai_client_operation_time_to_first_chunk_seconds. ' +
    'Time to the first streamed token in milliseconds, for calls that streamed one (CloudWatch: TimeToFirstToken).'
  lines.push(...header('bedrock_time_to_first_token_ms', 'histogram', ttftHelp))
  for (const m of models) lines.push(...histogramLines('bedrock_time_to_first_token_ms', { model: m.modelId }, MS_LES, m.ttftBuckets, m.ttftSumMs))

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

  const costHelp =
    "Estimated cost in USD of the tokens above at the model catalogue's on-demand prices (the dashboard's Estimated cost), by model; " +
    'models of unknown price are left out. Computed from the token totals at each scrape, so a price change moves it.'
  lines.push(...header('bedrock_estimated_cost_usd_total', 'counter', costHelp))
  for (const m of models) if (m.estimatedCostUsd !== null) lines.push(`bedrock_estimated_cost_usd_total${labels({ model: m.modelId })} ${m.estimatedCostUsd}`)

  return `${lines.join('\n')}\n`
}
