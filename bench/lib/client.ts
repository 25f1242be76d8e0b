import http from 'node:http'

/**
 * A browser-like client for load: what the chat page's htmx does when a person presses Send.
 * node:http, not fetch: Bun's fetch runs at most 256 requests at once (BUN_CONFIG_MAX_HTTP_REQUESTS),
 * which would make the client, not the server, the bottleneck at 1,000 streams.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity })

/**
 * What marks a streamed token in the chat's event stream (the app's and the relay's alike): a
 * piece appended to the reply's text element, or to its newest chunk (`#m-ID-text-N`).
 */
const TOKEN_MARK = /-text(?:-\d+)?" hx-swap="beforeend">/g
/** Longer than any mark: what is kept of a network chunk in case a mark is split across two. */
const TOKEN_MARK_MAX_CHARS = 40

function request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers, agent }, resolve)
    req.on('error', reject)
    req.end(init.body)
  })
}

/** GET / as a browser's first visit: the session cookie. */
export async function openBrowser(base: string): Promise<string> {
  const res = await request(`${base}/`)
  res.resume()
  await new Promise((r) => res.on('end', r))
  const cookie = String(res.headers['set-cookie'] ?? '').split(';')[0] ?? ''
  if (res.statusCode !== 200) throw new Error(`GET / answered ${res.statusCode}`)
  return cookie
}

export type SendResult = {
  ok: boolean
  status: number
  /** From sending the POST to the first token fragment, and to the last one (ms). */
  ttftMs: number
  lastTokenMs: number
  /** To the end of the stream. */
  doneMs: number
  tokens: number
  error?: string
  /** Where the conversation's next message goes (/c/ID/messages), as the stream says. */
  next?: string
}

/** Posts a message as the composer form does (HX-Request) and reads the event stream to its end. */
export async function sendMessage(base: string, cookie: string, message: string, path = '/c/new/messages'): Promise<SendResult> {
  const started = performance.now()
  const body = new URLSearchParams({ message }).toString()
  let res: http.IncomingMessage
  try {
    res = await request(`${base}${path}`, {
      method: 'POST',
      headers: {
        Cookie: cookie,
        Origin: base,
        'Content-Type': 'application/x-www-form-urlencoded',
        'Content-Length': String(Buffer.byteLength(body)),
        'HX-Request': 'true',
        'HX-Request-Type': 'partial',
      },
      body,
    })
  } catch (err) {
    return { ok: false, status: 0, ttftMs: Number.NaN, lastTokenMs: Number.NaN, doneMs: performance.now() - started, tokens: 0, error: String(err) }
  }
  let ttftMs = Number.NaN
  let lastTokenMs = Number.NaN
  let tokens = 0
  let tail = ''
  let text = ''
  res.setEncoding('utf8')
  try {
    for await (const chunk of res as AsyncIterable<string>) {
      const at = performance.now() - started
      const seen = tail + chunk
      let from = 0
      for (const mark of seen.matchAll(TOKEN_MARK)) {
        tokens += 1
        if (Number.isNaN(ttftMs)) ttftMs = at
        lastTokenMs = at
        from = mark.index + mark[0].length
      }
      // a mark split across two chunks is found in the next round
      tail = seen.slice(Math.max(from, seen.length - TOKEN_MARK_MAX_CHARS))
      if (text.length < 200_000) text += chunk
    }
  } catch (err) {
    return { ok: false, status: res.statusCode ?? 0, ttftMs, lastTokenMs, doneMs: performance.now() - started, tokens, error: String(err) }
  }
  const doneMs = performance.now() - started
  const failed =
    res.statusCode !== 200
      ? `status ${res.statusCode}`
      : text.includes('class="msg-error"')
        ? (text.match(/class="msg-error"[^>]*>([^<]*)/)?.[1] ?? 'error')
        : tokens === 0
          ? 'no tokens'
          : undefined
  const next = text.match(/data-post="(\/c\/[\w-]+\/messages)"/)?.[1]
  return { ok: !failed, status: res.statusCode ?? 0, ttftMs, lastTokenMs, doneMs, tokens, error: failed, next }
}

/** A plain GET whose body is read whole: requests per second for pages. */
export async function getPage(url: string, cookie = ''): Promise<number> {
  const res = await request(url, { headers: cookie ? { Cookie: cookie } : {} })
  let bytes = 0
  for await (const chunk of res as AsyncIterable<Buffer>) bytes += chunk.length
  if (res.statusCode !== 200) throw new Error(`GET ${url} answered ${res.statusCode}`)
  return bytes
}

/** Opens an event stream and calls `onData` with each chunk until `signal` aborts. */
export function openStream(url: string, onData: (chunk: string) => void, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, signal }, (res) => {
      res.setEncoding('utf8')
      res.on('data', onData)
      res.on('end', resolve)
      res.on('error', () => resolve())
    })
    req.on('error', (err) => (signal.aborted ? resolve() : reject(err)))
    req.end()
  })
}
