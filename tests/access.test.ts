import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ownerOf } from '../src/services/chat/index.ts'
import { createApp } from '../src/app.ts'
import { createDeps } from '../src/deps.ts'
import { browser, eventually, listen, makeApp, otherInstanceStore, processDatabase, SERVER_CREDENTIALS, TEST_STORE, type TestApp } from './helpers.ts'
import { testDatabase } from './support/postgres.ts'

/**
 * Who can reach what: the sign-in page (APP_PASSWORD), a sign-in proxy's users
 * (AUTH_PROXY_HEADER), a scraper's token (METRICS_TOKEN), server-issued session cookies, and the
 * refusal to start exposed. Each against the real app and its real database.
 */

const PASSWORD = 'correct horse battery staple'
const ROOT = join(import.meta.dir, '..')

const opened: TestApp[] = []
afterAll(async () => {
  for (const t of opened) await t.close()
})
async function app(env: Record<string, string> = {}) {
  const t = await makeApp({ env })
  opened.push(t)
  return t
}

async function signIn(you: ReturnType<typeof browser>, password = PASSWORD, next = '/') {
  return you.post('/signin', { password, next })
}

describe('with APP_PASSWORD, a stranger sees only the sign-in page', () => {
  test('every page, form, stream, export and /metrics needs signing in; static files and health checks do not', async () => {
    const t = await app({ APP_PASSWORD: PASSWORD })
    const stranger = browser(t.app)
    const page = await stranger.get('/c/abc?x=1')
    expect(page.status).toBe(303)
    expect(page.headers.get('location')).toBe('/signin?next=%2Fc%2Fabc%3Fx%3D1')
    for (const path of ['/', '/dashboard', '/dashboard/invocations.csv', '/search?q=x']) expect((await stranger.get(path)).status).toBe(303)
    expect((await stranger.get('/dashboard/stream', { headers: { Accept: 'text/event-stream' } })).status).toBe(401)
    expect((await stranger.get('/metrics')).status).toBe(401)
    const send = await stranger.send('spend their credentials')
    expect(send.res.status).toBe(401)
    expect(send.res.headers.get('HX-Redirect')).toBe('/signin')
    expect((await stranger.post('/credentials', { accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: 'x'.repeat(40) })).status).toBe(303)
    expect(t.emulator.requests).toHaveLength(0)
    expect((await stranger.get('/health')).status).toBe(200)
    expect((await stranger.get('/healthz')).status).toBe(200)
    expect((await stranger.get('/public/app.css')).status).toBe(200)
    const signInPage = await (await stranger.get('/signin')).text()
    expect(signInPage).toContain('<label for="password">Password</label>')
    expect(signInPage).toContain('Sign in</button>')
    // a visitor who has not signed in is not kept in memory and gets no cookie
    expect(t.deps.sessions.size).toBe(0)
    expect(stranger.cookie).toBe('')
  })

  test('the right password signs in with a new session, back to the page asked for; the chat works as before', async () => {
    const t = await app({ APP_PASSWORD: PASSWORD })
    const you = browser(t.app)
    const res = await signIn(you, PASSWORD, '/dashboard')
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/dashboard')
    expect(you.cookie).toStartWith('bc_session=')
    expect((await you.get('/dashboard')).status).toBe(200)
    const chat = await (await you.get('/')).text()
    expect(chat).toContain('Sign out</button>')
    const { body } = await you.send('hello after signing in')
    expect(body).toContain('Emulated reply to')
  })

  test('a wrong password is refused, and repeated failures make the client wait', async () => {
    const t = await app({ APP_PASSWORD: PASSWORD })
    const guesser = browser(t.app)
    const first = await signIn(guesser, 'not it at all')
    expect(first.status).toBe(401)
    expect(await first.text()).toContain('That password is not right.')
    for (let i = 0; i < 3; i++) await signIn(guesser, `guess ${i}`)
    // even the right password waits its turn now
    const blocked = await signIn(guesser, PASSWORD)
    expect(blocked.status).toBe(429)
    expect(blocked.headers.get('Retry-After')).toMatch(/^\d+$/)
    expect(await blocked.text()).toContain('Too many wrong passwords from here')
    expect((await guesser.get('/')).status).toBe(303)
  })

  test('a next address on another site is not followed after signing in', async () => {
    const t = await app({ APP_PASSWORD: PASSWORD })
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const res = await signIn(browser(t.app), PASSWORD, next)
      expect(res.headers.get('location')).toBe('/')
    }
  })

  test('signing out erases the sidebar credentials and the old cookie opens nothing', async () => {
    const t = await app({ APP_PASSWORD: PASSWORD })
    const you = browser(t.app)
    await signIn(you)
    await you.post('/credentials', { accessKeyId: 'AKIAEXAMPLEEXAMPLE01', secretAccessKey: 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY01' }, { htmx: true })
    const signedInCookie = you.cookie
    const before = t.deps.sessions.size
    const out = await you.post('/signout', {})
    expect(out.status).toBe(303)
    expect(out.headers.get('location')).toBe('/signin')
    expect(t.deps.sessions.size).toBe(before - 1)
    const replay = await t.app.request('http://localhost/', { headers: { Cookie: signedInCookie } })
    expect(replay.status).toBe(303)
    expect(replay.headers.get('location')).toStartWith('/signin')
  })

  test('a sign-in holds on another instance of the same database (or after a restart), and a signed-out one holds nowhere', async () => {
    const t = await app({ APP_PASSWORD: PASSWORD })
    const you = browser(t.app)
    await signIn(you)
    const cookie = you.cookie
    // another instance: the same database, none of this one's memory
    const otherDeps = createDeps({ config: t.config, ...(await otherInstanceStore(t)), bedrock: { serverCredentials: SERVER_CREDENTIALS }, signInCheckMs: 100 })
    const other = createApp(otherDeps)
    try {
      const there = await other.request('http://localhost/', { headers: { Cookie: cookie } })
      expect(there.status).toBe(200)
      expect(await there.text()).toContain('Sign out')
      expect((await you.post('/signout', {})).status).toBe(303)
      await eventually(async () => {
        const after = await other.request('http://localhost/', { headers: { Cookie: cookie } })
        expect(after.status).toBe(303)
        expect(after.headers.get('location')).toStartWith('/signin')
      })
    } finally {
      await otherDeps.writer.close(1000)
      await otherDeps.store.close()
    }
  })

  test('a sign-in posted from another site is refused', async () => {
    const t = await app({ APP_PASSWORD: PASSWORD })
    const res = await t.app.request('http://localhost/signin', {
      method: 'POST',
      headers: { Origin: 'http://evil.example', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ password: PASSWORD }),
    })
    expect(res.status).toBe(403)
  })
})

describe('METRICS_TOKEN lets Prometheus read /metrics without signing in', () => {
  test('the right bearer token reads the metrics; a wrong one and none are refused', async () => {
    const token = 'scrape-token-0123456789abcdef'
    const t = await app({ APP_PASSWORD: PASSWORD, METRICS_TOKEN: token })
    const get = (authorization?: string) => t.app.request('http://localhost/metrics', { headers: authorization ? { Authorization: authorization } : {} })
    const ok = await get(`Bearer ${token}`)
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('bedrock_invocations_total')
    expect((await get('Bearer wrong-token-0123456789abcdef')).status).toBe(401)
    expect((await get()).status).toBe(401)
    // the token opens /metrics only
    expect((await t.app.request('http://localhost/dashboard', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(303)
  })
})

describe('with AUTH_PROXY_HEADER, the sign-in proxy names the user', () => {
  test("a trusted proxy's user is signed in, and their conversations follow them to another browser", async () => {
    const t = await app({ AUTH_PROXY_HEADER: 'X-Forwarded-User' })
    const server = listen(t.app, t.deps)
    try {
      const asAlice = { headers: { 'X-Forwarded-User': 'alice@example.com' } }
      const laptop = browser(server.url)
      const sent = await laptop.get('/', asAlice)
      expect(sent.status).toBe(200)
      const reply = await (
        await fetch(`${server.url}/c/new/messages`, {
          method: 'POST',
          headers: { ...asAlice.headers, Cookie: laptop.cookie, Origin: server.url, 'HX-Request': 'true', 'HX-Request-Type': 'partial' },
          body: new URLSearchParams({ message: 'a question from the laptop' }),
        })
      ).text()
      expect(reply).toContain('Emulated reply to')
      const phone = browser(server.url)
      expect(await (await phone.get('/', asAlice)).text()).toContain('a question from the laptop')
      // someone else behind the same proxy sees none of it
      expect(await (await browser(server.url).get('/', { headers: { 'X-Forwarded-User': 'bob@example.com' } })).text()).not.toContain(
        'a question from the laptop',
      )
      // without the proxy's header: not signed in
      expect((await browser(server.url).get('/')).status).toBe(401)
    } finally {
      server.stop()
    }
  })

  test('a form the proxy forwards in chunks (no Content-Length) is read whole, and its user is still known', async () => {
    const t = await app({ AUTH_PROXY_HEADER: 'X-Forwarded-User' })
    const server = listen(t.app, t.deps)
    try {
      const body = new ReadableStream({
        start(out) {
          out.enqueue(new TextEncoder().encode('message=sent+in+chunks'))
          out.close()
        },
      })
      const res = await fetch(`${server.url}/c/new/messages`, {
        method: 'POST',
        headers: { 'X-Forwarded-User': 'alice@example.com', Origin: server.url, 'Content-Type': 'application/x-www-form-urlencoded', 'HX-Request': 'true' },
        body,
        duplex: 'half',
      } as RequestInit)
      expect(res.status).toBe(200)
      expect(await res.text()).toContain('Emulated reply to: "sent in chunks"')
    } finally {
      server.stop()
    }
  })

  test('the header is ignored from an address that is not the trusted proxy', async () => {
    const t = await app({ AUTH_PROXY_HEADER: 'X-Forwarded-User', AUTH_PROXY_TRUSTED: '10.9.9.9' })
    const server = listen(t.app, t.deps)
    try {
      const res = await browser(server.url).get('/', { headers: { 'X-Forwarded-User': 'alice@example.com' } })
      expect(res.status).toBe(401)
      expect(await res.text()).toContain('Sign in through your single sign-on')
    } finally {
      server.stop()
    }
  })
})

describe('session ids only ever come from the server', () => {
  test('a cookie value the server never issued starts a fresh session and is never echoed back', async () => {
    const t = await app()
    const planted = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
    const res = await t.app.request('http://localhost/', { headers: { Cookie: `bc_session=${planted}` } })
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie).toStartWith('bc_session=')
    expect(cookie).not.toContain(planted)
    // nor a signed-looking value with a made-up signature
    const forged = await t.app.request('http://localhost/', { headers: { Cookie: `bc_session=${planted}.${planted}.c2lnbmF0dXJl` } })
    expect(forged.headers.get('set-cookie')).not.toContain(planted)
  })

  test("after a restart, a browser's cookie finds its conversations again", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'access-restart-'))
    const env = { METRICS_DB_PATH: join(dir, 'metrics.db') }
    // on PostgreSQL the two servers share a database instead of the file
    const kept = TEST_STORE === 'postgres' ? await testDatabase() : undefined
    try {
      const first = await makeApp({ env, databaseUrl: kept?.url })
      const you = browser(first.app)
      await you.send('remember me across a restart')
      await first.close()
      const second = await makeApp({ env, databaseUrl: kept?.url })
      try {
        const page = await second.app.request('http://localhost/', { headers: { Cookie: you.cookie } })
        expect(await page.text()).toContain('remember me across a restart')
      } finally {
        await second.close()
      }
    } finally {
      await kept?.drop()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a cookie from before cookies were signed keeps the conversations it already had', async () => {
    const t = await app()
    const legacy = 'LegacyCookieValue000000000000000'
    const at = Date.now()
    await t.sql(
      `INSERT INTO conversations (id, owner, title, created_at, updated_at) VALUES (?, ?, ?, ${t.instant}, ${t.instant})`,
      'legacy-conv',
      ownerOf(legacy),
      'From before signed cookies',
      at,
      at,
    )
    const res = await t.app.request('http://localhost/', { headers: { Cookie: `bc_session=${legacy}` } })
    expect(await res.text()).toContain('From before signed cookies')
    expect(res.headers.get('set-cookie')).toMatch(/^bc_session=LegacyCookieValue000000000000000\.LegacyCookieValue000000000000000\./)
  })
})

describe('refuses to start exposed', () => {
  async function start(env: Record<string, string>, script = 'src/index.ts') {
    const dir = mkdtempSync(join(tmpdir(), 'access-start-'))
    // the chat server on PostgreSQL too; the standalone dashboard reads SQLite's file only
    const database =
      script === 'src/index.ts' ? await processDatabase(join(dir, 'm.db')) : { env: { METRICS_DB_PATH: join(dir, 'm.db') }, drop: async () => {} }
    const proc = Bun.spawn(['bun', script], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', DASHBOARD_PORT: '0', LOG_DIR: join(dir, 'logs'), ...database.env, ...env },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    // it either exits (refused) or says where it listens (started): then it is stopped
    let out = ''
    const listening = (async () => {
      for await (const chunk of proc.stdout) {
        out += new TextDecoder().decode(chunk)
        if (out.includes(' on http://')) return undefined
      }
      return proc.exited
    })()
    const exited = await Promise.race([proc.exited, listening, Bun.sleep(10_000).then(() => undefined)])
    if (exited === undefined) proc.kill()
    await proc.exited
    const stderr = await new Response(proc.stderr).text()
    rmSync(dir, { recursive: true, force: true })
    await database.drop()
    return { exitCode: exited, stderr, output: out + stderr }
  }

  test('on 0.0.0.0 with no access control the app exits with one line naming APP_PASSWORD and AUTH_PROXY_HEADER', async () => {
    const { exitCode, stderr } = await start({ HOST: '0.0.0.0' })
    expect(exitCode).toBe(2)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain('APP_PASSWORD')
    expect(stderr).toContain('AUTH_PROXY_HEADER')
  })

  test('with APP_PASSWORD, or the deliberate ALLOW_UNAUTHENTICATED=true, it starts (the latter with a warning)', async () => {
    expect((await start({ HOST: '0.0.0.0', APP_PASSWORD: PASSWORD })).exitCode).toBeUndefined()
    const open = await start({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: 'true' })
    expect(open.exitCode).toBeUndefined()
    expect(open.output).toContain('ALLOW_UNAUTHENTICATED=true')
  }, 30_000)

  test('the standalone dashboard, which has no sign-in page, refuses APP_PASSWORD without a proxy', async () => {
    const { exitCode, stderr } = await start({ APP_PASSWORD: PASSWORD }, 'src/dashboard.ts')
    expect(exitCode).toBe(2)
    expect(stderr).toContain('no sign-in page')
  })

  test('on 0.0.0.0 the Host check still refuses names that are not this machine', async () => {
    const t = await app({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: 'true' })
    expect((await t.app.request('http://evil.example/')).status).toBe(421)
    expect((await t.app.request('http://localhost/')).status).toBe(200)
  })
})

describe('behind a TLS proxy', () => {
  test('the cookie is Secure when the trusted proxy says the browser used HTTPS, and only then', async () => {
    const t = await app()
    const server = listen(t.app, t.deps)
    try {
      const viaProxy = await fetch(`${server.url}/`, { headers: { 'X-Forwarded-Proto': 'https' } })
      expect(viaProxy.headers.get('set-cookie')).toContain('; Secure')
      const plain = await fetch(`${server.url}/`)
      expect(plain.headers.get('set-cookie')).not.toContain('Secure')
    } finally {
      server.stop()
    }
    const untrusted = await app({ AUTH_PROXY_TRUSTED: '10.9.9.9' })
    const other = listen(untrusted.app, untrusted.deps)
    try {
      const spoofed = await fetch(`${other.url}/`, { headers: { 'X-Forwarded-Proto': 'https' } })
      expect(spoofed.headers.get('set-cookie')).not.toContain('Secure')
    } finally {
      other.stop()
    }
  })
})
