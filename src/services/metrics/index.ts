/**
 * The metrics side: recording each model call, and every figure read back from the records (the
 * dashboard's panels, the invocation list and its CSV, the Prometheus text). It imports nothing
 * from the chat; the standalone dashboard process runs on this side alone.
 */
export { createMetrics, type Metrics, type MetricsOptions, type RecordedInvocation } from './recorder.ts'
export {
  createMetricsQueries,
  type ErrorTypeCount,
  type MetricsQueries,
  type ModelBreakdown,
  type SeriesPoint,
  type Summary,
} from './queries.ts'
export { METRICS_READERS_MODULE, type MetricsReaders, type ReadersInit } from './reads.ts'
export { RANGES, RANGE_KEYS, rangeWindow, type RangeKey, type TimeWindow } from './ranges.ts'
export {
  invocationQuerySchema,
  SORTS,
  type Invocation as ListedInvocation,
  type InvocationPage,
  type InvocationQuery,
  type SortKey,
} from './invocation-list.ts'
export { ERROR_CATEGORIES, errorCategory, type ErrorCategory } from './error-categories.ts'
