import { deleteOldestBefore } from '../../db/oldest-before.ts'
import type { Dialect } from '../../db/dialect.ts'
import type { Invocation, NewInvocation } from '../../db/schema.ts'
import { changesOf, statement, type Writer } from '../../db/writer.ts'
import type { Log } from '../../logger.ts'

export type MetricsOptions = {
  dialect: Dialect
  writer: Writer
  log: Log
  /** Called once a call's row is committed (the live dashboard looks at once). */
  onRecorded?: () => void
}

/** A call's row as it is stored, before the database has given it an id. */
export type RecordedInvocation = Omit<Invocation, 'id'>

/**
 * Records one row per model call through the database's writer (batched with the other writes
 * of the same moment, after the tokens already sent). A failing write is logged and never
 * thrown to the chat. The dashboard notices new rows through SQLite's data_version, which also
 * sees other processes' writes; the rollups are kept by the table's triggers.
 */
export function createMetrics({ dialect, writer, log, onRecorded }: MetricsOptions) {
  const { db } = dialect
  const { invocations } = dialect.tables
  // names for the writer's saved ids: unique to this recorder
  const prefix = `call:${crypto.randomUUID().slice(0, 8)}:`
  let calls = 0

  return {
    /**
     * The row for one call, at once; `recorded`, its id once committed (null if the write failed);
     * and `ref`, the name under which the writer keeps its id for a later job of the same writer
     * (which runs after it, in the same transaction or a later one).
     */
    record(entry: Omit<NewInvocation, 'id' | 'success'>): { invocation: RecordedInvocation; recorded: Promise<number | null>; ref: string } {
      const invocation: RecordedInvocation = {
        timeToFirstTokenMs: null,
        inputTokens: null,
        outputTokens: null,
        errorType: null,
        attempts: 1,
        owner: null,
        cacheReadInputTokens: null,
        cacheWriteInputTokens: null,
        ...entry,
        latencyMs: Math.round(entry.latencyMs),
        success: entry.outcome === 'ok',
      }
      const ref = `${prefix}${++calls}`
      // kept while the database refuses writes: a call Bedrock answered (and billed) keeps its row
      const recorded = writer
        .write([statement(db.insert(invocations).values(invocation).returning({ id: invocations.id }), { saveAs: ref, returns: 'rows' })], {
          keep: true,
          onDeferred: (err) => log.warn("a call's row could not be written yet: it is kept and written once the database takes writes", { err }),
        })
        .then(([result]) => {
          const id = Array.isArray(result) ? Number(result[0]?.id ?? 0) : null
          if (!id) throw new Error('no row inserted')
          onRecorded?.()
          log.info('invocation recorded', {
            model: invocation.modelId,
            outcome: invocation.outcome,
            latencyMs: invocation.latencyMs,
            ttftMs: invocation.timeToFirstTokenMs,
            errorType: invocation.errorType,
            attempts: invocation.attempts,
          })
          return id
        })
        .catch((err: unknown) => {
          log.error('metrics write failed; the chat goes on without this row', { values: invocation, err })
          return null
        })
      return { invocation, recorded, ref }
    },

    /**
     * Deletes up to `batch` calls recorded before `cutoff` (the oldest first), in one job of the
     * writer; resolves with how many went. The rollups' AFTER DELETE trigger (src/db/rollup-sql.ts) takes each
     * one out of every rollup in the same transaction, so the dashboard's figures, the
     * Invocations list and its paging stay equal to the calls that remain (see retention.ts).
     */
    async forgetBefore(cutoff: Date, batch: number): Promise<number> {
      const old = deleteOldestBefore(dialect, invocations, { id: invocations.id, time: invocations.timestamp }, cutoff, batch)
      return changesOf(await writer.write([old]))
    },
  }
}

export type Metrics = ReturnType<typeof createMetrics>
