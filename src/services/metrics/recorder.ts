import { sql } from 'drizzle-orm'
import type { Db } from '../../db/open.ts'
import { invocations, type Invocation, type NewInvocation } from '../../db/schema.ts'
import type { Writer } from '../../db/writer.ts'
import type { Log } from '../../logger.ts'

export type MetricsOptions = {
  db: Db
  writer: Writer
  log: Log
  /** Called once a call's row is committed (the live dashboard looks at once). */
  onRecorded?: () => void
}

/** A call's row as it is stored, before the database has given it an id. */
export type RecordedInvocation = Omit<Invocation, 'id'>

const p = (name: keyof RecordedInvocation) => sql.placeholder(name)

/**
 * Records one row per model call through the database's writer (batched with the other writes
 * of the same moment, after the tokens already sent). A failing write is logged and never
 * thrown to the chat. The dashboard notices new rows through SQLite's data_version, which also
 * sees other processes' writes; the rollups are kept by the table's triggers.
 */
export function createMetrics({ db, writer, log, onRecorded }: MetricsOptions) {
  const insert = db
    .insert(invocations)
    .values({
      timestamp: p('timestamp'),
      latencyMs: p('latencyMs'),
      success: p('success'),
      modelId: p('modelId'),
      timeToFirstTokenMs: p('timeToFirstTokenMs'),
      inputTokens: p('inputTokens'),
      outputTokens: p('outputTokens'),
      errorType: p('errorType'),
      attempts: p('attempts'),
      outcome: p('outcome'),
      owner: p('owner'),
      cacheReadInputTokens: p('cacheReadInputTokens'),
      cacheWriteInputTokens: p('cacheWriteInputTokens'),
    })
    .returning({ id: invocations.id })
    .prepare()
  // the oldest calls first, through the timestamp index, a batch at a time
  const forget = db.$client.prepare<{ id: number }, [number, number]>(
    'DELETE FROM invocations WHERE id IN (SELECT id FROM invocations WHERE timestamp < ? ORDER BY timestamp LIMIT ?) RETURNING id',
  )

  return {
    /**
     * The row for one call, at once; `recorded`, its id once committed (null if the write failed);
     * and `id()`, its id as soon as the writer has inserted it, for a later job of the same writer
     * (which runs after it, in the same transaction or a later one).
     */
    record(entry: Omit<NewInvocation, 'id' | 'success'>): { invocation: RecordedInvocation; recorded: Promise<number | null>; id: () => number | null } {
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
      let inserted: number | null = null
      // kept while the database refuses writes: a call Bedrock answered (and billed) keeps its row
      const recorded = writer
        // the id of this try only: a rolled-back try's id may go to another row
        .write(
          () => {
            inserted = null
            return (inserted = insert.get(invocation)?.id ?? null)
          },
          {
            keep: true,
            onDeferred: (err) => log.warn("a call's row could not be written yet: it is kept and written once the database takes writes", { err }),
          },
        )
        .then((id) => {
          if (id === null) throw new Error('no row returned')
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
      return { invocation, recorded, id: () => inserted }
    },

    /**
     * Deletes up to `batch` calls recorded before `cutoff` (the oldest first), in one job of the
     * writer; resolves with how many went. The AFTER DELETE trigger of migration 0002 takes each
     * one out of every rollup in the same transaction, so the dashboard's figures, the
     * Invocations list and its paging stay equal to the calls that remain (see retention.ts).
     */
    forgetBefore(cutoff: Date, batch: number): Promise<number> {
      return writer.write(() => forget.all(cutoff.getTime(), batch).length)
    },
  }
}

export type Metrics = ReturnType<typeof createMetrics>
