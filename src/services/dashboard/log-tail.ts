import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { LOG_BACKUPS, LOG_FILE } from '../../logger.ts'

export type LogLine = {
  /** ISO time, level and logger name when the line is one of ours (JSON); absent for foreign lines. */
  time?: string
  level?: string
  name?: string
  message: string
  /** The entry's own fields (model, status, ms...), flattened for display. */
  fields: [string, string][]
}

export type LogTail = { lines: LogLine[]; error?: string }

const CHUNK = 64 * 1024
/** Never read more than this from one file looking for lines (a file of one huge line). */
const MAX_SCAN = 4 * 1024 * 1024
const META_KEYS = new Set(['message', 'level', 'levelId', 'time', '_logMeta'])

/**
 * The last complete lines of a file, read backwards from its end in chunks (a 5 MB log costs
 * ~0.1 ms, not a whole read). A last line still being written (no newline yet) is left out.
 */
export function lastLines(path: string, count: number): string[] {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    let end = size
    let bytes = Buffer.alloc(0)
    let lines: string[] = []
    while (end > 0 && size - end < MAX_SCAN) {
      const start = Math.max(0, end - CHUNK)
      const buffer = Buffer.alloc(end - start)
      readSync(fd, buffer, 0, buffer.length, start)
      // decode the bytes together, so a character split across two chunks stays whole
      bytes = Buffer.concat([buffer, bytes])
      end = start
      lines = bytes.toString('utf8').split('\n')
      // the first piece may be a partial line unless we reached the file's start
      if (lines.length - 2 >= count) break
    }
    // drop the unterminated tail (half-written line, or '' after the final newline)
    lines.pop()
    if (end > 0) lines.shift()
    return lines.filter((l) => l.trim() !== '').slice(-count)
  } finally {
    closeSync(fd)
  }
}

function flatten(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** One log line for display: our JSON entries split into time, level, name, message and fields. */
export function parseLogLine(raw: string): LogLine {
  try {
    const entry = JSON.parse(raw) as Record<string, unknown> & { _logMeta?: { name?: string } }
    if (entry && typeof entry === 'object' && 'message' in entry) {
      return {
        time: typeof entry['time'] === 'string' ? entry['time'] : undefined,
        level: typeof entry['level'] === 'string' ? entry['level'] : undefined,
        name: entry._logMeta?.name,
        message: flatten(entry['message']),
        fields: Object.entries(entry)
          .filter(([key]) => !META_KEYS.has(key))
          .map(([key, value]) => [key, flatten(value)]),
      }
    }
  } catch {
    // not one of ours: shown as it is
  }
  return { message: raw, fields: [] }
}

/**
 * The newest lines of LOG_DIR/bedrock_chatbot.log, reading on into .1 (and older) when the live
 * file was just rotated and holds fewer lines. A missing or unreadable log is reported, not thrown.
 */
export function createLogTail(logDir: string) {
  const files = [LOG_FILE, ...Array.from({ length: LOG_BACKUPS }, (_, i) => `${LOG_FILE}.${i + 1}`)].map((f) => join(logDir, f))

  return {
    path: files[0]!,

    tail(count = 20): LogTail {
      const collected: string[] = []
      for (const [index, file] of files.entries()) {
        try {
          collected.unshift(...lastLines(file, count - collected.length))
        } catch (err) {
          const code = (err as { code?: string }).code
          if (index === 0) {
            const error =
              code === 'ENOENT'
                ? `No log yet at ${file}: it appears with the app's first entry.`
                : `The log at ${file} cannot be read (${code ?? (err as Error).message}).`
            return { lines: [], error }
          }
          break
        }
        if (collected.length >= count) break
      }
      return { lines: collected.map(parseLogLine) }
    },

    /** Changes whenever the live file is written or rotated: cheap enough to call every second. */
    changeToken(): string {
      try {
        const s = statSync(files[0]!)
        return `${s.size}:${s.mtimeMs}:${s.ino}`
      } catch {
        return 'missing'
      }
    },
  }
}

export type LogTailService = ReturnType<typeof createLogTail>
