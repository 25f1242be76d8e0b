import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmulator } from '../src/emulator/server.ts'
import { browser, type Emulator, processDatabase } from './helpers.ts'

/**
 * SIGTERM as systemd or Kubernetes sends it, to the real server process: new replies refused at
 * once with a clear message, those in flight finish within SHUTDOWN_GRACE_SECONDS, the rest are
 * saved as stopped with their rows, and the process exits.
 */

const ROOT = join(import.meta.dir, '..')
let emulator: Emulator
const dir = mkdtempSync(join(tmpdir(), 'shutdown-'))

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
})
/** Each server's database by name: SQLite's file in `dir`, or a PostgreSQL database of its own (TEST_STORE=postgres). */
const databases = new Map<string, Awaited<ReturnType<typeof processDatabase>>>()
async function database(name: string) {
  if (!databases.has(name)) databases.set(name, await processDatabase(join(dir, name)))
  return databases.get(name)!
}
afterAll(async () => {
  await emulator.close()
  for (const d of databases.values()) await d.drop()
  rmSync(dir, { recursive: true, force: true })
})

async function startServer(dbName = 'metrics.db') {
  const { env } = await database(dbName)
  const proc = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      ...env,
      LOG_DIR: join(dir, 'logs'),
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: emulator.url,
      AWS_ENDPOINT_URL_BEDROCK: emulator.url,
      AWS_ACCESS_KEY_ID: 'AKIASHUTDOWNTEST0001',
      AWS_SECRET_ACCESS_KEY: 'shutdownTestSecretKey000000000000000000',
      SHUTDOWN_GRACE_SECONDS: '2',
    },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  let out = ''
  for await (const chunk of proc.stdout) {
    out += new TextDecoder().decode(chunk)
    const url = out.match(/on (http:\/\/[^/\s]+)\//)?.[1]
    if (url) return { proc, url }
  }
  throw new Error(`the server did not start: ${out}`)
}

/** Sends a message and resolves once its first token has arrived, with the rest of the stream still coming. */
async function startReply(url: string, you: ReturnType<typeof browser>, message: string) {
  await you.get('/')
  const res = await fetch(`${url}/c/new/messages`, {
    method: 'POST',
    headers: { Cookie: you.cookie, Origin: url, 'HX-Request': 'true', 'HX-Request-Type': 'partial' },
    body: new URLSearchParams({ message }),
  })
  const reader = res.body!.getReader()
  let text = ''
  while (!text.includes('-text')) {
    const { done, value } = await reader.read()
    if (done) throw new Error(`the reply ended before its first token (status ${res.status}): ${text.slice(0, 500)}`)
    text += new TextDecoder().decode(value)
  }
  const rest = (async () => {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return text
      text += new TextDecoder().decode(value)
    }
  })()
  return rest
}

describe('on SIGTERM', () => {
  test('new replies are refused with a clear message, short ones finish, long ones are saved as stopped, and the process exits', async () => {
    const { proc, url } = await startServer()
    const short = startReply(url, browser(url), 'short one [[slow:50]] [[tokens:10]]')
    const long = startReply(url, browser(url), 'long one [[slow:100]] [[tokens:200]]')
    await Promise.all([short, long].map((p) => Promise.race([p, Bun.sleep(300)])))
    proc.kill('SIGTERM')
    await Bun.sleep(100)

    const late = browser(url)
    await late.get('/')
    const refused = await late.send('sent during the shutdown')
    expect(refused.res.status).toBe(503)
    expect(refused.body).toContain('The server is restarting')

    expect(await proc.exited).toBe(0)
    await Promise.allSettled([short, long])

    const { sql } = await database('metrics.db')
    const replies = await sql<{ text: string; status: string }>("select text, status from messages where role = 'assistant' order by created_at")
    expect(replies.map((r) => r.status).sort()).toEqual(['done', 'stopped'])
    expect(replies.find((r) => r.status === 'stopped')!.text.length).toBeGreaterThan(0)
    const outcomes = (await sql<{ outcome: string }>('select outcome from invocations')).map((r) => r.outcome).sort()
    expect(outcomes).toEqual(['ok', 'stopped'])
    expect(emulator.requests.filter((r) => JSON.stringify(r.body).includes('sent during the shutdown'))).toHaveLength(0)
  }, 30_000)
})

describe('after kill -9', () => {
  test('the restart keeps the text the reply had shown and records its call as interrupted', async () => {
    const first = await startServer('killed.db')
    const reply = startReply(first.url, browser(first.url), 'killed mid-reply [[slow:100]] [[tokens:100]]')
    await Promise.race([reply, Bun.sleep(300)])
    const { sql } = await database('killed.db')
    // a progress save has landed (the text so far is in the database)
    for (let i = 0; i < 60; i++) {
      const [row] = await sql<{ text: string }>("select text from messages where role = 'assistant'")
      if (row && row.text.length > 0) break
      await Bun.sleep(100)
    }
    first.proc.kill('SIGKILL')
    await first.proc.exited
    await reply.catch(() => {})

    const second = await startServer('killed.db')
    second.proc.kill('SIGTERM')
    expect(await second.proc.exited).toBe(0)
    const [message] = await sql<{ text: string; status: string; error: string; invocation_id: number | null }>(
      "select text, status, error, invocation_id from messages where role = 'assistant'",
    )
    expect(message!.status).toBe('error')
    expect(message!.error).toContain('interrupted when the server stopped')
    expect(message!.text.length).toBeGreaterThan(0)
    const [call] = await sql<{ outcome: string; error_type: string; latency_ms: number }>(
      'select outcome, error_type, latency_ms from invocations where id = ?',
      message!.invocation_id,
    )
    expect(call).toMatchObject({ outcome: 'stopped', error_type: 'Interrupted' })
    expect(call!.latency_ms).toBeGreaterThan(0)
  }, 30_000)
})
