import {
  ERROR_KEY,
  GEN_AI_COLUMNS,
  GEN_AI_KEY,
  GEN_AI_SUMS,
  KEY,
  LAT,
  LEVELS,
  ROLLUP_COLUMNS,
  SUMS,
  TRIGGERS,
  TTFT,
  UNKNOWN_ERROR_TYPE,
} from '../rollup-sql.ts'
import {
  ALL_MODELS,
  ALL_TIME,
  GEN_AI_BUCKETS,
  GEN_AI_DURATION_BOUNDS_MS,
  GEN_AI_HISTOGRAMS,
  GEN_AI_NO_ERROR,
  GEN_AI_TOKEN_BOUNDS,
  genAiColumnName,
  HISTOGRAM_BOUNDS_MS,
} from '../schema.ts'

/**
 * PostgreSQL's rollup triggers: the same rollups as SQLite's (src/db/rollup-sql.ts: every
 * resolution and all time, each model and ALL_MODELS, the error types, the GenAI buckets), from
 * the same column lists and bounds, row for row equal to them (tests/postgres-schema.test.ts
 * inserts, updates and deletes the same calls in both and compares every rollup row).
 *
 * One difference of shape, none of result: SQLite's triggers run once per row; these run once per
 * statement, over its transition tables (the rows it inserted, deleted, or both for an update),
 * adding up the statement's calls per rollup row first and upserting each row once, in key order.
 * A retention DELETE of 10,000 calls is then one upsert per rollup table, not 30,000; and since
 * every statement locks rollup rows in the same (key) order, two statements never deadlock over
 * them. Sums commute and a removed call never lowers latency_max (as in SQLite, an upper bound
 * after deletes), so the rows end equal. A rollup row whose calls are all gone stays, with zeros,
 * as in SQLite.
 *
 * The rebuild is the same upserts over `invocations` after emptying the rollups. The newest PG
 * rollup migration holds rollupMigrationSql()'s text (a test checks that it still matches); a later
 * change of bounds or columns is a new migration holding rollupUpgradeSql() after its ALTERs.
 */

/** PostgreSQL rows are read from a relation, not NEW/OLD: a transition table or `invocations`. */
type Source = 'new_rows' | 'old_rows' | 'invocations'

const s = (column: string) => `r.${column}`

/**
 * The histogram bucket of `expr` (a whole number: ms or tokens), as SQLite's bucketIndexSql gives
 * it: buckets are (lower, upper], the last one past every bound is the overflow, −1 for NULL.
 * width_bucket(x, bounds) counts the bounds ≤ x (a binary search in C); for whole numbers, the
 * bounds < x are the bounds ≤ x − 1, which is the index of the bucket (lower, upper] holding x.
 */
export function bucketIndexSql(expr: string, bounds: readonly number[] = HISTOGRAM_BOUNDS_MS): string {
  return `coalesce(width_bucket(((${expr}) - 1)::bigint, ARRAY[${bounds.join(', ')}]::bigint[]), -1)`
}

/**
 * Each call of `source` as the figures the rollups add up, with its sign (1 added, −1 taken away):
 * its time in epoch ms, its fields, and its bucket in each histogram (−1 where it has no value).
 * Token sums are bigint: an int4 sum of three token counts can overflow where SQLite's cannot.
 */
function callsSql(source: Source, sign: 1 | -1): string {
  const inputAll = `CASE WHEN ${s('input_tokens')} IS NULL THEN NULL ELSE ${s('input_tokens')}::bigint + coalesce(${s('cache_read_input_tokens')}, 0) + coalesce(${s('cache_write_input_tokens')}, 0) END`
  return [
    `SELECT ${sign} AS sign, (extract(epoch FROM r."timestamp") * 1000)::bigint AS ts, r.model_id, r.outcome, r.error_type,`,
    '    r.latency_ms, r.time_to_first_token_ms, r.input_tokens, r.output_tokens, r.cache_read_input_tokens, r.cache_write_input_tokens,',
    `    ${inputAll} AS input_all,`,
    `    ${bucketIndexSql(s('latency_ms'))} AS lat,`,
    `    ${bucketIndexSql(s('time_to_first_token_ms'))} AS ttft,`,
    `    ${bucketIndexSql(s('latency_ms'), GEN_AI_DURATION_BOUNDS_MS)} AS dur,`,
    `    ${bucketIndexSql(s('time_to_first_token_ms'), GEN_AI_DURATION_BOUNDS_MS)} AS ttfc,`,
    `    ${bucketIndexSql(inputAll, GEN_AI_TOKEN_BOUNDS)} AS tin,`,
    `    ${bucketIndexSql(s('output_tokens'), GEN_AI_TOKEN_BOUNDS)} AS tout`,
    `  FROM ${source} AS r`,
  ].join('\n')
}

/** The calls a trigger (or the rebuild) adds and takes away, as one relation `c`. */
function changesSql(added: Source | null, removed: Source | null): string {
  const parts = [...(removed ? [callsSql(removed, -1)] : []), ...(added ? [callsSql(added, 1)] : [])]
  return `(\n  ${parts.join('\n  UNION ALL\n  ')}\n) AS c`
}

/** Signed count of the calls matching `condition`; 0 when none does. */
const countWhere = (condition: string) => `coalesce(sum(c.sign) FILTER (WHERE ${condition}), 0)`
/** Signed sum of `expr` (bigint, whatever sum() widens it to). */
const signedSum = (expr: string) => `coalesce(sum(c.sign * ${expr}), 0)::bigint`

/** How each of SUMS is summed from the calls: SQLite's per-row values, as aggregates. */
const ROLLUP_SUMS: Record<string, string> = {
  requests: 'sum(c.sign)',
  ok: countWhere("c.outcome = 'ok'"),
  errors: countWhere("c.outcome = 'error'"),
  stopped: countWhere("c.outcome = 'stopped'"),
  latency_sum: signedSum('c.latency_ms'),
  ttft_count: countWhere('c.time_to_first_token_ms IS NOT NULL'),
  ttft_sum: signedSum('coalesce(c.time_to_first_token_ms, 0)'),
  input_calls: countWhere('c.input_tokens IS NOT NULL'),
  output_calls: countWhere('c.output_tokens IS NOT NULL'),
  input_tokens: signedSum('coalesce(c.input_tokens, 0)'),
  output_tokens: signedSum('coalesce(c.output_tokens, 0)'),
  output_latency_ms: signedSum('CASE WHEN c.output_tokens IS NOT NULL THEN c.latency_ms ELSE 0 END'),
  cache_read_input_tokens: signedSum('coalesce(c.cache_read_input_tokens, 0)'),
  cache_write_input_tokens: signedSum('coalesce(c.cache_write_input_tokens, 0)'),
}

function aggregateOf(table: Record<string, string>, column: string): string {
  const expr = table[column]
  if (!expr) throw new Error(`no PostgreSQL aggregate for rollup column ${column}: add it beside SQLite's`)
  return expr
}

/** Every resolution (LEVELS) crossed with the call's model and ALL_MODELS: 14 rollup rows per call. */
const LEVELS_AND_MODELS = [
  `CROSS JOIN (VALUES ${LEVELS.map((ms) => `(${ms})`).join(', ')}) AS l(bucket_ms)`,
  `CROSS JOIN LATERAL (VALUES (c.model_id), ('${ALL_MODELS}')) AS m(model_id)`,
].join('\n')

const BUCKET_START = `CASE WHEN l.bucket_ms = ${ALL_TIME} THEN 0 ELSE c.ts - c.ts % l.bucket_ms END`

function rollupUpsertSql(added: Source | null, removed: Source | null): string {
  const values = [
    'l.bucket_ms',
    BUCKET_START,
    'm.model_id',
    ...SUMS.map((c) => aggregateOf(ROLLUP_SUMS, c)),
    // a removed call cannot lower the max: after a delete it is an upper bound
    'coalesce(max(c.latency_ms) FILTER (WHERE c.sign = 1), 0)',
    ...LAT.map((_, i) => countWhere(`c.lat = ${i}`)),
    ...TTFT.map((_, i) => countWhere(`c.ttft = ${i}`)),
  ]
  const updates = [
    ...SUMS.map((c) => `${c} = invocation_rollup.${c} + excluded.${c}`),
    'latency_max = greatest(invocation_rollup.latency_max, excluded.latency_max)',
    ...[...LAT, ...TTFT].map((c) => `${c} = invocation_rollup.${c} + excluded.${c}`),
  ]
  return [
    `INSERT INTO invocation_rollup (${ROLLUP_COLUMNS.join(', ')})`,
    `SELECT ${values.join(',\n  ')}`,
    `FROM ${changesSql(added, removed)}`,
    LEVELS_AND_MODELS,
    'GROUP BY 1, 2, 3',
    'ORDER BY 1, 2, 3',
    `ON CONFLICT (${KEY.join(', ')}) DO UPDATE SET ${updates.join(', ')}`,
  ].join('\n')
}

function errorUpsertSql(added: Source | null, removed: Source | null): string {
  return [
    `INSERT INTO invocation_error_rollup (${[...ERROR_KEY, 'count'].join(', ')})`,
    `SELECT l.bucket_ms, ${BUCKET_START}, m.model_id, c.outcome, coalesce(c.error_type, '${UNKNOWN_ERROR_TYPE}'), sum(c.sign)`,
    `FROM ${changesSql(added, removed)}`,
    LEVELS_AND_MODELS,
    "WHERE c.outcome <> 'ok'",
    'GROUP BY 1, 2, 3, 4, 5',
    'ORDER BY 1, 2, 3, 4, 5',
    `ON CONFLICT (${ERROR_KEY.join(', ')}) DO UPDATE SET count = invocation_error_rollup.count + excluded.count`,
  ].join('\n')
}

/** The bucket column (of callsSql) each GenAI histogram counts. */
const GEN_AI_INDEX: Record<(typeof GEN_AI_HISTOGRAMS)[number], string> = { dur: 'dur', ttfc: 'ttfc', in: 'tin', out: 'tout' }

const GEN_AI_AGGREGATES: Record<string, string> = {
  calls: 'sum(c.sign)',
  duration_sum_ms: signedSum('c.latency_ms'),
  ttfc_count: countWhere('c.time_to_first_token_ms IS NOT NULL'),
  ttfc_sum_ms: signedSum('coalesce(c.time_to_first_token_ms, 0)'),
  input_calls: countWhere('c.input_tokens IS NOT NULL'),
  input_tokens: signedSum('coalesce(c.input_all, 0)'),
  output_calls: countWhere('c.output_tokens IS NOT NULL'),
  output_tokens: signedSum('coalesce(c.output_tokens, 0)'),
}

function genAiUpsertSql(added: Source | null, removed: Source | null): string {
  const values = [
    'c.model_id',
    `CASE WHEN c.outcome = 'ok' THEN '${GEN_AI_NO_ERROR}' ELSE coalesce(c.error_type, '${UNKNOWN_ERROR_TYPE}') END`,
    ...GEN_AI_SUMS.map((col) => aggregateOf(GEN_AI_AGGREGATES, col)),
    ...GEN_AI_HISTOGRAMS.flatMap((prefix) => Array.from({ length: GEN_AI_BUCKETS }, (_, i) => countWhere(`c.${GEN_AI_INDEX[prefix]} = ${i}`))),
  ]
  const histograms = GEN_AI_HISTOGRAMS.flatMap((prefix) => Array.from({ length: GEN_AI_BUCKETS }, (_, i) => genAiColumnName(prefix, i)))
  const updates = [...GEN_AI_SUMS, ...histograms].map((col) => `${col} = invocation_gen_ai_rollup.${col} + excluded.${col}`)
  return [
    `INSERT INTO invocation_gen_ai_rollup (${GEN_AI_COLUMNS.join(', ')})`,
    `SELECT ${values.join(',\n  ')}`,
    `FROM ${changesSql(added, removed)}`,
    'GROUP BY 1, 2',
    'ORDER BY 1, 2',
    `ON CONFLICT (${GEN_AI_KEY.join(', ')}) DO UPDATE SET ${updates.join(', ')}`,
  ].join('\n')
}

function upsertsSql(added: Source | null, removed: Source | null): string[] {
  return [rollupUpsertSql(added, removed), errorUpsertSql(added, removed), genAiUpsertSql(added, removed)]
}

/** A statement-level trigger and its PL/pgSQL function, both named `name` (SQLite's trigger names). */
function triggerSql(name: string, event: 'INSERT' | 'DELETE' | 'UPDATE', body: string[]): string[] {
  const transitions = { INSERT: 'NEW TABLE AS new_rows', DELETE: 'OLD TABLE AS old_rows', UPDATE: 'OLD TABLE AS old_rows NEW TABLE AS new_rows' }[event]
  return [
    [`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$`, 'BEGIN', ...body.map((st) => `${st};`), 'RETURN NULL;', 'END', '$$'].join('\n'),
    `CREATE TRIGGER ${name} AFTER ${event} ON invocations REFERENCING ${transitions} FOR EACH STATEMENT EXECUTE FUNCTION ${name}()`,
  ]
}

/**
 * AFTER INSERT adds the statement's calls to their buckets at every resolution; AFTER DELETE takes
 * them away (so a retention DELETE keeps the rollups true); AFTER UPDATE does both. Each runs in the
 * writer's transaction, so no reader sees the rollups and `invocations` disagree. (TRUNCATE fires
 * none of them: empty the rollups with it, or rebuild.)
 */
export function rollupTriggersSql(): string[] {
  return [
    ...triggerSql('invocations_rollup_insert', 'INSERT', upsertsSql('new_rows', null)),
    ...triggerSql('invocations_rollup_delete', 'DELETE', upsertsSql(null, 'old_rows')),
    ...triggerSql('invocations_rollup_update', 'UPDATE', upsertsSql('new_rows', 'old_rows')),
  ]
}

/** Recomputes the rollups from `invocations`: three deletes, then the triggers' upserts over every call. */
export function rebuildRollupSql(): string[] {
  return ['DELETE FROM invocation_rollup', 'DELETE FROM invocation_error_rollup', 'DELETE FROM invocation_gen_ai_rollup', ...upsertsSql('invocations', null)]
}

/** The rollups' statements: back-fill the calls already recorded, then keep them current. */
export function rollupMigrationSql(): string[] {
  return [...rebuildRollupSql(), ...rollupTriggersSql()]
}

/**
 * A later rollup migration's statements (after its ALTERs): the triggers and functions of the one
 * before are dropped, the rollups rebuilt and the new ones created, in the migration's transaction.
 */
export function rollupUpgradeSql(): string[] {
  return [...TRIGGERS.flatMap((name) => [`DROP TRIGGER IF EXISTS ${name} ON invocations`, `DROP FUNCTION IF EXISTS ${name}()`]), ...rollupMigrationSql()]
}
