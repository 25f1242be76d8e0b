import type { Database } from 'bun:sqlite'

/**
 * What a read written once for both databases runs on: SQL text with `?` placeholders, rows as
 * plain objects, numbers as JavaScript numbers. SQLite's reader is bun:sqlite's (below);
 * PostgreSQL's is in ./pg/sql-reader.ts. SQL that differs between the two (an index hint, a
 * change counter) is chosen by `dialect`, in the query module, once per difference.
 */
export type SqlParam = string | number

export type SqlReader = {
  readonly dialect: 'sqlite' | 'postgres'
  /** Every row of one statement. */
  all<T>(sql: string, params: readonly SqlParam[]): Promise<T[]>
  /**
   * One consistent read: `fn`'s statements all see the same snapshot of the database (a read
   * transaction). A snapshot inside a snapshot joins the outer one.
   */
  snapshot<T>(fn: (reader: SqlReader) => Promise<T>): Promise<T>
  /** The rows of one statement, one at a time; the statement is let go when the loop stops, early or not. */
  iterate<T>(sql: string, params: readonly SqlParam[]): AsyncIterable<T>
}

/**
 * bun:sqlite underneath: synchronous, each statement prepared once and cached by the client
 * (`query`), so an `all` costs what it did before it returned a promise (one resolved promise
 * per statement, nothing per row).
 *
 * A snapshot is BEGIN … COMMIT around `fn`. Its statements resolve at once, so `fn` runs to its
 * end without the thread taking another message in between (a read thread answers several
 * calls at once): only an `fn` that awaits something else could interleave, and a snapshot
 * begun meanwhile joins the open transaction rather than failing on a nested BEGIN.
 */
export function sqliteReader(client: Database): SqlReader {
  const stepping = new Set<string>()
  const reader: SqlReader = {
    dialect: 'sqlite',

    all<T>(sql: string, params: readonly SqlParam[]): Promise<T[]> {
      try {
        return Promise.resolve(client.query<T, SqlParam[]>(sql).all(...params))
      } catch (err) {
        return Promise.reject(err)
      }
    },

    async snapshot<T>(fn: (reader: SqlReader) => Promise<T>): Promise<T> {
      if (client.inTransaction) return fn(reader)
      client.query('BEGIN').run()
      try {
        const result = await fn(reader)
        client.query('COMMIT').run()
        return result
      } catch (err) {
        if (client.inTransaction) client.query('ROLLBACK').run()
        throw err
      }
    },

    async *iterate<T>(sql: string, params: readonly SqlParam[]): AsyncGenerator<T, void, undefined> {
      // the cached statement, unless another loop is stepping it (two exports at once): then one of its own
      const shared = !stepping.has(sql)
      const statement = shared ? client.query<T, SqlParam[]>(sql) : client.prepare<T, SqlParam[]>(sql)
      if (shared) stepping.add(sql)
      try {
        yield* statement.iterate(...params)
      } finally {
        // a loop stopped early returns the statement's iterator, which resets it
        if (shared) stepping.delete(sql)
        else statement.finalize()
      }
    },
  }
  return reader
}

/**
 * SQL for a parameter of ms since the epoch where a timestamp column is compared with it:
 * SQLite keeps instants as those ms; PostgreSQL as `timestamptz`, which `to_timestamp` makes
 * exactly (it rounds to the microsecond, and ms / 1000 is within a fraction of one).
 */
export function instantParam(reader: Pick<SqlReader, 'dialect'>): string {
  return reader.dialect === 'sqlite' ? '?' : 'to_timestamp(?::float8 / 1000)'
}

/**
 * `table`, read through `index` on SQLite (INDEXED BY: the query module knows from the rollup
 * which index reads fewest rows, which SQLite's planner cannot); PostgreSQL takes no hints and
 * chooses from its own statistics.
 */
export function fromIndex(reader: Pick<SqlReader, 'dialect'>, table: string, index: string): string {
  return reader.dialect === 'sqlite' ? `${table} INDEXED BY ${index}` : table
}
