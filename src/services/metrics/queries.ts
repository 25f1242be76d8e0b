import {
  ALL_MODELS,
  ALL_TIME,
  GEN_AI_BUCKETS,
  GEN_AI_NO_ERROR,
  HISTOGRAM_BUCKETS,
  genAiColumnName,
  histogramColumnName,
  type GenAiHistogram,
  type Outcome,
} from '../../db/schema.ts'
import type { SqlParam, SqlReader } from '../../db/sql-reader.ts'
import { errorCategory, type ErrorCategory } from './error-categories.ts'
import { createInvocationList, type InvocationQuery } from './invocation-list.ts'
import { coverWindow, rangeWindow, segmentsSql, type RangeKey, type TimeWindow } from './ranges.ts'
import { cacheSavingsFor, costFor } from '../models.ts'
import { histogramPercentile } from './percentiles.ts'
import { prometheusText, type ErrorTotals, type GenAiTotals, type ModelTotals } from './prometheus-text.ts'

/**
 * The dashboard's figures, all read from SQL for the chosen range. The panels read the rollup
 * (`invocation_rollup`, `invocation_error_rollup`, kept by triggers): a series reads one
 * ALL_MODELS row per bucket of the range; a total reads the fewest whole buckets that tile the
 * range (coverWindow). That is at most a few hundred rows, whatever the number of calls. Only
 * the Invocations list reads `invocations`, a page at a time.
 *
 * Latency figures cover every call (ok, error and stopped), as the original dashboard's average
 * did; percentiles come from the rollup's histogram, with the method and error bound given in
 * ./percentiles.ts. Queries go through a SqlReader (src/db/sql-reader.ts), one SQL text for
 * SQLite and PostgreSQL: on SQLite they are cached prepared statements of the raw client, as the
 * panels' SQL is generated from the histogram's columns and a refresh has a budget of a few
 * milliseconds.
 *
 * Works on a read-only connection (the dashboard's own process): nothing here writes.
 */

export type Summary = {
  /** The window the figures cover: [from, to), whole buckets of `bucketMs`. */
  from: number
  to: number
  bucketMs: number
  requests: number
  successes: number
  errors: number
  /** Validation and access errors (CloudWatch InvocationClientErrors). */
  clientErrors: number
  /** Bedrock's and the model's own failures (InvocationServerErrors). */
  serverErrors: number
  /** Failed throttled (InvocationThrottles). */
  throttles: number
  /** Blocked by the guardrail (InvocationsIntervened). */
  intervened: number
  /** Failed otherwise: network, a cut-off stream, an unknown error. */
  otherErrors: number
  stopped: number
  /** errors / requests; null with no requests. */
  errorRate: number | null
  avgLatencyMs: number | null
  p50LatencyMs: number | null
  p95LatencyMs: number | null
  p99LatencyMs: number | null
  avgTtftMs: number | null
  inputTokens: number
  outputTokens: number
  /** Prompt caching: tokens read from and written to the cache (not in inputTokens). */
  cacheReadInputTokens: number
  cacheWriteInputTokens: number
  /** Output tokens over the summed latency of the calls that reported them. */
  outputTokensPerSecond: number | null
  /** Σ tokens × on-demand price per model (prompt-cache reads and writes at their own prices); null when no model with tokens has a known price. */
  estimatedCostUsd: number | null
  /** Some calls' tokens are left out of the cost: their model has no known price. */
  costIsPartial: boolean
  /** Prompt caching: cache reads / (input + cache reads + cache writes); null with no input at all. */
  cacheHitRatio: number | null
  /** What the cache reads would have cost at the input price, less what they cost; null when no model with reads has a known price. */
  cacheSavingsUsd: number | null
}

/** What every panel says of a set of calls: a chart's bucket or a model's row. */
type CallFigures = {
  requests: number
  successes: number
  errors: number
  stopped: number
  errorRate: number | null
  avgLatencyMs: number | null
  p95LatencyMs: number | null
  avgTtftMs: number | null
  inputTokens: number
  outputTokens: number
  /** Prompt caching: tokens read from and written to the cache (Bedrock's inputTokens leaves them out). */
  cacheReadInputTokens: number
  cacheWriteInputTokens: number
}

export type SeriesPoint = CallFigures & {
  /** Bucket start (ms since the epoch, UTC). */
  t: number
  /** Per minute, whatever the bucket size (a 5-minute bucket's count divided by 5). */
  requestsPerMinute: number
  inputTokensPerMinute: number
  outputTokensPerMinute: number
  cacheReadTokensPerMinute: number
  cacheWriteTokensPerMinute: number
  outputTokensPerSecond: number | null
}

export type ErrorTypeCount = { category: ErrorCategory; type: string; count: number }

export type ModelBreakdown = CallFigures & {
  modelId: string
  p50LatencyMs: number | null
  estimatedCostUsd: number | null
}

const LAT = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => histogramColumnName('lat', i))
const TTFT = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => histogramColumnName('ttft', i))
/** The rollup counters the panels read (besides the latency histogram and latency_max). */
const SUMS = [
  'requests',
  'ok',
  'errors',
  'stopped',
  'latency_sum',
  'ttft_count',
  'ttft_sum',
  'input_tokens',
  'output_tokens',
  'output_latency_ms',
  'cache_read_input_tokens',
  'cache_write_input_tokens',
]

const genAiColumns = (prefix: GenAiHistogram) => Array.from({ length: GEN_AI_BUCKETS }, (_, i) => genAiColumnName(prefix, i))
const GEN_AI = { dur: genAiColumns('dur'), ttfc: genAiColumns('ttfc'), in: genAiColumns('in'), out: genAiColumns('out') }

type GenAiRow = {
  model_id: string
  error_type: string
  calls: number
  duration_sum_ms: number
  ttfc_count: number
  ttfc_sum_ms: number
  input_calls: number
  input_tokens: number
  output_calls: number
  output_tokens: number
  [histogramColumn: string]: number | string
}

type Aggregate = {
  requests: number
  ok: number
  errors: number
  stopped: number
  latency_sum: number
  latency_max: number | null
  ttft_count: number
  ttft_sum: number
  input_tokens: number
  output_tokens: number
  output_latency_ms: number
  cache_read_input_tokens: number
  cache_write_input_tokens: number
  [histogramColumn: string]: number | string | null
}

type Param = SqlParam

/**
 * Sums of the rollup's counters and latency histogram over the rows `where` selects, grouped by
 * `groupBy` (empty groups left out).
 */
function aggregateSql(where: string, groupBy: 'model_id' | null): string {
  const key = groupBy ? `${groupBy}, ` : ''
  const sums = [...SUMS, ...LAT].map((c) => `coalesce(sum(${c}), 0) AS ${c}`).join(', ')
  const group = groupBy ? ` GROUP BY ${groupBy} HAVING sum(requests) > 0 ORDER BY sum(requests) DESC, ${groupBy}` : ''
  return `SELECT ${key}${sums}, max(latency_max) AS latency_max FROM invocation_rollup WHERE ${where}${group}`
}

function buckets(row: Aggregate | GenAiRow, columns: readonly string[]): number[] {
  return columns.map((c) => Number(row[c] ?? 0))
}

function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null
}

/** The figures every panel shares, from one aggregated row (percentiles apart: see `latency`). */
function figures(row: Aggregate) {
  return {
    requests: row.requests,
    successes: row.ok,
    errors: row.errors,
    stopped: row.stopped,
    errorRate: ratio(row.errors, row.requests),
    avgLatencyMs: ratio(row.latency_sum, row.requests),
    avgTtftMs: ratio(row.ttft_sum, row.ttft_count),
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    cacheReadInputTokens: row.cache_read_input_tokens,
    cacheWriteInputTokens: row.cache_write_input_tokens,
    outputTokensPerSecond: row.output_tokens > 0 && row.output_latency_ms > 0 ? (row.output_tokens * 1000) / row.output_latency_ms : null,
  }
}

/** A latency percentile of an aggregated row, read from its histogram (./percentiles.ts). */
function latency(row: Aggregate, q: number): number | null {
  return histogramPercentile(buckets(row, LAT), q, row.latency_max)
}

const EMPTY: Aggregate = {
  requests: 0,
  ok: 0,
  errors: 0,
  stopped: 0,
  latency_sum: 0,
  latency_max: null,
  ttft_count: 0,
  ttft_sum: 0,
  input_tokens: 0,
  output_tokens: 0,
  output_latency_ms: 0,
  cache_read_input_tokens: 0,
  cache_write_input_tokens: 0,
}

type ModelTokens = { modelId: string; inputTokens: number; outputTokens: number; cacheReadInputTokens: number; cacheWriteInputTokens: number }

/** Cost over models: unknown prices are left out and flagged, never counted as 0. So are the savings of cache reads. */
function totalCost(models: readonly ModelTokens[]) {
  let known = 0
  let priced = false
  let partial = false
  let saved = 0
  let savingsPriced = false
  for (const m of models) {
    if (m.inputTokens + m.outputTokens + m.cacheReadInputTokens + m.cacheWriteInputTokens === 0) continue
    const cost = costFor(m.modelId, m.inputTokens, m.outputTokens, m.cacheReadInputTokens, m.cacheWriteInputTokens)
    if (cost === null) partial = true
    else {
      known += cost
      priced = true
    }
    const savings = m.cacheReadInputTokens > 0 ? cacheSavingsFor(m.modelId, m.cacheReadInputTokens) : null
    if (savings !== null) {
      saved += savings
      savingsPriced = true
    }
  }
  return { estimatedCostUsd: priced || !partial ? known : null, costIsPartial: partial, cacheSavingsUsd: savingsPriced || !partial ? saved : null }
}

/** Cache reads over every input token (uncached input, reads and writes); null with none. */
function cacheHitRatio(row: Aggregate): number | null {
  return ratio(row.cache_read_input_tokens, row.input_tokens + row.cache_read_input_tokens + row.cache_write_input_tokens)
}

export function createMetricsQueries(reader: SqlReader) {
  const list = createInvocationList(reader)

  /** The window's tiling, as a WHERE clause on the rollup's (bucket_ms, t). */
  function covered(win: TimeWindow) {
    const { sql, params } = segmentsSql(coverWindow(win))
    return { sql: `(${sql})`, params }
  }

  async function errorsByType(r: SqlReader, win: TimeWindow): Promise<ErrorTypeCount[]> {
    const cover = covered(win)
    const rows = await r.all<{ outcome: Outcome; type: string; count: number }>(
      `SELECT outcome, error_type AS type, sum(count) AS count FROM invocation_error_rollup WHERE model_id = ? AND ${cover.sql}` +
        ' GROUP BY outcome, error_type HAVING sum(count) > 0 ORDER BY count DESC, type',
      [ALL_MODELS, ...cover.params],
    )
    return rows.map((row) => ({ category: errorCategory(row.outcome, row.type), type: row.type, count: row.count }))
  }

  function tokensByModel(r: SqlReader, win: TimeWindow) {
    const cover = covered(win)
    return r.all<ModelTokens>(
      'SELECT model_id AS "modelId", sum(input_tokens) AS "inputTokens", sum(output_tokens) AS "outputTokens",' +
        ' sum(cache_read_input_tokens) AS "cacheReadInputTokens", sum(cache_write_input_tokens) AS "cacheWriteInputTokens" FROM invocation_rollup' +
        ` WHERE model_id <> ? AND ${cover.sql} GROUP BY model_id ORDER BY model_id`,
      [ALL_MODELS, ...cover.params],
    )
  }

  function countCategories(types: readonly ErrorTypeCount[]): Record<ErrorCategory, number> {
    const counts: Record<ErrorCategory, number> = { throttled: 0, validation: 0, access: 0, server: 0, intervened: 0, stopped: 0, other: 0 }
    for (const t of types) counts[t.category] += t.count
    return counts
  }

  /**
   * Changes whenever a call is recorded, updated or deleted, by this connection or another
   * process or instance: the newest id (an insert) and the all-time ALL_MODELS rollup row's
   * counters (an insert, a delete, an update of a call's outcome, latency or tokens), two index
   * lookups, the same on both databases. It reads the data, not a connection's counter (SQLite's
   * data_version is per connection, and each read thread has its own), so every thread, process
   * and instance gives the same token for the same calls. Only an update that moves a call to
   * another model and changes nothing else leaves it alone; the app never makes one.
   */
  const changeSql =
    "SELECT coalesce((SELECT max(id) FROM invocations), 0) || ':' || coalesce((SELECT requests || ':' || ok || ':' || errors || ':' || stopped" +
    " || ':' || latency_sum || ':' || input_tokens || ':' || output_tokens || ':' || cache_read_input_tokens || ':' || cache_write_input_tokens" +
    " FROM invocation_rollup WHERE bucket_ms = ? AND t = 0 AND model_id = ?), '') AS token"
  const changeParams = [ALL_TIME, ALL_MODELS]

  return {
    summary(range: RangeKey, now?: number): Promise<Summary> {
      const win = rangeWindow(range, now)
      return reader.snapshot(async (r) => {
        const cover = covered(win)
        const [row] = await r.all<Aggregate>(aggregateSql(`model_id = ? AND ${cover.sql}`, null), [ALL_MODELS, ...cover.params])
        const categories = countCategories(await errorsByType(r, win))
        const cost = totalCost(await tokensByModel(r, win))
        return {
          from: win.from,
          to: win.to,
          bucketMs: win.bucketMs,
          ...figures(row ?? EMPTY),
          p50LatencyMs: latency(row ?? EMPTY, 0.5),
          p95LatencyMs: latency(row ?? EMPTY, 0.95),
          p99LatencyMs: latency(row ?? EMPTY, 0.99),
          clientErrors: categories.validation + categories.access,
          serverErrors: categories.server,
          throttles: categories.throttled,
          intervened: categories.intervened,
          otherErrors: categories.other,
          cacheHitRatio: cacheHitRatio(row ?? EMPTY),
          ...cost,
        }
      })
    },

    /**
     * One point per bucket, oldest first, empty buckets included (zeros and nulls). Each bucket
     * of the range is one ALL_MODELS row of the rollup at the range's resolution: no GROUP BY.
     */
    async series(range: RangeKey, now?: number): Promise<SeriesPoint[]> {
      const win = rangeWindow(range, now)
      const rows = await reader.all<Aggregate & { t: number }>(
        `SELECT t, ${[...SUMS, ...LAT].join(', ')}, latency_max FROM invocation_rollup` +
          ' WHERE bucket_ms = ? AND t >= ? AND t < ? AND model_id = ? AND requests > 0',
        [win.bucketMs, win.from, win.to, ALL_MODELS],
      )
      const byStart = new Map(rows.map((r) => [r.t, r]))
      const minutes = win.bucketMs / 60_000
      return Array.from({ length: win.buckets }, (_, i) => {
        const t = win.from + i * win.bucketMs
        const row = byStart.get(t) ?? EMPTY
        const f = figures(row)
        return {
          t,
          ...f,
          p95LatencyMs: latency(row, 0.95),
          requestsPerMinute: f.requests / minutes,
          inputTokensPerMinute: f.inputTokens / minutes,
          outputTokensPerMinute: f.outputTokens / minutes,
          cacheReadTokensPerMinute: f.cacheReadInputTokens / minutes,
          cacheWriteTokensPerMinute: f.cacheWriteInputTokens / minutes,
        }
      })
    },

    /** Failed and stopped calls by error type, most frequent first, each with its category. */
    errorsByType(range: RangeKey, now?: number): Promise<ErrorTypeCount[]> {
      return errorsByType(reader, rangeWindow(range, now))
    },

    /** One row per model seen in the range, busiest first. */
    async perModel(range: RangeKey, now?: number): Promise<ModelBreakdown[]> {
      const win = rangeWindow(range, now)
      const cover = covered(win)
      const sql = aggregateSql(`model_id <> ? AND ${cover.sql}`, 'model_id')
      const rows = await reader.all<Aggregate & { model_id: string }>(sql, [ALL_MODELS, ...cover.params])
      return rows.map((row) => {
        const { outputTokensPerSecond: _perSecond, ...f } = figures(row)
        return {
          modelId: row.model_id,
          ...f,
          p50LatencyMs: latency(row, 0.5),
          p95LatencyMs: latency(row, 0.95),
          estimatedCostUsd: costFor(row.model_id, f.inputTokens, f.outputTokens, f.cacheReadInputTokens, f.cacheWriteInputTokens),
        }
      })
    },

    invocations(query: InvocationQuery, now?: number) {
      return list.page(query, now)
    },

    invocationsCsv(query: InvocationQuery, now?: number): AsyncGenerator<string, void, undefined> {
      return list.csv(query, now)
    },

    /** Every model id ever recorded, for the filter's select: the rollup's all-time rows. */
    async models(): Promise<string[]> {
      const rows = await reader.all<{ model_id: string }>(
        'SELECT model_id FROM invocation_rollup WHERE bucket_ms = ? AND t = 0 AND model_id <> ? AND requests > 0 ORDER BY model_id',
        [ALL_TIME, ALL_MODELS],
      )
      return rows.map((r) => r.model_id)
    },

    /** A text that changes whenever calls are recorded, updated or deleted (see changeSql). */
    async changeToken(): Promise<string> {
      const [row] = await reader.all<{ token: string }>(changeSql, changeParams)
      return String(row?.token ?? '')
    },

    prometheus(): Promise<string> {
      return reader.snapshot(async (r) => {
        const modelRows = await r.all<Aggregate & { model_id: string }>(
          `SELECT model_id, ${[...SUMS, ...LAT, ...TTFT].join(', ')}, latency_max FROM invocation_rollup` +
            ' WHERE bucket_ms = ? AND t = 0 AND model_id <> ? AND requests > 0 ORDER BY model_id',
          [ALL_TIME, ALL_MODELS],
        )
        const models = modelRows.map(
          (row): ModelTotals => ({
            modelId: row.model_id,
            byOutcome: { ok: row.ok, error: row.errors, stopped: row.stopped },
            latencySumMs: row.latency_sum,
            latencyBuckets: buckets(row, LAT),
            ttftCount: row.ttft_count,
            ttftSumMs: row.ttft_sum,
            ttftBuckets: buckets(row, TTFT),
            inputTokens: row.input_tokens,
            outputTokens: row.output_tokens,
            cacheReadInputTokens: row.cache_read_input_tokens,
            cacheWriteInputTokens: row.cache_write_input_tokens,
            estimatedCostUsd: costFor(row.model_id, row.input_tokens, row.output_tokens, row.cache_read_input_tokens, row.cache_write_input_tokens),
          }),
        )
        const errors = await r.all<ErrorTotals>(
          'SELECT model_id AS "modelId", outcome, error_type AS type, count FROM invocation_error_rollup' +
            ' WHERE bucket_ms = ? AND t = 0 AND model_id <> ? AND count > 0',
          [ALL_TIME, ALL_MODELS],
        )
        const genAiRows = await r.all<GenAiRow>('SELECT * FROM invocation_gen_ai_rollup WHERE calls > 0 ORDER BY model_id, error_type', [])
        const genAi = genAiRows.map(
          (row): GenAiTotals => ({
            modelId: row.model_id,
            errorType: row.error_type === GEN_AI_NO_ERROR ? null : row.error_type,
            calls: row.calls,
            durationSumMs: row.duration_sum_ms,
            durationBuckets: buckets(row, GEN_AI.dur),
            ttfcCount: row.ttfc_count,
            ttfcSumMs: row.ttfc_sum_ms,
            ttfcBuckets: buckets(row, GEN_AI.ttfc),
            inputCalls: row.input_calls,
            inputTokens: row.input_tokens,
            inputBuckets: buckets(row, GEN_AI.in),
            outputCalls: row.output_calls,
            outputTokens: row.output_tokens,
            outputBuckets: buckets(row, GEN_AI.out),
          }),
        )
        return prometheusText(models, errors, genAi)
      })
    },
  }
}

export type MetricsQueries = ReturnType<typeof createMetricsQueries>
