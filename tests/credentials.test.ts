import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { browser, makeApp, unescapeHtml, type TestApp } from './helpers.ts'

const ALICE = {
  accessKeyId: 'AKIAALICEALICE000001',
  secretAccessKey: 'aliceSecret/K7MDENG+bPxRfiCYALICEKEY0001',
  sessionToken: '',
  region: 'us-west-2',
}
const BOB = {
  accessKeyId: 'ASIABOBBOBBOB0000002',
  secretAccessKey: 'bobSecret0/K7MDENG+bPxRfiCYBOBBOBKEY0002',
  sessionToken: 'IQoJb3JpZ2luX2VjEBobSessionTokenVeryLongValue0000000000000002==',
  region: 'eu-central-1',
}

let t: TestApp
beforeAll(async () => {
  t = await makeApp()
})
afterAll(() => t.close())

function upstreamFor(marker: string) {
  return t.emulator.requests.filter((r) => JSON.stringify(r.body).includes(marker))
}

describe('sidebar credentials', () => {
  test('saving shows the masked key and region, and replies then use those credentials', async () => {
    const alice = browser(t.app)
    const res = await alice.post('/credentials', ALICE, { htmx: true })
    expect(res.status).toBe(200)
    const panel = await res.text()
    expect(panel).toContain('AKIA…0001')
    expect(panel).toContain('us-west-2')
    expect(panel).not.toContain(ALICE.secretAccessKey)
    expect(panel).not.toContain(ALICE.accessKeyId)
    await alice.send('alice asks #a1')
    const [request] = upstreamFor('alice asks #a1')
    expect(request!.accessKeyId).toBe(ALICE.accessKeyId)
  })

  test('without sidebar credentials the server credentials are used and said so', async () => {
    const someone = browser(t.app)
    const page = await (await someone.get('/')).text()
    expect(page).toContain('server credentials')
    await someone.send('server asks #s1')
    expect(upstreamFor('server asks #s1')[0]!.accessKeyId).toBe('AKIASERVERSERVER0001')
  })

  test("two browsers' credentials stay apart", async () => {
    const alice = browser(t.app)
    const bob = browser(t.app)
    await alice.post('/credentials', ALICE, { htmx: true })
    await bob.post('/credentials', BOB, { htmx: true })
    await Promise.all([alice.send('from alice #two'), bob.send('from bob #two')])
    expect(upstreamFor('from alice #two')[0]!.accessKeyId).toBe(ALICE.accessKeyId)
    expect(upstreamFor('from bob #two')[0]!.accessKeyId).toBe(BOB.accessKeyId)
    const alicePage = await (await alice.get('/')).text()
    const bobPage = await (await bob.get('/')).text()
    expect(alicePage).toContain('AKIA…0001')
    expect(alicePage).not.toContain('ASIA…0002')
    expect(bobPage).toContain('ASIA…0002')
    expect(bobPage).toContain('eu-central-1')
    // each browser sees only its own thread
    expect(alicePage).not.toContain('from bob')
    expect(bobPage).not.toContain('from alice')
  })

  test('rejected credentials are explained in the thread and nobody else is affected', async () => {
    const mallory = browser(t.app)
    const other = browser(t.app)
    await mallory.post('/credentials', { ...ALICE, accessKeyId: 'AKIAINVALID000000001' }, { htmx: true })
    const { body } = await mallory.send('will fail #bad')
    expect(unescapeHtml(body)).toContain('AWS rejected these credentials')
    const { body: fine } = await other.send('still fine #ok')
    expect(fine).toContain('data-status="done"')
  })

  test('bad credentials are refused with a clear message and change nothing', async () => {
    const carol = browser(t.app)
    await carol.post('/credentials', ALICE, { htmx: true })
    const cases: [Record<string, string>, string][] = [
      [{ ...ALICE, accessKeyId: '' }, 'Enter the AWS Access Key ID.'],
      [{ ...ALICE, accessKeyId: 'hello' }, 'An AWS Access Key ID looks like'],
      [{ ...ALICE, secretAccessKey: '' }, 'Enter the AWS Secret Access Key.'],
      [{ ...ALICE, region: 'moon-1' }, 'An AWS Region looks like us-east-1.'],
      [{ ...BOB, sessionToken: '' }, 'Temporary keys (ASIA…) need their AWS Session Token.'],
    ]
    for (const [form, message] of cases) {
      const res = await carol.post('/credentials', form, { htmx: true })
      expect(res.status).toBe(422)
      const html = await res.text()
      expect(html).toContain(message)
      expect(html).not.toContain(form['secretAccessKey'] || 'never-empty')
      // still the earlier, valid credentials
      expect(html).toContain('AKIA…0001')
    }
  })

  test('"Use server credentials" forgets the browser\'s keys', async () => {
    const dave = browser(t.app)
    await dave.post('/credentials', ALICE, { htmx: true })
    const res = await dave.post('/credentials/clear', {}, { htmx: true })
    expect(await res.text()).toContain('server credentials')
    await dave.send('after clear #c1')
    expect(upstreamFor('after clear #c1')[0]!.accessKeyId).toBe('AKIASERVERSERVER0001')
  })

  test('without JavaScript, saving credentials posts the form and comes back to the chat', async () => {
    const erin = browser(t.app)
    const res = await erin.post('/credentials', ALICE)
    expect(res.status).toBe(303)
    expect(await (await erin.get('/')).text()).toContain('AKIA…0001')
    const refused = await erin.post('/credentials', { ...ALICE, region: 'nowhere' })
    expect(refused.status).toBe(422)
    const page = await refused.text()
    expect(page).toStartWith('<!DOCTYPE html>')
    expect(page).toContain('An AWS Region looks like us-east-1.')
  })

  test('the session cookie is random, HttpOnly and SameSite', async () => {
    const res = await t.app.request('http://localhost/')
    const cookie = res.headers.get('set-cookie')!
    expect(cookie).toMatch(/^bc_session=[\w-]{32}\.[\w-]{32}\.[\w%-]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/)
    const other = (await t.app.request('http://localhost/')).headers.get('set-cookie')!
    expect(other).not.toBe(cookie)
  })

  test("an unknown session cookie gets a fresh session, not someone else's", async () => {
    const res = await t.app.request('http://localhost/', { headers: { Cookie: 'bc_session=guessed-value' } })
    expect(res.headers.get('set-cookie')).toStartWith('bc_session=')
    expect(await res.text()).toContain('server credentials')
  })

  test('after a session with sidebar credentials, neither the log, the database nor any page holds the secret', async () => {
    const frank = browser(t.app)
    await frank.post('/credentials', BOB, { htmx: true })
    await frank.send('secret check #f1')
    await frank.send('[[validation]] secret check #f2')
    await frank.send('[[throttle:1]] secret check #f3')
    const pages = [await (await frank.get('/')).text(), await (await frank.post('/credentials', { ...BOB, region: 'bad' }, { htmx: true })).text()]
    // the whole log folder and the database files, as bytes on disk
    const files = [
      ...readdirSync(join(t.dir, 'logs')).map((f) => join(t.dir, 'logs', f)),
      ...readdirSync(join(t.dir, 'metrics')).map((f) => join(t.dir, 'metrics', f)),
    ]
    await t.logText()
    t.database.sqlite.exec('PRAGMA wal_checkpoint(FULL)')
    const disk = files.map((f) => readFileSync(f).toString('latin1'))
    expect(disk.join('').length).toBeGreaterThan(0)
    for (const secret of [BOB.secretAccessKey, BOB.sessionToken]) {
      // (booleans, so a failure does not print the whole file)
      for (const text of [...pages, ...disk]) expect(text.includes(secret)).toBe(false)
    }
    // the scan read real content: the log names the masked key, the database holds this session's calls
    expect(disk.join('').includes('browser credentials saved')).toBe(true)
    expect(disk.join('').includes('ValidationException')).toBe(true)
  })
})

/** A Bedrock API key as the server's environment may hold it (AWS_BEARER_TOKEN_BEDROCK). */
const SERVER_API_KEY = 'ABSKQmVkcm9ja0FQSUtleS1zZXJ2ZXIwMDAwMDAwMDAx'

/**
 * Runs `fn` with a variable in this process's environment, where the SDK itself looks for it,
 * and puts the environment back afterwards (every test file shares this process).
 */
async function withProcessEnv<T>(name: string, value: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env[name]
  process.env[name] = value
  try {
    return await fn()
  } finally {
    if (before === undefined) delete process.env[name]
    else process.env[name] = before
  }
}

describe('a server with a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK)', () => {
  let keyed: TestApp
  beforeAll(async () => {
    keyed = await makeApp({ env: { AWS_BEARER_TOKEN_BEDROCK: SERVER_API_KEY } })
  })
  afterAll(() => keyed.close())
  const upstream = (marker: string) => keyed.emulator.requests.filter((r) => JSON.stringify(r.body).includes(marker))

  test("a browser's sidebar keys sign its calls, not the server's API key", async () => {
    await withProcessEnv('AWS_BEARER_TOKEN_BEDROCK', SERVER_API_KEY, async () => {
      const alice = browser(keyed.app)
      await alice.post('/credentials', ALICE, { htmx: true })
      const { body } = await alice.send('alice with a keyed server #k1')
      expect(body).toContain('data-status="done"')
      const [request] = upstream('alice with a keyed server #k1')
      expect(request!.authorization).toStartWith(`AWS4-HMAC-SHA256 Credential=${ALICE.accessKeyId}/`)
      expect(request!.authorization!.includes(SERVER_API_KEY)).toBe(false)
    })
  })

  test("invalid sidebar keys are still rejected: the server's API key does not stand in for them", async () => {
    await withProcessEnv('AWS_BEARER_TOKEN_BEDROCK', SERVER_API_KEY, async () => {
      const mallory = browser(keyed.app)
      await mallory.post('/credentials', { ...ALICE, accessKeyId: 'AKIAINVALID000000001' }, { htmx: true })
      const { body } = await mallory.send('mallory with a keyed server #k2')
      expect(unescapeHtml(body)).toContain('AWS rejected these credentials')
      expect(upstream('mallory with a keyed server #k2')[0]!.authorization).toStartWith('AWS4-HMAC-SHA256 Credential=AKIAINVALID000000001/')
    })
  })

  test('a browser without sidebar keys is answered with the server API key', async () => {
    const someone = browser(keyed.app)
    const { body } = await someone.send('server key asks #k3')
    expect(body).toContain('data-status="done"')
    const [request] = upstream('server key asks #k3')
    expect(request!.authorization).toBe(`Bearer ${SERVER_API_KEY}`)
    // and the key is never written to the log
    expect((await keyed.logText()).includes(SERVER_API_KEY)).toBe(false)
  })

  test('without an API key in its configuration the server signs with its own access keys, even if the SDK could find one', async () => {
    // a fresh app: the SDK reads the environment at a client's first call and keeps what it found
    const unkeyed = await makeApp({ emulator: t.emulator })
    try {
      await withProcessEnv('AWS_BEARER_TOKEN_BEDROCK', SERVER_API_KEY, async () => {
        await browser(unkeyed.app).send('server signs #k4')
        expect(upstreamFor('server signs #k4')[0]!.authorization).toStartWith('AWS4-HMAC-SHA256 Credential=AKIASERVERSERVER0001/')
      })
    } finally {
      await unkeyed.close()
    }
  })
})

/** A port nothing listens on: bound, then closed again. */
async function closedPort(): Promise<number> {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const { port } = server
  server.stop(true)
  return port
}

describe('an endpoint URL with a user name and password', () => {
  test('the password shows nowhere: not in the reply, the log or the database', async () => {
    const port = await closedPort()
    const leaky = await makeApp({ env: { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: `http://user:secretpass@127.0.0.1:${port}` } })
    try {
      const someone = browser(leaky.app)
      const { body } = await someone.send('where is bedrock #u1')
      const reply = unescapeHtml(body)
      expect(reply).toContain(`Could not reach http://127.0.0.1:${port}`)
      expect(reply.includes('secretpass')).toBe(false)
      expect((await someone.get('/')).status).toBe(200)
      const page = await (await someone.get(someone.conversation!)).text()
      expect(unescapeHtml(page)).toContain(`Could not reach http://127.0.0.1:${port}`)
      expect(page.includes('secretpass')).toBe(false)
      const log = await leaky.logText()
      expect(log).toContain('model call failed')
      expect(log.includes('secretpass')).toBe(false)
      // the rows as stored, and the database files as bytes on disk
      const rows = JSON.stringify([leaky.database.sqlite.query('SELECT * FROM messages').all(), leaky.database.sqlite.query('SELECT * FROM invocations').all()])
      expect(rows).toContain('Could not reach http://127.0.0.1')
      expect(rows.includes('secretpass')).toBe(false)
      leaky.database.sqlite.exec('PRAGMA wal_checkpoint(FULL)')
      const metricsDir = join(leaky.dir, 'metrics')
      const disk = readdirSync(metricsDir).map((f) => readFileSync(join(metricsDir, f)).toString('latin1'))
      expect(disk.join('').includes('secretpass')).toBe(false)
    } finally {
      await leaky.close()
    }
  })

  test('an endpoint with a user name and password still answers', async () => {
    const url = t.emulator.url.replace('http://', 'http://user:secretpass@')
    const proxied = await makeApp({ env: { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: url }, emulator: t.emulator })
    try {
      const { body } = await browser(proxied.app).send('through userinfo #u2')
      expect(body).toContain('data-status="done"')
      expect(upstreamFor('through userinfo #u2')).toHaveLength(1)
    } finally {
      await proxied.close()
    }
  })
})
