// `bun run dashboard`: the dashboard as its own process (the original design's second terminal).
// It opens the metrics database read-only, never migrates or writes it, and tails the same log;
// both stay live while the chat runs in another process.
import { createDashboardApp } from './dashboard-app.ts'
import type { DashboardDeps } from './deps.ts'
import { accessFor } from './services/access.ts'
import { createReadiness } from './services/readiness.ts'
import { startupConfig } from './startup.ts'
import { openDatabase, type OpenedDatabase } from './db/open.ts'
import { configureLogging, getLogger } from './logger.ts'
import { createDashboard, createLogTail } from './services/dashboard/index.ts'
import { createMetricsQueries, type MetricsQueries } from './services/metrics/index.ts'
import { stat } from 'node:fs/promises'
import { serve } from './server.ts'

/** How often the dashboard checks that its database is still the file under its name. */
const DATABASE_CHECK_MS = 2000

async function start() {
  const config = await startupConfig('dashboard')
  // Console only: the chat app owns the log file and its rotation.
  configureLogging({ logDir: config.LOG_DIR, level: config.LOG_LEVEL, file: false })
  const log = getLogger('dashboard')

  // The database may not exist yet (the chat has not started): retry on each use, say why meanwhile.
  let opened: { db: OpenedDatabase; queries: MetricsQueries; inode?: number } | undefined
  const metricsQueries = (): MetricsQueries => {
    if (opened) return opened.queries
    try {
      const db = openDatabase(config.METRICS_DB_PATH, { readonly: true })
      opened = { db, queries: createMetricsQueries(db.db) }
      const current = opened
      void stat(config.METRICS_DB_PATH).then(
        (s) => (current.inode = s.ino),
        () => {},
      )
      log.info('metrics database opened read-only', { path: config.METRICS_DB_PATH })
      return opened.queries
    } catch (err) {
      throw new Error(
        `No readable metrics database at ${config.METRICS_DB_PATH} yet (${(err as Error).message}): start the chat with bun start and it appears.`,
      )
    }
  }

  // A database replaced (a restore) or deleted and made again is another file under the same name:
  // the open handle would go on showing the old one, so it is closed and the new file opened.
  const follow = setInterval(async () => {
    const current = opened
    if (!current || current.inode === undefined) return
    const inode = await stat(config.METRICS_DB_PATH).then(
      (s) => s.ino,
      () => undefined,
    )
    if (inode === current.inode || opened !== current) return
    opened = undefined
    current.db.close()
    log.warn(inode === undefined ? 'the metrics database is gone' : 'the metrics database was replaced: reading the new one', {
      path: config.METRICS_DB_PATH,
    })
  }, DATABASE_CHECK_MS)
  follow.unref()

  const logTail = createLogTail(config.LOG_DIR)
  const readiness = createReadiness({
    databaseReadable: () => {
      try {
        metricsQueries()
        return { ok: true }
      } catch (err) {
        return { ok: false, since: new Date(), reason: (err as Error).message }
      }
    },
  })
  const deps: DashboardDeps = {
    config,
    log,
    metricsQueries,
    access: accessFor(config),
    readiness,
    dashboard: createDashboard({ metrics: metricsQueries, logTail, log: getLogger('dashboard-feed'), health: readiness }),
  }
  const server = serve(createDashboardApp(deps), { port: config.DASHBOARD_PORT, hostname: config.HOST })

  const shutdown = async () => {
    clearInterval(follow)
    deps.dashboard.stop()
    await server.stop(true)
    opened?.db.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown())
  process.on('SIGTERM', () => void shutdown())
  // said once signals are handled: whoever reads this line may stop it gracefully at once
  process.stdout.write(`Bedrock Chat dashboard on http://${server.hostname}:${server.port}/dashboard (database ${config.METRICS_DB_PATH}, read-only)\n`)
}

await start()
