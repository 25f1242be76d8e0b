import type { Context } from 'hono'
import { getBunServer } from 'hono/bun'
import type { Server } from 'bun'

/** Sent on an idle event stream well inside the server's idle timeout, and to notice a gone browser. */
export const HEARTBEAT_MS = 5_000

export type EventStream = {
  /** One message; `data` may hold several lines. Returns false once the browser has gone. */
  send(data: string, event?: string): boolean
  /** Runs `listener` once when the browser goes away (at once if the stream is already over). */
  onGone(listener: () => void): void
  /** Resolves when the browser goes away. */
  readonly gone: Promise<void>
}

const encoder = new TextEncoder()

/** One server-sent event: each line of `data` is its own `data:` field. */
function frame(data: string, event?: string): string {
  const lines = data.includes('\n') || data.includes('\r') ? data.split(/\r\n|\r|\n/).join('\ndata: ') : data
  return `${event ? `event: ${event}\n` : ''}data: ${lines}\n\n`
}

/** Lifts Bun's idle timeout for this request (a stream outlives it); nothing outside Bun.serve. */
export function keepOpen(c: Context) {
  const server = c.env && typeof c.env === 'object' ? (getBunServer(c) as Server<unknown> | undefined) : undefined
  if (typeof server?.timeout === 'function') server.timeout(c.req.raw, 0)
}

/**
 * The one way a route answers with an event stream: it owns the heartbeat, noticing the browser
 * leave (a cancelled body or an aborted request), and closing. Messages are framed and queued
 * straight on the response body, with no stream in between. `run` sends what it has and returns
 * when the stream is done; an error it throws is logged by the caller's `onError`, never thrown on.
 */
export function eventStream(c: Context, run: (out: EventStream) => Promise<void>, onError: (err: unknown) => void): Response {
  keepOpen(c)
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let closed = false
  const listeners: (() => void)[] = []
  let resolveGone!: () => void
  const gone = new Promise<void>((resolve) => (resolveGone = resolve))
  const leave = () => {
    if (closed) return
    closed = true
    resolveGone()
    for (const listener of listeners.splice(0)) {
      try {
        listener()
      } catch (err) {
        onError(err)
      }
    }
  }
  const write = (text: string): boolean => {
    if (closed) return false
    try {
      controller.enqueue(encoder.encode(text))
      return true
    } catch {
      leave()
      return false
    }
  }
  const out: EventStream = {
    send: (data, event) => write(frame(data, event)),
    onGone: (listener) => (closed ? listener() : void listeners.push(listener)),
    gone,
  }
  c.req.raw.signal.addEventListener('abort', leave, { once: true })
  const body = new ReadableStream<Uint8Array>({
    start(ctrl) {
      controller = ctrl
    },
    cancel: leave,
  })
  const heartbeat = setInterval(() => write(': keep-alive\n\n'), HEARTBEAT_MS)
  void run(out)
    .catch(onError)
    .finally(() => {
      clearInterval(heartbeat)
      c.req.raw.signal.removeEventListener('abort', leave)
      if (closed) return
      closed = true
      try {
        controller.close()
      } catch {}
    })
  return c.body(body, 200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' })
}
