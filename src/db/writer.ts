import type { Database } from 'bun:sqlite'

/**
 * Most jobs one transaction takes before the writer yields the event loop: a burst of finished
 * replies is saved in short slices, never in one long stall.
 */
export const WRITE_BATCH_MAX = 32

type Job = { run: () => unknown; resolve: (value: unknown) => void; reject: (err: unknown) => void }

/**
 * The database's one writer: jobs queued in the same tick commit together in one transaction
 * (each in its own savepoint, so a failing job rolls back alone and rejects only its promise),
 * after the current work (a token being sent) is done. Jobs run in the order they were queued.
 */
/** Whether the last transaction committed; if not, since when and why (for /readyz). */
export type WriterStatus = { ok: true } | { ok: false; since: Date; reason: string }

export function createWriter(sqlite: Database, batchMax = WRITE_BATCH_MAX) {
  const queue: Job[] = []
  let scheduled = false
  let status: WriterStatus = { ok: true }
  const failed = (err: unknown) => {
    if (status.ok) status = { ok: false, since: new Date(), reason: err instanceof Error ? err.message : String(err) }
  }
  const begin = sqlite.prepare('BEGIN')
  const commit = sqlite.prepare('COMMIT')
  const rollback = sqlite.prepare('ROLLBACK')
  const savepoint = sqlite.prepare('SAVEPOINT job')
  const release = sqlite.prepare('RELEASE job')
  const undo = sqlite.prepare('ROLLBACK TO job')

  function flush() {
    scheduled = false
    const batch = queue.splice(0, batchMax)
    if (queue.length > 0) schedule()
    if (batch.length === 0) return
    const settled: { job: Job; ok: boolean; value: unknown }[] = []
    try {
      begin.run()
    } catch (err) {
      failed(err)
      for (const job of batch) job.reject(err)
      return
    }
    for (const job of batch) {
      savepoint.run()
      try {
        settled.push({ job, ok: true, value: job.run() })
        release.run()
      } catch (err) {
        undo.run()
        release.run()
        settled.push({ job, ok: false, value: err })
      }
    }
    try {
      commit.run()
    } catch (err) {
      try {
        rollback.run()
      } catch {}
      failed(err)
      for (const job of batch) job.reject(err)
      return
    }
    // one bad job says nothing about the database; every job of a batch failing (a read-only or
    // full disk refuses each insert inside its savepoint) says it cannot be written
    const written = settled.find((s) => s.ok)
    if (written) status = { ok: true }
    else failed(settled[0]?.value)
    for (const { job, ok, value } of settled) (ok ? job.resolve : job.reject)(value)
  }

  function schedule() {
    if (scheduled) return
    scheduled = true
    setImmediate(flush)
  }

  return {
    /** Runs `job` inside the next batch's transaction; resolves with its result once committed. */
    write<T>(job: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ run: job, resolve: resolve as (value: unknown) => void, reject })
        schedule()
      })
    },
    /** Jobs waiting for their batch. */
    get pending() {
      return queue.length
    },
    /** Whether the last transaction committed. */
    get status(): WriterStatus {
      return status
    },
  }
}

export type Writer = ReturnType<typeof createWriter>
