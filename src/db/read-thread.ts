import { Database } from 'bun:sqlite'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { STREAM_ITEMS_MAX, STREAM_TEXT_MAX, type FromReader, type ToReader } from './read-protocol.ts'
import * as schema from './schema.ts'
import { toSqlError } from './write-protocol.ts'

/**
 * A read thread: its own connection, read only, and the read module's functions run on it. What
 * a read waits for (another process's lock, a slow or frozen disk) holds this thread only; the
 * server's thread gives up on the answer after its timeout (read-pool.ts) and goes on.
 */

declare const self: Worker & { close(): void }

type Fn = (...args: unknown[]) => unknown
type Open = Extract<ToReader, { type: 'open' }>

let open: Open | undefined
let sqlite: Database | undefined
let ready: Promise<Record<string, unknown>> | undefined
const streams = new Map<number, Iterator<unknown> | AsyncIterator<unknown>>()
let nextStream = 1

const send = (message: FromReader) => self.postMessage(message)

/** Opens the database on first use, and again after a failure (the file may appear later). */
function functionsReady(): Promise<Record<string, unknown>> {
  ready ??= openReaders().catch((err: unknown) => {
    ready = undefined
    throw err
  })
  return ready
}

/** The read module, loaded as soon as the thread is told which (before the first read asks for it). */
let loading: Promise<{ readers: (db: unknown, init: unknown) => Record<string, unknown> }> | undefined

async function openReaders(): Promise<Record<string, unknown>> {
  if (!open || !loading) throw new Error('the read thread was not told which database to read')
  const module = await loading
  const db = open.readonly ? new Database(open.path, { readonly: true }) : new Database(open.path, { create: false, strict: true })
  try {
    db.exec(`PRAGMA busy_timeout = ${open.busyTimeoutMs}`)
    if (!open.readonly) db.exec('PRAGMA query_only = ON')
    const functions = module.readers(drizzle({ client: db, schema }), open.init)
    sqlite = db
    return functions
  } catch (err) {
    db.close()
    throw err
  }
}

function resolve(root: Record<string, unknown>, name: string): Fn {
  let at: unknown = root
  let self: unknown = root
  for (const part of name.split('.')) {
    self = at
    at = (at as Record<string, unknown> | undefined)?.[part]
  }
  if (typeof at !== 'function') throw new Error(`the read module has no function ${name}`)
  return (at as Fn).bind(self)
}

function isGenerator(value: unknown): value is Generator<unknown> {
  return Object.prototype.toString.call(value) === '[object Generator]'
}

function isAsyncGenerator(value: unknown): value is AsyncGenerator<unknown> {
  return Object.prototype.toString.call(value) === '[object AsyncGenerator]'
}

async function take(stream: number, id: number, max: number): Promise<FromReader> {
  const iterator = streams.get(stream)
  if (!iterator) return { type: 'items', id, stream, items: [], done: true }
  const items: unknown[] = []
  let text = 0
  while (items.length < max && text < STREAM_TEXT_MAX) {
    const next = await iterator.next()
    if (next.done) {
      streams.delete(stream)
      return { type: 'items', id, stream, items, done: true }
    }
    items.push(next.value)
    if (typeof next.value === 'string') text += next.value.length
  }
  return { type: 'items', id, stream, items, done: false }
}

async function call(id: number, name: string, args: unknown[]): Promise<FromReader> {
  // a read may be async (one written for both databases); its answer is awaited here, on the thread
  const result = resolve(await functionsReady(), name)(...args)
  const value = result instanceof Promise ? await result : result
  if (!isGenerator(value) && !isAsyncGenerator(value)) return { type: 'value', id, value }
  const stream = nextStream++
  streams.set(stream, value as Iterator<unknown> | AsyncIterator<unknown>)
  return take(stream, id, STREAM_ITEMS_MAX)
}

self.onmessage = async (event: MessageEvent<ToReader>) => {
  const message = event.data
  if (message.type === 'open') {
    open = message
    loading = import(message.module)
    loading.catch(() => {})
    return
  }
  if (message.type === 'close') {
    for (const iterator of streams.values()) void iterator.return?.(undefined)
    streams.clear()
    try {
      sqlite?.close()
    } catch {}
    self.close()
    return
  }
  if (message.type === 'drop') {
    void streams.get(message.stream)?.return?.(undefined)
    streams.delete(message.stream)
    return
  }
  try {
    send(message.type === 'call' ? await call(message.id, message.name, message.args) : await take(message.stream, message.id, message.max))
  } catch (err) {
    if (message.type === 'next') streams.delete(message.stream)
    send({ type: 'error', id: message.id, error: toSqlError(err) })
  }
}
