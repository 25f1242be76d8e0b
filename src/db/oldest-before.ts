import { asc, inArray, lt } from 'drizzle-orm'
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core'
import type { Dialect } from './dialect.ts'
import { statement, type Statement } from './writer.ts'

/**
 * The statement that deletes up to `batch` rows whose `time` is before `cutoff`, the oldest
 * first, through the index on `time` (the age-based clean-up, a batch per writer job).
 */
export function deleteOldestBefore(
  { db }: Dialect,
  table: SQLiteTable,
  columns: { id: SQLiteColumn; time: SQLiteColumn },
  cutoff: Date,
  batch: number,
): Statement {
  const oldest = db.select({ id: columns.id }).from(table).where(lt(columns.time, cutoff)).orderBy(asc(columns.time)).limit(batch)
  return statement(db.delete(table).where(inArray(columns.id, oldest)))
}
