import type { Remote } from '../../db/read-pool.ts'
import type { RecordedInvocation } from '../metrics/index.ts'
import { costFor, priceFor } from '../models.ts'
import type { SpendReads, Tokens } from './spend-reads.ts'

/**
 * The limits against unbounded consumption (OWASP LLM10), in one place: how many model calls one
 * person may start in a sliding minute, how many the server runs at once, what one person and the
 * whole server may spend in a UTC day, and how many bytes of files one person may keep.
 *
 * "One person" is a session's `owner`: a trusted proxy's user when one names them (the same in
 * every browser), else the browser. Without sign-in, a client that throws its cookie away is a new
 * person each time: the server-wide cap and the server's budget are what bound that.
 *
 * The reply service awaits `load` (what the checks need from the database), then asks `check`
 * (and `checkModel`, `checkFiles`) and `reserve`s in the same synchronous step as its busy check,
 * so no two starts can both take the last place. The rate and the places are kept in memory.
 * Today's spend is read once from `invocations` (an index range: the person's calls since
 * midnight UTC, or the server's, on a read thread) and from then on is a running total kept by
 * `spend`, which sees every recorded call before its row is written, so no call is counted twice
 * or missed across a restart.
 */

export type LimitsOptions = {
  /** Today's tokens from the database (spend-reads.ts, on a read thread). */
  spendReads: Remote<SpendReads>
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

/** What a day's calls cost, from their tokens per model (prompt-cache reads and writes included); calls without a known price count 0. */
function costOf(rows: readonly Tokens[]): number {
  return rows.reduce((sum, r) => sum + (costFor(r.modelId, r.inputTokens, r.outputTokens, r.cacheReadInputTokens, r.cacheWriteInputTokens) ?? 0), 0)
}

export type Spend = { spentUsd: number; budgetUsd: number }

export function createLimits(options: LimitsOptions) {
  const { ratePerMinute, maxConcurrent, budgetUsdPerDay, serverBudgetUsdPerDay, attachmentQuotaBytes, now = Date.now } = options
  const budgetsOn = budgetUsdPerDay !== undefined || serverBudgetUsdPerDay !== undefined
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

  /** Reads what was spent today from the database, once per day and person (and for the server). */
  async function load(owner: string | null): Promise<void> {
    toDay(now())
    const at = day
    if (budgetUsdPerDay !== undefined && owner !== null && !spentBy.has(owner)) {
      const rows = await options.spendReads.ownerSince(owner, at)
      // another load may have set it meanwhile (and `spend` added to it): keep that one
      if (day === at && !spentBy.has(owner)) spentBy.set(owner, costOf(rows))
    }
    if (serverBudgetUsdPerDay !== undefined && serverSpent === undefined) {
      const rows = await options.spendReads.serverSince(at)
      if (day === at && serverSpent === undefined) serverSpent = costOf(rows)
    }
  }

  const ownerSpent = (owner: string) => spentBy.get(owner) ?? 0
  const serverTotal = () => serverSpent ?? 0

  return {
    /**
     * Reads today's spend of this person and of the server, when not known yet: awaited before
     * `check` and `today`, which then answer from memory. Rejects when the database does not answer.
     */
    load,

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

    /** Whether the quota is on: the caller then reads the bytes a person keeps for `checkFiles`. */
    filesQuotaOn: attachmentQuotaBytes !== undefined,

    /** Whether this person, keeping `used` bytes of files, may add `adding` more. */
    checkFiles(adding: number, used: number): LimitRefusal | null {
      if (attachmentQuotaBytes === undefined || adding === 0) return null
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
    reserve(owner: string): (options?: { unused: true }) => void {
      const at = now()
      const calls = ratePerMinute === undefined ? undefined : (recent(owner, at) ?? [])
      if (calls) {
        calls.push(at)
        recentCalls.set(owner, calls)
      }
      inFlight += 1
      let released = false
      // `unused`: the start was refused after all (its thread said no), so it does not count in the minute
      return (release) => {
        if (released) return
        released = true
        inFlight -= 1
        if (release?.unused && calls) {
          const i = calls.lastIndexOf(at)
          if (i >= 0) calls.splice(i, 1)
        }
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
      // a total not read yet today is left to `load`, which reads this call's row once it is written
      const owner = invocation.owner
      if (budgetUsdPerDay !== undefined && owner && spentBy.has(owner)) spentBy.set(owner, ownerSpent(owner) + cost)
      if (serverBudgetUsdPerDay !== undefined && serverSpent !== undefined) serverSpent += cost
    },

    /** Today's spend against the budgets that are on (what the sidebar shows). */
    async today(owner: string): Promise<{ user?: Spend; server?: Spend }> {
      if (!budgetsOn) return {}
      await load(owner)
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
