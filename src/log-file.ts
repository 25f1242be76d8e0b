import { mkdirSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createStream, type RotatingFileStream } from 'rotating-file-stream'

/** Most characters one write to the log file carries. */
const WRITE_CHUNK = 64 * 1024
/** How often the file is checked: reopened after a fault, or after logrotate moved or deleted it. */
export const LOG_CHECK_MS = 2000
/** Lines kept while the file cannot be written, written once it can (the oldest dropped past this). */
const HELD_MAX_CHARS = 1024 * 1024

export type LogFileOptions = {
  dir: string
  name: string
  maxSize: string
  backups: number
  checkMs?: number
  /** Told when the file stops being written and when it is written again. */
  onStatus?: (status: LogFileStatus) => void
}

/** Whether the log file is being written, and if not, since when and why. */
export type LogFileStatus = { ok: true } | { ok: false; since: Date; reason: string }

/**
 * The rotating log file, and its recovery. A full disk, a permission fault or a deleted folder
 * stops the file stream; lines are then held (up to a bound) and the file is reopened on the next
 * check, so logging resumes by itself. A file renamed or deleted by logrotate is noticed by its
 * inode and reopened under its name. Lines logged in the same turn of the event loop reach the
 * file in one write: the stream's file system calls run on the JavaScript thread, and one per
 * line would cost more than the logging.
 */
export function createLogFile(options: LogFileOptions) {
  const path = join(options.dir, options.name)
  let stream: RotatingFileStream | null = null
  let inode: number | undefined
  let status: LogFileStatus = { ok: true }
  let pending: string[] = []
  let held: string[] = []
  let heldChars = 0
  let closed = false

  const fail = (reason: string) => {
    if (status.ok) {
      status = { ok: false, since: new Date(), reason }
      options.onStatus?.(status)
    }
    stream?.removeAllListeners()
    stream?.destroy()
    stream = null
  }

  const open = () => {
    try {
      mkdirSync(options.dir, { recursive: true })
      const next = createStream(options.name, { path: options.dir, size: options.maxSize as `${number}M`, rotate: options.backups })
      next.on('error', (err) => fail(err.message))
      // after its own rotation the file under the name is a new one: remember it, do not "recover" it
      next.on('rotated', () => void remember())
      stream = next
      void remember()
      const backlog = held.join('')
      held = []
      heldChars = 0
      if (backlog) write(backlog)
    } catch (err) {
      fail((err as Error).message)
    }
  }

  async function remember() {
    inode = await stat(path).then(
      (s) => s.ino,
      () => undefined,
    )
  }

  const write = (chunk: string) => {
    if (stream && !stream.destroyed && stream.writable) {
      // the file counts as written again once a write has landed, not when it merely opened
      stream.write(chunk, (err) => {
        if (!err && !status.ok) {
          status = { ok: true }
          options.onStatus?.(status)
        }
      })
      return
    }
    held.push(chunk)
    heldChars += chunk.length
    while (heldChars > HELD_MAX_CHARS && held.length > 1) heldChars -= held.shift()!.length
  }

  const flush = () => {
    const lines = pending
    pending = []
    let chunk = ''
    for (const line of lines) {
      chunk += `${line}\n`
      if (chunk.length >= WRITE_CHUNK) {
        write(chunk)
        chunk = ''
      }
    }
    if (chunk) write(chunk)
  }

  /** Reopens a failed file, or one that is no longer the file under its name (moved, deleted). */
  const check = async () => {
    if (closed) return
    if (!stream) return open()
    const now = await stat(path).then(
      (s) => s.ino,
      () => undefined,
    )
    if (closed || !stream) return
    if (now === undefined || (inode !== undefined && now !== inode)) {
      const old = stream
      stream = null
      old.removeAllListeners()
      old.end()
      open()
    }
  }
  const timer = setInterval(() => void check(), options.checkMs ?? LOG_CHECK_MS)
  timer.unref()

  open()

  return {
    path,
    /** Queues one line; the lines of one turn are written together. */
    line(text: string) {
      if (pending.push(text) === 1) setImmediate(flush)
    },
    get status(): LogFileStatus {
      return status
    },
    /** Checks now (tests; the timer does it on its own). */
    check,
    close(): Promise<void> {
      closed = true
      clearInterval(timer)
      flush()
      const current = stream
      stream = null
      if (!current) return Promise.resolve()
      return new Promise<void>((resolve) => current.end(() => resolve()))
    },
  }
}

export type LogFile = ReturnType<typeof createLogFile>
