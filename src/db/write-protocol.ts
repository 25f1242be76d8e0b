import type { SQLQueryBindings } from 'bun:sqlite'

/**
 * What the server's thread and the writer's thread say to each other (see writer.ts and
 * write-thread.ts). Everything here crosses the thread boundary by structured clone: plain SQL,
 * plain values, no functions.
 */

/** A value bound to a statement, or the id an earlier statement saved under `saveAs` (null if none). */
export type Param = SQLQueryBindings | { ref: string }

export type Statement = {
  sql: string
  params: Param[]
  /** 'rows': the statement returns rows (RETURNING, SELECT); otherwise its changes and last row id. */
  returns?: 'rows'
  /** Keeps the id of the row this statement inserted (its RETURNING id, else SQLite's last row id), for a later statement's `{ ref }`. */
  saveAs?: string
}

/** One job: statements that commit or roll back together, in their own savepoint. */
export type JobStatements = Statement[]

export type StatementResult = { changes: number; lastInsertRowid: number } | Record<string, unknown>[]

export type SqlError = { message: string; code?: string }

export type ToWriter =
  | { type: 'open'; path: string; busyTimeoutMs: number }
  | { type: 'batch'; id: number; jobs: JobStatements[] }
  | { type: 'exec'; id: number; sql: string }
  /** Close the connection (its last checkpoint, its locks let go) and end the thread. */
  | { type: 'close' }

export type FromWriter =
  | { type: 'committed'; id: number; results: ({ ok: true; value: StatementResult[] } | { ok: false; error: SqlError })[] }
  | { type: 'refused'; id: number; error: SqlError }
  | { type: 'done'; id: number; error?: SqlError }
  | { type: 'failed-to-open'; error: SqlError }

/** SQLite's errors that say the database cannot take writes right now, as opposed to a bad write. */
export function storageFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^SQLITE_(READONLY|FULL|IOERR|BUSY|LOCKED|CANTOPEN|PROTOCOL|NOMEM)/.test(code)
}

export function toSqlError(err: unknown): SqlError {
  const code = (err as { code?: unknown } | null)?.code
  return { message: err instanceof Error ? err.message : String(err), ...(typeof code === 'string' ? { code } : {}) }
}

export function fromSqlError(error: SqlError): Error {
  return Object.assign(new Error(error.message), { name: 'SQLiteError', code: error.code })
}
