import type { Log } from '../logger.ts'
import { attemptsOf, type Bedrock, type Credentials, type ModelRequest } from './bedrock.ts'
import { classifyError, type ModelError } from './bedrock-errors.ts'
import type { Metrics } from './metrics.ts'

/** What a turn tells whoever shows it, as it happens. */
export type TurnEvent =
  | { type: 'text'; text: string }
  | { type: 'reasoning'; text: string }
  | { type: 'retry'; attempt: number; maxAttempts: number; errorName: string }

export type TurnResult = {
  outcome: 'ok' | 'error' | 'stopped'
  text: string
  reasoning: string
  /** The metrics row written for this call (null when the write failed). */
  invocationId: number | null
  error?: ModelError
  stopReason?: string
  attempts: number
  latencyMs: number
  timeToFirstTokenMs: number | null
  inputTokens: number | null
  outputTokens: number | null
}

export type TurnInput = {
  request: ModelRequest
  credentials?: Credentials
  region: string
  signal: AbortSignal
  /** Shows an event. It must not throw: a caller whose browser went away aborts `signal` instead. */
  emit: (event: TurnEvent) => void | Promise<void>
}

/** Why a turn was aborted, as the abort reason says: Stop, the browser leaving, shutdown. */
export function stopType(reason: unknown): string {
  if (reason === 'stop') return 'Stopped'
  if (reason === 'disconnected') return 'Disconnected'
  if (reason === 'shutdown') return 'Shutdown'
  return 'Aborted'
}

/**
 * One model call for one reply: streams it through `emit`, and records exactly one metrics row
 * in `finally`, whatever happened (answered, failed, stopped, browser gone).
 */
export function createChatTurns({ bedrock, metrics, log }: { bedrock: Bedrock; metrics: Metrics; log: Log }) {
  return {
    async run({ request, credentials, region, signal, emit }: TurnInput): Promise<TurnResult> {
      const started = performance.now()
      const startedAt = new Date()
      let text = ''
      let reasoning = ''
      let invocationId: number | null = null
      let firstTokenAt: number | null = null
      let attempts = 1
      let inputTokens: number | null = null
      let outputTokens: number | null = null
      let stopReason: string | undefined
      let error: ModelError | undefined
      let outcome: TurnResult['outcome'] = 'ok'
      let latencyMs = 0
      const timeToFirstTokenMs = () => (firstTokenAt === null ? null : Math.round(firstTokenAt - started))

      try {
        const stream = bedrock.stream(request, {
          credentials,
          region,
          signal,
          onRetry: (attempt, maxAttempts, errorName) => {
            attempts = attempt
            log.warn('retrying model call', { model: request.modelId, attempt, maxAttempts, errorName })
            void Promise.resolve(emit({ type: 'retry', attempt, maxAttempts, errorName })).catch(() => {})
          },
        })
        while (true) {
          const next = await stream.next()
          if (next.done) {
            attempts = next.value.attempts
            break
          }
          const event = next.value
          if (event.type === 'text' || event.type === 'reasoning') {
            firstTokenAt ??= performance.now()
            if (event.type === 'text') text += event.text
            else reasoning += event.text
            await emit(event)
          } else if (event.type === 'usage') {
            inputTokens = event.inputTokens
            outputTokens = event.outputTokens
          } else if (event.type === 'stop') {
            stopReason = event.reason
          }
          if (signal.aborted) break
        }
        if (signal.aborted) {
          outcome = 'stopped'
          await stream.return?.({ attempts })
        }
      } catch (err) {
        attempts = Math.max(attempts, attemptsOf(err))
        if (signal.aborted) {
          outcome = 'stopped'
        } else {
          outcome = 'error'
          error = classifyError(err, {
            modelId: request.modelId,
            region,
            attempts,
            endpoint: bedrock.endpoint,
            midStream: firstTokenAt !== null,
          })
          log.warn('model call failed', {
            model: request.modelId,
            errorType: error.type,
            attempts,
            detail: err instanceof Error ? err.message : String(err),
          })
        }
      } finally {
        latencyMs = performance.now() - started
        invocationId = metrics.record({
          timestamp: startedAt,
          latencyMs,
          modelId: request.modelId,
          timeToFirstTokenMs: timeToFirstTokenMs(),
          inputTokens,
          outputTokens,
          errorType: outcome === 'stopped' ? stopType(signal.reason) : (error?.type ?? null),
          attempts,
          outcome,
        })?.id ?? null
      }

      return {
        outcome,
        text,
        reasoning,
        invocationId,
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

export type ChatTurns = ReturnType<typeof createChatTurns>
