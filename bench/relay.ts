// The floor of the benchmarks: bare Bun.serve, with no framework, no database and no rendering.
// - POST (any path): relays the same SDK stream, escaping each token into the fragment the app sends
// - GET /events: an event stream; POST /broadcast sends its body to every open one (dashboards)
// - GET /static?bytes=N: an HTML answer of N bytes (pages)
// - GET anything else: a tiny page with a cookie (a browser's first visit)
// `bun bench/relay.ts` (the benchmark starts it), AWS_ENDPOINT_URL_BEDROCK_RUNTIME set.
import { Agent } from 'node:http'
import { BedrockRuntimeClient, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime'
import { NodeHttpHandler } from '@smithy/node-http-handler'

const client = new BedrockRuntimeClient({
  region: process.env.AWS_REGION ?? 'us-east-1',
  requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: Infinity }), connectionTimeout: 10_000 }),
})
const encoder = new TextEncoder()
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
let n = 0
const listeners = new Set<ReadableStreamDefaultController<Uint8Array>>()
const statics = new Map<number, string>()

const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(req, srv) {
    const url = new URL(req.url)
    if (url.pathname === '/events') {
      srv.timeout(req, 0)
      let self: ReadableStreamDefaultController<Uint8Array>
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          self = c
          listeners.add(c)
          c.enqueue(encoder.encode('data: ready\n\n'))
        },
        cancel: () => void listeners.delete(self),
      })
      return new Response(body, { headers: { 'Content-Type': 'text/event-stream' } })
    }
    if (url.pathname === '/broadcast') {
      const frame = encoder.encode(`event: invocations\ndata: ${(await req.text()).replace(/\n/g, '\ndata: ')}\n\n`)
      for (const c of listeners) c.enqueue(frame)
      return new Response(String(listeners.size))
    }
    if (url.pathname === '/static') {
      const bytes = Number(url.searchParams.get('bytes') ?? 1000)
      let page = statics.get(bytes)
      if (!page) statics.set(bytes, (page = `<!DOCTYPE html>${'x'.repeat(Math.max(0, bytes - 15))}`))
      return new Response(page, { headers: { 'Content-Type': 'text/html; charset=UTF-8' } })
    }
    if (req.method === 'GET') {
      return new Response('<!DOCTYPE html><title>relay</title>', { headers: { 'Content-Type': 'text/html', 'Set-Cookie': `s=${++n}; HttpOnly` } })
    }
    srv.timeout(req, 0)
    const message = String((await req.formData()).get('message') ?? '')
    const id = `r${++n}`
    const abort = new AbortController()
    req.signal.addEventListener('abort', () => abort.abort())
    const body = new ReadableStream<Uint8Array>({
      async start(out) {
        try {
          const res = await client.send(
            new ConverseStreamCommand({
              modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
              messages: [{ role: 'user', content: [{ text: message }] }],
              inferenceConfig: { maxTokens: 2048 },
            }),
            { abortSignal: abort.signal },
          )
          for await (const event of res.stream ?? []) {
            const text = event.contentBlockDelta?.delta?.text
            if (text) out.enqueue(encoder.encode(`data: <hx-partial hx-target="#m-${id}-text" hx-swap="beforeend">${escape(text)}</hx-partial>\n\n`))
          }
          out.enqueue(encoder.encode(`data: <article id="m-${id}">done</article>\n\n`))
        } catch (err) {
          out.enqueue(encoder.encode(`data: <p class="msg-error">${escape(String(err))}</p>\n\n`))
        }
        out.close()
      },
    })
    return new Response(body, { headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' } })
  },
})
console.log(`relay on http://127.0.0.1:${server.port}`)
process.on('SIGTERM', () => process.exit(0))
