import type { NewInvocation } from '../../db/schema.ts'
import type { Log } from '../../logger.ts'
import { attemptsOf, type Bedrock, type Credentials, type ModelRequest } from './bedrock.ts'
import { classifyError, firstTokenTimeoutError, guardrailInterventionError, tokenIdleTimeoutError, type ModelError } from './errors.ts'
import type { Metrics, RecordedInvocation } from '../metrics/index.ts'

/** What a model call tells whoever shows it, as it happens. */
export type CallEvent =
  | { type: 'text'; text: string }
  | { type: 'reasoning'; text: string }
  | { type: 'retry'; attempt: number; maxAttempts: number; errorName: string }

export type CallResult = {
  outcome: 'ok' | 'error' | 'stopped'
  text: string
  reasoning: string
  /** The metrics row as recorded; `invocationRef` names its id for a later job of the writer. */
  invocation: RecordedInvocation
  invocationRef: string | null
  error?: ModelError
  stopReason?: string
  attempts: number
  latencyMs: number
  timeToFirstTokenMs: number | null
  inputTokens: number | null
  outputTokens: number | null
}

export type CallInput = {
  request: ModelRequest
  credentials?: Credentials
  region: string
  /** Whose call it is (the session's owner), recorded with it for the daily budgets. */
  owner?: string
  signal: AbortSignal
  /** Shows an event. It must not throw: a caller whose browser went away aborts `signal` instead. */
  emit: (event: CallEvent) => void | Promise<void>
  /** Receives a reader of the answer so far (for saving it while it streams), once the call starts. */
  soFar?: (read: () => { text: string; reasoning: string }) => void
}

/** Why a call was aborted, as the abort reason says: Stop, the browser leaving, shutdown. */
export function stopType(reason: unknown): string {
  if (reason === 'stop') return 'Stopped'
  if (reason === 'disconnected') return 'Disconnected'
  if (reason === 'shutdown') return 'Shutdown'
  if (reason === 'unsaved') return 'NotSaved'
  return 'Aborted'
}

export type ModelCallsOptions = {
  bedrock: Bedrock
  metrics: Metrics
  log: Log
  /**
   * A call whose answer has not started (no text or reasoning token) this long after the request
   * was sent, retries included, is abandoned as FirstTokenTimeout (FIRST_TOKEN_TIMEOUT_MS).
   */
  firstTokenTimeoutMs: number
  /**
   * A call whose answer has started and then sends nothing for this long is abandoned as
   * StreamIdleTimeout (TOKEN_IDLE_TIMEOUT_MS): a half-open connection would otherwise hold the
   * reply, and the browser with it, forever.
   */
  tokenIdleTimeoutMs: number
  /** Sees each call's row as it is recorded, before it is written (the daily budgets' running total). */
  onRecorded?: (invocation: RecordedInvocation) => void
  /** The model ids these credentials were last seen able to call (the discovered list), for error messages; no network. */
  callableModels?: (region: string, credentials?: Credentials) => string[] | undefined
}

/** Abort reasons of the two timeouts. */
const FIRST_TOKEN_TIMEOUT = 'first-token-timeout'
const TOKEN_IDLE_TIMEOUT = 'token-idle-timeout'
/** Between tokens the timer looks this often per idle timeout; nothing heard for that many looks in a row abandons the call. */
const IDLE_CHECKS = 2

/**
 * One model call for one reply: streams it through `emit`, and records exactly one metrics row
 * in `finally`, whatever happened (answered, failed, stopped, browser gone). The row is queued for
 * the database's writer, so saving it never delays a token.
 */
export function createModelCalls({ bedrock, metrics, log, firstTokenTimeoutMs, tokenIdleTimeoutMs, onRecorded, callableModels }: ModelCallsOptions) {
  return {
    async call({ request, credentials, region, owner, signal: outer, emit, soFar }: CallInput): Promise<CallResult> {
      // the call listens to this signal: the caller's (Stop, a browser leaving) or a timeout's
      const controller = new AbortController()
      const signal = controller.signal
      const forward = () => controller.abort(outer.reason)
      if (outer.aborted) forward()
      else outer.addEventListener('abort', forward, { once: true })
      // One timer per call. Until the first token it is one deadline; from the first token on it
      // looks whether anything arrived since it last looked (a counter per event, not a new timer
      // or a clock read per token): abandoned after 1 to 1.5 idle timeouts of silence.
      let heard = 0
      let heardAtCheck = 0
      const checkIdle = (quietChecks: number) => {
        const quiet = heard === heardAtCheck ? quietChecks + 1 : 0
        heardAtCheck = heard
        if (quiet >= IDLE_CHECKS) controller.abort(TOKEN_IDLE_TIMEOUT)
        else timer = setTimeout(checkIdle, tokenIdleTimeoutMs / IDLE_CHECKS, quiet)
      }
      let timer = setTimeout(() => controller.abort(FIRST_TOKEN_TIMEOUT), firstTokenTimeoutMs)
      const answerStarted = () => {
        clearTimeout(timer)
        heardAtCheck = heard
        timer = setTimeout(checkIdle, tokenIdleTimeoutMs / IDLE_CHECKS, 0)
      }
      const timedOut = () => signal.aborted && (signal.reason === FIRST_TOKEN_TIMEOUT || signal.reason === TOKEN_IDLE_TIMEOUT)
      const abandon = () => {
        outcome = 'error'
        if (signal.reason === FIRST_TOKEN_TIMEOUT) {
          error = firstTokenTimeoutError(firstTokenTimeoutMs)
          log.warn('model call abandoned: no answer in time', { model: request.modelId, firstTokenTimeoutMs, attempts })
        } else {
          error = tokenIdleTimeoutError(tokenIdleTimeoutMs)
          log.warn('model call abandoned: the answer stopped', { model: request.modelId, tokenIdleTimeoutMs })
        }
      }

      const started = performance.now()
      const startedAt = new Date()
      let text = ''
      let reasoning = ''
      soFar?.(() => ({ text, reasoning }))
      let invocation: RecordedInvocation | undefined
      let invocationRef: string | null = null
      let firstTokenAt: number | null = null
      let attempts = 1
      let inputTokens: number | null = null
      let outputTokens: number | null = null
      let cacheReadInputTokens: number | null = null
      let cacheWriteInputTokens: number | null = null
      let stopReason: string | undefined
      let error: ModelError | undefined
      let outcome: CallResult['outcome'] = 'ok'
      let latencyMs = 0
      const timeToFirstTokenMs = () => (firstTokenAt === null ? null : Math.round(firstTokenAt - started))

      try {
        const ended = await bedrock.stream(request, {
          credentials,
          region,
          signal,
          onRetry: (attempt, maxAttempts, errorName) => {
            attempts = attempt
            log.warn('retrying model call', { model: request.modelId, attempt, maxAttempts, errorName })
            void Promise.resolve(emit({ type: 'retry', attempt, maxAttempts, errorName })).catch(() => {})
          },
          onEvent: (event) => {
            heard += 1
            if (event.type === 'text' || event.type === 'reasoning') {
              if (firstTokenAt === null) {
                firstTokenAt = performance.now()
                answerStarted()
              }
              if (event.type === 'text') text += event.text
              else reasoning += event.text
              return emit(event)
            }
            if (event.type === 'usage') {
              inputTokens = event.inputTokens
              outputTokens = event.outputTokens
              cacheReadInputTokens = event.cacheReadInputTokens
              cacheWriteInputTokens = event.cacheWriteInputTokens
            } else {
              stopReason = event.reason
            }
          },
        })
        attempts = ended.attempts
        if (signal.aborted) {
          if (timedOut()) abandon()
          else outcome = 'stopped'
        } else if (stopReason === 'guardrail_intervened') {
          // the guardrail's message came in the answer's place: it is told as the block it is
          outcome = 'error'
          error = guardrailInterventionError(text)
          text = ''
          log.info('the guardrail intervened', { model: request.modelId })
        }
      } catch (err) {
        attempts = Math.max(attempts, attemptsOf(err))
        if (timedOut()) {
          abandon()
        } else if (signal.aborted) {
          outcome = 'stopped'
        } else {
          outcome = 'error'
          error = classifyError(err, {
            modelId: request.modelId,
            region,
            attempts,
            endpoint: bedrock.endpoint,
            midStream: firstTokenAt !== null,
            auth: bedrock.credentialKind(credentials),
            callable: callableModels?.(region, credentials),
          })
          log.warn('model call failed', {
            model: request.modelId,
            errorType: error.type,
            attempts,
            detail: err instanceof Error ? err.message : String(err),
          })
        }
      } finally {
        clearTimeout(timer)
        outer.removeEventListener('abort', forward)
        latencyMs = performance.now() - started
        const entry: Omit<NewInvocation, 'id' | 'success'> = {
          timestamp: startedAt,
          latencyMs,
          modelId: request.modelId,
          timeToFirstTokenMs: timeToFirstTokenMs(),
          inputTokens,
          outputTokens,
          errorType: outcome === 'stopped' ? stopType(signal.reason) : (error?.type ?? null),
          attempts,
          outcome,
          owner: owner ?? null,
          cacheReadInputTokens,
          cacheWriteInputTokens,
        }
        ;({ invocation, ref: invocationRef } = metrics.record(entry))
        try {
          onRecorded?.(invocation)
        } catch (err) {
          log.error('counting a call against the daily budget failed', { model: request.modelId, err })
        }
      }

      return {
        outcome,
        text,
        reasoning,
        invocation: invocation!,
        invocationRef,
        error,
        stopReason,
        attempts,
        latencyMs,
        timeToFirstTokenMs: timeToFirstTokenMs(),
        inputTokens,
        outputTokens,
      }
    },
  }
}

export type ModelCalls = ReturnType<typeof createModelCalls>
