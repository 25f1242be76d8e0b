import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { copyFileSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../src/db/open.ts'
import { createWriter } from '../src/db/writer.ts'
import { getLogger } from '../src/logger.ts'
import { createDashboard } from '../src/services/dashboard/feed.ts'
import { createLogTail } from '../src/services/dashboard/log-tail.ts'
import { createMetrics } from '../src/services/metrics/recorder.ts'
import { sqliteDialect } from '../src/db/dialect.ts'
import { createReadPool } from '../src/db/read-pool.ts'
import { READERS_MODULE, type Readers } from '../src/services/reads.ts'
import { browser, eventually, listen, makeApp, TEST_STORE, unescapeHtml, type TestApp } from './helpers.ts'

const ROOT = join(import.meta.dir, '..')

let t: TestApp
let server: ReturnType<typeof listen>
beforeAll(async () => {
  t = await makeApp()
  server = listen(t.app, t.deps)
})
afterAll(async () => {
  server.stop()
  await t.close()
})

const PANELS = ['Requests per minute', 'Average latency', 'Error rate', 'Recent log', 'Invocations']

/** Reads an event stream until `until` matches what has arrived, or the time is up. */
async function readStream(res: Response, until: (text: string) => boolean, timeoutMs = 4000) {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && !until(text)) {
    const next = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => null)])
    if (!next || next.done) break
    text += decoder.decode(next.value)
  }
  await reader.cancel().catch(() => {})
  return text
}

/** Inserts a call the way another process (another instance, on PostgreSQL) would: its own connection to the same file or database. */
async function insertFromAnotherProcess(app: TestApp, model: string) {
  const script = app.databaseUrl
    ? `
    import postgres from 'postgres'
    const sql = postgres(${JSON.stringify(app.databaseUrl)}, { max: 1 })
    await sql\`insert into invocations (timestamp, latency_ms, success, model_id, attempts, outcome) values (now(), 321, true, \${${JSON.stringify(model)}}, 1, 'ok')\`
    await sql.end()
  `
    : `
    import { Database } from 'bun:sqlite'
    const db = new Database(${JSON.stringify(app.config.METRICS_DB_PATH)})
    db.exec('PRAGMA busy_timeout = 5000')
    db.query("insert into invocations (timestamp, latency_ms, success, model_id, attempts, outcome) values (?, 321, 1, ?, 1, 'ok')").run(Date.now(), ${JSON.stringify(model)})
  `
  const proc = Bun.spawn(['bun', '-e', script], { cwd: ROOT, stderr: 'pipe' })
  expect(await proc.exited).toBe(0)
}

describe('the dashboard', () => {
  test('before the first call it shows every panel and a clear empty state', async () => {
    const res = await fetch(`${server.url}/dashboard`)
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toStartWith('<!DOCTYPE html>')
    for (const heading of PANELS) expect(html).toContain(`>${heading}</h2>`)
    expect(html).toContain('<label for="range">Time range</label>')
    expect(html).toContain('No model calls in this time range yet')
    expect(html).toContain('hx-sse:connect="/dashboard/stream?range=1h"')
  })

  test('after chatting, the figures, the per-model table and the raw calls show them', async () => {
    const you = browser(server.url)
    await you.send('dashboard one')
    await you.send('[[validation]] dashboard two')
    const html = unescapeHtml(await (await fetch(`${server.url}/dashboard?range=15m`)).text())
    expect(html).toMatch(/<dt>Invocations<\/dt><dd><span class="value">2<\/span>/)
    expect(html).toContain('50.0%')
    expect(html).toContain('ValidationException')
    expect(html).toContain(t.config.BEDROCK_MODEL_ID)
    expect(html).toContain('2 calls · page 1 of 1')
  })

  test('bad query parameters get a clear 400, never a crash', async () => {
    for (const [query, words] of [
      ['range=2y', 'range'],
      ['page=0', 'page'],
      ['sort=password', 'sort'],
      ['pageSize=100000', 'pageSize'],
    ] as const) {
      const res = await fetch(`${server.url}/dashboard?${query}`)
      expect(res.status).toBe(400)
      const html = await res.text()
      expect(html).toContain('That dashboard address is not valid')
      expect(html).toContain(words)
    }
    expect((await fetch(`${server.url}/dashboard/stream?range=forever`)).status).toBe(400)
  })

  test('the Invocations table answers fragments to htmx and a whole page to a person', async () => {
    const fragment = await fetch(`${server.url}/dashboard/invocations?range=1h&outcome=error`, {
      headers: { 'HX-Request': 'true', 'HX-Request-Type': 'partial' },
    })
    const html = await fragment.text()
    expect(html).toStartWith('<div id="invocations-table"')
    expect(html).toContain('ValidationException')
    expect(html).not.toContain('>ok</td>')
    const page = await fetch(`${server.url}/dashboard/invocations?range=1h`, { redirect: 'manual' })
    expect(page.status).toBe(303)
    expect(page.headers.get('location')).toStartWith('/dashboard?')
  })

  test("the table's filters carry its sort and page size, so changing a filter keeps them", async () => {
    const html = await (
      await fetch(`${server.url}/dashboard/invocations?range=1h&sort=latency&dir=asc&pageSize=10`, {
        headers: { 'HX-Request': 'true', 'HX-Request-Type': 'partial' },
      })
    ).text()
    const form = html.match(/<form[^>]*id="invocations-filter"[\s\S]*?<\/form>/)![0]
    expect(form).toContain('name="sort" value="latency"')
    expect(form).toContain('name="dir" value="asc"')
    expect(form).toContain('name="pageSize" value="10"')
  })

  test('the CSV export downloads the current filter', async () => {
    const res = await fetch(`${server.url}/dashboard/invocations.csv?range=1h&outcome=ok`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/csv')
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="invocations-1h-ok-.*\.csv"$/)
    const lines = (await res.text()).trimEnd().split(/\r?\n/)
    expect(lines[0]).toContain('timestamp')
    expect(lines.length).toBeGreaterThanOrEqual(2)
    expect(lines.slice(1).every((l) => l.includes(',ok,'))).toBe(true)
  })

  test('the live stream sends the panels at once, then an update within 2 s of a call written by another process', async () => {
    const res = await fetch(`${server.url}/dashboard/stream?range=15m`)
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const model = `other.process.model-${crypto.randomUUID().slice(0, 6)}`
    const started = Date.now()
    let inserted = false
    const text = await readStream(
      res,
      (sofar) => {
        if (!inserted && sofar.includes('hx-target="#panel-summary"')) {
          inserted = true
          void insertFromAnotherProcess(t, model)
        }
        return sofar.includes(model) && sofar.includes('event: invocations')
      },
      6000,
    )
    expect(text).toContain('hx-target="#panel-summary"')
    expect(text).toContain('hx-target="#chart-data"')
    expect(text).toContain('hx-target="#panel-log"')
    expect(text).toContain(model)
    expect(Date.now() - started).toBeLessThan(4000)
  })

  test('every open dashboard shares one computation per change', async () => {
    const streams = await Promise.all([1, 2, 3].map(() => fetch(`${server.url}/dashboard/stream?range=6h`)))
    await Bun.sleep(200)
    expect(t.deps.dashboard.watchers).toBeGreaterThanOrEqual(3)
    const model = `shared-${crypto.randomUUID().slice(0, 6)}`
    const reads = streams.map((res) => readStream(res, (s) => s.includes(model), 5000))
    await insertFromAnotherProcess(t, model)
    const texts = await Promise.all(reads)
    for (const text of texts) expect(text).toContain(model)
    await Bun.sleep(100)
    expect(t.deps.dashboard.watchers).toBe(0)
  })

  test('/metrics answers Prometheus text', async () => {
    const res = await fetch(`${server.url}/metrics`)
    expect(res.headers.get('content-type')).toStartWith('text/plain; version=0.0.4')
    const text = await res.text()
    expect(text).toContain('# TYPE bedrock_invocations_total counter')
    expect(text).toMatch(/bedrock_invocations_total\{model="[^"]+",outcome="ok"\} [1-9]/)
  })
})

// SQLite's own: the standalone dashboard reads the chat's SQLite file read-only (METRICS_DB_PATH); no PostgreSQL counterpart yet
describe.skipIf(TEST_STORE === 'postgres')('the dashboard as its own process', () => {
  async function startDashboard(env: Record<string, string>) {
    const proc = Bun.spawn(['bun', 'src/dashboard.ts'], {
      cwd: ROOT,
      env: { ...process.env, DASHBOARD_PORT: '0', ...env },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const reader = proc.stdout.getReader()
    let out = ''
    while (!out.includes('\n')) {
      const { value, done } = await reader.read()
      if (done) break
      out += new TextDecoder().decode(value)
    }
    const url = out.match(/(http:\/\/[\d.]+:\d+)\/dashboard/)?.[1]
    if (!url) {
      proc.kill()
      throw new Error(`dashboard did not start: ${out} ${await new Response(proc.stderr).text()}`)
    }
    return { url, stop: async () => (proc.kill('SIGTERM'), await proc.exited) }
  }

  test('reads the same database read-only and tails the same log while the chat runs', async () => {
    const dash = await startDashboard({ METRICS_DB_PATH: t.config.METRICS_DB_PATH, LOG_DIR: t.config.LOG_DIR })
    try {
      const html = unescapeHtml(await (await fetch(`${dash.url}/dashboard?range=1h`)).text())
      for (const heading of PANELS) expect(html).toContain(`>${heading}</h2>`)
      expect(html).toContain(t.config.BEDROCK_MODEL_ID)
      expect(html).toContain('invocation recorded')
      expect(html).not.toContain('Back to the chat')
      // a call made in the chat process now shows up in the dashboard process's stream
      const res = await fetch(`${dash.url}/dashboard/stream?range=1h`)
      const you = browser(server.url)
      const marker = `from-the-chat-${crypto.randomUUID().slice(0, 6)}`
      const pending = readStream(res, (s) => (s.match(/event: invocations/g) ?? []).length >= 2, 5000)
      await Bun.sleep(300)
      await you.send(marker)
      expect((await pending).match(/event: invocations/g)?.length).toBeGreaterThanOrEqual(2)
    } finally {
      await dash.stop()
    }
  })

  test('follows a database replaced by a restore, and says so when it is deleted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dashboard-restore-'))
    const made = async (name: string, model: string) => {
      const app = await makeApp({ env: { METRICS_DB_PATH: join(dir, name), BEDROCK_MODEL_ID: model } })
      await browser(app.app).send(`a call for ${name}`)
      await Bun.sleep(50)
      // everything in the main file, as a backup tool would copy it
      app.database.sqlite.exec('PRAGMA wal_checkpoint(TRUNCATE)')
      await app.close()
    }
    try {
      await made('before.db', 'us.anthropic.claude-haiku-4-5-20251001-v1:0')
      await made('after.db', 'us.amazon.nova-lite-v1:0')
      copyFileSync(join(dir, 'before.db'), join(dir, 'metrics.db'))
      const dash = await startDashboard({ METRICS_DB_PATH: join(dir, 'metrics.db'), LOG_DIR: join(dir, 'logs') })
      const page = async () => unescapeHtml(await (await fetch(`${dash.url}/dashboard?range=1h`)).text())
      try {
        expect(await page()).toContain('claude-haiku-4-5')
        renameSync(join(dir, 'after.db'), join(dir, 'metrics.db'))
        await eventually(async () => {
          const html = await page()
          expect(html).toContain('nova-lite')
          expect(html).not.toContain('claude-haiku-4-5')
        }, 10_000)
        rmSync(join(dir, 'metrics.db'))
        await eventually(async () => expect(await page()).toContain('No readable metrics database'), 10_000)
      } finally {
        await dash.stop()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)

  test('a missing database and log are shown as such while the rest keeps working', async () => {
    const dir = `/tmp/bedrock-chat-missing-${crypto.randomUUID()}`
    const dash = await startDashboard({ METRICS_DB_PATH: `${dir}/metrics.db`, LOG_DIR: `${dir}/logs` })
    try {
      const res = await fetch(`${dash.url}/dashboard`)
      expect(res.status).toBe(200)
      const html = unescapeHtml(await res.text())
      expect(html).toContain(`No readable metrics database at ${dir}/metrics.db yet`)
      expect(html).toContain('No log yet')
      for (const heading of PANELS) expect(html).toContain(`>${heading}</h2>`)
      expect(await Bun.file(`${dir}/metrics.db`).exists()).toBe(false)
      expect((await fetch(`${dash.url}/metrics`)).status).toBe(503)
    } finally {
      await dash.stop()
    }
  })
})

describe('the live feed and this process’s own calls', () => {
  test('a call recorded here reaches open dashboards at once, without waiting for the poll', async () => {
    const database = openDatabase(join(t.dir, 'nudge.db'))
    const readPool = createReadPool<Readers>({ path: database.path, module: READERS_MODULE })
    // a poll that would not come round within the test: only the nudge can deliver the update
    const dashboard = createDashboard({ metrics: readPool.reads.metrics, logTail: createLogTail(t.config.LOG_DIR), log: getLogger('test'), pollMs: 600_000 })
    const writer = createWriter(database.path)
    const metrics = createMetrics({ dialect: sqliteDialect(database.db), writer, log: getLogger('test'), onRecorded: () => dashboard.nudge() })
    const seen: number[] = []
    const unsubscribe = dashboard.subscribe('15m', (data) => seen.push(data.metrics.ok ? data.metrics.summary.requests : -1))
    await metrics.record({ timestamp: new Date(), latencyMs: 12, modelId: 'us.amazon.nova-pro-v1:0', outcome: 'ok' }).recorded
    // the nudge's check reads on a read thread: well within a poll that never comes
    await eventually(() => expect(seen).toEqual([1]), 2000)
    unsubscribe()
    readPool.close()
    await writer.close()
    database.close()
  })
})
