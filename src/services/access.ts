import { createHash, timingSafeEqual } from 'node:crypto'
import type { Config } from '../config.ts'

/**
 * Who may use the app: the sign-in password (compared in constant time), the slowing down of
 * failed attempts per client, and which addresses a proxy's user header is believed from.
 */

export type AccessOptions = {
  password?: string
  proxyHeader?: string
  proxyTrusted: readonly string[]
  now?: () => number
}

/** Failed attempts before the first wait, and how the wait grows (doubling, to a cap). */
const FREE_FAILURES = 3
const FIRST_WAIT_MS = 1000
const MAX_WAIT_MS = 5 * 60_000
/** Clients remembered at once; the oldest are dropped first, so a flood of addresses cannot grow memory. */
const MAX_CLIENTS = 10_000

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest()

/** IPv4-mapped IPv6 (::ffff:127.0.0.1) is the IPv4 address. */
function plainAddress(address: string): string {
  return address.toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')
}

export function createAccess({ password, proxyHeader, proxyTrusted, now = Date.now }: AccessOptions) {
  const expected = password === undefined ? undefined : digest(password)
  const trusted = new Set(proxyTrusted.map(plainAddress))
  const failures = new Map<string, { count: number; until: number }>()

  return {
    /** Whether anything but static files and health checks needs a signed-in session. */
    required: Boolean(password || proxyHeader),
    passwordOn: Boolean(password),
    proxyHeader,

    /** How long this client must wait before its next attempt (0: it may try now). */
    waitMs(client: string): number {
      const f = failures.get(client)
      return f ? Math.max(0, f.until - now()) : 0
    },

    /**
     * Checks a sign-in attempt: digests of equal length compared in constant time, so the time
     * says nothing about how much of the password was right. A failure makes this client wait
     * longer before its next attempt; a success forgets its failures.
     */
    checkPassword(client: string, attempt: string): boolean {
      const ok = expected !== undefined && timingSafeEqual(digest(attempt), expected)
      if (ok) {
        failures.delete(client)
        return true
      }
      const count = (failures.get(client)?.count ?? 0) + 1
      const wait = count <= FREE_FAILURES ? 0 : Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (count - FREE_FAILURES - 1))
      failures.delete(client)
      failures.set(client, { count, until: now() + wait })
      if (failures.size > MAX_CLIENTS) failures.delete(failures.keys().next().value!)
      return false
    },

    /** Whether a request came from the trusted proxy (whose X-Forwarded-Proto is then believed). */
    fromTrustedProxy(address: string | undefined): boolean {
      return address !== undefined && trusted.has(plainAddress(address))
    },

    /** The user a request's proxy names, when the proxy header is on and the request came from a trusted address. */
    proxyUser(address: string | undefined, header: string | undefined): string | undefined {
      if (!proxyHeader || !address || !trusted.has(plainAddress(address))) return undefined
      const user = header?.trim()
      return user ? user.slice(0, 256) : undefined
    },
  }
}

export type Access = ReturnType<typeof createAccess>

/** The access rules the environment asks for. */
export function accessFor(config: Pick<Config, 'APP_PASSWORD' | 'AUTH_PROXY_HEADER' | 'AUTH_PROXY_TRUSTED'>): Access {
  return createAccess({ password: config.APP_PASSWORD, proxyHeader: config.AUTH_PROXY_HEADER, proxyTrusted: config.AUTH_PROXY_TRUSTED })
}
