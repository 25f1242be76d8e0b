import { afterAll, beforeAll } from 'bun:test'
import { Database } from 'bun:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp, type App } from '../src/app.ts'
import type { Deps } from '../src/deps.ts'
import { loadConfig } from '../src/config.ts'
import { openDatabase, type OpenedDatabase } from '../src/db/open.ts'
import { numberPlaceholders, postgresReadClient } from '../src/db/pg/sql-reader.ts'
import { openPostgresStore, type Store } from '../src/store.ts'
import { createDeps, type DepsOptions } from '../src/deps.ts'
import { configureLogging, LOG_FILE } from '../src/logger.ts'
import { serve } from '../src/server.ts'
import { startEmulator } from '../src/emulator/server.ts'
import { testDatabase, type TestDatabase } from './support/postgres.ts'

export type Emulator = Awaited<ReturnType<typeof startEmulator>>

/** The server's own credentials in tests: static, so nothing is read from the machine. */
export const SERVER_CREDENTIALS = { accessKeyId: 'AKIASERVERSERVER0001', secretAccessKey: 'serverSecretKeyForTests0000000000000000' }

export type TestApp = Awaited<ReturnType<typeof makeApp>>

/**
 * The database the suite runs on: SQLite (the default), or PostgreSQL with TEST_STORE=postgres
 * (`bun run test:postgres`), where every makeApp gets a fresh database on the run's server.
 */
export const TEST_STORE: 'sqlite' | 'postgres' = process.env.TEST_STORE === 'postgres' ? 'postgres' : 'sqlite'

/** A value as a test reads it from either database: PostgreSQL's flags and instants as SQLite stores them. */
function sqliteShaped(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0
  if (value instanceof Date) return value.getTime()
  return value
}

/** The rows a statement gives, on the test app's own database; `?` placeholders on both. */
type RunSql = <T = Record<string, unknown>>(query: string, ...params: unknown[]) => Promise<T[]>

function sqliteSql(database: OpenedDatabase): RunSql {
  return async <T>(query: string, ...params: unknown[]) => database.sqlite.query(query).all(...(params as never[])) as T[]
}

/** A client of the test's own (int8 and numeric as numbers, as the app's reads get them), one connection. */
function postgresSql(url: string): { sql: RunSql; end(): Promise<void> } {
  const client = postgresReadClient(url, { max: 1, onnotice: () => {} })
  return {
    async sql<T>(query: string, ...params: unknown[]) {
      const rows = await client.unsafe(numberPlaceholders(query), params as never[])
      return rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, sqliteShaped(v)]))) as T[]
    },
    end: () => client.end({ timeout: 5 }),
  }
}

/**
 * The real app on a temporary database and log folder, pointed at an emulator (its own unless
 * one is passed). Nothing of ours is replaced; `overrides` adjusts the environment or wiring.
 */
export async function makeApp(
  overrides: {
    env?: Record<string, string>
    emulator?: Emulator
    deps?: Partial<DepsOptions>
    /** On PostgreSQL, a database that outlives this app (a restart test's; SQLite's is METRICS_DB_PATH in `env`): not dropped on close. */
    databaseUrl?: string
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'bedrock-chat-test-'))
  const emulator = overrides.emulator ?? (await startEmulator({ port: 0 }))
  const config = loadConfig({
    METRICS_DB_PATH: join(dir, 'metrics', 'metrics.db'),
    LOG_DIR: join(dir, 'logs'),
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: emulator.url,
    AWS_ENDPOINT_URL_BEDROCK: emulator.url,
    ...overrides.env,
  })
  const logging = configureLogging({ logDir: config.LOG_DIR, console: false })
  // on PostgreSQL, a database of the app's own on the run's server (unless the test brings a store)
  const onPostgres = TEST_STORE === 'postgres' && !overrides.deps?.store
  const kept = overrides.databaseUrl
  const pgDatabase: TestDatabase | undefined = onPostgres ? (kept ? { url: kept, drop: async () => {} } : await testDatabase()) : undefined
  const pgStore: Store | undefined = pgDatabase ? await openPostgresStore(pgDatabase.url, { readTimeoutMs: overrides.deps?.readTimeoutMs }) : undefined
  const pg = pgDatabase ? postgresSql(pgDatabase.url) : undefined
  const sqliteDatabase = pgDatabase ? undefined : openDatabase(config.METRICS_DB_PATH)
  const deps: Deps = createDeps({
    config,
    database: sqliteDatabase,
    store: pgStore,
    bedrock: { serverCredentials: SERVER_CREDENTIALS },
    ...overrides.deps,
  })
  const app = createApp(deps)
  const store = deps.store.dialect.name
  return {
    app,
    deps,
    config,
    dir,
    emulator,
    /** Which database the app runs on. */
    store,
    /** A `?` for an instant given as epoch ms, in t.sql's statements: SQLite stores the number, PostgreSQL a timestamptz. */
    instant: store === 'postgres' ? 'to_timestamp(?::float8 / 1000)' : '?',
    /** The PostgreSQL database's URL (TEST_STORE=postgres), for a second instance or a process of its own. */
    databaseUrl: pgDatabase?.url,
    /** SQLite's file, for tests of SQLite's own mechanics (they skip under TEST_STORE=postgres). */
    get database(): OpenedDatabase {
      if (!sqliteDatabase) throw new Error(`t.database is SQLite's, and this app runs on ${store}: use t.sql, or skip the test on PostgreSQL`)
      return sqliteDatabase
    },
    /**
     * Reads or changes rows directly, on whichever database the app runs (`?` placeholders). Rows
     * read alike on both: PostgreSQL's booleans come back as 1/0 and its timestamps as epoch ms,
     * as SQLite stores them, so a test's expected rows are written once.
     */
    sql: (pg?.sql ??
      (sqliteDatabase
        ? sqliteSql(sqliteDatabase)
        : () => Promise.reject(new Error('t.sql: this test brought its own PostgreSQL store, so makeApp does not know its URL')))) as RunSql,
    logFile: join(config.LOG_DIR, LOG_FILE),
    /** The log file's text, after the stream has flushed. */
    async logText() {
      await Bun.sleep(50)
      return Bun.file(join(config.LOG_DIR, LOG_FILE)).text()
    },
    async close() {
      deps.sessions.abortAll('shutdown')
      await deps.writer.close(1000)
      await deps.store.close()
      await logging.close()
      sqliteDatabase?.close()
      await pg?.end()
      await pgDatabase?.drop()
      if (!overrides.emulator) await emulator.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The same app served over real HTTP on a free port, as src/index.ts serves it. */
export function listen(app: App, deps: Deps, options: { idleTimeout?: number } = {}) {
  const server = serve(app, { port: 0, hostname: '127.0.0.1', ...options })
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) }
}

export type SseMessage = { event?: string; data: string }

/** Splits an event-stream body into its messages (comments such as heartbeats are counted apart). */
export function parseSse(body: string): { messages: SseMessage[]; comments: number } {
  const messages: SseMessage[] = []
  let comments = 0
  for (const block of body.split(/\r?\n\r?\n/)) {
    if (!block.trim()) continue
    const data: string[] = []
    let event: string | undefined
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(':')) comments += 1
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
      else if (line.startsWith('event:')) event = line.slice(6).trim()
    }
    if (data.length) messages.push({ event, data: data.join('\n') })
  }
  return { messages, comments }
}

/**
 * The reply's text as the stream's <hx-partial ... hx-swap="beforeend"> pieces append it, one per
 * token: into the text element, or into its newest chunk (`#m-ID-text-N`, views/stream-chunks.tsx),
 * the piece that starts a chunk carrying it with its first token.
 */
export function streamedPieces(messages: SseMessage[]): string[] {
  const pieces: string[] = []
  for (const m of messages) {
    for (const match of m.data.matchAll(/<hx-partial hx-target="#m-[\w-]+-text(?:-\d+)?" hx-swap="beforeend">([\s\S]*?)<\/hx-partial>/g)) {
      const chunk = /^<div class="stream-chunk" id="[\w-]+">([\s\S]*)<\/div>$/.exec(match[1]!)
      pieces.push(unescapeHtml(chunk ? chunk[1]! : match[1]!))
    }
  }
  return pieces
}

export function unescapeHtml(html: string): string {
  return html
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
}

/**
 * A browser-like client for one session: keeps its cookie, sends the Origin header a browser
 * sends, and speaks htmx's headers when asked. Works against `app.request` or a real URL.
 */
export function browser(target: App | string) {
  let cookie = ''
  const origin = typeof target === 'string' ? target : 'http://localhost'
  async function request(path: string, init: RequestInit & { htmx?: boolean } = {}) {
    const headers = new Headers(init.headers)
    if (cookie) headers.set('Cookie', cookie)
    headers.set('Origin', origin)
    if (init.htmx) {
      headers.set('HX-Request', 'true')
      headers.set('HX-Request-Type', 'partial')
    }
    const res =
      typeof target === 'string'
        ? await fetch(target + path, { ...init, headers, redirect: 'manual' })
        : await target.request(origin + path, { ...init, headers, redirect: 'manual' })
    // a cookie jar, as a browser keeps one: each Set-Cookie replaces its name, an expired one goes
    for (const set of res.headers.getSetCookie()) {
      const pair = set.split(';')[0]!
      const name = pair.slice(0, pair.indexOf('='))
      const kept = cookie ? cookie.split('; ').filter((c) => !c.startsWith(`${name}=`)) : []
      if (!/;\s*Max-Age=0/i.test(set) && !/;\s*Expires=Thu, 01 Jan 1970/i.test(set)) kept.push(pair)
      cookie = kept.join('; ')
    }
    return res
  }
  /** Where the next message goes: a new chat until the first reply names its conversation. */
  let messagesPath = '/c/new/messages'
  return {
    get cookie() {
      return cookie
    },
    /** The open conversation's address (/c/ID), once there is one. */
    get conversation() {
      return messagesPath === '/c/new/messages' ? undefined : messagesPath.replace(/\/messages$/, '')
    },
    /** Starts a new chat: the next message creates a conversation. */
    newChat() {
      messagesPath = '/c/new/messages'
    },
    open(conversationPath: string) {
      messagesPath = `${conversationPath}/messages`
    },
    get: (path: string, init: RequestInit & { htmx?: boolean } = {}) => request(path, init),
    post: (path: string, form: Record<string, string>, init: RequestInit & { htmx?: boolean } = {}) =>
      request(path, { ...init, method: 'POST', body: new URLSearchParams(form) }),
    /** Posts a message the way the page's htmx form does, and reads the whole streamed answer. */
    async send(message: string, extra: Record<string, string> = {}) {
      const res = await request(messagesPath, { method: 'POST', body: new URLSearchParams({ message, ...extra }), htmx: true })
      const body = await res.text()
      // as in the page, the last word on where the composer posts wins
      const post = [...body.matchAll(/id="conversation-meta" hidden="" data-url="[^"]*" data-post="([^"]+)"/g)].at(-1)?.[1]
      if (post) messagesPath = post
      return { res, body, ...parseSse(body) }
    },
    /** Posts the composer as a browser without JavaScript does (a normal form post). */
    async sendWithoutScripts(message: string) {
      const res = await request(messagesPath, { method: 'POST', body: new URLSearchParams({ message }) })
      const location = res.headers.get('location') ?? ''
      const path = location.match(/^\/c\/[\w-]+/)?.[0]
      if (path) messagesPath = `${path}/messages`
      return res
    },
  }
}

/** Waits until `check` passes or the time is up (for effects that land asynchronously). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (err) {
      if (Date.now() > deadline) throw err
      await Bun.sleep(20)
    }
  }
}

/** Words no other test uses, so a test can find its own requests and rows in a shared emulator. */
export function unique(text: string): string {
  return `${text} #${crypto.randomUUID().slice(0, 8)}`
}

/**
 * One app (with its own emulator) for a whole test file: made before its first test, closed after
 * its last. `use` receives it; the file keeps it in its own variable.
 */
export function useApp(use: (t: TestApp) => void, overrides: Parameters<typeof makeApp>[0] = {}) {
  let made: TestApp | undefined
  beforeAll(async () => {
    made = await makeApp(overrides)
    use(made)
  })
  afterAll(async () => {
    await made?.close()
  })
}

/** Reads an event stream until `enough` says so; `rest()` reads it to its end and gives the whole body. */
export async function readUntil(res: Response, enough: (body: string) => boolean) {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let body = ''
  while (!enough(body)) {
    const { value, done } = await reader.read()
    if (done) break
    body += decoder.decode(value, { stream: true })
  }
  return {
    body,
    async rest() {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return body
        body += decoder.decode(value, { stream: true })
      }
    },
  }
}

/**
 * The database for a server process of a test's own (`bun src/index.ts`): `env` names it (on
 * PostgreSQL a fresh database in DATABASE_URL, on SQLite the file at `sqlitePath`); `sql` reads
 * it from outside the process, rows shaped as t.sql's; `drop` removes PostgreSQL's.
 */
export async function processDatabase(sqlitePath: string): Promise<{ env: Record<string, string>; sql: RunSql; drop(): Promise<void> }> {
  if (TEST_STORE !== 'postgres') {
    return {
      env: { METRICS_DB_PATH: sqlitePath },
      async sql<T>(query: string, ...params: unknown[]) {
        const db = new Database(sqlitePath, { readonly: true })
        try {
          return db.query(query).all(...(params as never[])) as T[]
        } finally {
          db.close()
        }
      },
      drop: async () => {},
    }
  }
  const database = await testDatabase()
  return {
    env: { METRICS_DB_PATH: sqlitePath, DATABASE_URL: database.url },
    async sql<T>(query: string, ...params: unknown[]) {
      const pg = postgresSql(database.url)
      try {
        return await pg.sql<T>(query, ...params)
      } finally {
        await pg.end()
      }
    },
    drop: () => database.drop(),
  }
}

/**
 * What a second instance of the same app needs to share its database (a restart, or another
 * instance of a fleet): SQLite's open file, or a new store on the same PostgreSQL database.
 */
export async function otherInstanceStore(t: Pick<TestApp, 'store' | 'databaseUrl' | 'database'>): Promise<Pick<DepsOptions, 'store' | 'database'>> {
  if (t.store === 'postgres') return { store: await openPostgresStore(t.databaseUrl!) }
  return { database: t.database }
}
