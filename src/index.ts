import { createApp } from './app.ts'
import { isLoopback } from './config.ts'
import { startupConfig } from './startup.ts'
import { openDatabase } from './db/open.ts'
import { createDeps } from './deps.ts'
import { configureLogging, getLogger } from './logger.ts'
import { serve } from './server.ts'
import { displayEndpoint } from './services/endpoints.ts'
import { RETENTION_INTERVAL_MS } from './services/chat/index.ts'

async function start() {
  const config = await startupConfig()

  const logging = configureLogging({ logDir: config.LOG_DIR, level: config.LOG_LEVEL })
  const log = getLogger('startup')
  const database = openDatabase(config.METRICS_DB_PATH)
  const deps = createDeps({ config, database })
  const interrupted = deps.conversations.recoverInterrupted()
  if (interrupted > 0) log.warn('replies interrupted by the last stop were marked as failed', { count: interrupted })
  const server = serve(createApp(deps), { port: config.PORT, hostname: config.HOST })

  if (!isLoopback(config.HOST)) {
    if (config.ALLOW_UNAUTHENTICATED && !deps.access.required) {
      log.warn(
        `listening on ${config.HOST} with no access control (ALLOW_UNAUTHENTICATED=true): anyone who can reach it can chat on the server's AWS credentials and read its monitoring`,
      )
    } else log.info(`listening on ${config.HOST}: reachable from other machines, access control on`)
  }

  const url = `http://${server.hostname}:${server.port}/`
  log.info('started', { url, db: config.METRICS_DB_PATH, logDir: config.LOG_DIR, endpoint: displayEndpoint(config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME) })
  process.stdout.write(`Bedrock Chat on ${url} (metrics: ${config.METRICS_DB_PATH}, log: ${logging.logFile})\n`)
  const sweep = setInterval(() => {
    deps.sessions.sweep()
    deps.limits.sweep()
  }, 60_000)
  // the age-based clean-up: now, then every hour, in small batches through the writer
  void deps.retention.run()
  const retention = deps.retention.enabled ? setInterval(() => void deps.retention.run(), RETENTION_INTERVAL_MS) : undefined
  let stopping = false
  const shutdown = async (signal: string) => {
    // a second Ctrl-C means now
    if (stopping) process.exit(1)
    stopping = true
    log.info('shutting down', { signal })
    clearInterval(sweep)
    clearInterval(retention)
    deps.retention.stop()
    deps.dashboard.stop()
    deps.sessions.abortAll('shutdown')
    // give aborted turns a moment to save their reply and write their metrics row, then close
    // every connection, open dashboard streams included (they would otherwise hold the exit)
    await Bun.sleep(300)
    await server.stop(true)
    database.close()
    await logging.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
}

await start()
