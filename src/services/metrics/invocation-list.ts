import { z } from 'zod'
import { ALL_MODELS, ALL_TIME, OUTCOMES, ROLLUP_BUCKETS_MS, type Invocation as StoredInvocation, type Outcome } from '../../db/schema.ts'
import { fromIndex, instantParam, type SqlParam, type SqlReader } from '../../db/sql-reader.ts'
import { coverWindow, RANGE_KEYS, rangeWindow, segmentsSql, type TimeWindow } from './ranges.ts'

/**
 * The "Invocations" panel: raw calls of a time range, filtered, sorted, a page at a time, and the
 * same selection as CSV. It reads `invocations` through its indexes and never counts or skips
 * rows it can count from the rollup instead, so page 1 and page 100,000 of ten million calls
 * cost about the same. One SQL text for SQLite and PostgreSQL (a SqlReader, src/db/sql-reader.ts):
 * the index hints and how a time bound is written are the only differences.
 */

type Param = SqlParam

export const SORTS = ['timestamp', 'latency', 'ttft', 'input_tokens', 'output_tokens', 'model', 'outcome'] as const
export type SortKey = (typeof SORTS)[number]

const pageMessage = 'Page must be a whole number, 1 or more.'
const pageSizeMessage = 'Page size must be a whole number from 10 to 200.'

export const invocationQuerySchema = z.object({
  range: z.enum(RANGE_KEYS, { error: `Time range must be one of ${RANGE_KEYS.join(', ')}.` }).default('1h'),
  page: z.coerce.number({ error: pageMessage }).int(pageMessage).min(1, pageMessage).max(10_000_000, 'Page must be 10,000,000 or less.').default(1),
  pageSize: z.coerce.number({ error: pageSizeMessage }).int(pageSizeMessage).min(10, pageSizeMessage).max(200, pageSizeMessage).default(50),
  sort: z.enum(SORTS, { error: `Sort must be one of ${SORTS.join(', ')}.` }).default('timestamp'),
  dir: z.enum(['asc', 'desc'], { error: 'Direction must be asc or desc.' }).default('desc'),
  outcome: z.enum(['', ...OUTCOMES], { error: `Outcome must be ${OUTCOMES.join(', ')}, or empty for all.` }).default(''),
  model: z.string({ error: 'Model must be text.' }).trim().max(2048, 'Model must be 2,048 characters or fewer.').default(''),
})

export type InvocationQuery = z.infer<typeof invocationQuerySchema>

/** A call as the list shows it: every column but whose call it was (`owner`), which the dashboard never shows. */
export type Invocation = Omit<StoredInvocation, 'owner'>

export type InvocationPage = { rows: Invocation[]; total: number; page: number; pageSize: number; pages: number }

type Dir = InvocationQuery['dir']
type Filter = { model: string; outcome: Outcome | '' }

const MINUTE = ROLLUP_BUCKETS_MS[0]

/**
 * The numeric sorts: their column, the index that holds it in order (then timestamp, id), and the
 * rollup column counting the calls where it is not null (the others sort last, newest first).
 */
const NUMERIC_SORTS = {
  latency: { column: 'latency_ms', index: 'invocations_latency_timestamp', present: 'requests' },
  ttft: { column: 'time_to_first_token_ms', index: 'invocations_ttft_timestamp', present: 'ttft_count' },
  input_tokens: { column: 'input_tokens', index: 'invocations_input_tokens_timestamp', present: 'input_calls' },
  output_tokens: { column: 'output_tokens', index: 'invocations_output_tokens_timestamp', present: 'output_calls' },
} as const satisfies Partial<Record<SortKey, { column: string; index: string; present: string }>>

type NumericSort = keyof typeof NUMERIC_SORTS

function isNumericSort(sort: SortKey): sort is NumericSort {
  return sort in NUMERIC_SORTS
}

/** A stretch of the list read by one statement (in the list's order), and how many calls it has. */
type Part = { sql: string; params: Param[]; count: number }

/** The rollup column counting the calls a filter keeps. */
const COUNT_COLUMN: Record<Outcome | '', string> = { '': 'requests', ok: 'ok', error: 'errors', stopped: 'stopped' }

/**
 * Relative costs (measured with bench/index.ts on this machine): stepping over one index entry,
 * against fetching a call's row (plus a sort step) by rowid. They only choose between two exact
 * plans for a numeric sort; a wrong choice is slower, never wrong.
 */
const ENTRY_COST = 1
const ROW_COST = 10

const COLUMNS =
  'id, timestamp, latency_ms, success, model_id, time_to_first_token_ms, input_tokens, output_tokens, error_type, attempts, outcome, cache_read_input_tokens, cache_write_input_tokens'

/** A row as the database gives it: SQLite's instants are ms and its flags 0 or 1, PostgreSQL's a Date and a boolean. */
type RawInvocation = {
  id: number
  timestamp: number | Date
  latency_ms: number
  success: number | boolean
  model_id: string
  time_to_first_token_ms: number | null
  input_tokens: number | null
  output_tokens: number | null
  error_type: string | null
  attempts: number
  outcome: Outcome
  cache_read_input_tokens: number | null
  cache_write_input_tokens: number | null
}

function toInvocation(r: RawInvocation): Invocation {
  return {
    id: r.id,
    timestamp: new Date(r.timestamp),
    latencyMs: r.latency_ms,
    success: Boolean(r.success),
    modelId: r.model_id,
    timeToFirstTokenMs: r.time_to_first_token_ms,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    errorType: r.error_type,
    attempts: r.attempts,
    outcome: r.outcome,
    cacheReadInputTokens: r.cache_read_input_tokens,
    cacheWriteInputTokens: r.cache_write_input_tokens,
  }
}

function filterWhere(f: Filter): { sql: string; params: Param[] } {
  let sql = ''
  const params: Param[] = []
  if (f.model) {
    sql += ' AND model_id = ?'
    params.push(f.model)
  }
  if (f.outcome) {
    sql += ' AND outcome = ?'
    params.push(f.outcome)
  }
  return { sql, params }
}

function orderBy(sort: 'timestamp' | 'model' | 'outcome', dir: Dir): string {
  const tail = `timestamp ${dir}, id ${dir}`
  if (sort === 'timestamp') return tail
  if (sort === 'model') return `model_id ${dir}, ${tail}`
  return `outcome ${dir}, ${tail}`
}

/** The prompt-cache columns come last, so a reader of the older columns by position still finds them. */
const CSV_HEADER = [
  'id',
  'timestamp',
  'model_id',
  'outcome',
  'latency_ms',
  'time_to_first_token_ms',
  'input_tokens',
  'output_tokens',
  'error_type',
  'attempts',
  'cache_read_input_tokens',
  'cache_write_input_tokens',
]

/** One CSV field, quoted as RFC 4180 says when it holds a comma, a quote or a line break. */
export function csvField(value: string | number | null): string {
  if (value === null) return ''
  const text = String(value)
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

function csvLine(r: RawInvocation): string {
  const fields = [
    r.id,
    new Date(r.timestamp).toISOString(),
    r.model_id,
    r.outcome,
    r.latency_ms,
    r.time_to_first_token_ms,
    r.input_tokens,
    r.output_tokens,
    r.error_type,
    r.attempts,
    r.cache_read_input_tokens,
    r.cache_write_input_tokens,
  ]
  return `${fields.map(csvField).join(',')}\r\n`
}

/** Lines are handed over in chunks of about this many characters. */
const CSV_CHUNK = 64 * 1024

export function createInvocationList(reader: SqlReader) {
  const at = instantParam(reader)
  /** Rows of `invocations` in [from, to) through `index`, filtered by `where`, in `order`. */
  const listSql = (index: string, where: string, order: string) =>
    `SELECT ${COLUMNS} FROM ${fromIndex(reader, 'invocations', index)} WHERE timestamp >= ${at} AND timestamp < ${at}${where} ORDER BY ${order}`

  /** The list's reads on `r`: the reader, or one snapshot of it (a page's counts and rows). */
  function on(r: SqlReader) {
    /** Calls in the window that the filter keeps, counted from the rollup (the window's tiling). */
    async function matchCount(win: TimeWindow, f: Filter): Promise<number> {
      const cover = segmentsSql(coverWindow(win))
      const [row] = await r.all<{ n: number }>(
        `SELECT coalesce(sum(${COUNT_COLUMN[f.outcome]}), 0) AS n FROM invocation_rollup WHERE model_id = ? AND (${cover.sql})`,
        [f.model || ALL_MODELS, ...cover.params],
      )
      return row?.n ?? 0
    }

    async function tableSize(): Promise<number> {
      const [row] = await r.all<{ n: number }>('SELECT coalesce(sum(requests), 0) AS n FROM invocation_rollup WHERE bucket_ms = ? AND model_id = ?', [
        ALL_TIME,
        ALL_MODELS,
      ])
      return row?.n ?? 0
    }

    /** Matching calls per bucket of resolution `level` in [lo, hi), in time order `dir`, read lazily. */
    function bucketCounts(level: number, lo: number, hi: number, f: Filter, dir: Dir): AsyncIterable<{ t: number; n: number }> {
      const column = COUNT_COLUMN[f.outcome]
      return r.iterate<{ t: number; n: number }>(
        `SELECT t, ${column} AS n FROM invocation_rollup WHERE bucket_ms = ? AND t >= ? AND t < ? AND model_id = ? AND ${column} > 0 ORDER BY t ${dir}`,
        [level, lo, hi, f.model || ALL_MODELS],
      )
    }

    /**
     * Where the matching call of rank `rank` (0-based, in time order `dir`) lies: the minute that
     * holds it, how many matching calls come before that minute and how many it holds. Walks the
     * range's own buckets (at most 168 rollup rows, stopping at the one found), then the minutes
     * of that bucket (at most 60).
     */
    async function locate(win: TimeWindow, f: Filter, rank: number, dir: Dir): Promise<{ minute: number; before: number; n: number } | null> {
      let lo = win.from
      let hi = win.to
      let before = 0
      let n = 0
      for (const level of new Set([win.bucketMs, MINUTE])) {
        let found = false
        for await (const bucket of bucketCounts(level, lo, hi, f, dir)) {
          if (before + bucket.n > rank) {
            lo = bucket.t
            hi = bucket.t + level
            n = bucket.n
            found = true
            break
          }
          before += bucket.n
        }
        if (!found) return null
      }
      return { minute: lo, before, n }
    }

    /**
     * The index that reads the fewest calls for a filter within the window: by model, by outcome
     * (the rarer of the two when both are set, the other checked on the row), or by time alone.
     */
    async function filterIndex(win: TimeWindow, f: Filter): Promise<string> {
      if (f.model && f.outcome) {
        const byModel = await matchCount(win, { model: f.model, outcome: '' })
        const byOutcome = await matchCount(win, { model: '', outcome: f.outcome })
        return byModel <= byOutcome ? 'invocations_model_timestamp' : 'invocations_outcome_timestamp'
      }
      if (f.model) return 'invocations_model_timestamp'
      if (f.outcome) return 'invocations_outcome_timestamp'
      return 'invocations_timestamp'
    }

    /**
     * Calls `offset`..`offset + limit` in time order. The rollup says which minutes hold the first
     * and the last of them, so the query reads only those minutes and skips fewer calls than one
     * minute holds, however deep the page.
     */
    async function timeOrdered(win: TimeWindow, f: Filter, offset: number, limit: number, dir: Dir): Promise<Invocation[]> {
      const first = await locate(win, f, offset, dir)
      if (!first) return []
      const last = first.before + first.n >= offset + limit ? first : await locate(win, f, offset + limit - 1, dir)
      const [lo, hi] = dir === 'desc' ? [last ? last.minute : win.from, first.minute + MINUTE] : [first.minute, last ? last.minute + MINUTE : win.to]
      const where = filterWhere(f)
      const sql = `${listSql(await filterIndex(win, f), where.sql, orderBy('timestamp', dir))} LIMIT ? OFFSET ?`
      return (await r.all<RawInvocation>(sql, [lo, hi, ...where.params, limit, offset - first.before])).map(toInvocation)
    }

    /**
     * Sorted by model or outcome: the calls are groups (one per model or outcome, counts from the
     * rollup) each in time order, so whole groups are skipped by count and the rest is read in time
     * order as above.
     */
    async function grouped(win: TimeWindow, f: Filter, sort: 'model' | 'outcome', offset: number, limit: number, dir: Dir): Promise<Invocation[]> {
      const rows: Invocation[] = []
      let skip = offset
      for (const group of await groups(win, f, sort, dir)) {
        if (skip >= group.count) {
          skip -= group.count
          continue
        }
        rows.push(...(await timeOrdered(win, group.filter, skip, limit - rows.length, dir)))
        skip = 0
        if (rows.length >= limit) break
      }
      return rows
    }

    async function groups(win: TimeWindow, f: Filter, sort: 'model' | 'outcome', dir: Dir): Promise<{ filter: Filter; count: number }[]> {
      if (sort === 'outcome') {
        const outcomes = f.outcome ? [f.outcome] : [...OUTCOMES].sort()
        if (dir === 'desc') outcomes.reverse()
        const counted: { filter: Filter; count: number }[] = []
        for (const outcome of outcomes) counted.push({ filter: { ...f, outcome }, count: await matchCount(win, { ...f, outcome }) })
        return counted
      }
      const cover = segmentsSql(coverWindow(win))
      const model = f.model ? ' AND model_id = ?' : ''
      const column = COUNT_COLUMN[f.outcome]
      const rows = await r.all<{ model_id: string; n: number }>(
        `SELECT model_id, sum(${column}) AS n FROM invocation_rollup WHERE model_id <> ?${model} AND (${cover.sql})` +
          ` GROUP BY model_id HAVING sum(${column}) > 0 ORDER BY model_id ${dir}`,
        [ALL_MODELS, ...(f.model ? [f.model] : []), ...cover.params],
      )
      return rows.map((g) => ({ filter: { ...f, model: g.model_id }, count: g.n }))
    }

    /**
     * Calls where a nullable column is set, among the filter's: from the rollup, except with an
     * outcome filter (the rollup is not kept per outcome), where the nulls are counted on the
     * column's index instead.
     */
    async function presentCount(win: TimeWindow, f: Filter, sort: NumericSort, total: number): Promise<number> {
      const { column, index, present } = NUMERIC_SORTS[sort]
      if (sort === 'latency') return total
      if (!f.outcome) {
        const cover = segmentsSql(coverWindow(win))
        const [row] = await r.all<{ n: number }>(`SELECT coalesce(sum(${present}), 0) AS n FROM invocation_rollup WHERE model_id = ? AND (${cover.sql})`, [
          f.model || ALL_MODELS,
          ...cover.params,
        ])
        return row?.n ?? 0
      }
      const where = filterWhere(f)
      const [row] = await r.all<{ n: number }>(
        `SELECT count(*) AS n FROM ${fromIndex(reader, 'invocations', index)} WHERE ${column} IS NULL AND timestamp >= ${at} AND timestamp < ${at}${where.sql}`,
        [win.from, win.to, ...where.params],
      )
      return total - (row?.n ?? 0)
    }

    /**
     * Whether walking the column's index in order is cheaper than reading the range's calls and
     * sorting them. The walk skips calls outside the range on the index entry: about
     * wanted × all/matching entries, plus a row lookup per in-range entry when a model or outcome
     * filter applies; the sort costs a row and a sort step per matching call. Both are exact; the
     * rollup's counts only pick the faster.
     */
    async function walkIsCheaper(win: TimeWindow, f: Filter, matching: number, wanted: number): Promise<boolean> {
      if (matching === 0) return false
      const inRange = f.model || f.outcome ? await matchCount(win, { model: '', outcome: '' }) : matching
      const walked = (wanted * (await tableSize())) / matching
      const lookups = f.model || f.outcome ? ((wanted * inRange) / matching) * ROW_COST : 0
      return walked * ENTRY_COST + lookups < matching * ROW_COST
    }

    /**
     * A numeric sort, calls without the value last (newest first): either one statement that sorts
     * the range's matching calls, or two that walk the column's index (the calls with a value, in
     * order; then those without, in time order), whichever walkIsCheaper says.
     */
    async function numericParts(win: TimeWindow, f: Filter, sort: NumericSort, dir: Dir, wanted: number): Promise<Part[]> {
      const { column, index } = NUMERIC_SORTS[sort]
      const where = filterWhere(f)
      const params = [win.from, win.to, ...where.params]
      const total = await matchCount(win, f)
      const present = await presentCount(win, f, sort, total)
      if (!(await walkIsCheaper(win, f, present, Math.min(wanted, present)))) {
        const order = `${column} IS NULL, ${column} ${dir}, timestamp ${dir}, id ${dir}`
        return [{ sql: listSql(await filterIndex(win, f), where.sql, order), params, count: total }]
      }
      return [
        { sql: listSql(index, ` AND ${column} IS NOT NULL${where.sql}`, `${column} ${dir}, timestamp ${dir}, id ${dir}`), params, count: present },
        { sql: listSql(index, ` AND ${column} IS NULL${where.sql}`, `timestamp ${dir}, id ${dir}`), params, count: total - present },
      ].filter((part) => part.count > 0)
    }

    /** Calls `offset`..`offset + limit` of a list made of parts: whole parts skipped by count. */
    async function fromParts(parts: readonly Part[], offset: number, limit: number): Promise<Invocation[]> {
      const rows: Invocation[] = []
      let skip = offset
      for (const part of parts) {
        if (skip >= part.count) {
          skip -= part.count
          continue
        }
        rows.push(...(await r.all<RawInvocation>(`${part.sql} LIMIT ? OFFSET ?`, [...part.params, limit - rows.length, skip])).map(toInvocation))
        skip = 0
        if (rows.length >= limit) break
      }
      return rows
    }

    /** The statements the CSV export streams, in order: every matching call, in the list's order. */
    async function exportParts(query: InvocationQuery, win: TimeWindow): Promise<Part[]> {
      const f: Filter = { model: query.model, outcome: query.outcome }
      if (isNumericSort(query.sort)) return numericParts(win, f, query.sort, query.dir, Number.POSITIVE_INFINITY)
      const where = filterWhere(f)
      const index =
        query.sort === 'model' ? 'invocations_model_timestamp' : query.sort === 'outcome' ? 'invocations_outcome_timestamp' : await filterIndex(win, f)
      return [{ sql: listSql(index, where.sql, orderBy(query.sort, query.dir)), params: [win.from, win.to, ...where.params], count: 0 }]
    }

    return { matchCount, timeOrdered, grouped, numericParts, fromParts, exportParts }
  }

  return {
    /** One page of the list; a page past the end has no rows (not an error). */
    page(query: InvocationQuery, now?: number): Promise<InvocationPage> {
      const win = rangeWindow(query.range, now)
      const f: Filter = { model: query.model, outcome: query.outcome }
      const { page, pageSize, sort, dir } = query
      const offset = (page - 1) * pageSize
      // one read transaction: the counts and the rows come from the same snapshot
      return reader.snapshot(async (r) => {
        const list = on(r)
        const total = await list.matchCount(win, f)
        let rows: Invocation[] = []
        if (offset < total) {
          if (sort === 'timestamp') rows = await list.timeOrdered(win, f, offset, pageSize, dir)
          else if (sort === 'model' || sort === 'outcome') rows = await list.grouped(win, f, sort, offset, pageSize, dir)
          else rows = await list.fromParts(await list.numericParts(win, f, sort, dir, offset + pageSize), offset, pageSize)
        }
        return { rows, total, page, pageSize, pages: Math.ceil(total / pageSize) }
      })
    },

    /**
     * The whole filtered list as CSV: a header line, then the rows in chunks of ~64 KiB as each
     * statement steps through an index in the list's order (no array of rows; a numeric sort of a
     * large range walks its index rather than sorting). Stopping early (a closed download)
     * lets the statement go.
     */
    async *csv(query: InvocationQuery, now?: number): AsyncGenerator<string, void, undefined> {
      yield `${CSV_HEADER.join(',')}\r\n`
      let chunk = ''
      for (const part of await on(reader).exportParts(query, rangeWindow(query.range, now))) {
        for await (const row of reader.iterate<RawInvocation>(part.sql, part.params)) {
          chunk += csvLine(row)
          if (chunk.length >= CSV_CHUNK) {
            yield chunk
            chunk = ''
          }
        }
      }
      if (chunk) yield chunk
    },
  }
}

export type InvocationList = ReturnType<typeof createInvocationList>
