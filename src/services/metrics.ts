import type { Db } from '../db/open.ts'
import { invocations, type Invocation, type NewInvocation } from '../db/schema.ts'
import type { Log } from '../logger.ts'

export type MetricsOptions = {
  db: Db
  log: Log
}

/**
 * Records one row per model call. A failing write is logged and never thrown to the chat.
 * (The dashboard notices new rows through SQLite's data_version, which also sees other processes.)
 */
export function createMetrics({ db, log }: MetricsOptions) {
  return {
    record(entry: Omit<NewInvocation, 'id' | 'success'>): Invocation | null {
      const values = {
        timeToFirstTokenMs: null,
        inputTokens: null,
        outputTokens: null,
        errorType: null,
        attempts: 1,
        ...entry,
        latencyMs: Math.round(entry.latencyMs),
        success: entry.outcome === 'ok',
      }
      try {
        const row = db.insert(invocations).values(values).returning().get()
        if (!row) throw new Error('no row returned')
        log.info('invocation recorded', {
          model: row.modelId,
          outcome: row.outcome,
          latencyMs: row.latencyMs,
          ttftMs: row.timeToFirstTokenMs,
          errorType: row.errorType,
          attempts: row.attempts,
        })
        return row
      } catch (err) {
        log.error('metrics write failed; the chat goes on without this row', { values, err })
        return null
      }
    },
  }
}

export type Metrics = ReturnType<typeof createMetrics>
