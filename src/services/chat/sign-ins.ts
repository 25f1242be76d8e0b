import { createHash } from 'node:crypto'
import { eq, lt } from 'drizzle-orm'
import type { Dialect } from '../../db/dialect.ts'
import type { Remote } from '../../db/read-pool.ts'
import { statement, type Writer } from '../../db/writer.ts'
import type { SignInReads } from './sign-in-reads.ts'

/**
 * Password sign-ins kept in the database, so that one survives the browser's move to another
 * instance of a fleet, or a restart: a session the server does not hold, named by a signed cookie
 * whose sign-in is recorded and current, starts signed in. Recorded at sign-in, renewed while the
 * session is used, deleted at sign-out (on every instance at once). Only a hash of the session id
 * is stored; sidebar credentials never are.
 */

/** What the table keeps of a session id: its SHA-256, so a read of the database signs no one in. */
export function signInKey(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('base64url')
}

/** How often a signed-in session held here is checked against the record: a sign-out elsewhere ends it within this. */
export const SIGN_IN_CHECK_MS = 15_000

export type SignInsOptions = {
  dialect: Dialect
  writer: Writer
  reads: Remote<SignInReads>
  /** How long a recorded sign-in holds without use (SESSION_IDLE_MINUTES). */
  ttlMs: number
  /** How often a session held here is checked against the record (default SIGN_IN_CHECK_MS; tests shorten it). */
  checkEveryMs?: number
  now?: () => number
}

export function createSignIns({ dialect, writer, reads, ttlMs, checkEveryMs = SIGN_IN_CHECK_MS, now = Date.now }: SignInsOptions) {
  const { db } = dialect
  const { signIns } = dialect.tables
  /** When each signed-in session of this instance was last recorded: renewed once half its time has passed. */
  const recorded = new Map<string, number>()
  /** Signed out here, their records not deleted yet: never taken as signed in meanwhile. */
  const signedOut = new Set<string>()
  /** When each signed-in session held here was last found on record. */
  const checked = new Map<string, number>()
  /** Signed in while the database refused the record: they hold on this instance only, unchecked. */
  const unrecorded = new Set<string>()

  return {
    /** Records (or renews) a session's sign-in; expired ones of anyone are cleared in the same job. */
    async record(sessionId: string): Promise<void> {
      const at = now()
      recorded.set(sessionId, at)
      checked.set(sessionId, at)
      const expiresAt = new Date(at + ttlMs)
      unrecorded.add(sessionId)
      await writer.write([
        statement(db.delete(signIns).where(lt(signIns.expiresAt, new Date(at)))),
        statement(
          db
            .insert(signIns)
            .values({ id: signInKey(sessionId), expiresAt })
            .onConflictDoUpdate({ target: signIns.id, set: { expiresAt } }),
        ),
      ])
      unrecorded.delete(sessionId)
    },

    /**
     * Whether a signed-in session held here is still on record, read at most every `checkEveryMs`
     * (a sign-out on another instance deleted it). A database that does not answer keeps it
     * signed in; so does a sign-in whose record the database refused.
     */
    async current(sessionId: string): Promise<boolean> {
      if (signedOut.has(sessionId)) return false
      const last = checked.get(sessionId)
      if ((last !== undefined && now() - last < checkEveryMs) || unrecorded.has(sessionId)) return true
      try {
        const expiresAt = await reads.expiresAt(signInKey(sessionId))
        const holds = expiresAt !== null && expiresAt.getTime() > now()
        if (holds) checked.set(sessionId, now())
        else checked.delete(sessionId)
        return holds
      } catch {
        return true
      }
    },

    /**
     * Renews a signed-in session's record once half its time has passed since the last (called on
     * page loads): an update only, so a renewal never brings back a record a sign-out elsewhere deleted.
     */
    renew(sessionId: string): Promise<void> | undefined {
      const last = recorded.get(sessionId)
      if (last !== undefined && now() - last < ttlMs / 2) return undefined
      const at = now()
      recorded.set(sessionId, at)
      return writer
        .write([
          statement(
            db
              .update(signIns)
              .set({ expiresAt: new Date(at + ttlMs) })
              .where(eq(signIns.id, signInKey(sessionId))),
          ),
        ])
        .then(() => {})
    },

    /** Whether a session this instance does not hold was signed in (on another instance, or before a restart). */
    async holds(sessionId: string): Promise<boolean> {
      if (signedOut.has(sessionId)) return false
      const expiresAt = await reads.expiresAt(signInKey(sessionId))
      if (!expiresAt || expiresAt.getTime() <= now()) return false
      recorded.set(sessionId, now())
      checked.set(sessionId, now())
      return true
    },

    /**
     * Sign-out: the record goes, so no instance takes the cookie as signed in again. Kept while the
     * database refuses writes, and written once it takes them (the sign-out is never lost).
     */
    forget(sessionId: string): Promise<void> {
      recorded.delete(sessionId)
      checked.delete(sessionId)
      signedOut.add(sessionId)
      return writer
        .write([statement(db.delete(signIns).where(eq(signIns.id, signInKey(sessionId))))], { keep: true })
        .then(() => {})
        .finally(() => signedOut.delete(sessionId))
    },
  }
}

export type SignIns = ReturnType<typeof createSignIns>
