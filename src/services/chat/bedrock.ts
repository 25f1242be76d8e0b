import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import {
  BedrockRuntimeClient,
  ConverseStreamCommand,
  type BedrockRuntimeClientConfig,
  type ContentBlock,
  type ConverseStreamCommandInput,
  type ConverseStreamCommandOutput,
  type Message,
} from '@aws-sdk/client-bedrock-runtime'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import type { FinalizeRequestMiddleware } from '@smithy/types'

/**
 * The only module that talks to the AWS SDK. It streams one reply for a history through
 * ConverseStream, so Claude and every other Converse model share one request shape.
 */

export type ChatRole = 'user' | 'assistant'
export type HistoryFile =
  | { kind: 'image'; format: 'png' | 'jpeg' | 'gif' | 'webp'; bytes: Uint8Array }
  | { kind: 'document'; format: 'pdf' | 'csv' | 'doc' | 'docx' | 'xls' | 'xlsx' | 'html' | 'txt' | 'md'; name: string; bytes: Uint8Array }
export type HistoryMessage = { role: ChatRole; text: string; files?: HistoryFile[] }

export type ModelRequest = {
  modelId: string
  messages: HistoryMessage[]
  system?: string
  temperature?: number
  /** Always set: without it Bedrock reserves quota for the model's maximum. */
  maxTokens: number
  /** Claude's extended thinking: a token budget (below maxTokens), or absent for none. */
  thinkingBudget?: number
}

export type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

export type StreamOptions = {
  /** The browser's own credentials; absent means the server's default provider chain. */
  credentials?: Credentials
  region: string
  signal: AbortSignal
  /** Called before each retry the SDK makes (attempt 2, 3...), with the error that caused it. */
  onRetry?: (attempt: number, maxAttempts: number, errorName: string) => void
  /** Each event of the reply, in order; a returned promise is awaited before the next one. */
  onEvent: (event: ModelEvent) => void | Promise<void>
}

export type ModelEvent =
  | { type: 'text'; text: string }
  | { type: 'reasoning'; text: string }
  | { type: 'usage'; inputTokens: number; outputTokens: number }
  | { type: 'stop'; reason: string }

export type BedrockOptions = {
  /** Endpoint override (AWS_ENDPOINT_URL_BEDROCK_RUNTIME); the SDK's regional endpoint when absent. */
  endpoint?: string
  /** The server's own credentials; absent means the SDK's default provider chain. */
  serverCredentials?: BedrockRuntimeClientConfig['credentials']
  /** A Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) for the server's own calls: they then send it instead of signing. */
  serverBearerToken?: string
  /** One try and up to two retries, with the SDK's standard backoff. */
  maxAttempts?: number
  /** Concurrent upstream connections (default: as many as there are calls; see UPSTREAM_SOCKETS). */
  maxSockets?: number
}

/**
 * One HTTP/1.1 keep-alive connection per streaming call, with no pool limit: a finite pool makes
 * calls wait for a free socket, and NodeHttpHandler's connection timeout counts that wait, so at
 * 1,000 streams behind a 256-socket pool calls failed while nothing was wrong. How many calls run
 * at once is for a cap on concurrent calls to decide, not for the pool.
 */
export const UPSTREAM_SOCKETS = Number.POSITIVE_INFINITY

/** Time to establish a connection to Bedrock; with no pool limit it counts connecting only. */
export const CONNECT_TIMEOUT_MS = 10_000

export const MAX_ATTEMPTS = 3

export function createBedrock(options: BedrockOptions = {}) {
  const maxAttempts = options.maxAttempts ?? MAX_ATTEMPTS
  const maxSockets = options.maxSockets ?? UPSTREAM_SOCKETS
  // HTTP/1.1 keep-alive: connections reused across calls (the SDK's default HTTP/2 handler opened
  // a new one per streaming call)
  const requestHandler = new NodeHttpHandler({
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
    connectionTimeout: CONNECT_TIMEOUT_MS,
  })

  const serverClients = new Map<string, BedrockRuntimeClient>()
  const browserClients = new WeakMap<Credentials, Map<string, BedrockRuntimeClient>>()

  /**
   * Every client names its auth scheme, so the environment never chooses it. Left to itself the
   * SDK puts httpBearerAuth first whenever AWS_BEARER_TOKEN_BEDROCK is set (NODE_AUTH_SCHEME_PREFERENCE_OPTIONS
   * in @aws-sdk/core), and a browser's calls then carried the server's API key instead of its own
   * signature. A preference only reorders the schemes, but the first one whose identity provider
   * exists is used, and SigV4's always exists here: a browser's client signs with its keys or fails.
   */
  function makeClient(region: string, credentials?: Credentials) {
    const bearer = !credentials && options.serverBearerToken ? options.serverBearerToken : undefined
    return new BedrockRuntimeClient({
      region,
      endpoint: options.endpoint,
      credentials: credentials ?? options.serverCredentials,
      token: bearer ? { token: bearer } : undefined,
      authSchemePreference: bearer ? ['httpBearerAuth'] : ['sigv4'],
      maxAttempts,
      retryMode: 'standard',
      requestHandler,
    })
  }

  /** One client per region for the server's credentials, and per saved credentials for a browser's. */
  function clientFor(region: string, credentials?: Credentials): BedrockRuntimeClient {
    const cache = credentials ? (browserClients.get(credentials) ?? browserClients.set(credentials, new Map()).get(credentials)!) : serverClients
    let client = cache.get(region)
    if (!client) {
      client = makeClient(region, credentials)
      cache.set(region, client)
    }
    return client
  }

  function toInput(request: ModelRequest): ConverseStreamCommandInput {
    const messages: Message[] = request.messages.map((m) => ({
      role: m.role,
      content: [
        ...(m.files ?? []).map(
          (f): ContentBlock =>
            f.kind === 'image'
              ? { image: { format: f.format, source: { bytes: f.bytes } } }
              : { document: { format: f.format, name: f.name, source: { bytes: f.bytes } } },
        ),
        // Bedrock wants a text block beside documents, and never an empty one
        { text: m.text.trim() === '' ? 'Please look at the attached files.' : m.text },
      ],
    }))
    const thinking = request.thinkingBudget ? { thinking: { type: 'enabled', budget_tokens: request.thinkingBudget } } : undefined
    return {
      modelId: request.modelId,
      messages,
      system: request.system ? [{ text: request.system }] : undefined,
      // extended thinking requires the default temperature
      inferenceConfig: { maxTokens: request.maxTokens, temperature: thinking ? undefined : request.temperature },
      additionalModelRequestFields: thinking,
    }
  }

  return {
    endpoint: options.endpoint,
    maxAttempts,

    /**
     * Streams the reply into `opts.onEvent` and resolves when it has ended (or `opts.signal`
     * aborted it). The SDK retries throttling, 5xx and dropped connections before the first byte
     * of the stream; once the stream has started nothing is re-sent.
     */
    async stream(request: ModelRequest, opts: StreamOptions): Promise<{ attempts: number }> {
      const client = clientFor(opts.region, opts.credentials)
      const command = new ConverseStreamCommand(toInput(request))
      let attempts = 0
      let lastError = ''
      command.middlewareStack.addRelativeTo(
        ((next) => async (args) => {
          attempts += 1
          if (attempts > 1) opts.onRetry?.(attempts, maxAttempts, lastError)
          try {
            return await next(args)
          } catch (err) {
            lastError = (err as { name?: string })?.name ?? 'Error'
            throw err
          }
        }) satisfies FinalizeRequestMiddleware<ConverseStreamCommandInput, ConverseStreamCommandOutput>,
        { relation: 'after', toMiddleware: 'retryMiddleware', name: 'attemptCounter' },
      )

      let response
      try {
        response = await client.send(command, { abortSignal: opts.signal })
      } catch (err) {
        throw Object.assign(err as object, { attempts: Math.max(attempts, 1) })
      }
      const calls = response.$metadata.attempts ?? Math.max(attempts, 1)
      let stopped = false
      try {
        const { onEvent } = opts
        for await (const event of response.stream ?? []) {
          if (opts.signal.aborted) break
          const delta = event.contentBlockDelta?.delta
          let shown: void | Promise<void> = undefined
          if (delta?.text) shown = onEvent({ type: 'text', text: delta.text })
          else if (delta?.reasoningContent?.text) shown = onEvent({ type: 'reasoning', text: delta.reasoningContent.text })
          else if (event.messageStop) {
            stopped = true
            shown = onEvent({ type: 'stop', reason: event.messageStop.stopReason ?? 'end_turn' })
          } else if (event.metadata?.usage) {
            shown = onEvent({
              type: 'usage',
              inputTokens: event.metadata.usage.inputTokens ?? 0,
              outputTokens: event.metadata.usage.outputTokens ?? 0,
            })
          }
          // only a caller that has to wait (its browser is slow) costs a turn of the event loop
          if (shown) await shown
          if (opts.signal.aborted) break
        }
        // A stream that ends without messageStop was cut off (some handlers end quietly on a reset).
        if (!stopped && !opts.signal.aborted) throw new IncompleteStreamError()
      } catch (err) {
        throw Object.assign(err as object, { attempts: calls })
      }
      return { attempts: calls }
    },
  }
}

export type Bedrock = ReturnType<typeof createBedrock>

export class IncompleteStreamError extends Error {
  override name = 'IncompleteStreamError'
  constructor() {
    super('The reply stream ended before the model finished.')
  }
}

/** How many attempts a failed call made, as stream() attaches it to the error. */
export function attemptsOf(err: unknown): number {
  const n = (err as { attempts?: unknown } | null)?.attempts
  return typeof n === 'number' && n > 0 ? n : 1
}
