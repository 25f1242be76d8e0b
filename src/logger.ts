import { mkdirSync } from 'node:fs'
import { Logger, type ILogObj } from 'tslog'
import { createStream, type RotatingFileStream } from 'rotating-file-stream'
import { maskKnownSecrets } from './known-secrets.ts'

/** The log file, as the original design named it; backups are LOG_FILE.1 (newest) to .3. */
export const LOG_FILE = 'bedrock_chatbot.log'
export const LOG_MAX_SIZE = '5M'
export const LOG_BACKUPS = 3
/** Most characters one write to the log file carries. */
const LOG_WRITE_CHUNK = 64 * 1024

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
]

/**
 * Secret-shaped text inside strings: SigV4 headers and signatures, bearer tokens, key=value pairs,
 * and the user:password of a URL (http://[***]@host keeps the host, which is what a reader needs).
 */
const SECRET_PATTERNS = [
  /AWS4-HMAC-SHA256[^"\n]*/g,
  /\bBearer [A-Za-z0-9._~+/=-]{8,}/g,
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
let fileStream: RotatingFileStream | null = null

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
 * A failing file (disk full, folder removed) is reported once on the console and never throws into callers.
 */
export function configureLogging(options: LoggingOptions): { logFile: string; close(): Promise<void> } {
  const previous = fileStream
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
    fileStream = null
    void previous?.end()
    return { logFile: `${options.logDir}/${LOG_FILE}`, close: async () => {} }
  }
  mkdirSync(options.logDir, { recursive: true })
  const stream = createStream(LOG_FILE, {
    path: options.logDir,
    size: (options.maxSize ?? LOG_MAX_SIZE) as `${number}M`,
    rotate: LOG_BACKUPS,
  })
  let reported = false
  stream.on('error', (err) => {
    if (reported) return
    reported = true
    console.error(`log file ${options.logDir}/${LOG_FILE} cannot be written: ${err.message}`)
  })
  fileStream = stream
  // Lines logged in the same turn of the event loop reach the file in one write: the file system
  // calls of the stream run on the JavaScript thread, and one per line cost more than the logging.
  // Writes stay small enough that rotation (checked after each write) keeps files near 5 MB.
  let pending: string[] = []
  const flush = () => {
    const lines = pending
    pending = []
    let chunk = ''
    for (const line of lines) {
      chunk += `${line}\n`
      if (chunk.length >= LOG_WRITE_CHUNK) {
        write(chunk)
        chunk = ''
      }
    }
    if (chunk) write(chunk)
  }
  const write = (chunk: string) => {
    if (!stream.destroyed && stream.writable) stream.write(chunk)
  }
  root.attachTransport({
    name: 'file',
    format: 'json',
    write: (_record, line) => {
      if (pending.push(redact(line)) === 1) setImmediate(flush)
    },
  })
  void previous?.end()
  return {
    logFile: `${options.logDir}/${LOG_FILE}`,
    close: () =>
      new Promise<void>((resolve) => {
        if (fileStream !== stream) return resolve()
        flush()
        fileStream = null
        stream.end(() => resolve())
      }),
  }
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
