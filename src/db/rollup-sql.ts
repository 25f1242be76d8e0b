import type { Db } from './open.ts'
import {
  ALL_MODELS,
  ALL_TIME,
  GEN_AI_BUCKETS,
  GEN_AI_DURATION_BOUNDS_MS,
  GEN_AI_HISTOGRAMS,
  GEN_AI_NO_ERROR,
  GEN_AI_TOKEN_BOUNDS,
  HISTOGRAM_BOUNDS_MS,
  HISTOGRAM_BUCKETS,
  ROLLUP_BUCKETS_MS,
  genAiColumnName,
  histogramColumnName,
} from './schema.ts'

/**
 * The SQL that keeps `invocation_rollup` and `invocation_error_rollup` equal to a GROUP BY over
 * `invocations`: the triggers every writer runs, and the rebuild (the migration's back-fill, the
 * bench's bulk load), and `invocation_gen_ai_rollup` (the OpenTelemetry GenAI buckets, all time)
 * beside them. All are generated here from the schema's resolutions and histogram bounds; the
 * newest rollup migration (0010, which added the GenAI rollup) holds the generated text after its
 * CREATE TABLE, and a test checks that it still matches. Migrations 0002 and 0009 hold what the
 * generator gave before: they are history, each rebuilt by the next and never edited.
 *
 * The column lists below are exported for src/db/pg/rollup-sql.ts, PostgreSQL's triggers: both
 * dialects' rollups come from these lists and the schema's bounds, so they cannot drift apart.
 */

const FINEST = ROLLUP_BUCKETS_MS[0]
/** Every resolution, finest first, ending with the all-time rows. */
export const LEVELS = [...ROLLUP_BUCKETS_MS, ALL_TIME]

export const LAT = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => histogramColumnName('lat', i))
export const TTFT = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => histogramColumnName('ttft', i))

/** Summed counters of `invocation_rollup`, in column order (latency_max is kept apart: a max). */
export const SUMS = [
  'requests',
  'ok',
  'errors',
  'stopped',
  'latency_sum',
  'ttft_count',
  'ttft_sum',
  'input_calls',
  'output_calls',
  'input_tokens',
  'output_tokens',
  'output_latency_ms',
  'cache_read_input_tokens',
  'cache_write_input_tokens',
]
export const KEY = ['bucket_ms', 't', 'model_id']
export const ROLLUP_COLUMNS = [...KEY, ...SUMS, 'latency_max', ...LAT, ...TTFT]
export const ERROR_KEY = ['bucket_ms', 't', 'model_id', 'outcome', 'error_type']

/** The error type stored for a failed or stopped call that recorded none. */
export const UNKNOWN_ERROR_TYPE = 'Unknown'

function levelsSql(): string {
  return `(${LEVELS.map((ms) => `SELECT ${ms} AS bucket_ms`).join(' UNION ALL ')})`
}

/** The call's own model and ALL_MODELS: every call is counted under both. */
function modelsSql(row: 'NEW' | 'OLD'): string {
  return `(SELECT ${row}.model_id AS model_id UNION ALL SELECT '${ALL_MODELS}')`
}

/** Start of the bucket of resolution `level` holding `ts`; 0 for the all-time level. */
function bucketStartSql(level: string, ts: string): string {
  return `CASE ${level} WHEN ${ALL_TIME} THEN 0 ELSE ${ts} - ${ts} % ${level} END`
}

/**
 * The histogram bucket of `expr` (ms, or tokens with other `bounds`) as a CASE expression, by
 * binary search over the bounds (7 comparisons, not 72); −1 for NULL so that no bucket column
 * counts it. Buckets are (lower, upper]; the last one, past every bound, is the overflow.
 */
export function bucketIndexSql(expr: string, bounds: readonly number[] = HISTOGRAM_BOUNDS_MS): string {
  const search = (lo: number, hi: number): string => {
    if (lo === hi) return String(lo)
    const mid = Math.floor((lo + hi) / 2)
    return `CASE WHEN ${expr} <= ${bounds[mid]} THEN ${search(lo, mid)} ELSE ${search(mid + 1, hi)} END`
  }
  return `CASE WHEN ${expr} IS NULL THEN -1 ELSE ${search(0, bounds.length)} END`
}

/**
 * Adds (sign 1) or takes away (sign −1) the trigger row `row` (NEW or OLD): 14 upserts, one per
 * resolution (six bucket sizes and all time) for its model and for ALL_MODELS.
 */
function rollupUpsertSql(row: 'NEW' | 'OLD', sign: 1 | -1): string {
  const r = (column: string) => `${row}.${column}`
  const s = (expr: string) => (sign === 1 ? expr : `-(${expr})`)
  const values = [
    'l.bucket_ms',
    bucketStartSql('l.bucket_ms', r('timestamp')),
    'm.model_id',
    s('1'),
    s(`${r('outcome')} = 'ok'`),
    s(`${r('outcome')} = 'error'`),
    s(`${r('outcome')} = 'stopped'`),
    s(r('latency_ms')),
    s(`${r('time_to_first_token_ms')} IS NOT NULL`),
    s(`coalesce(${r('time_to_first_token_ms')}, 0)`),
    s(`${r('input_tokens')} IS NOT NULL`),
    s(`${r('output_tokens')} IS NOT NULL`),
    s(`coalesce(${r('input_tokens')}, 0)`),
    s(`coalesce(${r('output_tokens')}, 0)`),
    s(`CASE WHEN ${r('output_tokens')} IS NOT NULL THEN ${r('latency_ms')} ELSE 0 END`),
    s(`coalesce(${r('cache_read_input_tokens')}, 0)`),
    s(`coalesce(${r('cache_write_input_tokens')}, 0)`),
    // a removed call cannot lower the max: after a delete it is an upper bound
    sign === 1 ? r('latency_ms') : '0',
    ...LAT.map((_, i) => s(`b.lat = ${i}`)),
    ...TTFT.map((_, i) => s(`b.ttft = ${i}`)),
  ]
  const updates = [
    ...SUMS.map((c) => `${c} = ${c} + excluded.${c}`),
    'latency_max = max(latency_max, excluded.latency_max)',
    ...[...LAT, ...TTFT].map((c) => `${c} = ${c} + excluded.${c}`),
  ]
  return [
    `INSERT INTO invocation_rollup (${ROLLUP_COLUMNS.join(', ')})`,
    `SELECT ${values.join(',\n  ')}`,
    `FROM ${levelsSql()} AS l, ${modelsSql(row)} AS m,`,
    `  (SELECT ${bucketIndexSql(r('latency_ms'))} AS lat, ${bucketIndexSql(r('time_to_first_token_ms'))} AS ttft) AS b`,
    'WHERE true',
    `ON CONFLICT (${KEY.join(', ')}) DO UPDATE SET ${updates.join(', ')}`,
  ].join('\n')
}

function errorUpsertSql(row: 'NEW' | 'OLD', sign: 1 | -1): string {
  return [
    `INSERT INTO invocation_error_rollup (${[...ERROR_KEY, 'count'].join(', ')})`,
    `SELECT l.bucket_ms, ${bucketStartSql('l.bucket_ms', `${row}.timestamp`)}, m.model_id, ${row}.outcome,`,
    `  coalesce(${row}.error_type, '${UNKNOWN_ERROR_TYPE}'), ${sign}`,
    `FROM ${levelsSql()} AS l, ${modelsSql(row)} AS m`,
    `WHERE ${row}.outcome <> 'ok'`,
    `ON CONFLICT (${ERROR_KEY.join(', ')}) DO UPDATE SET count = count + excluded.count`,
  ].join('\n')
}

/** The GenAI rollup's histogram columns, in column order: dur_*, ttfc_*, in_*, out_*. */
export const GEN_AI = GEN_AI_HISTOGRAMS.flatMap((prefix) => Array.from({ length: GEN_AI_BUCKETS }, (_, i) => genAiColumnName(prefix, i)))
export const GEN_AI_SUMS = ['calls', 'duration_sum_ms', 'ttfc_count', 'ttfc_sum_ms', 'input_calls', 'input_tokens', 'output_calls', 'output_tokens']
export const GEN_AI_KEY = ['model_id', 'error_type']
export const GEN_AI_COLUMNS = [...GEN_AI_KEY, ...GEN_AI_SUMS, ...GEN_AI]

/** A call's input tokens as the spec counts them: Bedrock's inputTokens plus the prompt-cache reads and writes. */
function genAiInputSql(row: string): string {
  return `${row}input_tokens + coalesce(${row}cache_read_input_tokens, 0) + coalesce(${row}cache_write_input_tokens, 0)`
}

/** The GenAI rollup's key for a call: no error type when it succeeded, else its type ('Unknown' when none). */
function genAiErrorTypeSql(row: string): string {
  return `CASE WHEN ${row}outcome = 'ok' THEN '${GEN_AI_NO_ERROR}' ELSE coalesce(${row}error_type, '${UNKNOWN_ERROR_TYPE}') END`
}

/** The call's bucket in each GenAI histogram (−1: not counted there), for the trigger row or a scanned call. */
function genAiBucketsSql(row: string): string {
  return [
    `${bucketIndexSql(`${row}latency_ms`, GEN_AI_DURATION_BOUNDS_MS)} AS dur`,
    `${bucketIndexSql(`${row}time_to_first_token_ms`, GEN_AI_DURATION_BOUNDS_MS)} AS ttfc`,
    `${bucketIndexSql(`CASE WHEN ${row}input_tokens IS NULL THEN NULL ELSE ${genAiInputSql(row)} END`, GEN_AI_TOKEN_BOUNDS)} AS tin`,
    `${bucketIndexSql(`${row}output_tokens`, GEN_AI_TOKEN_BOUNDS)} AS tout`,
  ].join(', ')
}

const GEN_AI_INDEX: Record<(typeof GEN_AI_HISTOGRAMS)[number], string> = { dur: 'dur', ttfc: 'ttfc', in: 'tin', out: 'tout' }

/** Adds (1) or takes away (−1) the trigger row in its model's and error type's all-time GenAI row: one upsert. */
function genAiUpsertSql(row: 'NEW' | 'OLD', sign: 1 | -1): string {
  const r = (column: string) => `${row}.${column}`
  const s = (expr: string) => (sign === 1 ? expr : `-(${expr})`)
  const values = [
    r('model_id'),
    genAiErrorTypeSql(`${row}.`),
    s('1'),
    s(r('latency_ms')),
    s(`${r('time_to_first_token_ms')} IS NOT NULL`),
    s(`coalesce(${r('time_to_first_token_ms')}, 0)`),
    s(`${r('input_tokens')} IS NOT NULL`),
    s(`CASE WHEN ${r('input_tokens')} IS NULL THEN 0 ELSE ${genAiInputSql(`${row}.`)} END`),
    s(`${r('output_tokens')} IS NOT NULL`),
    s(`coalesce(${r('output_tokens')}, 0)`),
    ...GEN_AI_HISTOGRAMS.flatMap((prefix) => Array.from({ length: GEN_AI_BUCKETS }, (_, i) => s(`b.${GEN_AI_INDEX[prefix]} = ${i}`))),
  ]
  const updates = [...GEN_AI_SUMS, ...GEN_AI].map((c) => `${c} = ${c} + excluded.${c}`)
  return [
    `INSERT INTO invocation_gen_ai_rollup (${GEN_AI_COLUMNS.join(', ')})`,
    `SELECT ${values.join(',\n  ')}`,
    `FROM (SELECT ${genAiBucketsSql(`${row}.`)}) AS b`,
    'WHERE true',
    `ON CONFLICT (${GEN_AI_KEY.join(', ')}) DO UPDATE SET ${updates.join(', ')}`,
  ].join('\n')
}

/** The GenAI rollup from `invocations`: one scan, grouped by model and error type. */
function rebuildGenAiSql(): string {
  const sums = [
    'count(*)',
    'sum(latency_ms)',
    'count(time_to_first_token_ms)',
    'coalesce(sum(time_to_first_token_ms), 0)',
    'count(input_tokens)',
    'coalesce(sum(input_all), 0)',
    'count(output_tokens)',
    'coalesce(sum(output_tokens), 0)',
    ...GEN_AI_HISTOGRAMS.flatMap((prefix) => Array.from({ length: GEN_AI_BUCKETS }, (_, i) => `sum(${GEN_AI_INDEX[prefix]} = ${i})`)),
  ]
  return [
    `INSERT INTO invocation_gen_ai_rollup (${GEN_AI_COLUMNS.join(', ')})`,
    `SELECT model_id, error_type, ${sums.join(', ')}`,
    'FROM (',
    `  SELECT model_id, ${genAiErrorTypeSql('')} AS error_type, latency_ms, time_to_first_token_ms, output_tokens, input_tokens,`,
    `    CASE WHEN input_tokens IS NULL THEN NULL ELSE ${genAiInputSql('')} END AS input_all,`,
    `    ${genAiBucketsSql('')}`,
    '  FROM invocations',
    ')',
    'GROUP BY model_id, error_type',
  ].join('\n')
}

function triggerSql(name: string, event: string, body: string[]): string {
  return `CREATE TRIGGER ${name} AFTER ${event} ON invocations BEGIN\n${body.map((s) => `${s};`).join('\n')}\nEND`
}

/**
 * AFTER INSERT adds the call to its bucket at every resolution; AFTER DELETE takes it away (so a
 * retention DELETE keeps the rollup true); AFTER UPDATE does both. Each runs in the writer's
 * transaction, so a reader never sees the rollup and `invocations` disagree.
 */
export function rollupTriggersSql(): string[] {
  return [
    triggerSql('invocations_rollup_insert', 'INSERT', [rollupUpsertSql('NEW', 1), errorUpsertSql('NEW', 1), genAiUpsertSql('NEW', 1)]),
    triggerSql('invocations_rollup_delete', 'DELETE', [rollupUpsertSql('OLD', -1), errorUpsertSql('OLD', -1), genAiUpsertSql('OLD', -1)]),
    triggerSql('invocations_rollup_update', 'UPDATE', [
      rollupUpsertSql('OLD', -1),
      errorUpsertSql('OLD', -1),
      genAiUpsertSql('OLD', -1),
      rollupUpsertSql('NEW', 1),
      errorUpsertSql('NEW', 1),
      genAiUpsertSql('NEW', 1),
    ]),
  ]
}

/** Pivots grouped counts (`n` calls in bucket `b`) into histogram columns; FILTER skips the misses. */
function pivotSql(columns: readonly string[]): string {
  return columns.map((c, i) => `coalesce(sum(n) FILTER (WHERE b = ${i}), 0) AS ${c}`).join(',\n  ')
}

/**
 * The finest resolution per model straight from `invocations`: the inner query counts calls per
 * minute, model and latency bucket (one sort of the calls, the expensive part, with every other
 * figure summed on the way), and the outer one pivots those groups into histogram columns.
 * Summing 73 columns for every call instead costs several times more.
 */
function rebuildFinestSql(): string {
  const scalars = [
    'count(*) AS n',
    "sum(outcome = 'ok') AS ok",
    "sum(outcome = 'error') AS errors",
    "sum(outcome = 'stopped') AS stopped",
    'sum(latency_ms) AS latency_sum',
    'count(time_to_first_token_ms) AS ttft_count',
    'coalesce(sum(time_to_first_token_ms), 0) AS ttft_sum',
    'count(input_tokens) AS input_calls',
    'count(output_tokens) AS output_calls',
    'coalesce(sum(input_tokens), 0) AS input_tokens',
    'coalesce(sum(output_tokens), 0) AS output_tokens',
    'coalesce(sum(CASE WHEN output_tokens IS NOT NULL THEN latency_ms END), 0) AS output_latency_ms',
    'coalesce(sum(cache_read_input_tokens), 0) AS cache_read_input_tokens',
    'coalesce(sum(cache_write_input_tokens), 0) AS cache_write_input_tokens',
    'max(latency_ms) AS latency_max',
  ]
  const sums = SUMS.map((c) => (c === 'requests' ? 'sum(n)' : `sum(${c})`))
  return [
    `INSERT INTO invocation_rollup (${[...KEY, ...SUMS, 'latency_max', ...LAT].join(', ')})`,
    `SELECT ${FINEST}, t, model_id, ${sums.join(', ')}, max(latency_max),`,
    `  ${pivotSql(LAT)}`,
    'FROM (',
    `  SELECT timestamp - timestamp % ${FINEST} AS t, model_id, ${bucketIndexSql('latency_ms')} AS b,`,
    `    ${scalars.join(',\n    ')}`,
    '  FROM invocations',
    '  GROUP BY 1, 2, 3',
    ')',
    'GROUP BY t, model_id',
  ].join('\n')
}

/** The time-to-first-token histogram of the rows written above, the same way. */
function rebuildFinestTtftSql(): string {
  return [
    `INSERT INTO invocation_rollup (${[...KEY, ...TTFT].join(', ')})`,
    `SELECT ${FINEST}, t, model_id,`,
    `  ${pivotSql(TTFT)}`,
    'FROM (',
    `  SELECT timestamp - timestamp % ${FINEST} AS t, model_id, ${bucketIndexSql('time_to_first_token_ms')} AS b, count(*) AS n`,
    '  FROM invocations',
    '  WHERE time_to_first_token_ms IS NOT NULL',
    '  GROUP BY 1, 2, 3',
    ')',
    'WHERE true',
    'GROUP BY t, model_id',
    `ON CONFLICT (${KEY.join(', ')}) DO UPDATE SET ${TTFT.map((c) => `${c} = excluded.${c}`).join(', ')}`,
  ].join('\n')
}

/** Sums of every rollup column, for GROUP BY statements over the rollup itself. */
function rollupSumsSql(): string {
  return [...SUMS.map((c) => `sum(${c})`), 'max(latency_max)', ...[...LAT, ...TTFT].map((c) => `sum(${c})`)].join(', ')
}

/** The finest resolution's ALL_MODELS rows: the sum of its model rows, minute by minute. */
function rebuildAllModelsSql(): string {
  return [
    `INSERT INTO invocation_rollup (${ROLLUP_COLUMNS.join(', ')})`,
    `SELECT ${FINEST}, t, '${ALL_MODELS}', ${rollupSumsSql()}`,
    'FROM invocation_rollup',
    `WHERE bucket_ms = ${FINEST}`,
    'GROUP BY t',
  ].join('\n')
}

/**
 * A coarser resolution (and ALL_MODELS alike) summed from the one before it: 5 minutes from
 * minutes, 15 from 5, …, all time from days. Each reads a fraction of the rows the finest has.
 */
function rebuildCoarserSql(from: number, to: number): string {
  return [
    `INSERT INTO invocation_rollup (${ROLLUP_COLUMNS.join(', ')})`,
    `SELECT ${to}, ${to === ALL_TIME ? '0' : `t - t % ${to}`}, model_id, ${rollupSumsSql()}`,
    'FROM invocation_rollup',
    `WHERE bucket_ms = ${from}`,
    'GROUP BY 2, 3',
  ].join('\n')
}

/** Failed and stopped calls per model at every resolution, then their ALL_MODELS sums. */
function rebuildErrorsSql(): string[] {
  return [
    [
      `INSERT INTO invocation_error_rollup (${[...ERROR_KEY, 'count'].join(', ')})`,
      `SELECT l.bucket_ms, ${bucketStartSql('l.bucket_ms', 'i.timestamp')}, i.model_id, i.outcome,`,
      `  coalesce(i.error_type, '${UNKNOWN_ERROR_TYPE}'), count(*)`,
      `FROM invocations AS i, ${levelsSql()} AS l`,
      "WHERE i.outcome IN ('error', 'stopped')",
      'GROUP BY 1, 2, 3, 4, 5',
    ].join('\n'),
    [
      `INSERT INTO invocation_error_rollup (${[...ERROR_KEY, 'count'].join(', ')})`,
      `SELECT bucket_ms, t, '${ALL_MODELS}', outcome, error_type, sum(count)`,
      'FROM invocation_error_rollup',
      'GROUP BY bucket_ms, t, outcome, error_type',
    ].join('\n'),
  ]
}

/**
 * Recomputes the rollups from `invocations`: three deletes, then INSERT…SELECT…GROUP BY statements
 * (the finest resolution from the calls and its time-to-first-token histogram, its ALL_MODELS
 * rows, each coarser resolution from the one before, the error types and the GenAI buckets from
 * the calls).
 */
export function rebuildRollupSql(): string[] {
  return [
    'DELETE FROM invocation_rollup',
    'DELETE FROM invocation_error_rollup',
    'DELETE FROM invocation_gen_ai_rollup',
    rebuildFinestSql(),
    rebuildFinestTtftSql(),
    rebuildAllModelsSql(),
    ...LEVELS.slice(1).map((to, i) => rebuildCoarserSql(LEVELS[i]!, to)),
    ...rebuildErrorsSql(),
    rebuildGenAiSql(),
  ]
}

/** The rollup's statements: back-fill the calls already recorded, then keep it current. */
export function rollupMigrationSql(): string[] {
  return [...rebuildRollupSql(), ...rollupTriggersSql()]
}

/** The triggers' names, as rollupTriggersSql() creates them. */
export const TRIGGERS = ['invocations_rollup_insert', 'invocations_rollup_delete', 'invocations_rollup_update']

/**
 * A later rollup migration's statements (after its ALTERs): the triggers of the one before are
 * dropped, the rollups rebuilt from the calls (exact, whatever was recorded in between) and the
 * new triggers created, all in the migration's transaction. Migration 0010 holds this text.
 */
export function rollupUpgradeSql(): string[] {
  return [...TRIGGERS.map((name) => `DROP TRIGGER IF EXISTS ${name}`), ...rollupMigrationSql()]
}

/** Rebuilds the rollups in one transaction (a writer connection; readers see old or new, never half). */
export function rebuildRollup(db: Db): void {
  const client = db.$client
  client.transaction(() => {
    for (const statement of rebuildRollupSql()) client.run(statement)
  })()
}
