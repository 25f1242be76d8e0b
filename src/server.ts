/**
 * Seconds a connection may stay silent. Event streams lift the limit for their own request and
 * send heartbeats (http/event-stream.ts), so this only bounds truly idle sockets.
 */
export const IDLE_TIMEOUT_S = 30

/** Bun.serve for an app. */
export function serve(
  app: { fetch: (request: Request, server: Bun.Server<undefined>) => Response | Promise<Response> },
  options: { port: number; hostname: string; idleTimeout?: number },
) {
  return Bun.serve({
    port: options.port,
    hostname: options.hostname,
    idleTimeout: options.idleTimeout ?? IDLE_TIMEOUT_S,
    fetch: app.fetch,
  })
}
