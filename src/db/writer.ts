import type { Database } from 'bun:sqlite'

/**
 * Most jobs one transaction takes before the writer yields the event loop: a burst of finished
 * replies is saved in short slices, never in one long stall.
 */
export const WRITE_BATCH_MAX = 32

/** While writes fail, how often a probe write (and every kept write) tries again. */
const RETRY_EVERY_MS = 1000

/** Kept writes held in memory at most while the database refuses them; past this they are given up. */
export const KEPT_WRITES_MAX = 10_000

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

type Job = { run: () => unknown; resolve: (value: unknown) => void; reject: (err: unknown) => void; options: WriteOptions; deferred: boolean }

/** SQLite's errors that say the database cannot take writes right now, as opposed to a bad write. */
function storageFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^SQLITE_(READONLY|FULL|IOERR|BUSY|LOCKED|CANTOPEN|PROTOCOL|NOMEM)/.test(code)
}

/**
 * The database's one writer: jobs queued in the same tick commit together in one transaction
 * (each in its own savepoint, so a failing job rolls back alone and rejects only its promise),
 * after the current work (a token being sent) is done. Jobs run in the order they were queued.
 * While the database refuses writes, kept jobs wait at the head of the queue and are tried again
 * with a small probe write every RETRY_EVERY_MS, so they land, exactly once, when it works again.
 */
export function createWriter(sqlite: Database, batchMax = WRITE_BATCH_MAX) {
  const queue: Job[] = []
  let scheduled = false
  let status: WriterStatus = { ok: true }
  let retry: ReturnType<typeof setInterval> | undefined
  let kept = 0
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
  const begin = sqlite.prepare('BEGIN')
  const commit = sqlite.prepare('COMMIT')
  const rollback = sqlite.prepare('ROLLBACK')
  const savepoint = sqlite.prepare('SAVEPOINT job')
  const release = sqlite.prepare('RELEASE job')
  const undo = sqlite.prepare('ROLLBACK TO job')
  let probing = false
  const probeWrite = (value: string) =>
    sqlite.run("INSERT INTO server_secrets (name, value) VALUES ('write-probe', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value", [value])

  /** A job whose batch failed: kept ones go back (in order) to wait for the next try; the rest fail. */
  function putBack(jobs: Job[], err: unknown) {
    const back: Job[] = []
    for (const job of jobs) {
      if (job.options.keep && (kept < KEPT_WRITES_MAX || job.deferred)) {
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

  /** The database refused this batch: nothing of it is written; the probe (the answer: not yet) waits for the timer. */
  function refused(batch: Job[], err: unknown) {
    failed(err)
    putBack(batch, err)
    const at = queue.findIndex((job) => job.run === probeRun)
    if (at >= 0) queue.splice(at, 1)[0]!.reject(err)
    reschedule()
  }

  function settle(job: Job, ok: boolean, value: unknown) {
    if (job.deferred) kept -= 1
    ;(ok ? job.resolve : job.reject)(value)
  }

  function flush() {
    scheduled = false
    // kept jobs that failed wait for the retry timer, so a refusing database is not hammered
    if (!status.ok && queue[0]?.deferred && !probing) return
    const batch = queue.splice(0, batchMax)
    if (batch.length === 0) return
    const settled: { job: Job; ok: boolean; value: unknown }[] = []
    try {
      begin.run()
    } catch (err) {
      return refused(batch, err)
    }
    for (const job of batch) {
      savepoint.run()
      try {
        settled.push({ job, ok: true, value: job.run() })
        release.run()
      } catch (err) {
        // a full disk or an I/O error makes SQLite roll back the whole transaction, not the savepoint
        if (!sqlite.inTransaction) return refused(batch, err)
        try {
          undo.run()
          release.run()
        } catch {}
        if (storageFault(err)) {
          // the database refuses writes now: stop at once (each further job would wait out the
          // busy timeout on this thread), write nothing of this batch, keep what must be kept, in order
          try {
            rollback.run()
          } catch {}
          return refused(batch, err)
        }
        settled.push({ job, ok: false, value: err })
      }
    }
    try {
      commit.run()
    } catch (err) {
      try {
        rollback.run()
      } catch {}
      return refused(batch, err)
    }
    // a batch that committed says the database takes writes, whatever its own bad jobs did
    recovered()
    for (const { job, ok, value } of settled) settle(job, ok, value)
    reschedule()
  }

  function reschedule() {
    if (queue.length > 0 && (status.ok || probing)) schedule()
  }

  function schedule() {
    if (scheduled) return
    scheduled = true
    setImmediate(flush)
  }

  const probeRun = () => probeWrite(String(Date.now()))

  const writer = {
    /** Runs `job` inside the next batch's transaction; resolves with its result once committed. */
    write<T>(job: () => T, options: WriteOptions = {}): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ run: job, resolve: resolve as (value: unknown) => void, reject, options, deferred: false })
        schedule()
      })
    },
    /**
     * A tiny write (one row in server_secrets) that tells whether the database takes writes
     * again, and takes the kept writes with it; at most one queued at a time.
     */
    probe() {
      if (probing) return
      probing = true
      // the probe goes after the kept writes, so they are tried again in the same transaction
      queue.push({
        run: probeRun,
        resolve: () => (probing = false),
        reject: () => (probing = false),
        options: {},
        deferred: false,
      })
      schedule()
    },
    /** Jobs waiting for their batch (kept writes included). */
    get pending() {
      return queue.length
    },
    /** Writes kept in memory because the database refused them; they land once it takes writes. */
    get kept() {
      return kept
    },
    /** Whether the last transaction committed. */
    get status(): WriterStatus {
      return status
    },
  }
  return writer
}

export type Writer = ReturnType<typeof createWriter>
