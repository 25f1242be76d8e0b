// Amazon Bedrock Runtime emulator: Converse and ConverseStream over the real
// wire protocol, on one port that accepts HTTP/1.1 and cleartext HTTP/2.
import { createHandler, createState } from './handler.ts'
import { createDualServer } from './transport.ts'
import type { RecordedRequest } from './handler.ts'

export type { Operation, Outcome, RecordedRequest } from './handler.ts'
export { apiKeyFingerprint } from './handler.ts'
export { DIRECTIVES } from './faults.ts'

export interface EmulatorOptions {
  /** 0 (the default) picks any free port. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /** Milliseconds between streamed tokens unless [[slow:MS]] says otherwise. Default 0. */
  tokenDelayMs?: number
  /** Keep at most this many recorded requests (oldest dropped first). Default 10000. */
  maxRecords?: number
  /** Prompt-cache prefixes remembered (least recently used forgotten first). Default 10000. */
  cacheEntries?: number
}

export interface Emulator {
  /** e.g. http://127.0.0.1:4010 — use as the client's `endpoint`. */
  url: string
  port: number
  /** Every Converse/ConverseStream request received, newest last (live array, capped at maxRecords). */
  requests: RecordedRequest[]
  /** TCP connections open now, idle keep-alive ones included: how a test sees that a client let go of one. */
  connections(): number
  /** Prompt-cache prefixes remembered now. */
  cacheEntries(): number
  /** Forget recorded requests, the per-body attempt counters and the prompt cache. */
  reset(): void
  close(): Promise<void>
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const host = opts.host ?? '127.0.0.1'
  const state = createState(Math.max(1, opts.cacheEntries ?? 10_000))
  const server = createDualServer(
    createHandler(state, {
      tokenDelayMs: opts.tokenDelayMs ?? 0,
      maxRecords: Math.max(1, opts.maxRecords ?? 10_000),
    }),
  )
  const port = await server.listen(opts.port ?? 0, host)
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${urlHost}:${port}`,
    port,
    requests: state.requests,
    connections: () => server.connections(),
    cacheEntries: () => state.cache.size(),
    reset() {
      state.requests.length = 0
      state.attempts.clear()
      state.cache.clear()
      state.nextId = 1
    },
    close: () => server.close(),
  }
}
