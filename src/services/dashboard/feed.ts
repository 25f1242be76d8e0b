import type { Remote } from '../../db/read-pool.ts'
import type { Log } from '../../logger.ts'
import type { LogTail, LogTailService } from './log-tail.ts'
import type { ErrorTypeCount, MetricsQueries, ModelBreakdown, RangeKey, SeriesPoint, Summary } from '../metrics/index.ts'

export type MetricsPanels =
  | {
      ok: true
      summary: Summary
      series: SeriesPoint[]
      errorsByType: ErrorTypeCount[]
      perModel: ModelBreakdown[]
    }
  | { ok: false; error: string }

/** Everything the dashboard's live panels show for one time range, computed once per change. */
export type DashboardData = {
  range: RangeKey
  generatedAt: number
  /** Changes only when the metrics changed (not the log, not the clock): the table reloads on it. */
  metricsVersion: string
  metrics: MetricsPanels
  log: LogTail
  /** What is not working in the app right now (storage, the log): the page's banner. */
  problems: string[]
}

export type DashboardOptions = {
  /** The metrics queries (on a read thread); a rejection's message says why they are unavailable (no database yet). */
  metrics: Remote<Pick<MetricsQueries, 'summary' | 'series' | 'errorsByType' | 'perModel' | 'changeToken'>>
  logTail: LogTailService
  log: Log
  /** How often the change tokens are compared (cheap: PRAGMA data_version, a stat). */
  pollMs?: number
  now?: () => number
  /** The app's health (readiness.ts), for the banner; absent: no banner. */
  health?: () => { problems: string[] }
}

type Listener = (data: DashboardData) => void

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * The dashboard's data and its live feed. One timer per process compares cheap change tokens
 * (the database's data_version and newest id, the log file's size and time, the current minute);
 * only when one moves is each watched range recomputed, once, and the same result handed to
 * every open dashboard watching that range. The queries run on a read thread: a check waits for
 * the one before it, so a slow database makes the checks fewer, never piled up.
 */
export function createDashboard({ metrics, logTail, log, pollMs = 1000, now = Date.now, health }: DashboardOptions) {
  const listeners = new Map<RangeKey, Set<Listener>>()
  const panels = new Map<RangeKey, { key: string; panels: Promise<MetricsPanels> }>()
  let lastToken = ''
  let timer: ReturnType<typeof setInterval> | undefined
  let nudged = false
  /** The check running now: the next one waits for it. */
  let checking: Promise<void> | undefined
  let again = false

  async function metricsPanels(range: RangeKey, at: number): Promise<MetricsPanels> {
    try {
      const [summary, series, errorsByType, perModel] = await Promise.all([
        metrics.summary(range, at),
        metrics.series(range, at),
        metrics.errorsByType(range, at),
        metrics.perModel(range, at),
      ])
      return { ok: true, summary, series, errorsByType, perModel }
    } catch (err) {
      return { ok: false, error: describe(err) }
    }
  }

  async function metricsToken(): Promise<string> {
    try {
      return await metrics.changeToken()
    } catch (err) {
      return `unavailable:${describe(err)}`
    }
  }

  async function compute(range: RangeKey, token?: string): Promise<DashboardData> {
    const at = now()
    const metricsVersion = token ?? (await metricsToken())
    let tail: LogTail
    try {
      tail = logTail.tail(20)
    } catch (err) {
      tail = { lines: [], error: `The log cannot be read: ${describe(err)}` }
    }
    return { range, generatedAt: at, metricsVersion, metrics: await panelsFor(range, at, metricsVersion), log: tail, problems: problems() }
  }

  /**
   * The metrics panels change only with the data or the minute (ranges read whole buckets), so a
   * page load or a change in the log alone reuses them; the log tail is read fresh each time.
   */
  function panelsFor(range: RangeKey, at: number, metricsVersion: string): Promise<MetricsPanels> {
    const key = `${metricsVersion}|${Math.floor(at / 60_000)}`
    const hit = panels.get(range)
    if (hit?.key === key) return hit.panels
    // kept as the promise, so page loads in the same moment share one computation
    const fresh = metricsPanels(range, at)
    panels.set(range, { key, panels: fresh })
    return fresh
  }

  function problems(): string[] {
    return health?.().problems ?? []
  }

  /** Compares the change tokens, and hands fresh panels to every watcher when one moved. */
  function tick(): Promise<void> {
    if (checking) {
      again = true
      return checking
    }
    checking = check()
      .catch((err: unknown) => log.warn('dashboard change check failed', { err }))
      .finally(() => {
        checking = undefined
        if (again) {
          again = false
          void tick()
        }
      })
    return checking
  }

  async function check() {
    const metricsVersion = await metricsToken()
    const current = `${metricsVersion}|${logTail.changeToken()}|${Math.floor(now() / 60_000)}|${problems().join('|')}`
    if (current === lastToken) return
    lastToken = current
    for (const [range, set] of listeners) {
      if (set.size === 0) continue
      const data = await compute(range, metricsVersion)
      for (const listener of set) {
        try {
          listener(data)
        } catch (err) {
          log.warn('a dashboard listener failed', { err })
        }
      }
    }
  }

  return {
    /** The panels for a range right now (a page load): the computed panels when nothing changed since. */
    snapshot(range: RangeKey): Promise<DashboardData> {
      return compute(range)
    },

    /** Calls `listener` with fresh panels whenever something changed; returns the unsubscribe. */
    subscribe(range: RangeKey, listener: Listener): () => void {
      const set = listeners.get(range) ?? new Set()
      set.add(listener)
      listeners.set(range, set)
      timer ??= setInterval(() => void tick(), pollMs)
      return () => {
        set.delete(listener)
        const watching = [...listeners.values()].some((s) => s.size > 0)
        if (!watching && timer) {
          clearInterval(timer)
          timer = undefined
          lastToken = ''
        }
      }
    },

    /**
     * A write of this process just committed: check at once instead of at the next poll, so open
     * dashboards see it within moments. Calls in the same turn of the event loop share one check;
     * other processes' writes are still found by the poll.
     */
    nudge() {
      if (nudged || !timer) return
      nudged = true
      setImmediate(() => {
        nudged = false
        void tick()
      })
    },

    get watchers(): number {
      return [...listeners.values()].reduce((n, s) => n + s.size, 0)
    },

    stop() {
      if (timer) clearInterval(timer)
      timer = undefined
      listeners.clear()
    },
  }
}

export type Dashboard = ReturnType<typeof createDashboard>
