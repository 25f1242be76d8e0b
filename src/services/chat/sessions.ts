import { createHash, randomBytes } from 'node:crypto'
import { isApiKey, type Credentials } from './bedrock.ts'
import { forgetSecret, registerSecret } from '../../logger.ts'

/** The one reply a browser may have streaming: reserved before it starts, freed when it is saved. */
export type ActiveReply = { id: string; controller: AbortController }

/**
 * One browser's state, in server memory only: its credentials (never written anywhere), its
 * region, who signed in, and the reply streaming right now. Its conversations are in the database
 * under `owner`, so they outlive a restart and a new session id.
 */
export type Session = {
  /** Changes at sign-in; only ever made by the server (the cookie carries it, signed). */
  id: string
  /** The browser's lasting key (in the signed cookie beside the id): what `owner` is made from. */
  ownerKey: string
  /** The key its conversations are stored under: a hash, never the cookie's contents. */
  owner: string
  /** Signed in (with APP_PASSWORD, or as a proxy's user). */
  signedIn: boolean
  /** The person a trusted proxy named: conversations belong to them, in whichever browser. */
  user?: string
  credentials?: Credentials
  /**
   * The browser had saved sidebar credentials with a server that no longer holds them (it
   * restarted, or the browser was moved to another instance): the sidebar asks for them again.
   */
  credentialsLost?: boolean
  region?: string
  activeReply?: ActiveReply
  /** Has started a conversation (or is known to own one): kept for the whole idle time, not the short one. */
  saved?: boolean
  lastSeen: number
}

/** What a session id or owner key looks like (newId's 24 random bytes, base64url). */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{32}$/

/**
 * How long a session that holds nothing (no conversation, no credentials, no sign-in) is kept
 * unused: a visitor who only looked costs memory for minutes, not for SESSION_IDLE_MINUTES.
 */
export const UNSAVED_IDLE_MS = 15 * 60_000

/** How many "does this owner have conversations?" reads a sweep has in flight at once. */
const SWEEP_READS_AT_ONCE = 200

export type SessionsOptions = {
  /** A session unused this long is forgotten, credentials and all. */
  idleTtlMs?: number
  /** A session that holds nothing is forgotten after this long unused (at most `idleTtlMs`). */
  unsavedIdleTtlMs?: number
  /** Whether conversations are stored under an owner (asked once per session, by the sweep). */
  ownerHasConversations?: (owner: string) => Promise<boolean>
  now?: () => number
}

/** What a browser's signed cookie says: the server issued these, so they can be trusted. */
export type IssuedSession = { id: string; ownerKey: string }

/** 24 random bytes: a session id or owner key. */
export function newId(bytes = 24): string {
  return randomBytes(bytes).toString('base64url')
}

/** The owner key stored with conversations: a hash, so the database never holds a cookie. */
export function ownerOf(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

/** A proxy's user owns conversations as themself, whatever browser they use. */
function userOwner(user: string): string {
  return ownerOf(`user:${user}`)
}

export function maskAccessKey(accessKeyId: string): string {
  return accessKeyId.length <= 8 ? '…' : `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}`
}

/**
 * What a Bedrock API key is, said without any of it: a long-term key (ABSK…, an IAM user's
 * service-specific credential) or a short-term one (bedrock-api-key-…, a presigned URL that lasts
 * at most 12 hours). No part of it is shown: all of it is the secret.
 */
export function apiKeyKind(apiKey: string): 'long-term' | 'short-term' {
  return apiKey.startsWith('ABSK') ? 'long-term' : 'short-term'
}

/** The literal secrets a browser's credentials hold: what the log is cleaned of while they are kept. */
function secretsOf(credentials: Credentials): (string | undefined)[] {
  return isApiKey(credentials) ? [credentials.apiKey] : [credentials.secretAccessKey, credentials.sessionToken]
}

export function createSessions(options: SessionsOptions = {}) {
  const idleTtlMs = options.idleTtlMs ?? 12 * 60 * 60 * 1000
  const unsavedIdleTtlMs = Math.min(options.unsavedIdleTtlMs ?? UNSAVED_IDLE_MS, idleTtlMs)
  const ownerHasConversations = options.ownerHasConversations ?? (async () => false)
  const now = options.now ?? Date.now
  const sessions = new Map<string, Session>()

  function forget(session: Session, reason = 'expired') {
    session.activeReply?.controller.abort(reason)
    setCredentials(session, undefined)
    sessions.delete(session.id)
  }

  function setCredentials(session: Session, credentials: Credentials | undefined) {
    if (session.credentials) for (const secret of secretsOf(session.credentials)) forgetSecret(secret)
    session.credentials = credentials
    session.credentialsLost = false
    if (credentials) for (const secret of secretsOf(credentials)) registerSecret(secret)
  }

  function make(id: string, ownerKey: string): Session {
    return { id, ownerKey, owner: ownerOf(ownerKey), signedIn: false, lastSeen: now() }
  }

  return {
    /**
     * The session a browser's cookie names. `issued` is what the server's own signed cookie says
     * (absent: no cookie, or one the server never issued). An issued id the server no longer holds
     * (after a restart, another instance's, or idle past its time) starts afresh under the same id
     * and owner, so the browser keeps its conversations but not its credentials (its sign-in, if
     * recorded, is the session middleware's to find: sign-ins.ts); anything else gets
     * new random ones. With `store: false` a new session is not kept (a visitor who has not signed
     * in yet), so such requests cost no memory.
     */
    resolve(issued: IssuedSession | undefined, { store = true } = {}): { session: Session; created: boolean; restored: boolean } {
      const found = issued ? sessions.get(issued.id) : undefined
      if (found && found.ownerKey === issued?.ownerKey && now() - found.lastSeen <= idleTtlMs) {
        found.lastSeen = now()
        return { session: found, created: false, restored: false }
      }
      if (found) forget(found)
      const session = issued ? make(issued.id, issued.ownerKey) : make(newId(), newId())
      if (store || issued) sessions.set(session.id, session)
      // `restored`: a cookie this server no longer holds (a restart, another instance's): its sign-in may be on record
      return { session, created: !issued, restored: Boolean(issued) }
    },

    /**
     * Sign-in: the session continues under a new id (so an id known before sign-in is worth
     * nothing after it), signed in, keeping its owner key (the browser's conversations).
     */
    signIn(session: Session, user?: string): Session {
      sessions.delete(session.id)
      setCredentials(session, undefined)
      const next: Session = { ...make(newId(), session.ownerKey), signedIn: true }
      if (user !== undefined) {
        next.user = user
        next.owner = userOwner(user)
      }
      sessions.set(next.id, next)
      return next
    },

    /** Signed out elsewhere (another instance): no longer signed in here, its credentials erased. */
    signOut(session: Session): void {
      session.activeReply?.controller.abort('signed out')
      session.signedIn = false
      setCredentials(session, undefined)
    },

    /** Sign-out: its streams end, its sidebar credentials are erased, and the server forgets it. */
    end(session: Session): void {
      forget(session, 'signed out')
      session.signedIn = false
    },

    setCredentials,

    /**
     * Drops sessions idle past their time (called on a timer by the server): any session after
     * `idleTtlMs`, one that holds nothing after `unsavedIdleTtlMs`. Holding something is having
     * sidebar credentials, a sign-in, or conversations (started here, or found once in the
     * database). A browser whose session went keeps its cookie, and so its conversations.
     */
    async sweep(): Promise<number> {
      const at = now()
      const idle: Session[] = []
      const unsure: Session[] = []
      for (const session of sessions.values()) {
        if (session.activeReply) continue
        const quiet = at - session.lastSeen
        if (quiet <= unsavedIdleTtlMs) continue
        if (quiet > idleTtlMs) idle.push(session)
        else if (!(session.credentials || session.signedIn || session.saved)) unsure.push(session)
      }
      // asked once, a slice at a time: a session found to own conversations is marked, one that
      // owns none goes; one the database cannot tell about stays until the next sweep
      for (let i = 0; i < unsure.length; i += SWEEP_READS_AT_ONCE) {
        const slice = unsure.slice(i, i + SWEEP_READS_AT_ONCE)
        const owns = await Promise.all(slice.map((s) => ownerHasConversations(s.owner).catch(() => true)))
        slice.forEach((session, j) => {
          if (owns[j]) session.saved = true
          else idle.push(session)
        })
      }
      let dropped = 0
      for (const session of idle) {
        if (session.activeReply || sessions.get(session.id) !== session || now() - session.lastSeen <= unsavedIdleTtlMs) continue
        forget(session)
        dropped += 1
      }
      return dropped
    },

    /** Whether the server holds this session (a visitor's unsaved one is not held). */
    holds(session: Session): boolean {
      return sessions.get(session.id) === session
    },

    get size() {
      return sessions.size
    },

    /** Aborts every streaming reply (graceful shutdown). */
    /** Replies streaming right now, in every session. */
    get streaming(): number {
      let n = 0
      for (const session of sessions.values()) if (session.activeReply) n += 1
      return n
    },

    abortAll(reason: string) {
      for (const session of sessions.values()) session.activeReply?.controller.abort(reason)
    },
  }
}

export type Sessions = ReturnType<typeof createSessions>
