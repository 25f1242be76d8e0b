import { Logger, type ILogObj } from 'tslog'
import { maskKnownSecrets } from './known-secrets.ts'
import { createLogFile, type LogFile, type LogFileStatus } from './log-file.ts'

/** The log file, as the original design named it; backups are LOG_FILE.1 (newest) to .3. */
export const LOG_FILE = 'bedrock_chatbot.log'
export const LOG_MAX_SIZE = '5M'
export const LOG_BACKUPS = 3

/** Object keys whose values never reach a log line, whatever object is logged. */
const SECRET_KEYS = [
  'secretAccessKey',
  'aws_secret_access_key',
  'AWS_SECRET_ACCESS_KEY',
  'sessionToken',
  'aws_session_token',
  'AWS_SESSION_TOKEN',
  'x-amz-security-token',
  'authorization',
  'cookie',
  'set-cookie',
  'password',
  'credentials',
  'apiKey',
  'AWS_BEARER_TOKEN_BEDROCK',
]

/**
 * Secret-shaped text inside strings: SigV4 headers and signatures, bearer tokens, key=value pairs,
 * and the user:password of a URL (http://[***]@host keeps the host, which is what a reader needs).
 */
const SECRET_PATTERNS = [
  /AWS4-HMAC-SHA256[^"\n]*/g,
  /\bBearer [A-Za-z0-9._~+/=-]{8,}/g,
  // a Bedrock API key wherever it is quoted, long-term (ABSK…) or short-term (bedrock-api-key-…)
  /\b(ABSK|bedrock-api-key-)[A-Za-z0-9+/]{8,}={0,2}/g,
  /(?<=\b[a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'<>]+(?=@)/gi,
  /X-Amz-(Signature|Security-Token|Credential)=[^&\s"]+/gi,
  /(secret_?access_?key|session_?token|sid)\s*[=:]\s*"?[^\s",;]+/gi,
]

const PLACEHOLDER = '[***]'

type Level = 'debug' | 'info' | 'warn' | 'error'
const LEVEL_IDS: Record<Level, number> = { debug: 2, info: 3, warn: 4, error: 5 }

export type AppLogger = Logger<ILogObj>

/** The literal secrets every line is cleaned of, at a cost that does not grow with their number. */
export { forgetSecret, registerSecret } from './known-secrets.ts'

/** Removes every secret this module knows of from a finished line. */
export function redact(line: string): string {
  let out = line
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, PLACEHOLDER)
  return maskKnownSecrets(out, PLACEHOLDER)
}

let root: AppLogger = createRootLogger()
let logFile: LogFile | null = null

function createRootLogger(level: Level = 'info'): AppLogger {
  return new Logger<ILogObj>({
    name: 'app',
    type: 'hidden',
    minLevel: LEVEL_IDS[level],
    mask: { keys: SECRET_KEYS, caseInsensitive: true, regex: SECRET_PATTERNS },
    stack: { capture: 'off' },
  })
}

export type LoggingOptions = {
  logDir: string
  level?: Level
  /** Console output for warnings and above (off in tests). */
  console?: boolean
  /** Rotation size, for tests; the product always uses 5 MB. */
  maxSize?: string
  /** Write the log file (default). A second process reading the same folder (the dashboard) says false. */
  file?: boolean
}

/**
 * Configures the root logger: one JSON entry per line in LOG_DIR/bedrock_chatbot.log, rotated at
 * 5 MB with 3 backups, and warnings and above on the console. Creates the folder if missing.
 * A failing file (disk full, folder removed, renamed by logrotate) is said on the console, never
 * throws into callers, and is reopened by itself (log-file.ts).
 */
export function configureLogging(options: LoggingOptions): { logFile: string; check(): Promise<void>; close(): Promise<void> } {
  const previous = logFile
  root = createRootLogger(options.level)
  if (options.console !== false) {
    root.attachTransport({
      name: 'console',
      minLevel: LEVEL_IDS.warn,
      format: 'pretty',
      write: (_record, line) => console.error(redact(line)),
    })
  }
  if (options.file === false) {
    logFile = null
    void previous?.close()
    return { logFile: `${options.logDir}/${LOG_FILE}`, check: async () => {}, close: async () => {} }
  }
  const file = createLogFile({
    dir: options.logDir,
    name: LOG_FILE,
    maxSize: options.maxSize ?? LOG_MAX_SIZE,
    backups: LOG_BACKUPS,
    onStatus: (status) =>
      console.error(
        status.ok
          ? `log file ${options.logDir}/${LOG_FILE} is written again`
          : `log file ${options.logDir}/${LOG_FILE} cannot be written (${status.reason}): lines are held and it is retried`,
      ),
  })
  logFile = file
  root.attachTransport({
    name: 'file',
    format: 'json',
    write: (_record, line) => file.line(redact(line)),
  })
  void previous?.close()
  return {
    logFile: file.path,
    /** Checks the file now instead of at the next timer (tests). */
    check: () => file.check(),
    close: () => {
      if (logFile === file) logFile = null
      return file.close()
    },
  }
}

/** Whether the log file is being written right now (for /readyz). */
export function logFileStatus(): LogFileStatus | undefined {
  return logFile?.status
}

/**
 * A named logger (the module's name); its entries carry `name` in the file. Safe to call at
 * import time: it follows the root logger that configureLogging installs later.
 */
export function getLogger(name: string) {
  let cache: { root: AppLogger; sub: AppLogger } | null = null
  const sub = () => (cache?.root === root ? cache.sub : (cache = { root, sub: root.getSubLogger({ name }) }).sub)
  return {
    debug: (message: string, ...args: unknown[]) => void sub().debug(message, ...args),
    info: (message: string, ...args: unknown[]) => void sub().info(message, ...args),
    warn: (message: string, ...args: unknown[]) => void sub().warn(message, ...args),
    error: (message: string, ...args: unknown[]) => void sub().error(message, ...args),
  }
}

export type Log = ReturnType<typeof getLogger>
