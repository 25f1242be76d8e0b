import { createApp } from './app.ts'
import { isLoopback } from './config.ts'
import { startupConfig } from './startup.ts'
import { openDatabase } from './db/open.ts'
import { createDeps } from './deps.ts'
import { configureLogging, getLogger, registerSecret } from './logger.ts'
import { serve } from './server.ts'
import { displayEndpoint, endpointPasswords } from './services/endpoints.ts'
import { openPostgresStore } from './store.ts'
import { RETENTION_INTERVAL_MS } from './services/chat/index.ts'

/** After the grace: how long stopped replies get to save (the writer's thread is stopped then, whatever holds it). */
const SHUTDOWN_FLUSH_MS = 2000

async function start() {
  const config = await startupConfig()

  const logging = configureLogging({ logDir: config.LOG_DIR, level: config.LOG_LEVEL })
  const log = getLogger('startup')
  // PostgreSQL when DATABASE_URL names one (a fleet's shared store), else the SQLite file
  for (const password of endpointPasswords(config.DATABASE_URL)) registerSecret(password)
  const store = config.DATABASE_URL ? await openPostgresStore(config.DATABASE_URL) : undefined
  const database = store ? undefined : openDatabase(config.METRICS_DB_PATH)
  const where = config.DATABASE_URL ? displayEndpoint(config.DATABASE_URL) : config.METRICS_DB_PATH
  const deps = createDeps({ config, database, store })
  // a database that does not answer now delays the recovery to the next sweep, never the start
  const interrupted = await deps.conversations.recoverInterrupted().catch((err: unknown) => {
    log.warn('replies left streaming could not be recovered yet: tried again within a minute', { err })
    return 0
  })
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
  log.info('started', { url, db: where, logDir: config.LOG_DIR, endpoint: displayEndpoint(config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME) })
  const sweep = setInterval(() => {
    void deps.sessions.sweep()
    deps.limits.sweep()
    // replies another instance of a fleet left streaming when it stopped (none of this one's)
    void deps.conversations
      .recoverInterrupted()
      .then((n) => n > 0 && log.warn('replies interrupted by a stopped instance were marked as failed', { count: n }))
      .catch(() => {})
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
    // no new reply from now on (each is told why); those in flight may finish within the grace
    deps.replies.close()
    const deadline = Date.now() + config.SHUTDOWN_GRACE_SECONDS * 1000
    while (deps.sessions.streaming > 0 && Date.now() < deadline) await Bun.sleep(100)
    if (deps.sessions.streaming > 0) log.warn('replies still streaming at the end of the grace are stopped', { count: deps.sessions.streaming })
    deps.sessions.abortAll('shutdown')
    // the stopped replies save their text and rows, then every connection closes (open dashboard
    // streams included: they would otherwise hold the exit); a locked or frozen database holds
    // only the writer's thread, which is stopped at the end of the flush
    const flushBy = Date.now() + SHUTDOWN_FLUSH_MS
    do await Bun.sleep(50)
    while (deps.sessions.streaming > 0 && Date.now() < flushBy)
    const lost = await deps.writer.close(Math.max(0, flushBy - Date.now()))
    if (lost > 0) log.error('writes the database did not take before the exit are lost', { count: lost })
    await server.stop(true)
    await deps.store.close()
    database?.close()
    await logging.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  // said once signals are handled: whoever reads this line may stop the server gracefully at once
  process.stdout.write(`Bedrock Chat on ${url} (metrics: ${where}, log: ${logging.logFile})\n`)
}

await start()
