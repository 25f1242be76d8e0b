import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
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
})

/** One instance, started as the README says: the same DATABASE_URL, its own port and log folder. */
async function instance(name: string): Promise<string> {
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
    if (url) return url
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
})
