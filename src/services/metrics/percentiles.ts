import { HISTOGRAM_BOUNDS_MS, HISTOGRAM_BUCKETS } from '../../db/schema.ts'

/**
 * Percentiles read from the rollup's latency histogram (see HISTOGRAM_BOUNDS_MS in src/db/schema.ts).
 *
 * Method: for quantile q over N calls, take the first bucket whose cumulative count reaches q·N,
 * and interpolate linearly inside it, as if its calls were spread evenly over (lower, upper].
 * When the largest latency seen falls inside that bucket it is the upper edge instead (and it is
 * the overflow bucket's upper edge), so no estimate exceeds a latency that happened.
 *
 * Error bound: the true value (the nearest-rank percentile, the ⌈q·N⌉-th smallest call) lies in
 * that same bucket, and so does the estimate; each bucket spans at most 20% of its lower edge
 * (or 1 ms, below 10 ms). So the estimate is within 20% (or 1 ms) of the true percentile, for
 * latencies up to 654,951 ms; above that only "between 654,951 ms and the largest seen" holds.
 * On evenly spread data (1..1000 ms) interpolation is exact to the millisecond.
 */
export function histogramPercentile(counts: readonly number[], q: number, maxMs?: number | null): number | null {
  const total = counts.reduce((sum, n) => sum + n, 0)
  if (total <= 0) return null
  const rank = Math.min(Math.max(q, 0), 1) * total
  let before = 0
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
    const n = counts[i] ?? 0
    if (n > 0 && before + n >= rank) return interpolate(i, (rank - before) / n, maxMs)
    before += n
  }
  return maxMs ?? null
}

/** The value at `fraction` (0..1] of bucket `i`, whose upper edge is lowered to the largest latency seen. */
function interpolate(i: number, fraction: number, maxMs?: number | null): number {
  const lower = i === 0 ? 0 : HISTOGRAM_BOUNDS_MS[i - 1]!
  const bound = HISTOGRAM_BOUNDS_MS[i] ?? Number.POSITIVE_INFINITY
  const seen = maxMs !== undefined && maxMs !== null && maxMs > lower ? maxMs : bound
  const upper = Math.min(bound, seen)
  return Number.isFinite(upper) ? lower + (upper - lower) * fraction : lower
}

/** The error bound above, for a test or a tooltip: the widest a reading of `ms` can be off. */
export function percentileErrorBoundMs(ms: number): number {
  return Math.max(1, 0.2 * ms)
}
