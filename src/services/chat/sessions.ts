import { createHash, randomBytes } from 'node:crypto'
import type { Credentials } from './bedrock.ts'
import { forgetSecret, registerSecret } from '../../logger.ts'

/** The one reply a browser may have streaming: reserved before it starts, freed when it is saved. */
export type ActiveReply = { id: string; controller: AbortController }

/**
 * One browser's state, in server memory only: its credentials (never written anywhere), its
 * region, and the reply streaming right now. Its conversations are in the database, under a
 * hash of the session id (`owner`), so they outlive a restart.
 */
export type Session = {
  id: string
  /** The key its conversations are stored under: a hash of the cookie, never the cookie. */
  owner: string
  credentials?: Credentials
  region?: string
  activeReply?: ActiveReply
  lastSeen: number
}

/** What a session id looks like (newId's 24 random bytes, base64url). */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{32}$/

export type SessionsOptions = {
  /** A session unused this long is forgotten, credentials and all. */
  idleTtlMs?: number
  now?: () => number
}

/** 24 random bytes: the cookie value, and the only key to a session's credentials. */
export function newId(bytes = 24): string {
  return randomBytes(bytes).toString('base64url')
}

/** The owner key stored with conversations: a hash of the session cookie, never the cookie. */
export function ownerOf(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('hex')
}

export function maskAccessKey(accessKeyId: string): string {
  return accessKeyId.length <= 8 ? '…' : `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}`
}

export function createSessions(options: SessionsOptions = {}) {
  const idleTtlMs = options.idleTtlMs ?? 12 * 60 * 60 * 1000
  const now = options.now ?? Date.now
  const sessions = new Map<string, Session>()

  function forget(session: Session) {
    session.activeReply?.controller.abort('expired')
    setCredentials(session, undefined)
    sessions.delete(session.id)
  }

  function setCredentials(session: Session, credentials: Credentials | undefined) {
    if (session.credentials) {
      forgetSecret(session.credentials.secretAccessKey)
      forgetSecret(session.credentials.sessionToken)
    }
    session.credentials = credentials
    if (credentials) {
      registerSecret(credentials.secretAccessKey)
      registerSecret(credentials.sessionToken)
    }
  }

  return {
    /**
     * The session for this cookie value. A well-formed id the server no longer holds (after a
     * restart, or idle past its time) starts afresh under the same id, so the browser keeps its
     * conversations but not its credentials; a missing or malformed one gets a new random id.
     */
    resolve(id: string | undefined): { session: Session; created: boolean } {
      const found = id ? sessions.get(id) : undefined
      if (found && now() - found.lastSeen <= idleTtlMs) {
        found.lastSeen = now()
        return { session: found, created: false }
      }
      if (found) forget(found)
      const adopt = id !== undefined && SESSION_ID_PATTERN.test(id)
      const sessionId = adopt ? id : newId()
      const session: Session = { id: sessionId, owner: ownerOf(sessionId), lastSeen: now() }
      sessions.set(session.id, session)
      return { session, created: !adopt }
    },

    setCredentials,

    /** Drops sessions idle past their time (called on a timer by the server). */
    sweep(): number {
      let dropped = 0
      for (const session of sessions.values()) {
        if (now() - session.lastSeen > idleTtlMs && !session.activeReply) {
          forget(session)
          dropped += 1
        }
      }
      return dropped
    },

    get size() {
      return sessions.size
    },

    /** Aborts every streaming reply (graceful shutdown). */
    abortAll(reason: string) {
      for (const session of sessions.values()) session.activeReply?.controller.abort(reason)
    },
  }
}

export type Sessions = ReturnType<typeof createSessions>
