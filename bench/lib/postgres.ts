import postgres from 'postgres'
import { POSTGRES_MISSING, postgresAvailable, startPostgres, type PostgresServer } from '../../tests/support/postgres.ts'

/**
 * The benchmarks' PostgreSQL: the tests' throwaway cluster (tests/support/postgres.ts: 127.0.0.1,
 * stopped by its PID), with PostgreSQL's default memory (shared_buffers 128MB) rather than the
 * tests' 32MB, and room for 200 concurrent recorders. Durability is off as in the tests (fsync,
 * synchronous_commit): a commit waits for no disk flush, as SQLite's WAL with synchronous=NORMAL.
 */
export type BenchPostgres = {
  server: PostgresServer
  version: string
  /** A new, empty database on the server; its URL. */
  database(name: string): Promise<string>
}

/** Starts the server, or says in one line why the PostgreSQL rows are skipped and returns undefined. */
export async function startBenchPostgres(): Promise<BenchPostgres | undefined> {
  if (!postgresAvailable()) {
    console.log(`PostgreSQL rows skipped: ${POSTGRES_MISSING}`)
    return undefined
  }
  const server = await startPostgres({ settings: ['shared_buffers=128MB', 'max_connections=300'] })
  const admin = postgres(server.urlOf('postgres'), { max: 1, onnotice: () => {} })
  try {
    const [row] = await admin<{ server_version: string }[]>`SHOW server_version`
    return {
      server,
      version: row?.server_version ?? 'unknown',
      async database(name) {
        const admin = postgres(server.urlOf('postgres'), { max: 1, onnotice: () => {} })
        try {
          await admin.unsafe(`CREATE DATABASE ${name}`)
        } finally {
          await admin.end({ timeout: 5 })
        }
        return server.urlOf(name)
      },
    }
  } finally {
    await admin.end({ timeout: 5 })
  }
}
