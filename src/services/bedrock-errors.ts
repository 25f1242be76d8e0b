/**
 * Turns whatever the SDK threw into a short message a person can act on, keeping the AWS error
 * name for metrics. Pure: no SDK import, so routes and tests can use it freely.
 */

export type ErrorCategory = 'credentials' | 'access' | 'validation' | 'throttled' | 'timeout' | 'server' | 'network' | 'stopped'

export type ModelError = {
  /** The AWS error name (ThrottlingException...) or our own for non-AWS failures (NetworkError). */
  type: string
  category: ErrorCategory
  message: string
}

export type ErrorContext = {
  modelId: string
  region: string
  attempts: number
  endpoint?: string
  /** Part of the reply had already arrived when it failed. */
  midStream?: boolean
}

const BROKE_OFF = 'The connection to Bedrock broke off before the reply was complete: send again to retry.'

const CREDENTIAL_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidClientTokenId',
  'IncompleteSignature',
  'MissingAuthenticationTokenException',
])
const SERVER_ERRORS = new Set([
  'InternalServerException',
  'ServiceUnavailableException',
  'ModelStreamErrorException',
  'ModelErrorException',
  'ModelNotReadyException',
])
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET'])

/** The cross-region inference profile prefix for a region: us-east-1 → us, eu-west-1 → eu. */
export function inferenceProfilePrefix(region: string): string {
  if (region.startsWith('us-gov-')) return 'us-gov'
  if (region.startsWith('us-') || region.startsWith('ca-')) return 'us'
  if (region.startsWith('eu-')) return 'eu'
  if (region.startsWith('ap-')) return 'apac'
  return region.split('-')[0] ?? 'us'
}

/** The inference profile id to suggest for a base model id that Bedrock refused on demand. */
export function suggestedProfileId(modelId: string, region: string): string {
  return /^(us|eu|apac|us-gov|global)\./.test(modelId) ? modelId : `${inferenceProfilePrefix(region)}.${modelId}`
}

function errorName(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: unknown; code?: unknown }
    if (typeof e.name === 'string' && e.name !== 'Error') return e.name
    if (typeof e.code === 'string') return e.code
  }
  return 'Error'
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function isNetworkError(err: unknown, name: string): boolean {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true
  if (name === 'TimeoutError' || name === 'RequestTimeout') return true
  return /^aborted$|socket hang up|ECONNREFUSED|ECONNRESET|connection (was )?(closed|refused|reset)|network|fetch failed|Unable to connect/i.test(
    errorText(err),
  )
}

export function classifyError(err: unknown, ctx: ErrorContext): ModelError {
  const name = errorName(err)
  const text = errorText(err)
  const tries = ctx.attempts > 1 ? ` (tried ${ctx.attempts} times)` : ''

  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(text)) {
    return {
      type: 'CredentialsProviderError',
      category: 'credentials',
      message:
        'No AWS credentials: enter an access key in the sidebar, or start the server with AWS credentials (environment, profile or instance role).',
    }
  }
  if (CREDENTIAL_ERRORS.has(name)) {
    const expired = /expired/i.test(name + text)
    return {
      type: name,
      category: 'credentials',
      message: expired
        ? 'AWS says these credentials have expired: save fresh ones in the sidebar.'
        : 'AWS rejected these credentials: check the access key ID, secret access key and session token in the sidebar.',
    }
  }
  if (name === 'AccessDeniedException') {
    return {
      type: name,
      category: 'access',
      message: `This account has no access to ${ctx.modelId} in ${ctx.region}: enable the model under "Model access" in the Bedrock console, pick another model, or allow bedrock:InvokeModelWithResponseStream in IAM.`,
    }
  }
  if (name === 'ValidationException' && /inference profile/i.test(text)) {
    return {
      type: name,
      category: 'validation',
      message: `${ctx.modelId} can't be called directly in ${ctx.region}: use its inference profile ${suggestedProfileId(ctx.modelId, ctx.region)} instead.`,
    }
  }
  if (name === 'ResourceNotFoundException') {
    return {
      type: name,
      category: 'validation',
      message: `Bedrock doesn't know the model ${ctx.modelId} in ${ctx.region}: check the model ID and region.`,
    }
  }
  if (name === 'ValidationException') {
    return { type: name, category: 'validation', message: `Bedrock refused the request: ${text}` }
  }
  if (name === 'ThrottlingException' || name === 'ServiceQuotaExceededException' || name === 'TooManyRequestsException') {
    return {
      type: name,
      category: 'throttled',
      message: `Bedrock is throttling requests for ${ctx.modelId}${tries}: wait a few seconds and send again.`,
    }
  }
  if (name === 'ModelTimeoutException') {
    return { type: name, category: 'timeout', message: `${ctx.modelId} took too long to answer${tries}: try again, or ask for a shorter reply.` }
  }
  if (SERVER_ERRORS.has(name)) {
    return { type: name, category: 'server', message: `Bedrock had a service error${tries}: ${(text || name).replace(/[.\s]+$/, '')}. Try again in a moment.` }
  }
  if (name === 'IncompleteStreamError') {
    return { type: name, category: 'network', message: BROKE_OFF }
  }
  if (isNetworkError(err, name)) {
    if (ctx.midStream) return { type: 'NetworkError', category: 'network', message: BROKE_OFF }
    const where = ctx.endpoint ?? `Bedrock in ${ctx.region}`
    return { type: 'NetworkError', category: 'network', message: `Could not reach ${where}${tries}: check the network and try again.` }
  }
  return { type: name, category: 'server', message: `The model call failed: ${text || name}` }
}
