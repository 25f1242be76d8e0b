import type { Log } from '../../logger.ts'
import type { Metrics } from '../metrics/index.ts'
import type { Conversations } from './conversations.ts'

/**
 * The age-based clean-up (RETENTION_DAYS): conversations unused for that many days go, with their
 * messages, files and search entries, and so do model calls recorded that long ago. It runs at
 * start-up and then every RETENTION_INTERVAL_MS (src/index.ts), in small batches, each one job of
 * the database's writer: a batch commits between two turns of the event loop like any reply's
 * writes, and the next one waits RETENTION_PAUSE_MS, so a large first clean-up never holds up a
 * token for longer than one batch.
 *
 * What it does to the dashboard: deleting a call fires the rollups' AFTER DELETE trigger (src/db/rollup-sql.ts)
 * (src/db/rollup-sql.ts), which subtracts the call from its rollup rows at every resolution, for
 * its model and for ALL_MODELS, in the same transaction. So the rollups stay equal to a GROUP BY
 * over the calls that remain: every panel, the Invocations list and its paging (which count
 * through the rollup) agree with the rows, and a reader never sees them disagree. Consequences:
 * - the history goes back RETENTION_DAYS only; with 8 days or more, nothing in the dashboard's
 *   longest range (7 days, in whole buckets) is ever deleted;
 * - `latency_max` of a bucket that lost calls stays an upper bound (a delete cannot lower a max);
 * - the all-time rows go down too, so /metrics's counters drop by the deleted calls at each
 *   clean-up, which Prometheus reads as a counter reset;
 * - a message kept in a conversation still in use loses its call's details (latency, tokens,
 *   cost) once that call is deleted; its text stays.
 */

/** How often the clean-up runs after the one at start-up. */
export const RETENTION_INTERVAL_MS = 60 * 60_000
/**
 * Rows per writer job. Deleting a call runs the trigger's rollup updates (14 upserts, as for an
 * insert: ADR 0005): a batch of 25 took about 6 ms on the machine these were chosen on. A
 * conversation takes its messages, files and search entries with it, so fewer go at once.
 */
export const RETENTION_BATCH = { invocations: 25, conversations: 10 } as const
/** The pause between two batches, so that a long clean-up takes a share of the writer, never all of it. */
export const RETENTION_PAUSE_MS = 10

export type RetentionOptions = {
  /** Days kept; undefined: nothing is ever deleted. */
  days?: number
  conversations: Pick<Conversations, 'forgetUnusedBefore'>
  metrics: Pick<Metrics, 'forgetBefore'>
  log: Log
  now?: () => number
}

export type RetentionResult = { conversations: number; invocations: number }

export function createRetention({ days, conversations, metrics, log, now = Date.now }: RetentionOptions) {
  let running: Promise<RetentionResult> | undefined
  let stopped = false

  /** Deletes in batches until a batch comes back short; returns how many rows went. */
  async function drain(batch: number, once: () => Promise<number>): Promise<number> {
    let total = 0
    for (;;) {
      if (stopped) return total
      const deleted = await once()
      total += deleted
      if (deleted < batch) return total
      await Bun.sleep(RETENTION_PAUSE_MS)
    }
  }

  async function clean(): Promise<RetentionResult> {
    const cutoff = new Date(now() - days! * 86_400_000)
    const result = {
      conversations: await drain(RETENTION_BATCH.conversations, () => conversations.forgetUnusedBefore(cutoff, RETENTION_BATCH.conversations)),
      invocations: await drain(RETENTION_BATCH.invocations, () => metrics.forgetBefore(cutoff, RETENTION_BATCH.invocations)),
    }
    if (result.conversations + result.invocations > 0) log.info('retention: old rows deleted', { ...result, before: cutoff.toISOString(), days })
    return result
  }

  return {
    enabled: days !== undefined,

    /**
     * One clean-up; a call while one runs gets that one. Resolves with what it deleted; a failed
     * batch is logged and ends this run (the next one tries again).
     */
    run(): Promise<RetentionResult> {
      if (days === undefined || stopped) return Promise.resolve({ conversations: 0, invocations: 0 })
      running ??= clean()
        .catch((err: unknown) => {
          log.error('retention clean-up failed; it is tried again at the next run', { err })
          return { conversations: 0, invocations: 0 }
        })
        .finally(() => {
          running = undefined
        })
      return running
    },

    /** No further batches (shutdown): a batch already queued still commits. */
    stop(): void {
      stopped = true
    },
  }
}

export type Retention = ReturnType<typeof createRetention>
