import type { Server } from 'bun'
import type { App } from './app.ts'

/**
 * Seconds a connection may stay silent. Streams send a heartbeat every 5 s and streamed replies
 * lift the limit for their own request, so this only bounds truly idle sockets.
 */
export const IDLE_TIMEOUT_S = 30

/** Sent on an idle event stream well inside the idle timeout, and to notice a gone browser. */
export const HEARTBEAT_MS = 5_000

/** Bun.serve for an app; `keepOpen` lets a long request (a streamed reply) outlive the idle timeout. */
export function serve(app: App, options: { port: number; hostname: string; idleTimeout?: number }) {
  return Bun.serve({
    port: options.port,
    hostname: options.hostname,
    idleTimeout: options.idleTimeout ?? IDLE_TIMEOUT_S,
    fetch: app.fetch,
  })
}

export function keepOpenOn(server: () => Server<undefined> | undefined) {
  return (request: Request) => server()?.timeout(request, 0)
}
