import { type Dialect, postgresDialect, sqliteDialect } from './db/dialect.ts'
import type { Db } from './db/open.ts'
import { boundedReads } from './db/pg/bounded-reads.ts'
import { listenForRecorded, openPostgres } from './db/pg/open.ts'
import { postgresReadClient } from './db/pg/sql-reader.ts'
import { postgresEngine } from './db/pg/write-engine.ts'
import { createReadPool, READ_TIMEOUT_MS, type ReaderStatus, type Remote } from './db/read-pool.ts'
import { serverSecret } from './db/secrets.ts'
import { createWriter, type Writer } from './db/writer.ts'
import type postgres from 'postgres'
import { catalogOverrides } from './services/models.ts'
import { postgresReaders, READERS_MODULE, type Readers, type ReadersInit } from './services/reads.ts'

/**
 * The app's storage, SQLite (a file: the default) or PostgreSQL (DATABASE_URL: a fleet's shared
 * store). Either way the same parts: the dialect statements are built in, the one writer, the
 * reads and whether they are answered, and the session cookie's key. The code above does not
 * know which database it is.
 */
export type Store = {
  dialect: Dialect
  writer: Writer
  reads: Remote<Readers>
  readStatus(): ReaderStatus
  /** Signs the session cookie: made once and kept in the database (the same on every instance). */
  sessionSecret: string
  /** This server process's id among the instances sharing the database: the replies it streams carry it. */
  instance: string
  /** Whether the instance of that id is running (its replies left streaming are not to be recovered yet). */
  instanceAlive(id: string | null): Promise<boolean>
  /** Calls recorded by any instance (PostgreSQL's LISTEN/NOTIFY), for the dashboard to look at once; SQLite's own are nudged by its recorder. */
  onRecordedElsewhere(listener: () => void): void
  /** Closes the reads and the connections (the shutdown closes the writer first, once it has flushed). */
  close(): Promise<void>
}

export type StoreOptions = {
  /** How long a read may take (default READ_TIMEOUT_MS; tests shorten it). */
  readTimeoutMs?: number
  /** The module SQLite's read threads run (default the app's, src/services/reads.ts; tests wrap it to stall on demand). */
  readersModule?: URL
}

/** SQLite: a file, its writer's thread and its read threads, each with a connection of its own. */
export function sqliteStore(database: { db: Db; path: string }, { readTimeoutMs = READ_TIMEOUT_MS, readersModule = READERS_MODULE }: StoreOptions = {}): Store {
  const writer = createWriter(database.path)
  const pool = createReadPool<Readers>({
    path: database.path,
    module: readersModule,
    init: (): ReadersInit => ({ catalogOverrides: catalogOverrides() }),
    timeoutMs: readTimeoutMs,
  })
  const instance = newInstanceId()
  return {
    dialect: sqliteDialect(database.db),
    writer,
    reads: pool.reads,
    readStatus: () => pool.status,
    sessionSecret: serverSecret(database.db, 'session-cookie'),
    instance,
    // one server per file: any other instance's reply left streaming is a stopped server's
    instanceAlive: async (id) => id === instance,
    onRecordedElsewhere: () => {},
    async close() {
      pool.close()
    },
  }
}

/** A new instance id: random, so two processes never share one. */
function newInstanceId(): string {
  return crypto.randomUUID()
}

/** The advisory lock that says an instance is running. */
const lockName = (instance: string) => `bedrock-chat instance ${instance}`

/** How long a PostgreSQL write waits for another session's row lock before its batch is refused and retried. */
const WRITE_LOCK_TIMEOUT_MS = 2000

/** The longest a PostgreSQL write statement may run (a batch of deletes included) before the server cancels it. */
const WRITE_STATEMENT_TIMEOUT_MS = 30_000

/** How often an instance checks the connection holding its lock (and takes it again on a new one). */
const LOCK_CHECK_MS = 10_000

async function holdLock(sql: postgres.Sql, instance: string): Promise<postgres.ReservedSql> {
  const held = await sql.reserve()
  await held`SELECT pg_advisory_lock(hashtext(${lockName(instance)}))`
  return held
}

/** PostgreSQL: one pool for the writer, one for reads (each read bounded on the server too), and a LISTEN connection. */
export async function openPostgresStore(url: string, { readTimeoutMs = READ_TIMEOUT_MS }: StoreOptions = {}): Promise<Store> {
  // a write waiting on another session's lock fails after WRITE_LOCK_TIMEOUT_MS (55P03: the batch is
  // refused, kept writes wait and retry, /readyz says so), and no statement runs past WRITE_STATEMENT_TIMEOUT_MS
  const store = await openPostgres(url, { max: 3, lockTimeoutMs: WRITE_LOCK_TIMEOUT_MS, statementTimeoutMs: WRITE_STATEMENT_TIMEOUT_MS })
  // reads on pools of their own, each statement cancelled by the server past twice the wait
  const serverBound = { statement_timeout: readTimeoutMs * 2 }
  const readers = await openPostgres(url, { max: 4, migrate: false, statementTimeoutMs: serverBound.statement_timeout })
  const readClient = postgresReadClient(url, { max: 4, connect_timeout: 5, connection: serverBound })
  const bounded = boundedReads(postgresReaders({ db: readers.db, readClient }), { timeoutMs: readTimeoutMs })
  const recorded = await listenForRecorded(store.sql)
  // this instance is alive while it holds its advisory lock, on a connection of its own for its
  // lifetime; a connection lost (a server restart, a terminated backend) is replaced and the lock
  // taken again within LOCK_CHECK_MS
  const instance = newInstanceId()
  let alive = await holdLock(store.sql, instance)
  let closed = false
  const checkLock = setInterval(async () => {
    try {
      await alive`SELECT 1`
    } catch {
      if (closed) return
      alive.release()
      alive = await holdLock(store.sql, instance).catch(() => alive)
    }
  }, LOCK_CHECK_MS)
  checkLock.unref?.()
  return {
    dialect: postgresDialect(store.db),
    writer: createWriter(postgresEngine(store.sql)),
    reads: bounded.reads,
    readStatus: () => bounded.status,
    sessionSecret: await store.serverSecret('session-cookie'),
    instance,
    async instanceAlive(id) {
      if (id === instance) return true
      if (id === null) return false
      // a lock no session holds is a stopped instance's: taken and let go at once, in one statement
      const [row] = await store.sql<{ gone: boolean }[]>`
        SELECT CASE WHEN pg_try_advisory_lock(hashtext(${lockName(id)})) THEN pg_advisory_unlock(hashtext(${lockName(id)})) ELSE false END AS gone`
      return !row?.gone
    },
    onRecordedElsewhere: recorded.onRecorded,
    async close() {
      closed = true
      clearInterval(checkLock)
      await recorded.stop()
      alive.release()
      await Promise.all([readers.close(), readClient.end({ timeout: 5 }), store.close()])
    },
  }
}
