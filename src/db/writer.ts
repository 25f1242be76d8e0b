import { Placeholder } from 'drizzle-orm'
import { BUSY_TIMEOUT_MS } from './open.ts'
import { fromSqlError, type FromWriter, type JobStatements, type Param, type Statement, type StatementResult, type ToWriter } from './write-protocol.ts'

export type { Statement, StatementResult } from './write-protocol.ts'

/** Most jobs one transaction takes: what queued while the last batch ran commits together, a slice at a time. */
export const WRITE_BATCH_MAX = 64

/** While writes fail, how often a probe write (and every kept write) tries again. */
const RETRY_EVERY_MS = 1000

/** Kept writes held in memory at most while the database refuses them; past this they are given up. */
export const KEPT_WRITES_MAX = 10_000

/** Writes waiting for the writer at most (kept ones aside): past this a write is refused at once, not queued. */
export const WRITE_QUEUE_MAX = 20_000

/** Whether the last transaction committed; if not, since when and why (for /readyz). */
export type WriterStatus = { ok: true } | { ok: false; since: Date; reason: string }

export type WriteOptions = {
  /**
   * Kept and tried again, in order, while the database cannot be written (read-only, full, locked,
   * an I/O error), until it commits: for what a person has already seen (a finished reply, its
   * call's row). Told once through `onDeferred` when its first try failed.
   */
  keep?: boolean
  onDeferred?: (err: unknown) => void
}

type Job = {
  statements: JobStatements
  resolve: (value: StatementResult[]) => void
  reject: (err: unknown) => void
  options: WriteOptions
  deferred: boolean
  probe?: boolean
}

type Query = { toSQL(): { sql: string; params: unknown[] } }

/**
 * A drizzle query as a statement for the writer. Its placeholders name ids saved by earlier
 * statements (`refs`: placeholder name to `saveAs` key; a missing one binds null).
 */
export function statement(query: Query, options: { returns?: 'rows'; saveAs?: string; refs?: Record<string, string | null> } = {}): Statement {
  const { sql, params } = query.toSQL()
  return {
    sql,
    params: params.map((param): Param => {
      if (!(param instanceof Placeholder)) return param as Param
      const ref = options.refs?.[param.name]
      return ref ? { ref } : null
    }),
    ...(options.returns ? { returns: options.returns } : {}),
    ...(options.saveAs ? { saveAs: options.saveAs } : {}),
  }
}

/** Rows changed by a write's statements (those that returned no rows). */
export function changesOf(results: StatementResult[]): number {
  return results.reduce((n, result) => n + ('changes' in result ? Number(result.changes) : 0), 0)
}

/** The probe's write (one row in server_secrets), with its one parameter as the engine's SQL spells it. */
const probeSql = (param: string) =>
  `INSERT INTO server_secrets (name, value) VALUES ('write-probe', ${param}) ON CONFLICT(name) DO UPDATE SET value = excluded.value`

/**
 * The database's one writer. Its statements run on a thread of their own (write-thread.ts) with
 * its own connection, so no lock, slow disk or failing write ever holds the server's thread.
 * Jobs queued while a batch runs commit together in the next one (group commit; each job in its
 * own savepoint, so a failing job rolls back alone and rejects only its promise), in the order
 * they were queued. While the database refuses writes, kept jobs wait at the head of the queue and
 * are tried again with a small probe write every RETRY_EVERY_MS, so they land, exactly once, when
 * it works again.
 */
export function createWriter(target: string | WriteEngine, { batchMax = WRITE_BATCH_MAX, busyTimeoutMs = BUSY_TIMEOUT_MS } = {}) {
  const queue: Job[] = []
  let status: WriterStatus = { ok: true }
  let retry: ReturnType<typeof setInterval> | undefined
  let kept = 0
  let commits = 0
  let probing = false
  let scheduled = false
  let closed = false
  /** The batch the engine runs now (one at a time, so jobs commit in their order). */
  let running: { id: number; batch: Job[] } | undefined
  const execs = new Map<number, { resolve: () => void; reject: (err: unknown) => void }>()
  let nextId = 1
  const engine = typeof target === 'string' ? sqliteEngine(target, busyTimeoutMs) : target

  engine.onAnswer = (message) => answered(message)
  // the engine lost what it was running (its thread stopped, its connection broke): nothing of it is written
  engine.onLost = (reason) => {
    const err = new Error(`the writer's ${engine.name} stopped: ${reason}`)
    for (const [, exec] of execs) exec.reject(err)
    execs.clear()
    if (running) {
      const { batch } = running
      running = undefined
      refused(batch, err)
    }
  }

  const post = (message: Extract<ToWriter, { type: 'batch' | 'exec' }>) => engine.send(message)

  const failed = (err: unknown) => {
    if (status.ok) status = { ok: false, since: new Date(), reason: err instanceof Error ? err.message : String(err) }
    // while it fails, a small write now and then finds out when it works again (no message needed)
    retry ??= setInterval(() => writer.probe(), RETRY_EVERY_MS)
    retry.unref?.()
  }
  const recovered = () => {
    status = { ok: true }
    if (retry) clearInterval(retry)
    retry = undefined
  }

  /** A job whose batch failed: kept ones go back (in order) to wait for the next try; the rest fail. */
  function putBack(jobs: Job[], err: unknown) {
    const back: Job[] = []
    for (const job of jobs) {
      if (job.probe) {
        probing = false
        job.reject(err)
      } else if (job.options.keep && (kept < KEPT_WRITES_MAX || job.deferred)) {
        if (!job.deferred) {
          job.deferred = true
          kept += 1
          try {
            job.options.onDeferred?.(err)
          } catch {}
        }
        back.push(job)
      } else job.reject(err)
    }
    queue.unshift(...back)
  }

  /** The database refused this batch: nothing of it is written; the next try waits for the timer. */
  function refused(batch: Job[], err: unknown) {
    failed(err)
    putBack(batch, err)
    reschedule()
  }

  function settle(job: Job, result: Extract<FromWriter, { type: 'committed' }>['results'][number]) {
    if (job.deferred) kept -= 1
    if (job.probe) probing = false
    if (result.ok) job.resolve(result.value)
    else job.reject(fromSqlError(result.error))
  }

  function answered(message: FromWriter) {
    if (message.type === 'failed-to-open') {
      // a missing folder or an unreadable file: the engine opens it again on the next try
      const err = fromSqlError(message.error)
      if (running) {
        const { batch } = running
        running = undefined
        refused(batch, err)
      } else failed(err)
      return
    }
    if (message.type === 'done') {
      const exec = execs.get(message.id)
      execs.delete(message.id)
      if (message.error) exec?.reject(fromSqlError(message.error))
      else exec?.resolve()
      return
    }
    if (!running || running.id !== message.id) return
    const { batch } = running
    running = undefined
    if (message.type === 'refused') return refused(batch, fromSqlError(message.error))
    commits += 1
    // a batch that committed says the database takes writes, whatever its own bad jobs did
    recovered()
    batch.forEach((job, i) => settle(job, message.results[i]!))
    reschedule()
  }

  function flush() {
    scheduled = false
    if (running) return
    // kept jobs that failed wait for the retry timer, so a refusing database is not hammered
    if (!status.ok && queue[0]?.deferred && !probing) return
    const batch = queue.splice(0, batchMax)
    if (batch.length === 0) return
    running = { id: nextId++, batch }
    post({ type: 'batch', id: running.id, jobs: batch.map((job) => job.statements) })
  }

  function reschedule() {
    if (queue.length > 0 && (status.ok || probing)) schedule()
  }

  function schedule() {
    if (scheduled || running) return
    scheduled = true
    // what the current work queues commits together, sent as soon as it is done (no event-loop turn:
    // a reply's first token waits for its start to commit)
    queueMicrotask(flush)
  }

  function enqueue(job: Job) {
    queue.push(job)
    schedule()
  }

  const writer = {
    /** Runs the statements in the next batch's transaction, together; resolves with their results once committed. */
    write(statements: Statement[], options: WriteOptions = {}): Promise<StatementResult[]> {
      return new Promise<StatementResult[]>((resolve, reject) => {
        if (closed) return reject(new Error('the writer is closed: the server is stopping'))
        if (!options.keep && queue.length - kept >= WRITE_QUEUE_MAX) {
          return reject(Object.assign(new Error('too many writes are waiting for the database'), { code: 'SQLITE_BUSY' }))
        }
        enqueue({ statements, resolve, reject, options, deferred: false })
      })
    },
    /**
     * A tiny write (one row in server_secrets) that tells whether the database takes writes
     * again, and takes the kept writes with it; at most one queued at a time.
     */
    probe() {
      if (probing || closed) return
      probing = true
      // the probe goes after the kept writes, so they are tried again in the same transaction
      enqueue({
        statements: [{ sql: probeSql(engine.parameter), params: [String(Date.now())] }],
        resolve: () => {},
        reject: () => {},
        options: {},
        deferred: false,
        probe: true,
      })
    },
    /** Runs SQL outside any batch on the writer's own connection (a PRAGMA or a temporary trigger: maintenance, fault drills, tests). */
    exec(sql: string): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        const id = nextId++
        execs.set(id, { resolve, reject })
        post({ type: 'exec', id, sql })
      })
    },
    /**
     * Takes no more writes, waits up to `timeoutMs` for those queued (kept ones included) to
     * commit, then stops the thread: what is still waiting then is given up (resolves with how many).
     */
    async close(timeoutMs = 0): Promise<number> {
      closed = true
      const by = Date.now() + timeoutMs
      while ((queue.length > 0 || running) && Date.now() < by) await Bun.sleep(20)
      if (retry) clearInterval(retry)
      // an engine still in a batch (waiting for a lock, a frozen disk) gets no time: it is stopped
      await engine.stop(running ? 0 : 500)
      const err = new Error('the writer closed before this write committed')
      const lost = [...(running?.batch ?? []), ...queue.splice(0)].filter((job) => !job.probe)
      for (const job of lost) job.reject(err)
      running = undefined
      return lost.length
    },
    /** Jobs waiting for their batch or in the one running (kept writes included). */
    get pending() {
      return queue.length + (running?.batch.length ?? 0)
    },
    /** Writes kept in memory because the database refused them; they land once it takes writes. */
    get kept() {
      return kept
    },
    /** Transactions committed so far. */
    get commits() {
      return commits
    },
    /** Whether the last transaction committed. */
    get status(): WriterStatus {
      return status
    },
  }
  return writer
}

export type Writer = ReturnType<typeof createWriter>

/**
 * What runs the writer's batches against a database: it answers each batch (committed or refused)
 * and each exec through `onAnswer`, and says through `onLost` when it lost what it was running.
 * The policy (queue, kept writes, retries) is the writer's, the same for every database.
 */
export type WriteEngine = {
  /** For messages: "thread" or "connection". */
  name: string
  /** How the database's SQL spells a statement's first parameter ("?", "$1"). */
  parameter: string
  send(message: Extract<ToWriter, { type: 'batch' | 'exec' }>): void
  /** Lets the engine finish what it holds, waiting up to `ms`; then it is stopped whatever it does. */
  stop(ms: number): Promise<void>
  onAnswer: (message: FromWriter) => void
  onLost: (reason: string) => void
}

/** SQLite's engine: a thread of its own (write-thread.ts) with its own connection, started on first use. */
export function sqliteEngine(path: string, busyTimeoutMs: number = BUSY_TIMEOUT_MS): WriteEngine {
  let thread: Worker | undefined

  function startThread(): Worker {
    const worker = new Worker(new URL('./write-thread.ts', import.meta.url).href)
    // the thread never keeps the process alive by itself (close() stops it at shutdown)
    ;(worker as Worker & { unref(): void }).unref()
    worker.onmessage = (event: MessageEvent<FromWriter>) => {
      // a missing folder or an unreadable file: the next message starts a new thread that opens it again
      if (event.data.type === 'failed-to-open' && thread === worker) {
        thread = undefined
        worker.terminate()
      }
      engine.onAnswer(event.data)
    }
    const lost = (reason: string) => {
      if (thread !== worker) return
      thread = undefined
      engine.onLost(reason)
    }
    worker.addEventListener('error', (event) => lost((event as ErrorEvent).message ?? 'error'))
    worker.addEventListener('close', () => lost('closed'))
    worker.postMessage({ type: 'open', path, busyTimeoutMs } satisfies ToWriter)
    return worker
  }

  const engine: WriteEngine = {
    name: 'thread',
    parameter: '?',
    send(message) {
      thread ??= startThread()
      thread.postMessage(message)
    },
    async stop(ms) {
      const worker = thread
      thread = undefined
      if (!worker) return
      const ended = new Promise<void>((resolve) => worker.addEventListener('close', () => resolve()))
      worker.postMessage({ type: 'close' } satisfies ToWriter)
      await Promise.race([ended, Bun.sleep(ms)])
      worker.terminate()
    },
    onAnswer: () => {},
    onLost: () => {},
  }
  return engine
}
