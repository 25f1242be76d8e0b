import type { Db } from './open.ts'
import type { PgDb } from './pg/open.ts'
import * as pgTables from './pg/schema.ts'
import * as sqliteTables from './schema.ts'

/** The tables the app's statements are built on. */
export type Tables = Pick<typeof sqliteTables, 'conversations' | 'messages' | 'attachments' | 'invocations' | 'serverSecrets' | 'signIns'>

/**
 * The database the app's statements are built for: drizzle's query builder and the tables, in
 * SQLite's dialect or PostgreSQL's. Services build writes as drizzle queries on these (turned into
 * SQL by `statement()` in writer.ts) and so never say which database it is.
 */
export type Dialect = { name: 'sqlite' | 'postgres'; db: Db; tables: Tables }

export function sqliteDialect(db: Db): Dialect {
  return { name: 'sqlite', db, tables: sqliteTables }
}

/**
 * PostgreSQL's tables have the same names, columns and inferred types as SQLite's (checked by
 * tests/postgres-schema-types.ts), and the builder calls statements use (insert, update, delete,
 * select as a subquery, returning, onConflictDoNothing, toSQL) are the same in both dialects: so
 * they are typed as SQLite's here, in this one place, and make PostgreSQL's SQL.
 */
export function postgresDialect(db: PgDb): Dialect {
  return { name: 'postgres', db: db as unknown as Db, tables: pgTables as unknown as Tables }
}
