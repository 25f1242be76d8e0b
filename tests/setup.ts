import { setDefaultTimeout } from 'bun:test'
import { POSTGRES_MISSING, postgresAvailable } from './support/postgres.ts'

// Tests here start real servers, a browser and a model emulator: 5 s (bun's default) is too tight
// on a busy 2-core machine. A test that hangs still fails, after 20 s.
setDefaultTimeout(20_000)

// The suite on PostgreSQL (TEST_STORE=postgres) where PostgreSQL is missing: a developer's run is
// skipped with one line, before any test fails for it; CI (CI=true) runs on and fails instead.
if (process.env.TEST_STORE === 'postgres' && !postgresAvailable() && process.env.CI !== 'true') {
  console.warn(`skipping the PostgreSQL run (TEST_STORE=postgres): ${POSTGRES_MISSING}`)
  process.exit(0)
}
