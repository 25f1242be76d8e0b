import type { Database } from 'bun:sqlite'

/**
 * Most jobs one transaction takes before the writer yields the event loop: a burst of finished
 * replies is saved in short slices, never in one long stall.
 */
export const WRITE_BATCH_MAX = 32

/** While writes fail, how often a probe write checks whether they work again. */
const PROBE_EVERY_MS = 1000

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
  let retry: ReturnType<typeof setInterval> | undefined
  const failed = (err: unknown) => {
    if (status.ok) status = { ok: false, since: new Date(), reason: err instanceof Error ? err.message : String(err) }
    // while it fails, a small write now and then finds out when it works again (no message needed)
    retry ??= setInterval(() => writer.probe(), PROBE_EVERY_MS)
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
  const probeStatement: { run: (value: string) => unknown } = {
    run: (value) =>
      sqlite.run("INSERT INTO server_secrets (name, value) VALUES ('write-probe', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value", [value]),
  }

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
    if (written) recovered()
    else failed(settled[0]?.value)
    for (const { job, ok, value } of settled) (ok ? job.resolve : job.reject)(value)
  }

  function schedule() {
    if (scheduled) return
    scheduled = true
    setImmediate(flush)
  }

  const writer = {
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
    /**
     * A tiny write (one row in server_secrets) that tells whether the database takes writes
     * again; at most one queued at a time.
     */
    probe() {
      if (probing) return
      probing = true
      writer
        .write(() => probeStatement.run(String(Date.now())))
        .catch(() => {})
        .finally(() => {
          probing = false
        })
    },
    /** Whether the last transaction committed. */
    get status(): WriterStatus {
      return status
    },
  }
  return writer
}

export type Writer = ReturnType<typeof createWriter>
