import type { Db } from '../../db/open.ts'
import type { RecordedInvocation } from '../metrics/index.ts'
import { costFor, priceFor } from '../models.ts'

/**
 * The limits against unbounded consumption (OWASP LLM10), in one place: how many model calls one
 * person may start in a sliding minute, how many the server runs at once, what one person and the
 * whole server may spend in a UTC day, and how many bytes of files one person may keep.
 *
 * "One person" is a session's `owner`: a trusted proxy's user when one names them (the same in
 * every browser), else the browser. Without sign-in, a client that throws its cookie away is a new
 * person each time: the server-wide cap and the server's budget are what bound that.
 *
 * The reply service asks `check` (and `checkModel`, `checkFiles`) and then `reserve`s, in the same
 * synchronous step as its busy check, so no two starts can both take the last place. The rate
 * and the places are kept in memory. Today's spend is read from `invocations` (an index range:
 * the person's calls since midnight UTC, or the server's) until this process has seen a call of
 * theirs today; from then on it is a running total kept by `spend`, which sees every recorded
 * call before its row is written, so no call is counted twice or missed across a restart.
 */

export type LimitsOptions = {
  db: Db
  /** Model calls one person may start in any RATE_WINDOW_MS; undefined: no limit. */
  ratePerMinute?: number
  /** Model calls the server runs at once; undefined: no limit. */
  maxConcurrent?: number
  /** USD one person's calls may cost in a UTC day (catalogue prices); undefined: no limit. */
  budgetUsdPerDay?: number
  /** USD every call together may cost in a UTC day; undefined: no limit. */
  serverBudgetUsdPerDay?: number
  /** Bytes of files one person may keep; undefined: no limit. */
  attachmentQuotaBytes?: number
  /** Bytes of files an owner keeps now (conversations.attachmentBytesUsed). */
  attachmentBytesUsed: (owner: string) => number
  now?: () => number
}

export type LimitRefusal = { status: 413 | 422 | 429 | 503; message: string; retryAfterS?: number }

/** The rate limit's window: a sliding minute. */
export const RATE_WINDOW_MS = 60_000
/** What a refusal for a busy server tells the client to wait (Retry-After), in seconds. */
export const BUSY_RETRY_S = 5
const DAY_MS = 86_400_000
const MB = 1_000_000

export const SERVER_BUSY = 'The server is busy: try again in a moment.'

/** Dollars as the sidebar and the refusals show them: cents, or four decimals below a cent. */
export function usd(amount: number): string {
  return amount === 0 || amount >= 0.01 ? `$${amount.toFixed(2)}` : `$${amount.toFixed(4)}`
}

/** A size as the thread shows a file's: MB (1,000,000 bytes, as Converse's limits count them) to one decimal, KB below 0.1 MB. */
function size(bytes: number): string {
  return bytes >= 100_000 ? `${(bytes / MB).toFixed(1)} MB` : `${Math.round(bytes / 1000)} KB`
}

/** The quota as it was configured (ATTACHMENT_QUOTA_MB). */
function quotaText(bytes: number): string {
  return `${(bytes / MB).toLocaleString('en', { maximumFractionDigits: 3 })} MB`
}

function untilMidnight(at: number): { seconds: number; text: string } {
  const seconds = Math.max(1, Math.ceil((DAY_MS - (at % DAY_MS)) / 1000))
  const hours = Math.floor(seconds / 3600)
  const minutes = Math.ceil((seconds % 3600) / 60)
  return { seconds, text: hours > 0 ? `${hours} h ${minutes} min` : `${minutes} min` }
}

type Tokens = { modelId: string; inputTokens: number; outputTokens: number; cacheReadInputTokens: number; cacheWriteInputTokens: number }

/** What a day's calls cost, from their tokens per model (prompt-cache reads and writes included); calls without a known price count 0. */
function costOf(rows: readonly Tokens[]): number {
  return rows.reduce((sum, r) => sum + (costFor(r.modelId, r.inputTokens, r.outputTokens, r.cacheReadInputTokens, r.cacheWriteInputTokens) ?? 0), 0)
}

export type Spend = { spentUsd: number; budgetUsd: number }

export function createLimits(options: LimitsOptions) {
  const { ratePerMinute, maxConcurrent, budgetUsdPerDay, serverBudgetUsdPerDay, attachmentQuotaBytes, now = Date.now } = options
  const client = options.db.$client
  const budgetsOn = budgetUsdPerDay !== undefined || serverBudgetUsdPerDay !== undefined
  const TOKENS =
    'model_id AS modelId, coalesce(sum(input_tokens), 0) AS inputTokens, coalesce(sum(output_tokens), 0) AS outputTokens,' +
    ' coalesce(sum(cache_read_input_tokens), 0) AS cacheReadInputTokens, coalesce(sum(cache_write_input_tokens), 0) AS cacheWriteInputTokens'
  // one person's calls since midnight: a range of the (owner, timestamp) index
  const ownerToday = client.prepare<Tokens, [string, number]>(
    `SELECT ${TOKENS} FROM invocations INDEXED BY invocations_owner_timestamp WHERE owner = ? AND timestamp >= ? GROUP BY model_id`,
  )
  // every call since midnight: a range of the timestamp index
  const serverToday = client.prepare<Tokens, [number]>(
    `SELECT ${TOKENS} FROM invocations INDEXED BY invocations_timestamp WHERE timestamp >= ? GROUP BY model_id`,
  )

  /** Start times of each person's calls in the last RATE_WINDOW_MS, oldest first (at most ratePerMinute). */
  const recentCalls = new Map<string, number[]>()
  let inFlight = 0
  /** The UTC day the totals below are for, and what was spent in it: per owner who called, and in all. */
  let day = -1
  const spentBy = new Map<string, number>()
  let serverSpent: number | undefined

  function recent(owner: string, at: number): number[] | undefined {
    const list = recentCalls.get(owner)
    if (!list) return undefined
    while (list.length > 0 && list[0]! <= at - RATE_WINDOW_MS) list.shift()
    if (list.length === 0) recentCalls.delete(owner)
    return list.length > 0 ? list : undefined
  }

  /** Moves the totals to the day of `at`: at midnight they start again from nothing. */
  function toDay(at: number) {
    const start = at - (at % DAY_MS)
    if (start === day) return
    day = start
    spentBy.clear()
    serverSpent = undefined
  }

  /**
   * A person's spend today: the running total once they have called today, else read from the
   * database (an index range; kept only by `spend`, so people who only look cost no memory).
   */
  function ownerSpent(owner: string): number {
    return spentBy.get(owner) ?? costOf(ownerToday.all(owner, day))
  }

  function serverTotal(): number {
    serverSpent ??= costOf(serverToday.all(day))
    return serverSpent
  }

  // the server's spend so far today, read once at start-up (a person's is read when they first call)
  if (serverBudgetUsdPerDay !== undefined) {
    toDay(now())
    serverTotal()
  }

  return {
    /**
     * Whether this person may start a model call now: null, or why not. Checks the rate, the
     * server-wide cap and both budgets, in that order.
     */
    check(owner: string): LimitRefusal | null {
      const at = now()
      if (ratePerMinute !== undefined) {
        const calls = recent(owner, at)
        if (calls && calls.length >= ratePerMinute) {
          const retryAfterS = Math.max(1, Math.ceil((calls[0]! + RATE_WINDOW_MS - at) / 1000))
          const messages = `${ratePerMinute} message${ratePerMinute === 1 ? '' : 's'}`
          return { status: 429, message: `Slow down: ${messages} a minute; try again in ${retryAfterS} s.`, retryAfterS }
        }
      }
      if (maxConcurrent !== undefined && inFlight >= maxConcurrent) return { status: 503, message: SERVER_BUSY, retryAfterS: BUSY_RETRY_S }
      if (budgetsOn) {
        toDay(at)
        const midnight = untilMidnight(at)
        const spent = budgetUsdPerDay === undefined ? 0 : ownerSpent(owner)
        if (budgetUsdPerDay !== undefined && spent >= budgetUsdPerDay) {
          return {
            status: 429,
            message: `You have spent today's budget: ${usd(spent)} of ${usd(budgetUsdPerDay)} a day. It starts again at midnight UTC, in ${midnight.text}.`,
            retryAfterS: midnight.seconds,
          }
        }
        if (serverBudgetUsdPerDay !== undefined && serverTotal() >= serverBudgetUsdPerDay) {
          return {
            status: 429,
            message: `This server has spent today's budget for everyone (${usd(serverBudgetUsdPerDay)} a day). It starts again at midnight UTC, in ${midnight.text}.`,
            retryAfterS: midnight.seconds,
          }
        }
      }
      return null
    },

    /** With a budget on, a model whose price is unknown is refused: its calls could not be counted. */
    checkModel(modelId: string): LimitRefusal | null {
      if (!budgetsOn || priceFor(modelId) !== null) return null
      return {
        status: 422,
        message: `${modelId} has no known price, so its cost cannot be counted against the daily budget: choose a model from the list, or give it a price in MODEL_CATALOG_FILE.`,
      }
    },

    /** Whether this person may keep `adding` more bytes of files. */
    checkFiles(owner: string, adding: number): LimitRefusal | null {
      if (attachmentQuotaBytes === undefined || adding === 0) return null
      const used = options.attachmentBytesUsed(owner)
      if (used + adding <= attachmentQuotaBytes) return null
      return {
        status: 413,
        message: `These files (${size(adding)}) would go over your attachment quota of ${quotaText(attachmentQuotaBytes)}: you keep ${size(used)} of files already. Delete conversations with files you no longer need, or attach less.`,
      }
    },

    /**
     * Takes a place for one model call: it counts in the person's minute from now, and holds one
     * of the server's places until the returned release is called (once is enough; more are ignored).
     */
    reserve(owner: string): () => void {
      const at = now()
      if (ratePerMinute !== undefined) {
        const calls = recent(owner, at) ?? []
        calls.push(at)
        recentCalls.set(owner, calls)
      }
      inFlight += 1
      let released = false
      return () => {
        if (released) return
        released = true
        inFlight -= 1
      }
    },

    /**
     * Adds a recorded call's cost to today's totals. Called as the call is recorded, before its
     * row is written, so a total read from the database here never counts it twice.
     */
    spend(
      invocation: Pick<RecordedInvocation, 'timestamp' | 'modelId' | 'inputTokens' | 'outputTokens' | 'owner'> &
        Partial<Pick<RecordedInvocation, 'cacheReadInputTokens' | 'cacheWriteInputTokens'>>,
    ): void {
      if (!budgetsOn) return
      toDay(now())
      if (invocation.timestamp.getTime() < day) return // a call begun before midnight is yesterday's
      const { modelId, inputTokens, outputTokens, cacheReadInputTokens, cacheWriteInputTokens } = invocation
      const cost = costFor(modelId, inputTokens ?? 0, outputTokens ?? 0, cacheReadInputTokens ?? 0, cacheWriteInputTokens ?? 0) ?? 0
      if (budgetUsdPerDay !== undefined && invocation.owner) spentBy.set(invocation.owner, ownerSpent(invocation.owner) + cost)
      if (serverBudgetUsdPerDay !== undefined) serverSpent = serverTotal() + cost
    },

    /** Today's spend against the budgets that are on (what the sidebar shows). */
    today(owner: string): { user?: Spend; server?: Spend } {
      if (!budgetsOn) return {}
      toDay(now())
      return {
        user: budgetUsdPerDay === undefined ? undefined : { spentUsd: ownerSpent(owner), budgetUsd: budgetUsdPerDay },
        server: serverBudgetUsdPerDay === undefined ? undefined : { spentUsd: serverTotal(), budgetUsd: serverBudgetUsdPerDay },
      }
    },

    /** Model calls running now. */
    get inFlight() {
      return inFlight
    },

    /** Forgets people whose minute has passed (called on the session sweep's timer). */
    sweep(): void {
      const at = now()
      for (const owner of [...recentCalls.keys()]) recent(owner, at)
    },
  }
}

export type Limits = ReturnType<typeof createLimits>
