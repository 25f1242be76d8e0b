import { z } from 'zod'
import { REGION_PATTERN } from './services/aws-names.ts'
import { withoutUserinfo } from './services/endpoints.ts'

/** Addresses and names that reach only this machine. */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1', '[::1]']

export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.includes(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** The default model: a current Claude model through its US cross-region inference profile. */
export const DEFAULT_MODEL_ID = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'

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
  /**
   * A Bedrock API key for the server's own calls. The SDK would read it from the environment by
   * itself and then prefer it for every client; read here, it is handed to the server's client
   * alone, and a browser's sidebar keys are never replaced by it.
   */
  AWS_BEARER_TOKEN_BEDROCK: nonEmpty('a Bedrock API key').optional(),
  METRICS_DB_PATH: nonEmpty('a file path for the SQLite database').default('metrics/metrics.db'),
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
  /** Minutes a session may go unused before it is forgotten (its sign-in and sidebar credentials with it). */
  SESSION_IDLE_MINUTES: z.coerce
    .number({ error: 'a whole number of minutes from 1 to 43200' })
    .int('a whole number of minutes from 1 to 43200')
    .min(1, 'a whole number of minutes from 1 to 43200')
    .max(43_200, 'a whole number of minutes from 1 to 43200')
    .default(720),
})

export type Config = z.infer<typeof configSchema>

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
  const parsed = configSchema.safeParse(present)
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
