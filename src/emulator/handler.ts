// Routing, authentication, fault injection, recording and the two Bedrock operations.
import { createHash } from 'node:crypto'
import type { AnyRequest, AnyResponse, Drop } from './transport.ts'
import { EVENT_STREAM_CONTENT_TYPE, encodeEvent, encodeException, errorBody, errors, hugeFramePrelude, malformedFrame, type ErrorReply } from './protocol.ts'
import { parseDirectives, type Faults } from './faults.ts'
import { lastUserTextOf, summarise, validateBody, type ConverseBody } from './conversation.ts'
import { buildReply, countWords, tokenize, type Reply } from './replies.ts'
import { GUARDRAIL_BLOCKED_MESSAGE, GUARDRAIL_STOP_REASON, guardrailOf } from './guardrail.ts'
import { countCachePoints, createPromptCache, MAX_CACHE_POINTS, type CacheUsage, type PromptCache } from './prompt-cache.ts'
import { maxTokensLimit, modelRuleProblem } from './model-rules.ts'
import { EMULATED_ACCOUNT, listFoundationModels, listInferenceProfiles, needsProfile, regionOf } from './control-plane.ts'

export type Operation = 'Converse' | 'ConverseStream' | 'ListFoundationModels' | 'ListInferenceProfiles'
/** `pending` while the reply is still being produced. */
export type Outcome = 'pending' | 'ok' | 'error' | 'aborted' | 'dropped'

export interface RecordedRequest {
  /** 1, 2, 3... in arrival order (reset() starts again at 1). */
  id: number
  receivedAt: string
  path: string
  /** URL-decoded model ID or ARN from the path. */
  modelId: string
  operation: Operation
  /** How the request authenticated: a SigV4 signature, a Bedrock API key (`Authorization: Bearer …`), or neither. */
  auth: 'sigv4' | 'bearer' | 'none'
  /** From the SigV4 Authorization header; null when there is none (or it is a bearer token). */
  accessKeyId: string | null
  /** A bearer token's fingerprint (apiKeyFingerprint: 16 hex digits of its SHA-256), never the key; null for SigV4. */
  apiKeyFingerprint: string | null
  /**
   * The Authorization header as it arrived, so a test can see which scheme signed the call (null
   * when absent); a bearer token is recorded as `Bearer sha256:<fingerprint>`, never whole.
   */
  authorization: string | null
  /** Parsed JSON body (the raw text if it was not JSON). */
  body: unknown
  /** "1.1" or "2.0". */
  httpVersion: string
  /** HTTP status of the response (200 for a stream even if it later fails). */
  status: number
  outcome: Outcome
  /** Error type sent, e.g. "ThrottlingException" or "modelStreamErrorException". */
  errorType: string | null
  /** Attempt number for this request body (1 = first try, 2 = first retry...). */
  attempt: number
  /** Directives found in the last user message, e.g. ["throttle:1"]. */
  directives: string[]
  /** Number of text/reasoning deltas sent (stream) or tokens in the reply (Converse). */
  tokensSent: number
  /** The guardrail the request carried (guardrailConfig), as `identifier:version`; null without one. */
  guardrail: string | null
  /** The guardrail intervened ([[guardrail]] on a request that carried one): stopReason guardrail_intervened. */
  intervened: boolean
  /** The prompt-cache usage reported (null when the request carried no cache point). */
  cache: CacheUsage | null
}

export interface EmulatorState {
  requests: RecordedRequest[]
  attempts: Map<string, number>
  nextId: number
  /** Prefixes seen before a cache point (an LRU): a write on first sight, reads after. */
  cache: PromptCache
}

export function createState(cacheEntries?: number): EmulatorState {
  return { requests: [], attempts: new Map(), nextId: 1, cache: createPromptCache(cacheEntries) }
}

export interface HandlerOptions {
  tokenDelayMs: number
  /** Oldest records (and attempt counters) are forgotten past this many, so a long run stays small. */
  maxRecords: number
}

/** Tokens streamed before [[midstream]] / [[drop]] strike. */
const TOKENS_BEFORE_FAULT = 3
/** Pause between the last frame and a [[drop]]. */
const DROP_FLUSH_MS = 25

const MODEL_PATH = /^\/model\/(.+)\/(converse|converse-stream)$/

export function createHandler(state: EmulatorState, options: HandlerOptions) {
  return (req: AnyRequest, res: AnyResponse, drop: Drop): void => {
    handle(state, options, req, res, drop).catch((error: unknown) => {
      console.error('bedrock emulator: request failed', error)
      if (!res.headersSent) sendError(res, errors.internal())
      else if (!res.writableEnded) res.end()
    })
  }
}

async function handle(state: EmulatorState, options: HandlerOptions, req: AnyRequest, res: AnyResponse, dropConnection: Drop): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://emulator')
  if (req.method === 'GET' && url.pathname === '/health') return sendText(res, 200, 'text/plain', 'ok')
  if (req.method === 'GET' && url.pathname === '/_emulator/requests') {
    return sendText(res, 200, 'application/json', JSON.stringify(state.requests))
  }
  const listing = CONTROL_PLANE[url.pathname]
  if (req.method === 'GET' && listing) return controlPlane(state, options, req, res, url, listing)
  const match = MODEL_PATH.exec(url.pathname)
  const raw = await readBody(req)
  if (req.method !== 'POST' || !match) return sendError(res, errors.unknownOperation())

  const started = Date.now()
  const operation: Operation = match[2] === 'converse' ? 'Converse' : 'ConverseStream'
  const modelId = safeDecode(match[1] ?? '')
  let body: unknown
  try {
    body = JSON.parse(raw)
  } catch {
    body = raw
  }
  const key = createHash('sha256').update(url.pathname).update('\n').update(raw).digest('hex')
  const attempt = (state.attempts.get(key) ?? 0) + 1
  state.attempts.delete(key) // re-insert so the Map stays ordered by last use
  state.attempts.set(key, attempt)
  forgetOldest(state, options.maxRecords)
  const directives = parseDirectives(lastUserTextOf(body))
  const header = req.headers.authorization
  const bearer = bearerTokenOf(header)
  const record: RecordedRequest = {
    id: state.nextId++,
    receivedAt: new Date(started).toISOString(),
    path: url.pathname,
    modelId,
    operation,
    auth: bearer !== null ? 'bearer' : accessKeyIdOf(header) !== null ? 'sigv4' : 'none',
    accessKeyId: accessKeyIdOf(header),
    apiKeyFingerprint: bearer === null ? null : apiKeyFingerprint(bearer),
    authorization: bearer === null ? (header ?? null) : `Bearer sha256:${apiKeyFingerprint(bearer)}`,
    body,
    httpVersion: req.httpVersion,
    status: 0,
    outcome: 'pending',
    errorType: null,
    attempt,
    directives: directives.names,
    tokensSent: 0,
    guardrail: guardrailOf(body).guardrail,
    intervened: false,
    cache: null,
  }
  state.requests.push(record)

  const aborter = new AbortController()
  res.on('close', () => {
    if (record.outcome === 'pending') record.outcome = 'aborted'
    aborter.abort()
  })

  const failure = preflight(record, body, directives.faults, bearer)
  if (failure) {
    record.status = failure.status
    record.outcome = 'error'
    record.errorType = failure.type
    return sendError(res, failure)
  }

  const conversation = summarise(body as ConverseBody, countWords)
  // Bedrock's inputTokens leaves out what was read from or written to the cache
  const cache = state.cache.use(modelId, body as ConverseBody, countWords)
  record.cache = cache
  const userText = parseDirectives(conversation.lastUserText).text
  // [[guardrail]] intervenes only where a guardrail was asked for: its message instead of the answer
  const intervened = directives.faults.guardrail && record.guardrail !== null
  record.intervened = intervened
  const reply = intervened
    ? { reasoning: null, signature: null, text: GUARDRAIL_BLOCKED_MESSAGE }
    : buildReply(userText, conversation.userMessageCount, directives.faults)
  const plan: Plan = {
    record,
    reply,
    faults: directives.faults,
    delayMs: directives.faults.slowMs ?? options.tokenDelayMs,
    maxTokens: (body as ConverseBody).inferenceConfig?.maxTokens ?? Infinity,
    inputTokens: Math.max(0, conversation.inputWords - (cache ? cache.cacheReadInputTokens + cache.cacheWriteInputTokens : 0)),
    cache,
    started,
    signal: aborter.signal,
    drop: async () => {
      // Let the frames already written reach the client first: destroy() discards unsent data.
      await sleep(DROP_FLUSH_MS, aborter.signal)
      if (record.outcome !== 'pending') return
      record.outcome = 'dropped'
      dropConnection()
    },
  }
  if (operation === 'Converse') await converse(plan, res)
  else await converseStream(plan, res)
}

/** The control plane's model lists: path → operation and its answer. */
const CONTROL_PLANE: Record<string, { operation: Operation; answer: (region: string, query: URLSearchParams) => unknown }> = {
  '/foundation-models': { operation: 'ListFoundationModels', answer: listFoundationModels },
  '/inference-profiles': { operation: 'ListInferenceProfiles', answer: listInferenceProfiles },
}

/** How long a control-plane call signed with an `AKIASLOWLIST…` key takes to answer. */
export const SLOW_LIST_MS = 3000

/**
 * ListFoundationModels and ListInferenceProfiles, with the same authentication as the runtime. The
 * access key chooses the fault (there is no message to carry a directive): `AKIANOLIST…` is refused
 * with AccessDeniedException (no bedrock:List* permission), `AKIASLOWLIST…` answers after SLOW_LIST_MS.
 */
async function controlPlane(
  state: EmulatorState,
  options: HandlerOptions,
  req: AnyRequest,
  res: AnyResponse,
  url: URL,
  listing: (typeof CONTROL_PLANE)[string],
): Promise<void> {
  await readBody(req)
  forgetOldest(state, options.maxRecords)
  const header = req.headers.authorization
  const bearer = bearerTokenOf(header)
  const record: RecordedRequest = {
    id: state.nextId++,
    receivedAt: new Date().toISOString(),
    path: url.pathname + url.search,
    modelId: '',
    operation: listing.operation,
    auth: bearer !== null ? 'bearer' : accessKeyIdOf(header) !== null ? 'sigv4' : 'none',
    accessKeyId: accessKeyIdOf(header),
    apiKeyFingerprint: bearer === null ? null : apiKeyFingerprint(bearer),
    authorization: bearer === null ? (header ?? null) : `Bearer sha256:${apiKeyFingerprint(bearer)}`,
    guardrail: null,
    intervened: false,
    cache: null,
    body: Object.fromEntries(url.searchParams),
    httpVersion: req.httpVersion,
    status: 0,
    outcome: 'pending',
    errorType: null,
    attempt: 1,
    directives: [],
    tokensSent: 0,
  }
  state.requests.push(record)
  const aborter = new AbortController()
  res.on('close', () => {
    if (record.outcome === 'pending') record.outcome = 'aborted'
    aborter.abort()
  })
  const key = record.accessKeyId
  const failure =
    key === null && !/^Bearer \S/.test(record.authorization ?? '')
      ? errors.missingAuthentication()
      : key?.startsWith('AKIAINVALID')
        ? errors.unrecognizedClient()
        : key?.startsWith('AKIANOLIST')
          ? errors.listDenied(listing.operation, EMULATED_ACCOUNT)
          : null
  if (failure) {
    record.status = failure.status
    record.outcome = 'error'
    record.errorType = failure.type
    return sendError(res, failure)
  }
  if (key?.startsWith('AKIASLOWLIST') && !(await sleep(SLOW_LIST_MS, aborter.signal))) return
  record.status = 200
  record.outcome = 'ok'
  sendText(res, 200, 'application/json', JSON.stringify(listing.answer(regionOf(req.headers.authorization), url.searchParams)))
}

function forgetOldest(state: EmulatorState, max: number): void {
  if (state.requests.length >= max) state.requests.splice(0, state.requests.length - max + 1)
  for (const key of state.attempts.keys()) {
    if (state.attempts.size <= max) break
    state.attempts.delete(key)
  }
}

interface Plan {
  record: RecordedRequest
  reply: Reply
  faults: Faults
  delayMs: number
  maxTokens: number
  inputTokens: number
  cache: CacheUsage | null
  started: number
  signal: AbortSignal
  drop: () => Promise<void>
}

/** Errors answered before any reply: authentication, fault directives, validation. */
function preflight(record: RecordedRequest, body: unknown, faults: Faults, bearer: string | null): ErrorReply | null {
  // a Bedrock API key (Authorization: Bearer ...) is accepted as it is, like any well-formed key
  if (record.accessKeyId === null && record.auth !== 'bearer') return errors.missingAuthentication()
  if (record.accessKeyId?.startsWith('AKIAINVALID')) return errors.unrecognizedClient()
  if (record.auth === 'bearer' && faults.badkey) return errors.invalidApiKey()
  // Bedrock API keys the emulator refuses, by how they begin: `invalid…` (malformed), `expired…`
  if (/^invalid/i.test(bearer ?? '')) return errors.malformedApiKey()
  if (/^expired/i.test(bearer ?? '')) return errors.expiredApiKey()
  if (record.attempt <= faults.throttle) return errors.throttling()
  if (record.attempt <= faults.unavailable) return errors.serviceUnavailable()
  if (record.attempt <= faults.internal) return errors.internal()
  if (faults.access) return errors.accessDenied()
  if (faults.notfound) return errors.notFound()
  if (faults.profile || needsProfile(record.modelId)) return errors.profileRequired(record.modelId)
  if (faults.timeout) return errors.modelTimeout()
  if (faults.validation) {
    return errors.validation("The request was rejected by the emulator's [[validation]] directive.")
  }
  const problem = validateBody(body, maxTokensLimit(record.modelId)) ?? modelRuleProblem(record.modelId, body) ?? guardrailOf(body).problem
  if (problem !== null) return errors.validation(problem)
  const cachePoints = countCachePoints(body)
  if (cachePoints > MAX_CACHE_POINTS) {
    return errors.validation(`A maximum of ${MAX_CACHE_POINTS} blocks with cache_control may be provided. Found ${cachePoints}.`)
  }
  return null
}

/** Reasoning and answer tokens, cut to maxTokens. */
function tokensOf(plan: Plan): { reasoning: string[]; answer: string[]; truncated: boolean } {
  const reasoning = tokenize(plan.reply.reasoning ?? '')
  const answer = tokenize(plan.reply.text)
  const budget = plan.maxTokens
  if (reasoning.length + answer.length <= budget) return { reasoning, answer, truncated: false }
  const keptReasoning = reasoning.slice(0, budget)
  return { reasoning: keptReasoning, answer: answer.slice(0, budget - keptReasoning.length), truncated: true }
}

async function converse(plan: Plan, res: AnyResponse): Promise<void> {
  const { reasoning, answer, truncated } = tokensOf(plan)
  const total = reasoning.length + answer.length
  if (!(await sleep(plan.faults.firstDelayMs + plan.delayMs * total, plan.signal))) return
  if (plan.faults.drop) return plan.drop()
  if (plan.faults.malformedAfter !== null || plan.faults.hugeFrameAfter !== null) {
    // a 200 whose body is no JSON: the SDK reads it whole (content-length) and fails to parse it
    const bytes = malformedFrame()
    plan.record.status = 200
    plan.record.outcome = 'error'
    plan.record.errorType = 'malformed'
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bytes.length), 'x-amzn-requestid': crypto.randomUUID() })
    res.end(bytes)
    return
  }
  if (plan.faults.midstream) {
    plan.record.status = 424
    plan.record.outcome = 'error'
    plan.record.errorType = 'ModelErrorException'
    return sendError(res, errors.modelError())
  }
  const content: unknown[] = []
  if (plan.reply.reasoning !== null) {
    content.push({ reasoningContent: { reasoningText: { text: reasoning.join(''), signature: plan.reply.signature } } })
  }
  content.push({ text: answer.join('') })
  plan.record.tokensSent = total
  plan.record.status = 200
  plan.record.outcome = 'ok'
  sendText(
    res,
    200,
    'application/json',
    JSON.stringify({
      output: { message: { role: 'assistant', content } },
      stopReason: plan.record.intervened ? GUARDRAIL_STOP_REASON : truncated ? 'max_tokens' : 'end_turn',
      usage: usage(plan.inputTokens, total, plan.cache),
      metrics: { latencyMs: Date.now() - plan.started },
    }),
  )
}

async function converseStream(plan: Plan, res: AnyResponse): Promise<void> {
  const { record, faults, signal } = plan
  const { reasoning, answer, truncated } = tokensOf(plan)
  record.status = 200
  res.writeHead(200, {
    'content-type': EVENT_STREAM_CONTENT_TYPE,
    'x-amzn-requestid': crypto.randomUUID(),
  })
  const send = (frame: Uint8Array): void => {
    if (!signal.aborted) res.write(frame)
  }
  // [[malformed]] and [[hugeframe]]: the broken bytes, then nothing; the response stays open on its
  // keep-alive connection until the client gives up on it ('aborted')
  const brokenAfter = faults.malformedAfter ?? faults.hugeFrameAfter
  const sendBroken = (): void => {
    record.errorType = faults.malformedAfter !== null ? 'malformed' : 'hugeframe'
    send(faults.malformedAfter !== null ? malformedFrame() : hugeFramePrelude())
  }
  if (brokenAfter === 0) return sendBroken()
  send(encodeEvent('messageStart', { role: 'assistant' }))
  if (!(await sleep(faults.firstDelayMs, signal))) return

  // Each delta waits delayMs before it (except the first); returns false when the stream must stop.
  let sent = 0
  const delta = async (index: number, payload: object): Promise<boolean> => {
    if (sent > 0 && !(await sleep(plan.delayMs, signal))) return false
    if (sent === brokenAfter) {
      sendBroken()
      return false
    }
    if (sent === TOKENS_BEFORE_FAULT && (faults.midstream || faults.drop)) {
      if (faults.drop) await plan.drop()
      else {
        record.outcome = 'error'
        record.errorType = 'modelStreamErrorException'
        send(
          encodeException('modelStreamErrorException', {
            message: 'The model encountered an error while streaming the response. Try your request again.',
            originalStatusCode: 500,
            originalMessage: 'Emulated [[midstream]] failure.',
          }),
        )
        res.end()
      }
      return false
    }
    send(encodeEvent('contentBlockDelta', { contentBlockIndex: index, delta: payload }))
    sent++
    record.tokensSent = sent
    return !signal.aborted
  }

  let block = 0
  if (reasoning.length > 0) {
    for (const token of reasoning) if (!(await delta(0, { reasoningContent: { text: token } }))) return
    if (!truncated) send(encodeEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { signature: plan.reply.signature } } }))
    send(encodeEvent('contentBlockStop', { contentBlockIndex: 0 }))
    block = 1
  }
  for (const token of answer) if (!(await delta(block, { text: token }))) return
  if (answer.length > 0) send(encodeEvent('contentBlockStop', { contentBlockIndex: block }))
  send(encodeEvent('messageStop', { stopReason: record.intervened ? GUARDRAIL_STOP_REASON : truncated ? 'max_tokens' : 'end_turn' }))
  send(
    encodeEvent('metadata', {
      usage: usage(plan.inputTokens, sent, plan.cache),
      metrics: { latencyMs: Date.now() - plan.started },
    }),
  )
  if (signal.aborted) return
  record.outcome = 'ok'
  res.end()
}

/** Bedrock's usage: cache reads and writes are reported beside inputTokens, and count in totalTokens. */
function usage(inputTokens: number, outputTokens: number, cache: CacheUsage | null) {
  const cached = cache ? cache.cacheReadInputTokens + cache.cacheWriteInputTokens : 0
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens + cached, ...cache }
}

/** Resolves true after ms, or false as soon as the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false)
  if (ms <= 0) return Promise.resolve(true)
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

function sendText(res: AnyResponse, status: number, contentType: string, text: string): void {
  const body = Buffer.from(text)
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': String(body.length),
    'x-amzn-requestid': crypto.randomUUID(),
  })
  res.end(body)
}

function sendError(res: AnyResponse, error: ErrorReply): void {
  const body = Buffer.from(errorBody(error))
  res.writeHead(error.status, {
    'content-type': 'application/json',
    'content-length': String(body.length),
    'x-amzn-errortype': error.type,
    'x-amzn-requestid': crypto.randomUUID(),
  })
  res.end(body)
}

async function readBody(req: AnyRequest): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string))
  return Buffer.concat(chunks).toString('utf8')
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** The token of `Authorization: Bearer <token>`, or null for any other header (or none). */
export function bearerTokenOf(authorization: string | undefined): string | null {
  return /^Bearer (\S+)$/.exec(authorization ?? '')?.[1] ?? null
}

/** How a record names a Bedrock API key: 16 hex digits of its SHA-256, so a test can tell keys apart without holding one. */
export function apiKeyFingerprint(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex').slice(0, 16)
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/bedrock/aws4_request, ...` → AKID. */
export function accessKeyIdOf(authorization: string | undefined): string | null {
  if (!authorization) return null
  const match = /Credential=([^/,\s]+)\//.exec(authorization)
  return match?.[1] ?? null
}
