import { randomBytes } from 'node:crypto'
import { eq } from 'drizzle-orm'
import type { Db } from './open.ts'
import { serverSecrets } from './schema.ts'

/**
 * A secret the server made for itself, the same on every start (and every instance sharing the
 * database): created at random the first time it is asked for. Read at start-up only.
 */
export function serverSecret(db: Db, name: string): string {
  db.insert(serverSecrets)
    .values({ name, value: randomBytes(32).toString('base64url') })
    .onConflictDoNothing()
    .run()
  return db.select().from(serverSecrets).where(eq(serverSecrets.name, name)).get()!.value
}
