import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/postgres-js'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'
import * as schema from './schema.ts'

const MIGRATIONS = join(import.meta.dir, 'migrations')

/**
 * Any number that is ours: the session-level advisory lock instances of the app take while they
 * migrate, so that several starting at once against one database apply each migration once (the
 * migrator reads which ones are applied before its transaction, and two would both apply them).
 */
const MIGRATION_LOCK = 72_853_311

/** The channel every instance's commits of `invocations` notify (a statement trigger: migration 0002). */
export const RECORDED_CHANNEL = 'bedrock_chat_invocations'

/**
 * LISTENs on RECORDED_CHANNEL (a connection of the driver's own): every listener is told at each
 * commit, by any instance, that recorded, changed or deleted calls.
 */
export async function listenForRecorded(sql: postgres.Sql) {
  const listeners: (() => void)[] = []
  const listening = await sql.listen(RECORDED_CHANNEL, () => {
    for (const listener of listeners) listener()
  })
  return {
    onRecorded: (listener: () => void) => void listeners.push(listener),
    stop: () => listening.unlisten().catch(() => {}),
  }
}

/** How long a connection may take to open, once running: a server that cannot be reached is a refused write, soon. */
const CONNECT_TIMEOUT_S = 5

/** How long start-up waits for another instance's migrations (or an unreachable server) before failing. */
const STARTUP_TIMEOUT_S = 30

export type OpenPostgresOptions = {
  /** Connections in the pool (postgres.js opens them lazily). */
  max?: number
  /** The server's NOTICE messages (e.g. "schema drizzle already exists"); ignored unless given. */
  onNotice?: (message: string) => void
  /** Applies the migrations first (default); a second pool of the same process needs not. */
  migrate?: boolean
  /** The server cancels a statement running longer (statement_timeout): a pool's bound. */
  statementTimeoutMs?: number
  /** How long a statement waits for another session's lock before it fails (lock_timeout): the writer's bound. */
  lockTimeoutMs?: number
}

/**
 * Opens the PostgreSQL store at `url` (postgres://user:password@host:port/database): applies the
 * committed migrations (src/db/pg/migrations) under an advisory lock, on a connection of their
 * own that is closed afterwards, then returns drizzle over a postgres.js pool.
 */
export async function openPostgres(url: string, options: OpenPostgresOptions = {}) {
  const onnotice = (notice: postgres.Notice) => options.onNotice?.(notice.message ?? String(notice))
  if (options.migrate !== false) {
    const migrator = postgres(url, { max: 1, onnotice, connect_timeout: STARTUP_TIMEOUT_S })
    try {
      await migrator`SELECT set_config('lock_timeout', ${`${STARTUP_TIMEOUT_S}s`}, false)`
      await migrator`SELECT pg_advisory_lock(${MIGRATION_LOCK})`
      await migrate(drizzle({ client: migrator }), { migrationsFolder: MIGRATIONS })
      await migrator`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`
    } finally {
      await migrator.end({ timeout: 5 })
    }
  }

  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice,
    connect_timeout: CONNECT_TIMEOUT_S,
    connection: {
      ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
      ...(options.lockTimeoutMs ? { lock_timeout: options.lockTimeoutMs } : {}),
    },
  })
  const db = drizzle({ client: sql, schema })
  return {
    db,
    sql,
    close: () => sql.end({ timeout: 5 }),
    /** A secret the server made for itself, the same on every instance: created at random the first time it is asked for. */
    async serverSecret(name: string): Promise<string> {
      await db
        .insert(schema.serverSecrets)
        .values({ name, value: randomBytes(32).toString('base64url') })
        .onConflictDoNothing()
      const [row] = await db.select().from(schema.serverSecrets).where(eq(schema.serverSecrets.name, name))
      return row!.value
    },
  }
}

export type PgDb = Awaited<ReturnType<typeof openPostgres>>['db']
export type OpenedPostgres = Awaited<ReturnType<typeof openPostgres>>
