import type { Db } from '../db/open.ts'
import { sqliteReader } from '../db/sql-reader.ts'
import { chatReads } from './chat/reads.ts'
import { createMetricsQueries, readersInit, type ReadersInit } from './metrics/reads.ts'

/**
 * Everything the app reads from its database, made on each read thread with that thread's own
 * connection (src/db/read-pool.ts): the server's thread calls these by name and awaits them.
 * Each feature enters here through its read face (its reads.ts).
 */
export function readers(db: Db, init: ReadersInit | undefined) {
  readersInit(init)
  return { ...chatReads(db), metrics: createMetricsQueries(sqliteReader(db.$client)) }
}

export type Readers = ReturnType<typeof readers>
export type { ReadersInit }

/** This module's URL, for the app's read pool to load on its threads. */
export const READERS_MODULE = new URL(import.meta.url)
