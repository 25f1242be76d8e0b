// `bun run dashboard`: the dashboard as its own process (the original design's second terminal).
// It reads the metrics database (the SQLite file, or DATABASE_URL's PostgreSQL) read-only, never
// migrates or writes it, and tails the same log; both stay live while the chat runs elsewhere.
import { createDashboardApp } from './dashboard-app.ts'
import type { DashboardDeps } from './deps.ts'
import { accessFor } from './services/access.ts'
import { createReadiness } from './services/readiness.ts'
import { startupConfig } from './startup.ts'
import { dashboardSource } from './dashboard-source.ts'
import { configureLogging, getLogger, registerSecret } from './logger.ts'
import { createDashboard, createLogTail } from './services/dashboard/index.ts'
import { endpointPasswords } from './services/endpoints.ts'
import { serve } from './server.ts'

async function start() {
  const config = await startupConfig('dashboard')
  // Console only: the chat app owns the log file and its rotation.
  configureLogging({ logDir: config.LOG_DIR, level: config.LOG_LEVEL, file: false })
  const log = getLogger('dashboard')

  // SQLite's file read-only, or the fleet's PostgreSQL database (DATABASE_URL)
  for (const password of endpointPasswords(config.DATABASE_URL)) registerSecret(password)
  const source = await dashboardSource(config, log)
  const metricsQueries = source.metrics

  const logTail = createLogTail(config.LOG_DIR)
  const readiness = createReadiness({ databaseReadable: () => source.status() })
  const deps: DashboardDeps = {
    config,
    log,
    metricsQueries,
    access: accessFor(config),
    readiness,
    dashboard: createDashboard({ metrics: metricsQueries, logTail, log: getLogger('dashboard-feed'), health: readiness }),
  }
  // another process's or instance's calls (PostgreSQL's NOTIFY): open dashboards look at once
  source.onRecorded(() => deps.dashboard.nudge())
  const server = serve(createDashboardApp(deps), { port: config.DASHBOARD_PORT, hostname: config.HOST })

  const shutdown = async () => {
    deps.dashboard.stop()
    await server.stop(true)
    await source.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown())
  process.on('SIGTERM', () => void shutdown())
  // said once signals are handled: whoever reads this line may stop it gracefully at once
  process.stdout.write(`Bedrock Chat dashboard on http://${server.hostname}:${server.port}/dashboard (database ${source.where})\n`)
}

await start()
