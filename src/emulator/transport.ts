// One TCP port that serves both HTTP/1.1 and cleartext HTTP/2 (prior knowledge).
//
// A node:net server reads the first bytes of each connection. If they are the
// HTTP/2 connection preface ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") the socket is handed
// to an http2.createServer(), otherwise to an http.createServer(), with
// `server.emit("connection", socket)`. The peeked bytes are pushed back with
// socket.unshift() first, so the chosen server parses the connection from its
// first byte. (Verified under Bun 1.4.5: both handoffs work; an
// http2.createServer({ allowHTTP1: true }) alone does NOT answer HTTP/1.1 on a
// cleartext port, in Bun as in Node, because allowHTTP1 relies on TLS ALPN.)
import http from 'node:http'
import http2 from 'node:http2'
import net from 'node:net'

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

export type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest

/** The part of http.ServerResponse / http2.Http2ServerResponse that the emulator uses. */
export interface AnyResponse {
  readonly headersSent: boolean
  readonly writableEnded: boolean
  writeHead(status: number, headers: Record<string, string>): unknown
  write(chunk: Uint8Array): boolean
  end(): unknown
  end(chunk: Uint8Array): unknown
  on(event: 'close', listener: () => void): unknown
}

/** Break the connection mid-reply: destroys the TCP connection (for HTTP/2, the whole session's). */
export type Drop = () => void

export type RequestHandler = (req: AnyRequest, res: AnyResponse, drop: Drop) => void

export interface DualServer {
  listen(port: number, host: string): Promise<number>
  /** TCP connections open now, idle keep-alive ones included. */
  connections(): number
  close(): Promise<void>
}

/** Decide from the first bytes: true = HTTP/2 preface, false = anything else, null = need more bytes. */
export function looksLikeHttp2(head: Buffer): boolean | null {
  const n = Math.min(head.length, PREFACE.length)
  if (!head.subarray(0, n).equals(PREFACE.subarray(0, n))) return false
  return n === PREFACE.length ? true : null
}

export function createDualServer(handler: RequestHandler): DualServer {
  const sockets = new Set<net.Socket>()
  const sessions = new Set<http2.ServerHttp2Session>()

  const h1 = http.createServer((req, res) => handler(req, res, () => req.socket.destroy()))
  // Slow models and [[firstdelay]] must not be cut off by the server's own timers.
  h1.requestTimeout = 0
  h1.headersTimeout = 0
  h1.timeout = 0
  h1.keepAliveTimeout = 60_000 // longer than NodeHttpHandler keeps idle sockets, to avoid reuse races

  // The raw TCP socket of each HTTP/2 session, so [[drop]] can cut the connection.
  // (Bun refuses session.socket.destroy(): ERR_HTTP2_NO_SOCKET_MANIPULATION.)
  const rawSockets = new WeakMap<http2.Http2Session, net.Socket>()
  let handingOver: net.Socket | null = null
  const h2 = http2.createServer((req, res) =>
    handler(req, res, () => {
      const session = res.stream.session
      const raw = session ? rawSockets.get(session) : undefined
      if (raw) raw.destroy()
      else res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR)
    }),
  )
  h2.setTimeout(0)
  h2.on('session', (session) => {
    // "session" fires synchronously inside emit("connection"), so handingOver is this session's socket.
    if (handingOver) rawSockets.set(session, handingOver)
    sessions.add(session)
    session.on('close', () => sessions.delete(session))
  })

  const tcp = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    socket.setNoDelay(true)
    sniff(socket, (isHttp2) => {
      if (!isHttp2) {
        h1.emit('connection', socket)
        return
      }
      handingOver = socket
      try {
        h2.emit('connection', socket)
      } finally {
        handingOver = null
      }
    })
  })

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        tcp.once('error', reject)
        tcp.listen(port, host, () => {
          tcp.off('error', reject)
          resolve((tcp.address() as net.AddressInfo).port)
        })
      })
    },
    connections: () => sockets.size,
    close() {
      return new Promise((resolve) => {
        for (const session of sessions) session.destroy()
        for (const socket of sockets) socket.destroy()
        h1.closeAllConnections()
        tcp.close(() => resolve())
      })
    },
  }
}

/** Read until the protocol is known, put the bytes back, then call decide(). */
function sniff(socket: net.Socket, decide: (isHttp2: boolean) => void): void {
  let head = Buffer.alloc(0)
  const onReadable = (): void => {
    let chunk: Buffer | null
    while ((chunk = socket.read() as Buffer | null) !== null) head = Buffer.concat([head, chunk])
    const verdict = looksLikeHttp2(head)
    if (verdict === null) return // a partial preface: wait for more bytes
    socket.off('readable', onReadable)
    socket.off('end', onEnd)
    if (head.length > 0) socket.unshift(head)
    decide(verdict)
  }
  const onEnd = (): void => {
    socket.off('readable', onReadable)
    socket.destroy()
  }
  socket.on('readable', onReadable)
  socket.on('end', onEnd)
}
