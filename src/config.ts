import { z } from 'zod'
import { GUARDRAIL_ID_PATTERN, GUARDRAIL_VERSION_PATTERN, REGION_PATTERN } from './services/aws-names.ts'
import { withoutUserinfo } from './services/endpoints.ts'

/** Addresses and names that reach only this machine. */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1', '[::1]']

export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.includes(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/**
 * The default model: a current Claude model through its global cross-region inference profile
 * (any commercial region, and billed below the geographic ones). Where the account's own list
 * lacks it, the page offers the newest Claude model the list has (src/services/discovery).
 */
export const DEFAULT_MODEL_ID = 'global.anthropic.claude-sonnet-4-6'

const port = (fallback: number) =>
  z.coerce
    .number({ error: 'a port number from 0 to 65535' })
    .int('a port number from 0 to 65535')
    .min(0, 'a port number from 0 to 65535')
    .max(65535, 'a port number from 0 to 65535')
    .default(fallback)

const nonEmpty = (what: string) => z.string().trim().min(1, what)

const ipList = z
  .string()
  .regex(/^[0-9A-Fa-f.:, ]+$/, 'a comma-separated list of IP addresses, such as 127.0.0.1,10.0.0.2')
  .transform((v) =>
    v
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
  )

/** A whole number of milliseconds from `min` to `max`, with the range in its message. */
const milliseconds = (min: number, max: number, fallback: number) => {
  const message = `a whole number of milliseconds from ${min} to ${max}`
  return z.coerce.number({ error: message }).int(message).min(min, message).max(max, message).default(fallback)
}

/**
 * How long a model call may wait for the first token of its answer (text or reasoning) after the
 * request is sent, retries included. A streamed answer usually starts within a few seconds, and a
 * very long prompt within a few tens of seconds; a person who has waited a minute with nothing on
 * screen is better told and free to send again than kept waiting.
 */
export const FIRST_TOKEN_TIMEOUT_MS = 60_000

/**
 * How long a model call may go silent once its answer has started. Tokens come many times a
 * second, and a model that thinks streams its reasoning as tokens too, so 30 s of silence is a
 * stalled stream or a half-open connection, not a slow model.
 */
export const TOKEN_IDLE_TIMEOUT_MS = 30_000

/** What turns a limit off: a limit variable is a number, or this word. */
export const OFF = 'off'

/**
 * A limit: a number from `min` to `max` (a whole one when `whole`), or `off` (undefined in the
 * config); unset, `fallback` (off when there is none). The message names both, so a refusal says
 * how to turn the limit off.
 */
const limit = (what: string, { min, max, whole = false }: { min: number; max: number; whole?: boolean }, fallback?: number) => {
  const en = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 6 }).replace(/,/g, '')
  const message = `${whole ? 'a whole number' : 'a number'} of ${what} from ${en(min)} to ${en(max)}, or ${OFF}`
  return z
    .string({ error: message })
    .trim()
    .optional()
    .transform((value, ctx): number | undefined => {
      if (value === undefined) return fallback
      if (value.toLowerCase() === OFF) return undefined
      const n = Number(value)
      if (value === '' || !Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
        ctx.addIssue({ code: 'custom', message })
        return z.NEVER
      }
      return n
    })
}

/** Every environment variable the app reads, parsed once. Unset and empty mean "use the default". */
export const configSchema = z.object({
  PORT: port(3000),
  DASHBOARD_PORT: port(3001),
  HOST: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9.:\-[\]]+$/, 'a host name or IP address to bind, such as 127.0.0.1')
    .default('127.0.0.1'),
  AWS_REGION: z.string().trim().regex(REGION_PATTERN, 'an AWS region name such as us-east-1').default('us-east-1'),
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }).optional(),
  /** The control plane's endpoint (ListFoundationModels, ListInferenceProfiles): the SDK's own service-specific override, read here like the runtime's. */
  AWS_ENDPOINT_URL_BEDROCK: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }).optional(),
  /**
   * A Bedrock API key for the server's own calls. The SDK would read it from the environment by
   * itself and then prefer it for every client; read here, it is handed to the server's client
   * alone, and a browser's sidebar keys are never replaced by it.
   */
  AWS_BEARER_TOKEN_BEDROCK: nonEmpty('a Bedrock API key').optional(),
  /**
   * A guardrail applied to every call (with BEDROCK_GUARDRAIL_VERSION; both or neither): its id or
   * ARN, as Bedrock's guardrailIdentifier takes it.
   */
  BEDROCK_GUARDRAIL_ID: z
    .string()
    .trim()
    .regex(GUARDRAIL_ID_PATTERN, 'a guardrail ID such as gr1a2b3c4d5e, or its ARN (arn:aws:bedrock:us-east-1:123456789012:guardrail/gr1a2b3c4d5e)')
    .optional(),
  /** The guardrail's version: a number, or DRAFT (the working draft). */
  BEDROCK_GUARDRAIL_VERSION: z.string().trim().regex(GUARDRAIL_VERSION_PATTERN, 'a guardrail version: a number such as 1, or DRAFT').optional(),
  // a file: the writer's thread opens its own connection to it (an in-memory database would be another one)
  METRICS_DB_PATH: nonEmpty('a file path for the SQLite database')
    .refine(
      (path) => path !== ':memory:' && !path.startsWith('file::memory:'),
      'a file path, not :memory: (the server and its writer thread share the database, so it must be a file)',
    )
    .default('metrics/metrics.db'),
  /**
   * PostgreSQL for a fleet (postgres://user:password@host:port/database): conversations, calls and
   * rollups in one store that every instance shares. Unset: SQLite at METRICS_DB_PATH.
   */
  DATABASE_URL: z
    .string()
    .trim()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'a PostgreSQL URL such as postgres://chat:secret@db.internal:5432/chat')
    .optional(),
  LOG_DIR: nonEmpty('a folder path for the log files').default('logs'),
  BEDROCK_MODEL_ID: nonEmpty('a Bedrock model ID or inference profile ID').default(DEFAULT_MODEL_ID),
  ALLOWED_HOSTS: z
    .string()
    .regex(/^[A-Za-z0-9.\-:[\], ]+$/, 'a comma-separated list of host names, such as chat.example.com,10.0.0.5')
    .transform((v) =>
      v
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
    )
    .default([]),
  MODEL_CATALOG_FILE: nonEmpty('a path to a JSON file of model catalogue entries').optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error'], { error: 'one of debug, info, warn, error' }).default('info'),
  /** Turns on the sign-in page: everything but static files and health checks needs it. Never trimmed. */
  APP_PASSWORD: z.string().min(8, 'a password of at least 8 characters').optional(),
  /** The header a trusted reverse proxy names its signed-in user in (X-Forwarded-User, X-Forwarded-Email...). */
  AUTH_PROXY_HEADER: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name such as X-Forwarded-User')
    .optional(),
  /** The addresses AUTH_PROXY_HEADER is believed from (the proxy's), comma-separated. */
  AUTH_PROXY_TRUSTED: ipList.default(['127.0.0.1', '::1']),
  /** The deliberate opt-out that lets the app listen beyond loopback with no access control. */
  ALLOW_UNAUTHENTICATED: z.stringbool({ error: 'true or false' }).default(false),
  /** Lets a scraper read /metrics with `Authorization: Bearer <token>` once access control is on. */
  METRICS_TOKEN: z.string().trim().min(16, 'a token of at least 16 characters').optional(),
  /** Seconds replies in flight may run on after SIGTERM before they are stopped and the server exits. */
  SHUTDOWN_GRACE_SECONDS: z.coerce
    .number({ error: 'a whole number of seconds from 0 to 3600' })
    .int('a whole number of seconds from 0 to 3600')
    .min(0, 'a whole number of seconds from 0 to 3600')
    .max(3600, 'a whole number of seconds from 0 to 3600')
    .default(20),
  /** Minutes a session may go unused before it is forgotten (its sign-in and sidebar credentials with it). */
  SESSION_IDLE_MINUTES: z.coerce
    .number({ error: 'a whole number of minutes from 1 to 43200' })
    .int('a whole number of minutes from 1 to 43200')
    .min(1, 'a whole number of minutes from 1 to 43200')
    .max(43_200, 'a whole number of minutes from 1 to 43200')
    .default(720),
  /** Milliseconds from sending a model call to its first token before it is abandoned (FirstTokenTimeout). */
  FIRST_TOKEN_TIMEOUT_MS: milliseconds(1000, 3_600_000, FIRST_TOKEN_TIMEOUT_MS),
  /** Milliseconds of silence once the answer has started before it is abandoned (StreamIdleTimeout). */
  TOKEN_IDLE_TIMEOUT_MS: milliseconds(1000, 3_600_000, TOKEN_IDLE_TIMEOUT_MS),
  /**
   * Model calls one person may start in any sliding minute (a proxy's user, else a browser): beyond
   * it a message is refused with 429 before anything is sent. Off by default.
   */
  RATE_LIMIT_PER_MINUTE: limit('model calls a minute', { min: 1, max: 100_000, whole: true }),
  /**
   * Model calls the whole server runs at once: beyond it a message is refused with 503 before
   * anything is sent. Each browser already has at most one; 256 is more people replying at the
   * same moment than a self-hosted instance serves, well within what one process streams (see
   * docs/BENCHMARKS.md, 1,000 at once) and far past the point where Bedrock's default quotas throttle.
   */
  MAX_CONCURRENT_CALLS: limit('model calls at once', { min: 1, max: 100_000, whole: true }, 256),
  /** What one person's model calls may cost in a UTC day (catalogue prices), in USD. Off by default. */
  BUDGET_USD_PER_DAY: limit('US dollars a day', { min: 0.0001, max: 1_000_000 }),
  /** What every model call of the server together may cost in a UTC day, in USD. Off by default. */
  SERVER_BUDGET_USD_PER_DAY: limit('US dollars a day', { min: 0.0001, max: 1_000_000 }),
  /**
   * Megabytes (1,000,000 bytes) of attached files one person may keep: two messages at Converse's
   * largest (20 images of 3.75 MB and 5 documents of 4.5 MB: 97.5 MB) fit in the default.
   */
  ATTACHMENT_QUOTA_MB: limit('megabytes', { min: 0.001, max: 1_000_000 }, 200),
  /**
   * Conversations unused for this many days (with their messages and files) and model calls older
   * than this are deleted, at start and then every hour. Off by default.
   */
  RETENTION_DAYS: limit('days', { min: 1, max: 36_500, whole: true }),
})

export type Config = z.infer<typeof configSchema>

/** What is checked across variables: a guardrail needs both its id and its version, and one alone names the missing one. */
const checkedConfigSchema = configSchema
  .refine((c) => c.BEDROCK_GUARDRAIL_ID === undefined || c.BEDROCK_GUARDRAIL_VERSION !== undefined, {
    path: ['BEDROCK_GUARDRAIL_VERSION'],
    message: 'a guardrail version (a number such as 1, or DRAFT) with BEDROCK_GUARDRAIL_ID: set both or neither',
  })
  .refine((c) => c.BEDROCK_GUARDRAIL_VERSION === undefined || c.BEDROCK_GUARDRAIL_ID !== undefined, {
    path: ['BEDROCK_GUARDRAIL_ID'],
    message: 'a guardrail ID with BEDROCK_GUARDRAIL_VERSION: set both or neither',
  })

/** Variables whose value a message never repeats: a refusal names them, not what they hold. */
const SECRET_VARIABLES = new Set(['AWS_BEARER_TOKEN_BEDROCK'])

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Parses the environment. A bad value throws a ConfigError whose message is one line
 * naming the variable and what it expects.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(
    Object.keys(configSchema.shape)
      .map((key) => [key, env[key]] as const)
      .filter(([, value]) => value !== undefined && value.trim() !== ''),
  )
  const parsed = checkedConfigSchema.safeParse(present)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]!
  const name = String(issue.path[0] ?? 'environment')
  const shown = SECRET_VARIABLES.has(name) ? '[***]' : withoutUserinfo(env[name] ?? '')
  throw new ConfigError(`Invalid ${name}=${JSON.stringify(shown)}: expected ${issue.message}`)
}

/** For start-up scripts: the config, or one line on stderr naming the bad variable and exit code 2. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
}
