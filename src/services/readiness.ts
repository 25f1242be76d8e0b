/**
 * What /readyz reports and the dashboard's banner says: whether each part the app needs is
 * working right now, from what those parts last saw (no probe that could wait on a lock).
 */

export type PartStatus = { ok: true } | { ok: false; since: Date; reason: string }

export type ReadinessSources = {
  /** The database writer's last commit (absent in the read-only dashboard process). */
  database?: () => PartStatus
  /** Whether the last read was answered (a lock or a frozen disk times reads out; the dashboard process may have no database yet). */
  databaseReadable?: () => PartStatus
  log?: () => PartStatus | undefined
  /** Writes queued and not yet committed: replies and calls held in memory. */
  pendingWrites?: () => number
  /** Where Bedrock calls go, for people to check (never with a password in it). */
  bedrockEndpoint?: string
}

export type Readiness = {
  ok: boolean
  database: string
  log: string
  bedrockEndpoint?: string
  pendingWrites?: number
  /** One sentence per part that is not working, for the dashboard's banner. */
  problems: string[]
}

function describe(status: PartStatus | undefined): string {
  if (!status) return 'off'
  return status.ok ? 'ok' : `failing since ${status.since.toISOString()}: ${status.reason}`
}

export function createReadiness(sources: ReadinessSources) {
  return (): Readiness => {
    const problems: string[] = []
    const written = sources.database?.()
    const read = sources.databaseReadable?.()
    const database = written && !written.ok ? written : read && !read.ok ? read : (written ?? read)
    if (database && !database.ok) problems.push(`The database cannot be ${database === written ? 'written' : 'read'}: ${database.reason}`)
    const log = sources.log?.()
    if (log && !log.ok) problems.push(`The log file cannot be written: ${log.reason}`)
    return {
      ok: problems.length === 0,
      database: describe(database),
      log: describe(log),
      ...(sources.bedrockEndpoint ? { bedrockEndpoint: sources.bedrockEndpoint } : {}),
      ...(sources.pendingWrites ? { pendingWrites: sources.pendingWrites() } : {}),
      problems,
    }
  }
}

export type ReadinessCheck = ReturnType<typeof createReadiness>
