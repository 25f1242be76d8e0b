import { ROLLUP_BUCKETS_MS } from '../../db/schema.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

type RangeSpec = { ms: number; bucketMs: (typeof ROLLUP_BUCKETS_MS)[number]; label: string }

/**
 * The dashboard's time ranges. Each bucket size is one of the rollup's resolutions, so a range
 * reads `ms / bucketMs` rows per model (15 to 168) whatever the number of calls.
 */
export const RANGES = {
  '15m': { ms: 15 * MINUTE, bucketMs: 60_000, label: 'Last 15 minutes' },
  '1h': { ms: HOUR, bucketMs: 60_000, label: 'Last hour' },
  '6h': { ms: 6 * HOUR, bucketMs: 300_000, label: 'Last 6 hours' },
  '24h': { ms: 24 * HOUR, bucketMs: 900_000, label: 'Last 24 hours' },
  '7d': { ms: 7 * 24 * HOUR, bucketMs: 3_600_000, label: 'Last 7 days' },
} as const satisfies Record<string, RangeSpec>

export type RangeKey = keyof typeof RANGES
export const RANGE_KEYS = Object.keys(RANGES) as [RangeKey, ...RangeKey[]]

/** The calls a range covers: [from, to), `buckets` whole buckets of `bucketMs`. */
export type TimeWindow = { from: number; to: number; bucketMs: number; buckets: number }

/**
 * A range is its whole buckets, aligned to UTC (bucket starts are multiples of the bucket size
 * since the epoch), ending with the bucket that holds `now`: the 15m range at 12:07:30 is
 * 11:53:00 to 12:08:00. Every panel and the Invocations list use this same window, so a
 * headline figure always equals the sum of its series.
 */
export function rangeWindow(range: RangeKey, now: number = Date.now()): TimeWindow {
  const { ms, bucketMs } = RANGES[range]
  const buckets = ms / bucketMs
  const to = now - (now % bucketMs) + bucketMs
  return { from: to - buckets * bucketMs, to, bucketMs, buckets }
}

/** Whole buckets of one resolution: [from, to) at `level`. */
export type Segment = { level: number; from: number; to: number }

/**
 * The fewest rollup buckets that tile the window exactly: the coarsest resolution's whole buckets
 * in the middle, finer ones at the edges (the 7d window is a few day, 6-hour and hour rows at most,
 * not 168 hourly ones). Every resolution is a multiple of the one before and the window is aligned to its
 * bucket size, so the tiling always ends exactly at the edges.
 */
export function coverWindow(win: TimeWindow): Segment[] {
  const levels = ROLLUP_BUCKETS_MS.filter((ms) => ms >= win.bucketMs).reverse()
  return cover(win.from, win.to, levels)
}

function cover(from: number, to: number, levels: readonly number[]): Segment[] {
  const [level, ...finer] = levels
  if (level === undefined || from >= to) return []
  const start = Math.ceil(from / level) * level
  const end = Math.floor(to / level) * level
  if (start >= end) return cover(from, to, finer)
  return [...cover(from, start, finer), { level, from: start, to: end }, ...cover(end, to, finer)]
}

/** `(bucket_ms = ? AND t >= ? AND t < ?) OR …` for the segments, and its parameters. */
export function segmentsSql(segments: readonly Segment[]): { sql: string; params: number[] } {
  if (segments.length === 0) return { sql: '0', params: [] }
  return {
    sql: segments.map(() => '(bucket_ms = ? AND t >= ? AND t < ?)').join(' OR '),
    params: segments.flatMap((s) => [s.level, s.from, s.to]),
  }
}
