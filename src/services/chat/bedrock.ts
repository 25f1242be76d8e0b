import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import {
  BedrockRuntimeClient,
  BedrockRuntimeServiceException,
  ConverseStreamCommand,
  type BedrockRuntimeClientConfig,
  type ContentBlock,
  type GuardrailStreamConfiguration,
  type ConverseStreamCommandInput,
  type ConverseStreamCommandOutput,
  type Message,
} from '@aws-sdk/client-bedrock-runtime'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import type { DeserializeMiddleware, DocumentType, FinalizeRequestMiddleware } from '@smithy/types'
import { clientAuth, clientsByCredentials, isApiKey, type Credentials } from '../aws-credentials.ts'
import type { CachePlan } from './cache-points.ts'

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
  /** Prompt-cache checkpoints (cache-points.ts); absent or empty for none. */
  cachePoints?: CachePlan
  /** Claude's adaptive thinking (the model decides how much), at an effort level; absent for none. */
  adaptiveThinking?: { effort: string }
}

/** A prompt-cache checkpoint: Bedrock caches everything before it. */
const CACHE_POINT = { cachePoint: { type: 'default' } } as const

export { isApiKey, type AccessKeys, type ApiKey, type Credentials } from '../aws-credentials.ts'

/**
 * Which credential a call uses: the browser's access keys or API key, or the server's own (its
 * Bedrock API key when AWS_BEARER_TOKEN_BEDROCK is set, else the SDK's default provider chain).
 */
export type CredentialKind = 'accessKeys' | 'apiKey' | 'serverApiKey' | 'server'

export type StreamOptions = {
  /** The browser's own credentials; absent means the server's (its API key, or the default provider chain). */
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
  /** Bedrock's inputTokens leaves out the tokens read from and written to the prompt cache. */
  | { type: 'usage'; inputTokens: number; outputTokens: number; cacheReadInputTokens: number; cacheWriteInputTokens: number }
  | { type: 'stop'; reason: string }

export type BedrockOptions = {
  /** Endpoint override (AWS_ENDPOINT_URL_BEDROCK_RUNTIME); the SDK's regional endpoint when absent. */
  endpoint?: string
  /** The server's own credentials; absent means the SDK's default provider chain. */
  serverCredentials?: BedrockRuntimeClientConfig['credentials']
  /** A Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) for the server's own calls: they then send it instead of signing. */
  serverBearerToken?: string
  /**
   * A guardrail applied to every call (BEDROCK_GUARDRAIL_ID, BEDROCK_GUARDRAIL_VERSION), with
   * asynchronous stream processing: tokens stream as they come while the guardrail checks them, and
   * an intervention ends the answer with stopReason guardrail_intervened.
   */
  guardrail?: { id: string; version: string }
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

/**
 * The largest event message accepted from Bedrock, in bytes. The SDK's decoder (getChunkedStream
 * in @smithy/core/event-streams) reads each message's 4-byte total length and allocates and
 * buffers that many bytes, up to 4 GiB, before it looks at anything else; so every message's
 * prelude is checked here first. This app asks only for text and reasoning, whose events carry a
 * token or a few (about a hundred bytes; metadata, the largest, a few kilobytes with a guardrail
 * trace), so 1 MiB is hundreds of times what Bedrock sends, and it bounds what one call can hold
 * to 1 MiB (256 MiB at the default MAX_CONCURRENT_CALLS). The format's own ceiling, enforced by
 * the AWS CRT's decoder (AWS_EVENT_STREAM_MAX_MESSAGE_SIZE), is 16 MiB.
 */
export const MAX_EVENT_MESSAGE_BYTES = 1024 * 1024

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

  /**
   * Every client names its auth scheme (clientAuth in aws-credentials.ts), so the environment never
   * chooses it (NODE_AUTH_SCHEME_PREFERENCE_OPTIONS in @aws-sdk/core would put httpBearerAuth first
   * whenever AWS_BEARER_TOKEN_BEDROCK is set). A preference only reorders the schemes, but the
   * first one whose identity provider exists is used, and SigV4's always exists here: a client for
   * access keys signs with them or fails.
   */
  const clientFor = clientsByCredentials(
    (region, credentials) =>
      new BedrockRuntimeClient({
        region,
        endpoint: options.endpoint,
        ...clientAuth(credentials, { credentials: options.serverCredentials, bearerToken: options.serverBearerToken }),
        maxAttempts,
        retryMode: 'standard',
        requestHandler,
      }),
  )

  /** Which credential a call with these browser credentials (or none) uses. */
  function credentialKind(credentials?: Credentials): CredentialKind {
    if (credentials) return isApiKey(credentials) ? 'apiKey' : 'accessKeys'
    return options.serverBearerToken ? 'serverApiKey' : 'server'
  }

  const guardrailConfig: GuardrailStreamConfiguration | undefined = options.guardrail && {
    guardrailIdentifier: options.guardrail.id,
    guardrailVersion: options.guardrail.version,
    streamProcessingMode: 'async',
  }

  function toInput(request: ModelRequest): ConverseStreamCommandInput {
    const cached = new Set(request.cachePoints?.afterMessages)
    const messages: Message[] = request.messages.map((m, i) => ({
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
        ...(cached.has(i) ? [CACHE_POINT] : []),
      ],
    }))
    const thinking: Record<string, DocumentType> | undefined = request.adaptiveThinking
      ? { thinking: { type: 'adaptive' } }
      : request.thinkingBudget
        ? { thinking: { type: 'enabled', budget_tokens: request.thinkingBudget } }
        : undefined
    return {
      modelId: request.modelId,
      messages,
      system: request.system ? [{ text: request.system }, ...(request.cachePoints?.afterSystem ? [CACHE_POINT] : [])] : undefined,
      // extended thinking requires the default temperature
      inferenceConfig: { maxTokens: request.maxTokens, temperature: thinking ? undefined : request.temperature },
      additionalModelRequestFields: thinking,
      guardrailConfig,
      // Converse's own field for Claude's effort level (output_config.effort in Anthropic's API)
      outputConfig: request.adaptiveThinking ? { effort: request.adaptiveThinking.effort } : undefined,
    }
  }

  return {
    endpoint: options.endpoint,
    maxAttempts,
    credentialKind,

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

      // every 200 answer's body is read through a guard, closest to the HTTP handler
      const bodies = new GuardedBodies(MAX_EVENT_MESSAGE_BYTES)
      command.middlewareStack.addRelativeTo(
        ((next) => async (args) => {
          const result = await next(args)
          bodies.guard(result.response)
          return result
        }) satisfies DeserializeMiddleware<ConverseStreamCommandInput, ConverseStreamCommandOutput>,
        { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'eventStreamGuard' },
      )

      let response
      try {
        response = await client.send(command, { abortSignal: opts.signal })
      } catch (err) {
        // the SDK reads the stream's first event before it answers, so a bad first frame fails here
        bodies.release()
        throw Object.assign(bodies.explain(err, opts.signal), { attempts: Math.max(attempts, 1) })
      }
      const calls = response.$metadata.attempts ?? Math.max(attempts, 1)
      let stopped = false
      try {
        // the caller's own failure is passed on as it is, never taken for the stream's
        const onEvent = (event: ModelEvent): void | Promise<void> => {
          try {
            const shown = opts.onEvent(event)
            return shown && shown.catch((err: unknown) => bodies.passOn(err))
          } catch (err) {
            return bodies.passOn(err)
          }
        }
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
              cacheReadInputTokens: event.metadata.usage.cacheReadInputTokens ?? 0,
              cacheWriteInputTokens: event.metadata.usage.cacheWriteInputTokens ?? 0,
            })
          }
          // only a caller that has to wait (its browser is slow) costs a turn of the event loop
          if (shown) await shown
          if (opts.signal.aborted) break
        }
        // A stream that ends without messageStop was cut off (some handlers end quietly on a reset).
        if (!stopped && !opts.signal.aborted) throw new IncompleteStreamError()
      } catch (err) {
        throw Object.assign(bodies.explain(err, opts.signal), { attempts: calls })
      } finally {
        // a stream left unread (a failure, a break) would keep its pooled socket forever
        bodies.release()
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

/** An event message whose prelude claims more bytes than Bedrock ever sends: refused before it is buffered. */
export class EventMessageTooLargeError extends Error {
  override name = 'EventMessageTooLargeError'
  constructor(
    readonly claimedBytes: number,
    readonly limitBytes: number,
  ) {
    super(`An event message claimed ${claimedBytes} bytes; at most ${limitBytes} are accepted.`)
  }
}

/** Bytes that are not an event stream (a bad checksum, garbage, a frame the decoder refuses). */
export class MalformedStreamError extends Error {
  override name = 'MalformedStreamError'
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`The reply stream could not be decoded: ${reason}`, options)
  }
}

/** A message's prelude: total length, headers length, and the CRC32 of those eight bytes. */
const PRELUDE_BYTES = 12
/** Prelude plus the message's trailing CRC32: the smallest message there is. */
const MIN_MESSAGE_BYTES = 16

type Body = AsyncIterable<Uint8Array> & { destroy?: (error?: Error) => void }

/**
 * The bodies of one call's 200 answers (one per attempt), each read through a guard that checks
 * every message's prelude as its bytes pass, before the SDK's decoder sees them: a prelude whose
 * checksum fails, or whose length is below the minimum or above the limit, fails the read at once
 * (the chunk that holds it never reaches the decoder). It costs a look at 12 bytes per message
 * and one promise per chunk. `release` destroys any body not read to its end, which closes its
 * socket: the SDK's decoder never does that itself, so a failed stream kept its pooled socket.
 */
class GuardedBodies {
  private readonly open = new Set<{ body: Body; ended: boolean }>()
  /** Errors that are not the stream's: the connection's own, and the caller's. */
  private readonly passedOn = new WeakSet<object>()
  private guarded = false

  constructor(private readonly maxMessageBytes: number) {}

  guard(response: unknown): void {
    const res = response as { statusCode?: number; body?: unknown } | undefined
    const body = res?.body as Body | undefined
    if (!res || (res.statusCode ?? 0) >= 300 || !body || typeof body[Symbol.asyncIterator] !== 'function') return
    this.guarded = true
    const entry = { body, ended: false }
    this.open.add(entry)
    const source = body[Symbol.asyncIterator]()
    const prelude = new Uint8Array(PRELUDE_BYTES)
    const view = new DataView(prelude.buffer)
    let preludeHave = 0
    /** Bytes of the current message still to come after its prelude. */
    let rest = 0
    const inspect = (chunk: Uint8Array) => {
      let offset = 0
      while (offset < chunk.length) {
        if (rest > 0) {
          const take = Math.min(rest, chunk.length - offset)
          rest -= take
          offset += take
          continue
        }
        const take = Math.min(PRELUDE_BYTES - preludeHave, chunk.length - offset)
        prelude.set(chunk.subarray(offset, offset + take), preludeHave)
        preludeHave += take
        offset += take
        if (preludeHave < PRELUDE_BYTES) return
        preludeHave = 0
        const total = view.getUint32(0, false)
        const headers = view.getUint32(4, false)
        if (Bun.hash.crc32(prelude.subarray(0, 8)) !== view.getUint32(8, false)) throw new MalformedStreamError('a message prelude failed its checksum')
        if (total > this.maxMessageBytes) throw new EventMessageTooLargeError(total, this.maxMessageBytes)
        if (total < MIN_MESSAGE_BYTES || headers > total - MIN_MESSAGE_BYTES)
          throw new MalformedStreamError(`a message prelude claimed ${total} bytes with ${headers} of headers`)
        rest = total - PRELUDE_BYTES
      }
    }
    const check = (result: IteratorResult<Uint8Array>): IteratorResult<Uint8Array> => {
      if (!result.done) inspect(result.value)
      else {
        entry.ended = true
        if (preludeHave > 0 || rest > 0) throw new IncompleteStreamError()
      }
      return result
    }
    // the connection failed (reset, aborted): a network error, not a malformed stream
    const failed = (err: unknown): never => this.passOn(err)
    res.body = {
      [Symbol.asyncIterator]: () => ({
        next: () => source.next().then(check, failed),
        return: async (): Promise<IteratorResult<Uint8Array>> => ({ done: true, value: undefined }),
      }),
    } satisfies AsyncIterable<Uint8Array>
  }

  /** Throws `err`, marked as not the stream's failure, so `explain` leaves it as it is. */
  passOn(err: unknown): never {
    if (err && typeof err === 'object') this.passedOn.add(err)
    throw err
  }

  /** Destroys every body not read to its end (its socket with it); a finished one is left to the pool. */
  release(): void {
    for (const entry of this.open) if (!entry.ended) entry.body.destroy?.()
    this.open.clear()
  }

  /**
   * What a failure of this call was. Once a 200 answer was being read, an error that is not an
   * exception Bedrock sent, not the connection's or the caller's, not an abort and not the guard's is the
   * SDK's decoder refusing the bytes (message checksum, headers, JSON): a MalformedStreamError,
   * instead of the SDK's words ("Deserialization error: … {error}.$response").
   */
  explain(err: unknown, signal: AbortSignal): object {
    const error = (err && typeof err === 'object' ? err : new Error(String(err))) as Error
    if (!this.guarded || signal.aborted || this.passedOn.has(error)) return error
    if (error instanceof EventMessageTooLargeError || error instanceof MalformedStreamError || error instanceof IncompleteStreamError) {
      // the SDK appends its "Deserialization error" hint to an error from the first event
      error.message = firstLine(error.message)
      return error
    }
    // a modelled exception frame, or an unmodelled one (named after its :exception-type or :error-code)
    if (error instanceof BedrockRuntimeServiceException || !GENERIC_ERROR_NAMES.has(error.name)) return error
    return new MalformedStreamError(firstLine(String(error.message)), { cause: error })
  }
}

const firstLine = (text: string) => text.split('\n')[0]!

/** The names of JavaScript's own errors, which is what the SDK's decoder throws. */
const GENERIC_ERROR_NAMES = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError'])

/** How many attempts a failed call made, as stream() attaches it to the error. */
export function attemptsOf(err: unknown): number {
  const n = (err as { attempts?: unknown } | null)?.attempts
  return typeof n === 'number' && n > 0 ? n : 1
}
