import { Database, type SQLQueryBindings } from 'bun:sqlite'
import {
  type FromWriter,
  type JobStatements,
  type Param,
  type Statement,
  type StatementResult,
  storageFault,
  type ToWriter,
  toSqlError,
} from './write-protocol.ts'

/**
 * The writer's thread: its own connection to the database, which runs each batch the server's
 * thread sends as one transaction (each job in its own savepoint). Whatever SQLite waits for here
 * (another process's lock, a slow or frozen disk) holds this thread only; the server's thread
 * goes on answering. The policy (what to keep, when to retry) is the server thread's (writer.ts).
 */

declare const self: Worker & { close(): void }

/** Ids saved by `saveAs`, kept for later jobs (a reply is finished after its call is recorded); the oldest go first. */
const REFS_MAX = 50_000

let sqlite: Database | undefined
const refs = new Map<string, number>()

const send = (message: FromWriter) => self.postMessage(message)

function bind(params: Param[], local: Map<string, number>): SQLQueryBindings[] {
  return params.map((param) => {
    if (param !== null && typeof param === 'object' && 'ref' in param && typeof param.ref === 'string') {
      return local.get(param.ref) ?? refs.get(param.ref) ?? null
    }
    return param as SQLQueryBindings
  })
}

function runStatement(db: Database, statement: Statement, local: Map<string, number>): StatementResult {
  const query = db.query(statement.sql)
  const params = bind(statement.params, local)
  if (statement.returns === 'rows') {
    const rows = query.all(...params) as Record<string, unknown>[]
    // an insert's RETURNING id (the way every database names the row it made)
    if (statement.saveAs && typeof rows[0]?.id === 'number') local.set(statement.saveAs, rows[0].id)
    return rows
  }
  const { changes, lastInsertRowid } = query.run(...params)
  if (statement.saveAs) local.set(statement.saveAs, Number(lastInsertRowid))
  return { changes, lastInsertRowid: Number(lastInsertRowid) }
}

function runBatch(db: Database, id: number, jobs: JobStatements[]): FromWriter {
  const results: Extract<FromWriter, { type: 'committed' }>['results'] = []
  // ids saved by this batch: the batch's jobs see them at once, later batches once it commits
  const saved = new Map<string, number>()
  const refused = (err: unknown): FromWriter => {
    try {
      if (db.inTransaction) db.run('ROLLBACK')
    } catch {}
    return { type: 'refused', id, error: toSqlError(err) }
  }
  try {
    db.run('BEGIN')
  } catch (err) {
    return refused(err)
  }
  for (const job of jobs) {
    const local = new Map(saved)
    try {
      db.run('SAVEPOINT job')
      const value = job.map((statement) => runStatement(db, statement, local))
      db.run('RELEASE job')
      for (const [key, rowId] of local) saved.set(key, rowId)
      results.push({ ok: true, value })
    } catch (err) {
      // a full disk or an I/O error makes SQLite roll back the whole transaction, not the savepoint
      if (!db.inTransaction) return refused(err)
      try {
        db.run('ROLLBACK TO job')
        db.run('RELEASE job')
      } catch {}
      // the database refuses writes now: write nothing of this batch (the server keeps what must be kept)
      if (storageFault(err)) return refused(err)
      results.push({ ok: false, error: toSqlError(err) })
    }
  }
  try {
    db.run('COMMIT')
  } catch (err) {
    return refused(err)
  }
  for (const [key, rowId] of saved) refs.set(key, rowId)
  for (const key of refs.keys()) {
    if (refs.size <= REFS_MAX) break
    refs.delete(key)
  }
  return { type: 'committed', id, results }
}

self.onmessage = (event: MessageEvent<ToWriter>) => {
  const message = event.data
  if (message.type === 'open') {
    try {
      sqlite = new Database(message.path, { strict: true })
      sqlite.exec(`PRAGMA busy_timeout = ${message.busyTimeoutMs}`)
      sqlite.exec('PRAGMA synchronous = NORMAL')
      sqlite.exec('PRAGMA foreign_keys = ON')
    } catch (err) {
      send({ type: 'failed-to-open', error: toSqlError(err) })
    }
    return
  }
  if (message.type === 'close') {
    try {
      sqlite?.close()
    } catch {}
    sqlite = undefined
    self.close()
    return
  }
  if (!sqlite) {
    const error = { message: 'the writer has no database open' }
    send(message.type === 'batch' ? { type: 'refused', id: message.id, error } : { type: 'done', id: message.id, error })
    return
  }
  if (message.type === 'batch') send(runBatch(sqlite, message.id, message.jobs))
  else {
    try {
      sqlite.exec(message.sql)
      send({ type: 'done', id: message.id })
    } catch (err) {
      send({ type: 'done', id: message.id, error: toSqlError(err) })
    }
  }
}
