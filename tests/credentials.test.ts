import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { apiKeyFingerprint } from '../src/emulator/server.ts'
import { createApp } from '../src/app.ts'
import { createDeps } from '../src/deps.ts'
import { CREDENTIALS_LOST } from '../src/presenters/chat-page.tsx'
import { CREDENTIALS_NOT_HELD } from '../src/services/chat/reply.ts'
import { browser, makeApp, otherInstanceStore, SERVER_CREDENTIALS, unescapeHtml, type TestApp } from './helpers.ts'

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

/**
 * Everything the app's database holds, as text: SQLite's files as bytes on disk (after a
 * checkpoint, so the WAL's pages are in the file too), PostgreSQL's every row of every table.
 */
async function storedText(app: TestApp): Promise<string> {
  if (app.store === 'sqlite') {
    app.database.sqlite.exec('PRAGMA wal_checkpoint(FULL)')
    const dir = join(app.dir, 'metrics')
    return readdirSync(dir)
      .map((f) => readFileSync(join(dir, f)).toString('latin1'))
      .join('')
  }
  const tables = await app.sql<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'")
  return JSON.stringify(await Promise.all(tables.map(({ name }) => app.sql(`SELECT * FROM "${name}"`))))
}
/** The log folder's files as bytes on disk. */
function logText(app: TestApp): string {
  const dir = join(app.dir, 'logs')
  return readdirSync(dir)
    .map((f) => readFileSync(join(dir, f)).toString('latin1'))
    .join('')
}
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
    // the whole log folder as bytes on disk, and what the database holds
    await t.logText()
    const disk = [logText(t), await storedText(t)]
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
    expect(request).toMatchObject({ auth: 'bearer', accessKeyId: null, apiKeyFingerprint: apiKeyFingerprint(SERVER_API_KEY) })
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

/** A browser's own Bedrock API keys, as the console gives them: long-term (ABSK…) and short-term (a presigned URL). */
const CAROL_API_KEY = 'ABSKQmVkcm9ja0FQSUtleS1jYXJvbC1hdC0xMjM0NTY3ODkwMTI6Y2Fyb2xTZWNyZXQwMDAx'
const DAN_API_KEY = `bedrock-api-key-${Buffer.from(
  'bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIADAN%2F20261202%2Fus-east-1%2Fbedrock%2Faws4_request&X-Amz-Date=20261202T080000Z&X-Amz-Expires=43200&X-Amz-Signature=0123abcd&Version=1',
).toString('base64')}`

describe('a Bedrock API key in the sidebar', () => {
  test('a saved key is used for that browser only, as a bearer token; another browser uses the server credentials', async () => {
    const carol = browser(t.app)
    const other = browser(t.app)
    const res = await carol.post('/credentials', { apiKey: CAROL_API_KEY, region: 'us-west-2' }, { htmx: true })
    expect(res.status).toBe(200)
    const panel = unescapeHtml(await res.text())
    expect(panel).toContain('your Bedrock API key (long-term)')
    expect(panel).toContain('Use server credentials')
    expect(panel.includes(CAROL_API_KEY)).toBe(false)
    await Promise.all([carol.send('carol asks with her key #ak1'), other.send('someone else asks #ak2')])
    const [mine] = upstreamFor('carol asks with her key #ak1')
    expect(mine).toMatchObject({ auth: 'bearer', accessKeyId: null, apiKeyFingerprint: apiKeyFingerprint(CAROL_API_KEY) })
    expect(mine!.path).toStartWith('/model/')
    const [theirs] = upstreamFor('someone else asks #ak2')
    expect(theirs).toMatchObject({ auth: 'sigv4', accessKeyId: 'AKIASERVERSERVER0001', apiKeyFingerprint: null })
    // the page says what is in use, and never the key
    const page = unescapeHtml(await (await carol.get('/')).text())
    expect(page).toContain('your Bedrock API key (long-term)')
    expect(page).toContain('us-west-2')
    expect(page.includes(CAROL_API_KEY)).toBe(false)
    expect(unescapeHtml(await (await other.get('/')).text())).toContain('server credentials')
  })

  test('a short-term key is accepted and said to be short-term; the field is masked', async () => {
    const dan = browser(t.app)
    const page = await (await dan.get('/')).text()
    expect(page).toMatch(/<label for="api-key">Bedrock API key<\/label>\s*<input id="api-key" name="apiKey" type="password"/)
    const res = await dan.post('/credentials', { apiKey: DAN_API_KEY }, { htmx: true })
    expect(unescapeHtml(await res.text())).toContain('your Bedrock API key (short-term)')
    await dan.send('dan asks #ak3')
    expect(upstreamFor('dan asks #ak3')[0]).toMatchObject({ auth: 'bearer', apiKeyFingerprint: apiKeyFingerprint(DAN_API_KEY) })
  })

  test('a malformed key is refused with a clear message and changes nothing', async () => {
    const erin = browser(t.app)
    await erin.post('/credentials', ALICE, { htmx: true })
    const cases: [Record<string, string>, string][] = [
      [{ apiKey: 'sk-ant-not-a-bedrock-key-0000000000' }, 'A Bedrock API key starts with ABSK'],
      [{ apiKey: 'ABSK short' }, 'A Bedrock API key starts with ABSK'],
      [{ apiKey: `ABSK${'A'.repeat(20_000)}` }, 'That Bedrock API key is too long.'],
      [{ ...ALICE, apiKey: CAROL_API_KEY }, 'Give either a Bedrock API key or access keys, not both'],
    ]
    for (const [form, message] of cases) {
      const res = await erin.post('/credentials', form, { htmx: true })
      expect(res.status).toBe(422)
      const html = unescapeHtml(await res.text())
      expect(html).toContain(message)
      expect(html.includes(form['apiKey']!)).toBe(false)
      // still the earlier, valid credentials
      expect(html).toContain('AKIA…0001')
    }
    await erin.send('erin still signs #ak4')
    expect(upstreamFor('erin still signs #ak4')[0]).toMatchObject({ auth: 'sigv4', accessKeyId: ALICE.accessKeyId })
  })

  test('an expired or invalid key is explained in the thread, naming the sidebar key', async () => {
    const fay = browser(t.app)
    await fay.post('/credentials', { apiKey: CAROL_API_KEY }, { htmx: true })
    const { body } = await fay.send('[[badkey]] fay with an expired key #ak5')
    expect(unescapeHtml(body)).toContain('Bedrock refused your Bedrock API key: it has expired or is not valid.')
    expect(upstreamFor('fay with an expired key #ak5')[0]).toMatchObject({ auth: 'bearer', status: 403, errorType: 'AccessDeniedException' })
    const [row] = await t.sql(
      "SELECT error_type, outcome FROM invocations WHERE id = (SELECT max(id) FROM invocations WHERE error_type = 'AccessDeniedException')",
    )
    expect(row).toEqual({ error_type: 'AccessDeniedException', outcome: 'error' })
    // a key Bedrock accepts, without access to the model, is told as the model access it is
    const { body: noAccess } = await fay.send('[[access]] fay without model access #ak9')
    expect(unescapeHtml(noAccess)).toContain('This account has no access to')
  })

  test('"Use server credentials" forgets the key, and without JavaScript saving it posts the form', async () => {
    const gus = browser(t.app)
    const saved = await gus.post('/credentials', { apiKey: CAROL_API_KEY })
    expect(saved.status).toBe(303)
    expect(unescapeHtml(await (await gus.get('/')).text())).toContain('your Bedrock API key (long-term)')
    const refused = await gus.post('/credentials', { apiKey: 'nonsense' })
    expect(refused.status).toBe(422)
    expect(await refused.text()).toStartWith('<!DOCTYPE html>')
    const cleared = await gus.post('/credentials/clear', {})
    expect(cleared.status).toBe(303)
    expect(unescapeHtml(await (await gus.get('/')).text())).toContain('server credentials')
    await gus.send('gus after clearing #ak6')
    expect(upstreamFor('gus after clearing #ak6')[0]).toMatchObject({ auth: 'sigv4', accessKeyId: 'AKIASERVERSERVER0001' })
  })

  test('the key never reaches the log, the database, a page or the emulator record', async () => {
    // its own app: the log belongs to the app made last
    const own = await makeApp({ emulator: t.emulator })
    try {
      const hal = browser(own.app)
      await hal.post('/credentials', { apiKey: CAROL_API_KEY }, { htmx: true })
      await hal.send('hal key check #ak7')
      await hal.send('[[badkey]] hal key check #ak8')
      const pages = [await (await hal.get('/')).text(), await (await hal.post('/credentials', { apiKey: 'bad' }, { htmx: true })).text()]
      await own.logText()
      const disk = logText(own) + (await storedText(own))
      // the scan read real content: the log says a key was saved, the database holds the refusal
      expect(disk.includes('browser Bedrock API key saved')).toBe(true)
      expect(disk.includes('Bedrock refused your Bedrock API key')).toBe(true)
      for (const text of [...pages, disk, JSON.stringify(t.emulator.requests)]) expect(text.includes(CAROL_API_KEY)).toBe(false)
    } finally {
      await own.close()
    }
  })
})

describe('a server with a Bedrock API key, and a browser with its own', () => {
  let keyed: TestApp
  beforeAll(async () => {
    keyed = await makeApp({ env: { AWS_BEARER_TOKEN_BEDROCK: SERVER_API_KEY } })
  })
  afterAll(() => keyed.close())
  const upstream = (marker: string) => keyed.emulator.requests.filter((r) => JSON.stringify(r.body).includes(marker))

  test("each call carries exactly its browser's credential: its API key, its access keys, or else the server's key", async () => {
    await withProcessEnv('AWS_BEARER_TOKEN_BEDROCK', SERVER_API_KEY, async () => {
      const withKey = browser(keyed.app)
      const withKeys = browser(keyed.app)
      const withNothing = browser(keyed.app)
      await withKey.post('/credentials', { apiKey: CAROL_API_KEY }, { htmx: true })
      await withKeys.post('/credentials', ALICE, { htmx: true })
      await Promise.all([withKey.send('own key #m1'), withKeys.send('own keys #m2'), withNothing.send('nothing #m3')])
      expect(upstream('own key #m1')[0]).toMatchObject({ auth: 'bearer', apiKeyFingerprint: apiKeyFingerprint(CAROL_API_KEY) })
      expect(upstream('own keys #m2')[0]).toMatchObject({ auth: 'sigv4', accessKeyId: ALICE.accessKeyId, apiKeyFingerprint: null })
      expect(upstream('nothing #m3')[0]).toMatchObject({ auth: 'bearer', apiKeyFingerprint: apiKeyFingerprint(SERVER_API_KEY) })
      // each sidebar says which credential its browser uses
      expect(unescapeHtml(await (await withKey.get('/')).text())).toContain('your Bedrock API key (long-term)')
      expect(unescapeHtml(await (await withKeys.get('/')).text())).toContain('your key AKIA…0001')
      expect(unescapeHtml(await (await withNothing.get('/')).text())).toContain("server credentials (the server's Bedrock API key)")
    })
  })

  test("the server's expired key is explained as the server's", async () => {
    const { body } = await browser(keyed.app).send('[[badkey]] server key expired #m4')
    expect(unescapeHtml(body)).toContain("Bedrock refused the server's Bedrock API key (AWS_BEARER_TOKEN_BEDROCK): it has expired or is not valid.")
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
      const rows = JSON.stringify([await leaky.sql('SELECT * FROM messages'), await leaky.sql('SELECT * FROM invocations')])
      expect(rows).toContain('Could not reach http://127.0.0.1')
      expect(rows.includes('secretpass')).toBe(false)
      expect((await storedText(leaky)).includes('secretpass')).toBe(false)
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

describe('a server that does not hold the credentials a browser saved', () => {
  test('after a restart, or on another instance, the sidebar asks for them again; the conversations stay, and Use server credentials dismisses it', async () => {
    const origin = 'http://localhost'
    let cookies: string[] = []
    const ask = async (app: { request: typeof t.app.request }, path: string, form?: Record<string, string>) => {
      const res = await app.request(`${origin}${path}`, {
        method: form ? 'POST' : 'GET',
        headers: { Cookie: cookies.join('; '), Origin: origin },
        body: form ? new URLSearchParams(form) : undefined,
        redirect: 'manual',
      })
      for (const set of res.headers.getSetCookie()) {
        const [pair] = set.split(';')
        const name = pair!.split('=')[0]
        cookies = [...cookies.filter((c) => !c.startsWith(`${name}=`)), ...(/Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(set) ? [] : [pair!])]
      }
      return res
    }
    await ask(t.app, '/')
    expect(
      (await ask(t.app, '/credentials', { accessKeyId: 'AKIAEXAMPLEEXAMPLE01', secretAccessKey: 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY01' })).status,
    ).toBe(303)
    const title = `Kept across servers ${crypto.randomUUID().slice(0, 6)}`
    const sent = await ask(t.app, '/c/new/messages', { message: title })
    expect(sent.status).toBe(303)

    // another server on the same database: none of the first one's memory
    const otherDeps = createDeps({ config: t.config, ...(await otherInstanceStore(t)), bedrock: { serverCredentials: SERVER_CREDENTIALS } })
    const other = createApp(otherDeps)
    try {
      const page = unescapeHtml(await (await ask(other, '/')).text())
      expect(page).toContain(CREDENTIALS_LOST)
      expect(page).toContain('Using <strong>server credentials</strong>')
      expect(page).toContain(title)
      // nothing goes out on the server's credentials meanwhile
      const before = t.emulator.requests.length
      const refused = unescapeHtml(await (await ask(other, '/c/new/messages', { message: 'sent before entering them again' })).text())
      expect(refused).toContain(CREDENTIALS_NOT_HELD)
      expect(t.emulator.requests.length).toBe(before)
      const dismissed = unescapeHtml(await (await ask(other, '/credentials/clear', {})).text())
      expect((await ask(other, '/')).status).toBe(200)
      expect(unescapeHtml(await (await ask(other, '/')).text())).not.toContain(CREDENTIALS_LOST)
      expect(dismissed).not.toContain(CREDENTIALS_LOST)
    } finally {
      await otherDeps.writer.close(1000)
      await otherDeps.store.close()
    }
  })
})
