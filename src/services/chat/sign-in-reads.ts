import { eq } from 'drizzle-orm'
import type { Dialect } from '../../db/dialect.ts'

/** What sign-ins read (on a read thread with SQLite): until when a session's recorded sign-in holds. */
export function signInReads({ db, tables }: Dialect) {
  const { signIns } = tables
  return {
    async expiresAt(key: string): Promise<Date | null> {
      const [row] = await db.select({ expiresAt: signIns.expiresAt }).from(signIns).where(eq(signIns.id, key)).limit(1)
      return row?.expiresAt ?? null
    },
  }
}

export type SignInReads = ReturnType<typeof signInReads>
