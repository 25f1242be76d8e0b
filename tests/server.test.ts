import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { IDLE_TIMEOUT_S } from '../src/server.ts'
import { HEARTBEAT_MS } from '../src/http/event-stream.ts'
import { browser, eventually, listen, makeApp, processDatabase, streamedPieces, unescapeHtml, type TestApp } from './helpers.ts'

let t: TestApp
let server: ReturnType<typeof listen>

beforeAll(async () => {
  t = await makeApp()
  // a 2-second idle timeout, so a model slower than that must be survived by design, not by luck
  server = listen(t.app, t.deps, { idleTimeout: 2 })
})
afterAll(async () => {
  server.stop()
  await t.close()
})

describe('over real HTTP', () => {
  test('the page and its scripts are served, with the doctype and a strict content policy', async () => {
    const res = await fetch(`${server.url}/`)
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toStartWith('<!DOCTYPE html>')
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
    for (const src of ['/public/vendor/htmx.min.js', '/public/vendor/hx-sse.min.js', '/public/chat.js', '/public/app.css']) {
      expect(html).toContain(src)
      const asset = await fetch(server.url + src)
      expect(asset.status).toBe(200)
      expect((await asset.text()).length).toBeGreaterThan(100)
    }
  })

  test('a reply slower to start than the idle timeout still streams in', async () => {
    const you = browser(server.url)
    const { res, messages } = await you.send('[[firstdelay:3500]] take your time')
    expect(res.status).toBe(200)
    expect(streamedPieces(messages).join('')).toContain('Emulated reply')
    expect(messages.at(-1)!.data).toContain('data-status="done"')
  })

  test('without JavaScript, a reply slower than the idle timeout still completes', async () => {
    const you = browser(server.url)
    const res = await you.sendWithoutScripts('[[firstdelay:3500]] no scripts, slow model')
    expect(res.status).toBe(303)
    const page = unescapeHtml(await (await you.get(you.conversation!)).text())
    expect(page).toContain('Emulated reply to: "no scripts, slow model"')
  })

  test('an event stream waiting on the model sends heartbeats well inside the idle timeout', async () => {
    expect(HEARTBEAT_MS * 2).toBeLessThanOrEqual(IDLE_TIMEOUT_S * 1000)
    const you = browser(server.url)
    const { comments, messages } = await you.send(`[[firstdelay:${HEARTBEAT_MS + 1000}]] quiet model`)
    expect(comments).toBeGreaterThanOrEqual(1)
    expect(messages.at(-1)!.data).toContain('data-status="done"')
  }, 20_000)

  test('a browser that goes away mid-reply aborts the upstream call and is recorded as stopped', async () => {
    const you = browser(server.url)
    await you.get('/')
    const controller = new AbortController()
    const res = await fetch(`${server.url}/c/new/messages`, {
      method: 'POST',
      headers: { Cookie: you.cookie, Origin: server.url, 'HX-Request': 'true', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ message: '[[slow:100]] leaving early #gone' }),
      signal: controller.signal,
    })
    const reader = res.body!.getReader()
    await reader.read()
    await reader.read()
    controller.abort()
    const deadline = Date.now() + 5000
    let upstream
    while (Date.now() < deadline) {
      upstream = t.emulator.requests.find((r) => JSON.stringify(r.body).includes('#gone'))
      if (upstream?.outcome === 'aborted') break
      await Bun.sleep(50)
    }
    expect(upstream?.outcome).toBe('aborted')
    const [row] = await t.sql('select * from invocations order by id desc limit 1')
    expect(row).toMatchObject({ outcome: 'stopped', error_type: 'Disconnected' })
    // and the person can chat again straight away: nothing is left "streaming"
    const next = await you.send('back again')
    expect(next.res.status).toBe(200)
  })

  test('the health check answers', async () => {
    const res = await fetch(`${server.url}/health`)
    expect(await res.json()).toEqual({ ok: true })
  })
})

describe('names the server answers to', () => {
  test('a page that rebinds its own domain to this machine is refused (DNS rebinding)', async () => {
    const attacker = 'http://attacker.example'
    const res = await t.app.request(`${attacker}/c/new/messages`, {
      method: 'POST',
      headers: { Origin: attacker, 'Content-Type': 'application/x-www-form-urlencoded', 'HX-Request': 'true' },
      body: 'message=spend+their+credentials',
    })
    expect(res.status).toBe(421)
    expect(await res.text()).toContain('ALLOWED_HOSTS')
    expect((await t.app.request(`${attacker}/dashboard`)).status).toBe(421)
    expect((await t.app.request('http://localhost/dashboard')).status).toBe(200)
    expect((await t.app.request('http://127.0.0.1/')).status).toBe(200)
  })

  test('names listed in ALLOWED_HOSTS are served', async () => {
    const other = await makeApp({ env: { ALLOWED_HOSTS: 'chat.example.com' }, emulator: t.emulator })
    try {
      expect((await other.app.request('http://chat.example.com/')).status).toBe(200)
      expect((await other.app.request('http://elsewhere.example/')).status).toBe(421)
    } finally {
      await other.close()
    }
  })
})

describe('shutting down', () => {
  test('Ctrl-C stops the app promptly even with a dashboard open', async () => {
    const dir = `/tmp/bedrock-chat-stop-${crypto.randomUUID()}`
    const database = await processDatabase(`${dir}/m.db`)
    const proc = Bun.spawn(['bun', 'src/index.ts'], {
      cwd: `${import.meta.dir}/..`,
      env: { ...process.env, PORT: '0', LOG_DIR: `${dir}/logs`, ...database.env },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const reader = proc.stdout.getReader()
    let out = ''
    while (!out.includes('\n')) out += new TextDecoder().decode((await reader.read()).value)
    const url = out.match(/(http:\/\/[\d.]+:\d+)\//)![1]!
    const stream = await fetch(`${url}/dashboard/stream?range=1h`)
    await stream.body!.getReader().read()
    const started = Date.now()
    proc.kill('SIGINT')
    expect(await proc.exited).toBe(0)
    expect(Date.now() - started).toBeLessThan(3000)
    await database.drop()
  })
})

describe('a model that goes quiet', () => {
  test('a call whose answer never starts is abandoned at the first-token timeout, explained and recorded, and frees the browser', async () => {
    const quiet = await makeApp({ emulator: t.emulator, deps: { firstTokenTimeoutMs: 400 } })
    try {
      const you = browser(quiet.app)
      const { body } = await you.send('[[firstdelay:3000]] are you there #quiet')
      expect(unescapeHtml(body)).toContain('Bedrock sent no answer within 0.4 s, so the request was abandoned: send again to retry')
      expect(body).toContain('data-status="error"')
      const [row] = await quiet.sql('select outcome, error_type from invocations order by id desc limit 1')
      expect(row).toEqual({ outcome: 'error', error_type: 'FirstTokenTimeout' })
      await eventually(() => expect(t.emulator.requests.find((r) => JSON.stringify(r.body).includes('#quiet'))?.outcome).toBe('aborted'))
      expect((await you.send('hello again')).res.status).toBe(200)
    } finally {
      await quiet.close()
    }
  })
})
