import { BUSY_TIMEOUT_MS } from './open.ts'
import { STREAM_ITEMS_MAX, type FromReader, type ToReader } from './read-protocol.ts'
import { fromSqlError } from './write-protocol.ts'

/** How long a read may take before the server stops waiting and says the database is not answering. */
export const READ_TIMEOUT_MS = 3000

/** Read threads, each with its own connection: one slow read (an export, a frozen file) never holds every page. */
export const READ_THREADS = 2

/** Reads sent to one thread and not answered yet, at most: past this a read is refused at once, not queued. */
export const READ_QUEUE_MAX = 2000

/** What an answer the database could not give tells the browser to wait (Retry-After), in seconds. */
export const STORAGE_RETRY_S = 5

/** A read the database did not answer in time (a lock, a slow or frozen disk), or could not take. */
export class StorageNotAnswering extends Error {
  override name = 'StorageNotAnswering'
  readonly code = 'STORAGE_NOT_ANSWERING'
}

/** Whether the last read was answered; if not, since when and why (for /readyz and the dashboard's banner). */
export type ReaderStatus = { ok: true } | { ok: false; since: Date; reason: string }

type Fn = (...args: never[]) => unknown
/** A generator's items arrive a slice at a time; any other result whole. */
type Answer<R> = Promise<
  R extends Generator<infer I, unknown, unknown> ? AsyncIterable<I> : R extends AsyncGenerator<infer I, unknown, unknown> ? AsyncIterable<I> : Awaited<R>
>

/** The read module's functions as the server's thread calls them: the same names and arguments, answered later. */
export type Remote<T> = {
  [K in keyof T]: T[K] extends Fn ? (...args: Parameters<T[K]>) => Answer<ReturnType<T[K]>> : T[K] extends object ? Remote<T[K]> : never
}

type Waiting = { resolve: (message: FromReader) => void; reject: (err: unknown) => void; timer: ReturnType<typeof setTimeout> }
type Thread = { worker: Worker; waiting: Map<number, Waiting>; unanswered: Set<number> }

export type ReadPoolOptions = {
  path: string
  /** The module run on each thread: it exports `readers(db, init)`, returning the functions to call. */
  module: URL
  /** What the module's `readers` gets, taken when a thread starts (a catalogue's overrides). */
  init?: () => unknown
  /** Opens the file read-only (the dashboard's own process); otherwise a connection that may not write. */
  readonly?: boolean
  threads?: number
  timeoutMs?: number
  /** Says why reads fail when the database cannot be opened (the dashboard's "no database yet"). */
  cannotOpen?: (reason: string) => string
}

/**
 * The database's readers: a few threads, each with its own connection, running the functions
 * of one read module. The server's thread only posts a call and awaits its answer, bounded by
 * `timeoutMs`, so a lock, a slow disk or a frozen file never holds it: the read fails with
 * StorageNotAnswering and the page says so. A read goes to the thread with the fewest unanswered.
 */
export function createReadPool<T>({
  path,
  module,
  init,
  readonly = false,
  threads: size = READ_THREADS,
  timeoutMs = READ_TIMEOUT_MS,
  cannotOpen,
}: ReadPoolOptions) {
  const threads: (Thread | undefined)[] = Array.from({ length: size }, () => undefined)
  let status: ReaderStatus = { ok: true }
  let nextId = 1
  let closed = false

  const failed = (reason: string) => {
    if (status.ok) status = { ok: false, since: new Date(), reason }
  }

  function start(slot: number): Thread {
    const worker = new Worker(new URL('./read-thread.ts', import.meta.url).href)
    ;(worker as Worker & { unref(): void }).unref()
    const thread: Thread = { worker, waiting: new Map(), unanswered: new Set() }
    worker.onmessage = (event: MessageEvent<FromReader>) => {
      thread.unanswered.delete(event.data.id)
      const waiting = thread.waiting.get(event.data.id)
      thread.waiting.delete(event.data.id)
      if (!waiting) return
      clearTimeout(waiting.timer)
      waiting.resolve(event.data)
    }
    const lost = (reason: string) => {
      if (threads[slot] !== thread) return
      threads[slot] = undefined
      const err = new StorageNotAnswering(`a read thread stopped: ${reason}`)
      for (const waiting of thread.waiting.values()) {
        clearTimeout(waiting.timer)
        waiting.reject(err)
      }
      thread.waiting.clear()
    }
    worker.addEventListener('error', (event) => lost((event as ErrorEvent).message ?? 'error'))
    worker.addEventListener('close', () => lost('closed'))
    worker.postMessage({ type: 'open', path, readonly, busyTimeoutMs: BUSY_TIMEOUT_MS, module: module.href, init: init?.() } satisfies ToReader)
    threads[slot] = thread
    return thread
  }

  /** The thread with the fewest reads unanswered (a stuck one collects them and is left alone). */
  function pick(): Thread {
    let best = -1
    for (let i = 0; i < threads.length; i++) {
      const thread = threads[i]
      if (!thread) return start(i)
      if (best < 0 || thread.unanswered.size < threads[best]!.unanswered.size) best = i
    }
    return threads[best]!
  }

  function ask(thread: Thread, message: Extract<ToReader, { type: 'call' | 'next' }>): Promise<FromReader> {
    if (thread.unanswered.size >= READ_QUEUE_MAX) {
      return Promise.reject(new StorageNotAnswering(`The database is not answering: ${thread.unanswered.size} reads are waiting for it.`))
    }
    return new Promise<FromReader>((resolve, reject) => {
      const timer = setTimeout(() => {
        thread.waiting.delete(message.id)
        const reason = `The database did not answer within ${timeoutMs / 1000} s (it may be locked, or its disk slow or frozen).`
        failed(reason)
        reject(new StorageNotAnswering(reason))
      }, timeoutMs)
      timer.unref?.()
      thread.waiting.set(message.id, { resolve, reject, timer })
      thread.unanswered.add(message.id)
      thread.worker.postMessage(message)
    })
  }

  function settle(message: FromReader): unknown {
    if (message.type === 'error') {
      const err = fromSqlError(message.error)
      const missing = /^SQLITE_CANTOPEN/.test(message.error.code ?? '') || /unable to open/i.test(message.error.message)
      if (missing || /^SQLITE_(NOTADB|CORRUPT|IOERR|BUSY|LOCKED)/.test(message.error.code ?? '')) {
        // a file not there (yet) is said in the caller's words; a lock or an I/O error as it is
        const reason = missing && cannotOpen ? cannotOpen(message.error.message) : message.error.message
        failed(reason)
        throw new StorageNotAnswering(reason)
      }
      throw err
    }
    status = { ok: true }
    return message.type === 'value' ? message.value : undefined
  }

  /** The rest of a generator's items, asked of the thread that holds it, a slice at a time. */
  async function* streamed(thread: Thread, first: Extract<FromReader, { type: 'items' }>): AsyncGenerator<unknown> {
    let message = first
    let done = false
    try {
      while (true) {
        yield* message.items
        if (message.done) {
          done = true
          return
        }
        const answer = await ask(thread, { type: 'next', id: nextId++, stream: message.stream, max: STREAM_ITEMS_MAX })
        settle(answer)
        message = answer as typeof first
      }
    } finally {
      if (!done) thread.worker.postMessage({ type: 'drop', stream: message.stream } satisfies ToReader)
    }
  }

  async function call(name: string, args: unknown[]): Promise<unknown> {
    if (closed) throw new StorageNotAnswering('the server is stopping')
    const thread = pick()
    const answer = await ask(thread, { type: 'call', id: nextId++, name, args })
    const value = settle(answer)
    return answer.type === 'items' ? streamed(thread, answer) : value
  }

  // the threads start with the pool, so the first page does not wait for them to load
  for (let i = 0; i < size; i++) start(i)

  function remote(prefix: string): unknown {
    return new Proxy(() => {}, {
      get: (_, key) => (typeof key === 'string' ? remote(prefix ? `${prefix}.${key}` : key) : undefined),
      apply: (_, __, args: unknown[]) => call(prefix, args),
    })
  }

  function stop(thread: Thread | undefined) {
    if (!thread) return
    thread.worker.postMessage({ type: 'close' } satisfies ToReader)
    // a thread inside a read (a frozen disk) never reads the message: it is stopped anyway
    setTimeout(() => thread.worker.terminate(), 500).unref?.()
  }

  return {
    /** The read module's functions, called on the read threads. */
    reads: remote('') as Remote<T>,
    /** Whether the last read was answered. */
    get status(): ReaderStatus {
      return status
    },
    /** Opens the file again on every thread (it was replaced, deleted or made again under its name). */
    reopen() {
      for (let i = 0; i < threads.length; i++) {
        stop(threads[i])
        threads[i] = undefined
      }
    },
    close() {
      closed = true
      this.reopen()
    },
  }
}

export type ReadPool<T> = ReturnType<typeof createReadPool<T>>
