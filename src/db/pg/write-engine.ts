import type postgres from 'postgres'
import type { WriteEngine } from '../writer.ts'
import type { FromWriter, JobStatements, Param, Statement, StatementResult, SqlError } from '../write-protocol.ts'

/**
 * PostgreSQL's engine for the writer (writer.ts keeps the policy: the queue, group commit, kept
 * writes and their retries): each batch is one transaction on the driver's pool, each job in its
 * own savepoint, so a bad job rolls back alone. The driver is asynchronous, so nothing here holds
 * the server's thread; a server that is down, restarting, read-only or out of disk refuses the
 * whole batch, and the writer keeps what must be kept and tries again.
 */

/** Ids saved by `saveAs`, kept for later jobs (as the SQLite thread keeps them); the oldest go first. */
const REFS_MAX = 50_000

/** The driver's own codes for a connection that is gone or never came. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
])

/**
 * PostgreSQL's errors that say the database cannot take writes right now, as opposed to a bad
 * write: a lost connection (class 08), too little disk or memory (53), a server shutting down or
 * starting (57P01–57P03), a statement cancelled by its timeout (57014), a read-only server (25006), a lock not granted in time (55P03), and a
 * serialization failure or deadlock (40001, 40P01), which the next try gets past.
 */
export function pgStorageFault(err: unknown): boolean {
  // drizzle wraps the driver's error (DrizzleQueryError): its cause says what happened
  for (let e: unknown = err, depth = 0; e && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && (CONNECTION_CODES.has(code) || /^(08|53|57014|57P0[1-3]|25006|55P03|40001|40P01)/.test(code))) return true
  }
  return false
}

function toError(err: unknown): SqlError {
  const code = (err as { code?: unknown } | null)?.code
  return { message: err instanceof Error ? err.message : String(err), ...(typeof code === 'string' ? { code } : {}) }
}

type Sql = postgres.Sql | postgres.TransactionSql

export function postgresEngine(sql: postgres.Sql): WriteEngine {
  const refs = new Map<string, number>()
  let running: Promise<unknown> | undefined

  function bind(params: Param[], local: Map<string, number>): postgres.ParameterOrJSON<never>[] {
    return params.map((param) => {
      if (param !== null && typeof param === 'object' && 'ref' in param && typeof param.ref === 'string') {
        return local.get(param.ref) ?? refs.get(param.ref) ?? null
      }
      return param as postgres.ParameterOrJSON<never>
    })
  }

  async function runStatement(tx: Sql, statement: Statement, local: Map<string, number>): Promise<StatementResult> {
    const result = await tx.unsafe(statement.sql, bind(statement.params, local))
    if (statement.returns === 'rows') {
      const rows = [...result] as Record<string, unknown>[]
      if (statement.saveAs && rows[0]?.id !== undefined) local.set(statement.saveAs, Number(rows[0].id))
      return rows
    }
    return { changes: result.count, lastInsertRowid: 0 }
  }

  async function runBatch(id: number, jobs: JobStatements[]): Promise<FromWriter> {
    const results: Extract<FromWriter, { type: 'committed' }>['results'] = []
    const saved = new Map<string, number>()
    try {
      await sql.begin(async (tx) => {
        for (const job of jobs) {
          const local = new Map(saved)
          try {
            const value = await tx.savepoint(async (sp) => {
              const out: StatementResult[] = []
              for (const statement of job) out.push(await runStatement(sp, statement, local))
              return out
            })
            for (const [key, rowId] of local) saved.set(key, rowId)
            results.push({ ok: true, value })
          } catch (err) {
            // the database refuses writes now: write nothing of this batch (the writer keeps what must be kept)
            if (pgStorageFault(err)) throw err
            results.push({ ok: false, error: toError(err) })
          }
        }
      })
    } catch (err) {
      return { type: 'refused', id, error: toError(err) }
    }
    for (const [key, rowId] of saved) refs.set(key, rowId)
    for (const key of refs.keys()) {
      if (refs.size <= REFS_MAX) break
      refs.delete(key)
    }
    return { type: 'committed', id, results }
  }

  const engine: WriteEngine = {
    name: 'connection',
    parameter: '$1',
    send(message) {
      const done =
        message.type === 'batch'
          ? runBatch(message.id, message.jobs)
          : sql.unsafe(message.sql).then(
              (): FromWriter => ({ type: 'done', id: message.id }),
              (err: unknown): FromWriter => ({ type: 'done', id: message.id, error: toError(err) }),
            )
      running = done.then((answer) => engine.onAnswer(answer))
    },
    async stop(ms) {
      if (running) await Promise.race([running, Bun.sleep(ms)])
    },
    onAnswer: () => {},
    onLost: () => {},
  }
  return engine
}
