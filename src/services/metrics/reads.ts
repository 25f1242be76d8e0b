import type { Db } from '../../db/open.ts'
import { sqliteReader } from '../../db/sql-reader.ts'
import { useCatalogOverrides, type CatalogEntry } from '../models.ts'
import { createMetricsQueries } from './queries.ts'

export { createMetricsQueries }

/**
 * The metrics' face for the read threads (src/db/read-pool.ts): the dashboard's queries, run
 * with a thread's own connection. Also a read module of its own, for the dashboard process.
 */

/** What a read thread needs from the server's start-up: the model catalogue's overrides (costs). */
export type ReadersInit = { catalogOverrides: CatalogEntry[] }

/** Applies the start-up's catalogue on a read thread (its own copy of the module). */
export function readersInit(init: ReadersInit | undefined) {
  if (init) useCatalogOverrides(init.catalogOverrides)
}

/** The dashboard process's read module: metrics only. */
export function readers(db: Db, init: ReadersInit | undefined) {
  readersInit(init)
  return { metrics: createMetricsQueries(sqliteReader(db.$client)) }
}

export type MetricsReaders = ReturnType<typeof readers>

/** This module's URL, for a read pool to load on its threads. */
export const METRICS_READERS_MODULE = new URL(import.meta.url)
