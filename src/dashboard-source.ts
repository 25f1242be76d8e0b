import { stat } from 'node:fs/promises'
import type { Config } from './config.ts'
import { boundedReads } from './db/pg/bounded-reads.ts'
import { listenForRecorded } from './db/pg/open.ts'
import { postgresReadClient, postgresReader } from './db/pg/sql-reader.ts'
import { createReadPool, type ReaderStatus, type Remote } from './db/read-pool.ts'
import type { Log } from './logger.ts'
import { createMetricsQueries, METRICS_READERS_MODULE, type MetricsQueries, type MetricsReaders, type ReadersInit } from './services/metrics/index.ts'
import { catalogOverrides } from './services/models.ts'
import { displayEndpoint } from './services/endpoints.ts'

/** How often the dashboard checks that its SQLite database is still the file under its name. */
const DATABASE_CHECK_MS = 2000

/**
 * What the standalone dashboard (`bun run dashboard`) reads, never writes: the SQLite file
 * read-only on read threads (followed when replaced), or the fleet's PostgreSQL database
 * (DATABASE_URL), whose commits it hears about through LISTEN.
 */
export type DashboardSource = {
  metrics: Remote<MetricsQueries>
  status(): ReaderStatus
  /** Where it reads, for the start-up line (never a password). */
  where: string
  /** Calls recorded by any instance: the open dashboards look at once (PostgreSQL). */
  onRecorded(listener: () => void): void
  close(): Promise<void>
}

export async function dashboardSource(config: Config, log: Log): Promise<DashboardSource> {
  return config.DATABASE_URL ? postgresSource(config.DATABASE_URL) : sqliteSource(config.METRICS_DB_PATH, log)
}

function sqliteSource(path: string, log: Log): DashboardSource {
  // The database may not exist yet (the chat has not started): each read tries to open it and says why meanwhile.
  const pool = createReadPool<MetricsReaders>({
    path,
    module: METRICS_READERS_MODULE,
    init: (): ReadersInit => ({ catalogOverrides: catalogOverrides() }),
    readonly: true,
    cannotOpen: (reason) => `No readable metrics database at ${path} yet (${reason}): start the chat with bun start and it appears.`,
  })
  // A database replaced (a restore) or deleted and made again is another file under the same name:
  // the read threads would go on showing the old one, so they open the new file.
  let inode: number | undefined
  // which file the threads read: a restored copy may hold calls identical to the old one's, and
  // the feed must not take its figures for the old file's (the change token reads only the data)
  let generation = 0
  const follow = setInterval(async () => {
    const now = await stat(path).then(
      (s) => s.ino,
      () => undefined,
    )
    if (now === inode) return
    if (inode !== undefined) {
      log.warn(now === undefined ? 'the metrics database is gone' : 'the metrics database was replaced: reading the new one', { path })
    } else log.info('metrics database found, read-only', { path })
    inode = now
    generation += 1
    pool.reopen()
  }, DATABASE_CHECK_MS)
  follow.unref()
  const metrics = new Proxy(pool.reads.metrics, {
    get: (target, key) => (key === 'changeToken' ? async () => `${generation}:${await target.changeToken()}` : Reflect.get(target, key)),
  })
  return {
    metrics,
    status: () => pool.status,
    where: `${path}, read-only`,
    onRecorded: () => {},
    async close() {
      clearInterval(follow)
      pool.close()
    },
  }
}

async function postgresSource(url: string): Promise<DashboardSource> {
  // read-only transactions: the dashboard process never writes, whatever it is pointed at
  const client = postgresReadClient(url, { max: 4, connect_timeout: 5, connection: { default_transaction_read_only: true } })
  const bounded = boundedReads({ metrics: createMetricsQueries(postgresReader(client)) })
  // without it the poll still finds other instances' calls
  const recorded = await listenForRecorded(client).catch(() => undefined)
  return {
    metrics: bounded.reads.metrics,
    status: () => bounded.status,
    where: `${displayEndpoint(url)}, read-only`,
    onRecorded: (listener) => recorded?.onRecorded(listener),
    async close() {
      await recorded?.stop()
      await client.end({ timeout: 5 })
    },
  }
}
