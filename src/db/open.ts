import { Database } from 'bun:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { migrate } from 'drizzle-orm/bun-sqlite/migrator'
import * as schema from './schema.ts'

const MIGRATIONS = join(import.meta.dir, 'migrations')

/** How long start-up (its migrations) waits for another process's lock before failing. */
const STARTUP_BUSY_TIMEOUT_MS = 5000

/**
 * How long a statement waits for another process's lock while the server runs. The server's
 * thread only reads (WAL: a reader waits for no writer, so this bounds the rare wait, such as
 * another process's checkpoint); the writer's thread gives up after as long, and its kept writes
 * are tried again (see writer.ts), not lost.
 */
export const BUSY_TIMEOUT_MS = 250

export type OpenOptions = {
  /** Read-only: the dashboard process. Never creates or migrates. */
  readonly?: boolean
}

/**
 * Opens the metrics database: creates its folder and file, sets WAL mode and a busy timeout so
 * a second process can read while the app writes, and applies the committed migrations.
 */
export function openDatabase(path: string, options: OpenOptions = {}) {
  const memory = path === ':memory:'
  if (!memory && !options.readonly) mkdirSync(dirname(path), { recursive: true })
  const sqlite = options.readonly ? new Database(path, { readonly: true }) : new Database(path, { create: true, strict: true })
  sqlite.exec(`PRAGMA busy_timeout = ${STARTUP_BUSY_TIMEOUT_MS}`)
  if (!options.readonly) {
    if (!memory) sqlite.exec('PRAGMA journal_mode = WAL')
    sqlite.exec('PRAGMA synchronous = NORMAL')
    sqlite.exec('PRAGMA foreign_keys = ON')
  }
  const db = drizzle({ client: sqlite, schema })
  if (!options.readonly) migrate(db, { migrationsFolder: MIGRATIONS })
  sqlite.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
  return { db, sqlite, path, close: () => sqlite.close() }
}

export type Db = ReturnType<typeof openDatabase>['db']
export type OpenedDatabase = ReturnType<typeof openDatabase>
