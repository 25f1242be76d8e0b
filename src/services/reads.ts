import { type Dialect, postgresDialect, sqliteDialect } from '../db/dialect.ts'
import type { Db } from '../db/open.ts'
import type { PgDb } from '../db/pg/open.ts'
import { postgresReader, type PostgresReadClient } from '../db/pg/sql-reader.ts'
import { sqliteReader, type SqlReader } from '../db/sql-reader.ts'
import { chatReads } from './chat/reads.ts'
import { createMetricsQueries, readersInit, type ReadersInit } from './metrics/reads.ts'

/**
 * Everything the app reads from its database, written once for both: on SQLite made on each
 * read thread with that thread's own connection (src/db/read-pool.ts), the server's thread
 * calling these by name and awaiting them; on PostgreSQL made once over the driver's pools.
 * Each feature enters here through its read face (its reads.ts).
 */
function allReads(dialect: Dialect, reader: SqlReader) {
  return { ...chatReads(dialect, reader), metrics: createMetricsQueries(reader) }
}

/** The read threads' module (SQLite): what src/db/read-thread.ts calls. */
export function readers(db: Db, init: ReadersInit | undefined) {
  readersInit(init)
  return allReads(sqliteDialect(db), sqliteReader(db.$client))
}

/**
 * PostgreSQL's reads: the conversations through drizzle's pool, the figures through a client of
 * their own (postgresReadClient: numbers and times parsed as the queries expect).
 */
export function postgresReaders({ db, readClient }: { db: PgDb; readClient: PostgresReadClient }): Readers {
  return allReads(postgresDialect(db), postgresReader(readClient))
}

export type Readers = ReturnType<typeof readers>
export type { ReadersInit }

/** This module's URL, for the app's read pool to load on its threads. */
export const READERS_MODULE = new URL(import.meta.url)
