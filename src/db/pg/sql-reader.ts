import postgres from 'postgres'
import type { SqlParam, SqlReader } from '../sql-reader.ts'

/**
 * The SqlReader (../sql-reader.ts) on PostgreSQL, over a postgres.js client of its own made by
 * `postgresReadClient`: reads written once for both databases run here unchanged but for the
 * SQL `reader.dialect` picks.
 *
 * - `?` placeholders become `$1`, `$2`, … (outside quoted text and names), once per statement
 *   text; statements are prepared on each connection (postgres.js caches them).
 * - int8 (bigint columns, count(*), sum of int4) and numeric (sum of int8) arrive as JavaScript
 *   numbers, as SQLite's integers do: every counter and epoch ms here is below 2^53. That is the
 *   client's parsers, which is why the reader wants a client of its own: drizzle, built on a
 *   client, changes its parsers (timestamps as text) for itself.
 * - A snapshot is a REPEATABLE READ READ ONLY transaction (one snapshot for all its statements).
 * - `iterate` reads through a portal, `CURSOR_ROWS` rows a round trip; stopping the loop closes it.
 */

/** Rows fetched per round trip while iterating (a CSV export): a few hundred kB at most. */
const CURSOR_ROWS = 500

const asNumber = (text: string) => Number(text)

/** int8 and numeric as numbers; the serializer is for a bigint parameter, which our reads never pass. */
const NUMBER_TYPES = { int8AsNumber: { to: 20, from: [20, 1700], parse: asNumber, serialize: (x: unknown) => String(x) } }

/** A postgres.js client made by `postgresReadClient` (its type parsers are not part of its type). */
// biome-ignore lint/complexity/noBannedTypes: postgres.js's own type for a client without custom types
export type PostgresReadClient = postgres.Sql<{}>

/** A postgres.js client for reads: int8 and numeric as numbers; timestamps as Date (postgres.js's own). */
// biome-ignore lint/complexity/noBannedTypes: as above
export function postgresReadClient(url: string, options: Omit<postgres.Options<{}>, 'types'> = {}): PostgresReadClient {
  return postgres(url, { ...options, types: NUMBER_TYPES }) as unknown as PostgresReadClient
}

/** `?` → `$n`, leaving `'…'` strings and `"…"` names as they are (a doubled quote inside just toggles twice). */
export function numberPlaceholders(sql: string): string {
  let out = ''
  let n = 0
  let quote: string | null = null
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null
    } else if (ch === "'" || ch === '"') quote = ch
    else if (ch === '?') {
      out += `$${++n}`
      continue
    }
    out += ch
  }
  return out
}

// biome-ignore lint/complexity/noBannedTypes: as above
type Client = PostgresReadClient | postgres.TransactionSql<{}>

export function postgresReader(sql: PostgresReadClient): SqlReader {
  if ((sql.options.parsers as Record<string, unknown>)[20] !== asNumber) {
    throw new Error('postgresReader needs a client made by postgresReadClient (int8 and numeric read as numbers)')
  }
  const texts = new Map<string, string>()
  const text = (statement: string) => {
    let numbered = texts.get(statement)
    if (numbered === undefined) {
      numbered = numberPlaceholders(statement)
      texts.set(statement, numbered)
    }
    return numbered
  }
  const query = (client: Client, statement: string, params: readonly SqlParam[]) => client.unsafe(text(statement), params as SqlParam[], { prepare: true })

  function on(client: Client, inSnapshot: boolean): SqlReader {
    const reader: SqlReader = {
      dialect: 'postgres',
      async all<T>(statement: string, params: readonly SqlParam[]): Promise<T[]> {
        return [...(await query(client, statement, params))] as T[]
      },
      snapshot<T>(fn: (reader: SqlReader) => Promise<T>): Promise<T> {
        if (inSnapshot) return fn(reader)
        return (client as PostgresReadClient).begin('isolation level repeatable read read only', (tx) => fn(on(tx, true))) as Promise<T>
      },
      async *iterate<T>(statement: string, params: readonly SqlParam[]): AsyncGenerator<T, void, undefined> {
        for await (const rows of query(client, statement, params).cursor(CURSOR_ROWS)) yield* rows as T[]
      },
    }
    return reader
  }
  return on(sql, false)
}
