import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import postgres from 'postgres'
import { startEmulator } from '../src/emulator/server.ts'
import { browser, eventually, unique, type Emulator } from './helpers.ts'
import { skipWithoutPostgres, testDatabase, type TestDatabase } from './support/postgres.ts'

/**
 * Two instances of the real server (`bun src/index.ts`) on one PostgreSQL database, as behind a
 * load balancer: each one's dashboard shows the other's chats, and a browser moved from one to
 * the other keeps its conversations (its sidebar credentials stay with the instance it gave them to).
 */

const skip = skipWithoutPostgres('tests/fleet.test.ts')
const ROOT = join(import.meta.dir, '..')
const dir = mkdtempSync(join(tmpdir(), 'fleet-'))
let emulator: Emulator
let database: TestDatabase
const started: Subprocess[] = []

beforeAll(async () => {
  if (skip) return
  emulator = await startEmulator({ port: 0 })
  database = await testDatabase()
})
afterAll(async () => {
  for (const proc of started) {
    proc.kill('SIGTERM')
    await proc.exited
  }
  await emulator?.close()
  await database?.drop()
  rmSync(dir, { recursive: true, force: true })
}, 30_000)

/** One instance, started as the README says: the same DATABASE_URL, its own port and log folder. */
async function instance(name: string): Promise<string> {
  return (await startInstance(name)).url
}

async function startInstance(name: string): Promise<{ url: string; proc: Subprocess<'ignore', 'pipe', 'inherit'> }> {
  const proc = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      DATABASE_URL: database.url,
      LOG_DIR: join(dir, name, 'logs'),
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: emulator.url,
      AWS_ENDPOINT_URL_BEDROCK: emulator.url,
      AWS_ACCESS_KEY_ID: 'AKIAFLEETTESTFLEET01',
      AWS_SECRET_ACCESS_KEY: 'fleetTestSecretKey00000000000000000000',
    },
    stdout: 'pipe',
    stderr: 'inherit',
  })
  started.push(proc)
  let out = ''
  for await (const chunk of proc.stdout) {
    out += new TextDecoder().decode(chunk)
    const url = out.match(/on (http:\/\/[^/\s]+)\//)?.[1]
    if (url) return { url, proc }
  }
  throw new Error(`instance ${name} did not start: ${out}`)
}

/** Reads a dashboard's live stream in the background, keeping every event's text. */
function watch(url: string) {
  const events: string[] = []
  const controller = new AbortController()
  const reading = (async () => {
    const res = await fetch(`${url}/dashboard/stream?range=15m`, { signal: controller.signal })
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk)
      const parts = buffer.split('\n\n')
      buffer = parts.pop()!
      events.push(...parts)
    }
  })().catch(() => {})
  return { events, stop: () => controller.abort(), reading }
}

const invocations = (n: number) => `<dt>Invocations</dt><dd><span class="value">${n}</span>`

describe.skipIf(skip)('two instances on one PostgreSQL', () => {
  test('a chat served by one instance appears on the other instance’s open dashboard within 2 seconds, and the browser keeps its conversation on either', async () => {
    const [a, b] = await Promise.all([instance('a'), instance('b')])
    const dashboardOnA = watch(a)
    // the stream opens with the panels as they are: no call yet
    await eventually(() => expect(dashboardOnA.events.some((e) => e.includes('id="summary-empty"'))).toBe(true), 10_000)

    const you = browser(b)
    await you.get('/')
    const text = unique('served by instance B')
    const sent = await you.send(text)
    expect(sent.body).toContain('Emulated reply to')
    // within 2 s of the reply's end on B, A's open dashboard has shown the call (a NOTIFY from B's commit)
    await eventually(() => expect(dashboardOnA.events.some((e) => e.includes(invocations(1)))).toBe(true), 2000)
    dashboardOnA.stop()

    // the load balancer moves the browser to A: the same signed cookie, the same conversations
    const page = await fetch(`${a}${you.conversation}`, { headers: { Cookie: you.cookie } })
    expect(page.status).toBe(200)
    expect(await page.text()).toContain(text)
  })

  test('an instance starting leaves the replies other running instances stream alone, and takes over those of one that was killed', async () => {
    const a = await startInstance('streams')
    const you = browser(a.url)
    await you.get('/')
    const text = unique('a long reply on A [[slow:100]] [[tokens:300]]')
    const res = await fetch(`${a.url}/c/new/messages`, {
      method: 'POST',
      headers: { Cookie: you.cookie, Origin: a.url, 'HX-Request': 'true', 'HX-Request-Type': 'partial' },
      body: new URLSearchParams({ message: text }),
    })
    const reader = res.body!.getReader()
    let seen = ''
    while (!seen.includes('-text')) seen += new TextDecoder().decode((await reader.read()).value)
    const sql = postgres(database.url, { max: 1, onnotice: () => {} })
    try {
      const status = async () =>
        (await sql`SELECT status FROM messages WHERE role = 'assistant' AND instance IS NOT NULL ORDER BY created_at DESC LIMIT 1`)[0]?.status
      await eventually(async () => expect(await status()).toBe('streaming'))
      // another instance starts (and runs its recovery) while A streams: A's reply is not touched
      await instance('starts-meanwhile')
      expect(await status()).toBe('streaming')
      // A is killed mid-reply: the next instance to look takes its reply over as interrupted
      a.proc.kill('SIGKILL')
      await a.proc.exited
      await instance('after-the-kill')
      await eventually(async () => expect(await status()).toBe('error'))
      const [row] =
        await sql`SELECT i.outcome, i.error_type FROM messages m JOIN invocations i ON i.id = m.invocation_id WHERE m.role = 'assistant' AND m.status = 'error'`
      expect(row).toEqual({ outcome: 'stopped', error_type: 'Interrupted' })
    } finally {
      await sql.end({ timeout: 5 })
      reader.cancel().catch(() => {})
    }
  }, 30_000)

  test('bun run dashboard on the fleet database shows every instance’s calls, read-only', async () => {
    const proc = Bun.spawn(['bun', 'src/dashboard.ts'], {
      cwd: ROOT,
      env: { ...process.env, DASHBOARD_PORT: '0', DATABASE_URL: database.url, LOG_DIR: join(dir, 'dashboard', 'logs') },
      stdout: 'pipe',
      stderr: 'inherit',
    })
    started.push(proc)
    let out = ''
    let url: string | undefined
    for await (const chunk of proc.stdout) {
      out += new TextDecoder().decode(chunk)
      url = out.match(/on (http:\/\/[^/\s]+)\/dashboard/)?.[1]
      if (url) break
    }
    expect(out).not.toContain(new URL(database.url).password || 'no password in the test URL')
    const page = await (await fetch(`${url}/dashboard?range=15m`)).text()
    // the chats of the tests above, served by other instances
    expect(Number(page.match(/<dt>Invocations<\/dt><dd><span class="value">(\d+)<\/span>/)?.[1])).toBeGreaterThanOrEqual(2)
    expect((await fetch(`${url}/readyz`)).status).toBe(200)
  })
})
