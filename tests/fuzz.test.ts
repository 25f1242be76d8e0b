import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { connect } from 'node:net'
import { browser, listen, makeApp, type TestApp } from './helpers.ts'
import { describeRequest, fuzzRequest, toRequest, type FuzzRequest, type Known } from './fuzz-requests.ts'
import { seededRandom } from './seeded-random.ts'
import { BODY_LIMITS } from '../src/http/forms.ts'
import { REQUEST_LIMITS } from '../src/http/request-limits.ts'

/**
 * Odd requests never break the server. A seeded generator builds a bounded number of requests over
 * every route of the contract (wrong methods, hostile paths and query strings, broken and foreign
 * bodies, other sites' origins, forged and huge cookies, htmx headers or none) and sends them to
 * the real app, in process and over real HTTP. Every answer must be below 500 and readable, the
 * log must hold no "unhandled error", and the server must still chat afterwards.
 *
 * A failure prints its seed: `FUZZ_SEED=<seed> bun test tests/fuzz.test.ts` replays it.
 * `FUZZ_REQUESTS` sends more (or fewer) requests in process; the default keeps CI well inside a minute.
 */

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0
const IN_PROCESS = Number(process.env.FUZZ_REQUESTS ?? 2500)
const OVER_HTTP = 150
/** Requests in flight at once: enough to interleave replies, few enough that the emulator is not a load test. */
const CONCURRENCY = 8
/** An answer slower than this is a hang, reported like a 500. */
const ANSWER_MS = 10_000
/** How much of a body is read: enough to see what it says. */
const READ_BYTES = 64 * 1024

/** Bodies the frameworks write when nobody wrote a page: a person could not tell what went wrong. */
const BARE_DEFAULTS = new Set([
  'Forbidden',
  'Payload Too Large',
  '404 Not Found',
  'Not Found',
  'Method Not Allowed',
  'Unsupported Media Type',
  'Bad Request',
  'Internal Server Error',
])

type Outcome = { status: number; contentType: string; csp: boolean; text: string }
type Problem = { request: string; problem: string }

let t: TestApp
let known: Known

/** The fuzzing browser's own conversation, reply, file and cookie: so odd requests also reach real things. */
async function ownThings(app: TestApp): Promise<Known> {
  const owner = browser(app.app)
  await owner.send('the conversation the fuzzer pokes at')
  const conversation = owner.conversation!.replace('/c/', '')
  const form = new FormData()
  form.append('message', 'with a file')
  form.append('files', new File(['plain words'], 'note.txt', { type: 'text/plain' }))
  // the composer's own way: multipart, as htmx sends it (the helper's send() posts urlencoded)
  await (await owner.get(`/c/${conversation}/messages`, { method: 'POST', body: form, htmx: true })).text()
  const page = await (await owner.get(`/c/${conversation}`)).text()
  const attachment = page.match(new RegExp(`/c/${conversation}/attachments/([\\w-]+)`))?.[1]
  const reply = [...page.matchAll(/<article class="msg assistant [^"]*" id="m-([\w-]+)"/g)].at(-1)?.[1]
  expect(attachment).toBeDefined()
  expect(reply).toBeDefined()
  owner.newChat()
  await owner.send('the conversation the fuzzer deletes')
  const doomed = owner.conversation!.replace('/c/', '')
  const other = browser(app.app)
  await other.get('/')
  return { conversation, doomed, reply: reply!, attachment: attachment!, cookie: owner.cookie, otherCookie: other.cookie, origin: 'http://localhost' }
}

/**
 * The answer, with as much of its body as says what it is. The dashboard's stream never ends, so
 * its first message is enough; a reply's stream ends by itself. Past ANSWER_MS it is a hang, and
 * the body is cancelled (so the server's side of it ends too).
 */
async function answer(send: () => Response | Promise<Response>, endless: boolean): Promise<Outcome | 'hang'> {
  let timer: Timer | undefined
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ANSWER_MS)))
  try {
    const res = await Promise.race([send(), late])
    if (res === 'late') return 'hang'
    const outcome = { status: res.status, contentType: res.headers.get('content-type') ?? '', csp: res.headers.has('content-security-policy'), text: '' }
    if (!res.body) return outcome
    const reader = res.body.getReader()
    const decoder = new TextDecoder()
    for (;;) {
      const read = await Promise.race([reader.read(), late])
      if (read === 'late') {
        await reader.cancel()
        return 'hang'
      }
      if (read.done) return outcome
      outcome.text += decoder.decode(read.value, { stream: true })
      if (outcome.text.length > READ_BYTES || (endless && outcome.text.includes('\n\n'))) {
        await reader.cancel()
        return outcome
      }
    }
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Bun.serve refuses a request head over 16 KiB itself, before the app: a bare 431, no page. The app's
 * own limit (REQUEST_LIMITS.headerBytes) is below it, so only a head over Bun's gets this answer.
 */
const bunsOwn431 = (o: Outcome) => o.status === 431 && o.text === '' && !o.csp

/** What is wrong with an answer, if anything. */
function problemWith(method: string, outcome: Outcome | 'hang'): string | undefined {
  if (outcome === 'hang') return `no answer within ${ANSWER_MS} ms`
  const { status, text, csp } = outcome
  if (status >= 500) return `${status}: ${text.replace(/\s+/g, ' ').slice(0, 200)}`
  if (bunsOwn431(outcome)) return undefined
  if (!csp) return `${status} without the content security policy`
  if (status >= 400 && method.toUpperCase() !== 'HEAD') {
    if (text.trim() === '') return `${status} with an empty body`
    if (BARE_DEFAULTS.has(text.trim())) return `${status} with only "${text.trim()}"`
  }
  return undefined
}

/** Sends `count` generated requests, `CONCURRENCY` at a time, and returns what went wrong. */
async function fuzz(
  rng: () => number,
  count: number,
  send: (r: FuzzRequest) => Response | Promise<Response> | undefined,
  things: Known,
): Promise<{ problems: Problem[]; statuses: Map<number, number> }> {
  const requests = Array.from({ length: count }, () => fuzzRequest(rng))
  const problems: Problem[] = []
  const statuses = new Map<number, number>()
  let next = 0
  const worker = async () => {
    while (next < requests.length) {
      const r = requests[next++]!
      const sending = send(r)
      if (!sending) continue
      const outcome = await answer(() => sending, r.segments[0] === 'dashboard' && r.segments[1] === 'stream').catch((err: unknown) => ({
        failed: err instanceof Error ? err.message : String(err),
      }))
      if (typeof outcome === 'object' && 'failed' in outcome) {
        problems.push({ request: describeRequest(r, things), problem: `no answer at all: ${outcome.failed}` })
        continue
      }
      if (outcome !== 'hang') statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1)
      const problem = problemWith(r.method, outcome)
      if (problem) problems.push({ request: describeRequest(r, things), problem })
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return { problems, statuses }
}

function report(what: string, problems: Problem[]): string[] {
  if (problems.length === 0) return []
  console.error(`${what}: ${problems.length} bad answers with seed ${SEED}; replay with FUZZ_SEED=${SEED} bun test tests/fuzz.test.ts`)
  return problems.slice(0, 15).map((p) => `${p.problem}  <=  ${p.request}`)
}

/** The log's lines that say the server failed: an unhandled error, or an answer of 500 or more. */
async function serverFailures(app: TestApp): Promise<string[]> {
  const log = await app.logText()
  return log.split('\n').filter((line) => line.includes('unhandled error') || line.includes('request failed'))
}

/** One raw HTTP/1.1 exchange: the status line and head the server answered, or undefined if it only closed. */
function rawExchange(port: number, bytes: string): Promise<{ status: number; fromApp: boolean } | undefined> {
  return new Promise((resolve) => {
    let got = ''
    const socket = connect(port, '127.0.0.1', () => socket.end(bytes, 'latin1'))
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      const status = Number(got.match(/^HTTP\/1\.[01] (\d{3})/)?.[1])
      // every answer of the app carries its content policy; Bun's own parser refusals carry none
      resolve(status ? { status, fromApp: /\r\ncontent-security-policy:/i.test(got) } : undefined)
    }
    const timer = setTimeout(done, 2000)
    socket.on('data', (d) => {
      got += d.toString('latin1')
      if (got.includes('\r\n\r\n')) done()
    })
    socket.on('close', done)
    socket.on('error', done)
  })
}

/**
 * What is wrong with a raw exchange: an answer of the app at 500 or more. Bun's parser answers
 * what it cannot parse itself (400, 431, or 505 for a request line it reads as another HTTP
 * version), and that never reaches the app.
 */
function rawProblem(answer: { status: number; fromApp: boolean } | undefined): string | undefined {
  if (!answer) return undefined
  if (answer.fromApp) return answer.status >= 500 ? `the app answered ${answer.status}` : undefined
  return answer.status >= 500 && answer.status !== 505 ? `Bun answered ${answer.status}` : undefined
}

beforeAll(async () => {
  t = await makeApp()
  known = await ownThings(t)
})

afterAll(async () => {
  await t?.close()
})

/** A request as the fuzzing browser sends it (its cookie and this site's Origin), with what the page says. */
async function ask(path: string, init: RequestInit & { htmx?: boolean } = {}) {
  const headers = new Headers(init.headers)
  if (!headers.has('Cookie')) headers.set('Cookie', known.cookie)
  if (!headers.has('Origin')) headers.set('Origin', 'http://localhost')
  if (init.htmx) headers.set('HX-Request', 'true')
  const res = await t.app.request(`http://localhost${path}`, { ...init, headers, redirect: 'manual' })
  const body = await res.text()
  const said =
    body
      .match(/<main class="error-page"><h1>(.*?)<\/h1><p>(.*?)<\/p>/)
      ?.slice(1)
      .join(': ') ??
    body.match(/(?:id="composer-error"[^>]*|hx-target="#(?:composer|request)-error"[^>]*)>([^<]+)</)?.[1] ??
    ''
  return { status: res.status, allow: res.headers.get('Allow'), body, said: said.replace(/&#39;|’/g, "'") }
}

const form = (fields: string, headers: Record<string, string> = {}) => ({
  method: 'POST',
  body: fields,
  headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
})

describe('each kind of odd request gets its own refusal, in words', () => {
  test('a post from another site is refused with 403 whatever its content type, JSON and text included', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'application/json', 'text/plain', 'multipart/form-data; boundary=x']) {
      const res = await ask('/credentials/clear', { method: 'POST', body: '{}', headers: { 'Content-Type': type, Origin: 'https://evil.example' } })
      expect({ type, status: res.status }).toEqual({ type, status: 403 })
      expect(res.said).toContain("was not sent from this site's own pages")
    }
    const noOrigin = await ask('/credentials/clear', { method: 'POST', body: '', headers: { Origin: '' } })
    expect(noOrigin.status).toBe(403)
  })

  test('a body of a type no form here sends is refused with 415; multipart only where files go', async () => {
    const json = await ask(`/c/${known.conversation}/rename`, { method: 'POST', body: '{"title":"x"}', headers: { 'Content-Type': 'application/json' } })
    expect(json.status).toBe(415)
    expect(json.said).toContain('takes a form (application/x-www-form-urlencoded), not application/json')
    const multipart = new FormData()
    multipart.append('title', 'x')
    expect((await ask(`/c/${known.conversation}/rename`, { method: 'POST', body: multipart })).status).toBe(415)
    const message = new FormData()
    message.append('message', 'multipart is how the composer sends')
    expect((await ask('/c/new/messages', { method: 'POST', body: message, htmx: true })).status).toBe(200)
    expect((await ask('/credentials/clear', { method: 'POST', body: 'x', headers: { 'Content-Type': '' } })).status).toBe(415)
  })

  test('NUL, CR/LF and other control characters in the path or query string are refused with 400', async () => {
    // /public/…%00 once reached the static file lookup, which threw on the NUL: a 500
    for (const path of [
      '/c/a%00b',
      '/public/app.css/%00',
      '/c/a%0d%0aSet-Cookie:%20x',
      '/search?q=a%00b',
      '/search?q=line%0Abreak',
      '/dashboard?range=1h%1b',
    ]) {
      const res = await ask(path)
      expect({ path, status: res.status }).toEqual({ path, status: 400 })
      expect(res.said).toContain('control character')
    }
  })

  test('a broken percent-encoding in the path, the query string or a form is refused with 400', async () => {
    for (const path of ['/c/%E0%A4%A', '/c/%ZZ', '/search?q=%E0%A4%A', '/signin?next=%FF']) {
      const res = await ask(path)
      expect({ path, status: res.status }).toEqual({ path, status: 400 })
      expect(res.said).toContain('broken percent-encoding')
    }
    const body = await ask('/c/new/messages', form('message=%E0%A4%A'))
    expect(body.status).toBe(400)
    expect(body.said).toContain('The form could not be read')
  })

  test('an address longer than REQUEST_LIMITS is refused with 414, and headers larger than it with 431', async () => {
    expect((await ask(`/c/${'a'.repeat(REQUEST_LIMITS.pathLength)}`)).status).toBe(414)
    // a file name past PATH_MAX once made the static file lookup throw: a 500
    expect((await ask(`/public/${'x'.repeat(5000)}`)).status).toBe(414)
    expect((await ask(`/search?q=${'a'.repeat(REQUEST_LIMITS.queryLength)}`)).status).toBe(414)
    const cookies = await ask('/', { headers: { Cookie: `bc_session=${'c'.repeat(REQUEST_LIMITS.headerBytes)}` } })
    expect(cookies.status).toBe(431)
    expect(cookies.said).toContain("Clear this site's cookies")
  })

  test('PUT, DELETE and PATCH anywhere, and GET on a form’s address, get 405 naming what the address takes', async () => {
    for (const [method, path, allow] of [
      ['PUT', '/', 'GET, HEAD'],
      ['DELETE', `/c/${known.conversation}`, 'GET, HEAD'],
      ['PATCH', '/credentials', 'POST'],
      ['GET', `/c/${known.conversation}/messages`, 'POST'],
      ['GET', '/replies/x/stop', 'POST'],
      ['DELETE', '/dashboard', 'GET, HEAD'],
    ] as const) {
      const res = await ask(path, { method })
      expect({ method, path, status: res.status, allow: res.allow }).toEqual({ method, path, status: 405, allow })
      expect(res.said).toStartWith('Not available this way')
    }
    expect((await ask('/nothing/here', { method: 'PUT' })).status).toBe(404)
  })

  test('a form far over BODY_LIMITS is refused with 413 before it is read, while a message with files may be far larger', async () => {
    const huge = await ask(`/c/${known.conversation}/rename`, form(`title=${'t'.repeat(BODY_LIMITS.form)}`))
    expect(huge.status).toBe(413)
    expect(huge.said).toContain('at most 1 MB')
    const declared = await ask(`/c/${known.conversation}/rename`, form('title=x', { 'Content-Length': String(BODY_LIMITS.form + 1) }))
    expect(declared.status).toBe(413)
    const withFile = new FormData()
    withFile.append('message', 'a file over the form limit')
    withFile.append('files', new File(['words '.repeat(BODY_LIMITS.form / 3)], 'big.txt', { type: 'text/plain' }))
    expect((await ask('/c/new/messages', { method: 'POST', body: withFile, htmx: true })).status).toBe(200)
  })

  test('a field sent twice, or holding a control character, is refused with 422 that names it, and nothing is saved', async () => {
    const before = (await t.deps.conversations.thread(known.conversation)).length
    const twice = await ask(`/c/${known.conversation}/messages`, { ...form('message=a&message=b'), htmx: true })
    expect(twice.status).toBe(422)
    expect(twice.said).toBe('“message” was sent more than once; the form takes it once.')
    const nul = await ask(`/c/${known.conversation}/messages`, { ...form('message=a%00b'), htmx: true })
    expect(nul.status).toBe(422)
    expect(nul.said).toContain('“message” holds a control character')
    const title = await ask(`/c/${known.conversation}/rename`, form('title=one%0Atwo'))
    expect(title.status).toBe(422)
    expect(title.said).toContain('“title” is one line')
    const lines = await ask(`/c/${known.conversation}/messages`, form('message=two%0D%0Alines'))
    expect(lines.status).toBe(303)
    expect((await t.deps.conversations.thread(known.conversation)).length).toBe(before + 2)
  })

  test('htmx gets a refusal as a fragment for the page’s alert, never a whole page poured into a part of it', async () => {
    const res = await ask('/c/%E0%A4%A', { htmx: true })
    expect(res.status).toBe(400)
    expect(res.body).toStartWith('<hx-partial hx-target="#request-error" hx-swap="innerHTML">That address is not valid: ')
    expect(res.body).not.toContain('<html')
    const page = await ask('/')
    expect(page.body).toContain('<p id="request-error" class="form-error request-error" role="alert"></p>')
  })
})

describe('odd requests get a readable refusal, never a server error', () => {
  test('thousands of odd requests to every route get an answer below 500 that says what happened', async () => {
    const started = performance.now()
    const { problems, statuses } = await fuzz(
      seededRandom(SEED),
      IN_PROCESS,
      (r) => {
        const request = toRequest(r, 'http://localhost', known)
        return request && t.app.request(request)
      },
      known,
    )
    const ms = Math.round(performance.now() - started)
    console.info(
      `fuzz: ${IN_PROCESS} requests in process in ${ms} ms (seed ${SEED}); ${t.emulator.requests.length} reached the emulator; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
    )
    expect(report('in process', problems)).toEqual([])
    expect({ seed: SEED, failures: await serverFailures(t) }).toEqual({ seed: SEED, failures: [] })
  }, 60_000)

  test('over real HTTP, odd requests (and ones fetch cannot even send) get an answer below 500', async () => {
    const server = listen(t.app, t.deps)
    try {
      const overHttp = { ...known, origin: server.url }
      const { problems } = await fuzz(
        seededRandom(SEED ^ 0x5eed),
        OVER_HTTP,
        (r) => {
          const request = toRequest(r, server.url, overHttp)
          return request && fetch(request)
        },
        overHttp,
      )
      expect(report('over HTTP', problems)).toEqual([])

      const port = Number(new URL(server.url).port)
      const host = `Host: 127.0.0.1:${port}\r\n`
      const raw = [
        `GET /c/%E0%A4%A HTTP/1.1\r\n${host}\r\n`,
        `GET /c/a\x00b HTTP/1.1\r\n${host}\r\n`,
        `GET /search?q=a\x01b HTTP/1.1\r\n${host}\r\n`,
        `GET /${'p'.repeat(20_000)} HTTP/1.1\r\n${host}\r\n`,
        `GET / HTTP/1.1\r\n${host}Cookie: bc_session=${'c'.repeat(20_000)}\r\n\r\n`,
        `GET / HTTP/1.1\r\n${host}X-Odd: a\x00b\r\n\r\n`,
        `NONSENSE\r\n\r\n`,
        `GET / HTTP/9.9\r\n${host}\r\n`,
        `BREW /c/new HTTP/1.1\r\n${host}\r\n`,
        `POST /credentials/clear HTTP/1.1\r\n${host}Origin: https://evil.example\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
        `POST /c/new/messages HTTP/1.1\r\n${host}Origin: http://127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\nmessage=cut+short`,
        `POST /c/new/messages HTTP/1.1\r\n${host}Origin: http://127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 999999999999\r\n\r\nmessage=x`,
        `POST /c/new/messages HTTP/1.1\r\n${host}Origin: http://127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nmessage=x\r\n0\r\n\r\n`,
        `POST /c/new/messages HTTP/1.1\r\n${host}Origin: http://127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        `POST /c/new/messages HTTP/1.1\r\n${host}Origin: http://127.0.0.1:${port}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 40\r\n\r\n--b\r\nContent-Disposition: form-data\r\n\r\nx`,
        `GET /c/new/messages HTTP/1.1\r\n${host}\r\n`,
        `PUT /c/new HTTP/1.1\r\n${host}Content-Length: 0\r\n\r\n`,
      ]
      const rawProblems: string[] = []
      for (const bytes of raw) {
        const problem = rawProblem(await rawExchange(port, bytes))
        if (problem) rawProblems.push(`${problem}  <=  ${JSON.stringify(bytes.slice(0, 100))}`)
      }
      expect({ seed: SEED, rawProblems }).toEqual({ seed: SEED, rawProblems: [] })
      expect({ seed: SEED, failures: await serverFailures(t) }).toEqual({ seed: SEED, failures: [] })
    } finally {
      server.stop()
    }
  }, 60_000)

  test('after all that, the server still answers its health check and a normal chat message', async () => {
    const health = await t.app.request('http://localhost/health')
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ ok: true })
    const person = browser(t.app)
    const { res, body } = await person.send('hello after the fuzz')
    expect(res.status).toBe(200)
    expect(body).toContain('Emulated reply to: "hello after the fuzz"')
    expect(body).toContain('data-status="done"')
    expect({ seed: SEED, failures: await serverFailures(t) }).toEqual({ seed: SEED, failures: [] })
  })
})

describe('with a password set', () => {
  test('odd requests to a server that needs signing in are refused readably too', async () => {
    const locked = await makeApp({ env: { APP_PASSWORD: 'fuzz-password-0123' }, emulator: t.emulator })
    try {
      const things = { ...known, cookie: '', otherCookie: '' }
      const { problems } = await fuzz(
        seededRandom(SEED ^ 0x10c4ed),
        Math.ceil(IN_PROCESS / 5),
        (r) => {
          const request = toRequest(r, 'http://localhost', things)
          return request && locked.app.request(request)
        },
        things,
      )
      expect(report('with a password', problems)).toEqual([])
      expect({ seed: SEED, failures: await serverFailures(locked) }).toEqual({ seed: SEED, failures: [] })
    } finally {
      await locked.close()
    }
  }, 60_000)
})
