// `bun run dashboard`: the dashboard as its own process (the original design's second terminal).
// It opens the metrics database read-only, never migrates or writes it, and tails the same log;
// both stay live while the chat runs in another process.
import { createDashboardApp } from './dashboard-app.ts'
import type { DashboardDeps } from './deps.ts'
import { accessFor } from './services/access.ts'
import { createReadiness } from './services/readiness.ts'
import { startupConfig } from './startup.ts'
import { createReadPool } from './db/read-pool.ts'
import { configureLogging, getLogger } from './logger.ts'
import { createDashboard, createLogTail } from './services/dashboard/index.ts'
import { catalogOverrides } from './services/models.ts'
import { METRICS_READERS_MODULE, type MetricsReaders, type ReadersInit } from './services/metrics/index.ts'
import { stat } from 'node:fs/promises'
import { serve } from './server.ts'

/** How often the dashboard checks that its database is still the file under its name. */
const DATABASE_CHECK_MS = 2000

async function start() {
  const config = await startupConfig('dashboard')
  // Console only: the chat app owns the log file and its rotation.
  configureLogging({ logDir: config.LOG_DIR, level: config.LOG_LEVEL, file: false })
  const log = getLogger('dashboard')

  // The database may not exist yet (the chat has not started): each read tries to open it and says why meanwhile.
  const readPool = createReadPool<MetricsReaders>({
    path: config.METRICS_DB_PATH,
    module: METRICS_READERS_MODULE,
    init: (): ReadersInit => ({ catalogOverrides: catalogOverrides() }),
    readonly: true,
    cannotOpen: (reason) => `No readable metrics database at ${config.METRICS_DB_PATH} yet (${reason}): start the chat with bun start and it appears.`,
  })
  const metricsQueries = readPool.reads.metrics

  // A database replaced (a restore) or deleted and made again is another file under the same name:
  // the read threads would go on showing the old one, so they open the new file.
  let inode: number | undefined
  const follow = setInterval(async () => {
    const now = await stat(config.METRICS_DB_PATH).then(
      (s) => s.ino,
      () => undefined,
    )
    if (now === inode) return
    if (inode !== undefined) {
      log.warn(now === undefined ? 'the metrics database is gone' : 'the metrics database was replaced: reading the new one', { path: config.METRICS_DB_PATH })
    } else log.info('metrics database found, read-only', { path: config.METRICS_DB_PATH })
    inode = now
    readPool.reopen()
  }, DATABASE_CHECK_MS)
  follow.unref()

  const logTail = createLogTail(config.LOG_DIR)
  const readiness = createReadiness({ databaseReadable: () => readPool.status })
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
    readPool.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown())
  process.on('SIGTERM', () => void shutdown())
  // said once signals are handled: whoever reads this line may stop it gracefully at once
  process.stdout.write(`Bedrock Chat dashboard on http://${server.hostname}:${server.port}/dashboard (database ${config.METRICS_DB_PATH}, read-only)\n`)
}

await start()
