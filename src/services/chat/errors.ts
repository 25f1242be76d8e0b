import { errorCategory, type ErrorCategory } from '../metrics/index.ts'
import { displayEndpoint, withoutUserinfo } from '../endpoints.ts'
import { baseModelId, findModel, inferenceProfilePrefix, isGeoProfile, suggestedProfileId } from '../models.ts'
import type { CredentialKind } from './bedrock.ts'

/**
 * Turns whatever the SDK threw into a short message a person can act on, keeping the AWS error
 * name for metrics. Pure: no SDK import, so routes and tests can use it freely.
 */

export type ModelError = {
  /** The AWS error name (ThrottlingException...) or our own for non-AWS failures (NetworkError). */
  type: string
  /** From the one table of error names (metrics/error-categories.ts), as the dashboard counts it. */
  category: ErrorCategory
  message: string
}

export type ErrorContext = {
  modelId: string
  region: string
  attempts: number
  /** The endpoint override as configured; the message shows it without any user name or password. */
  endpoint?: string
  /** Part of the reply had already arrived when it failed. */
  midStream?: boolean
  /** Which credential the call used (bedrock.credentialKind): a refused API key is told as such. */
  auth?: CredentialKind
  /** The model ids these credentials can call, as Bedrock last listed them (src/services/discovery); absent when unknown. */
  callable?: string[]
}

const BROKE_OFF = 'The connection to Bedrock broke off before the reply was complete: send again to retry.'

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET'])

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

const seconds = (ms: number) => `${(ms / 1000).toLocaleString('en')} s`

/** A call abandoned because its answer had not started in time (our own timeout, not Bedrock's). */
export function firstTokenTimeoutError(timeoutMs: number): ModelError {
  const type = 'FirstTokenTimeout'
  const message = `Bedrock sent no answer within ${seconds(timeoutMs)}, so the request was abandoned: send again to retry, or try another model.`
  return { type, category: errorCategory('error', type), message }
}

/** A call abandoned because its answer stopped coming (our own timeout, not Bedrock's). */
export function tokenIdleTimeoutError(timeoutMs: number): ModelError {
  const type = 'StreamIdleTimeout'
  const message = `Bedrock stopped sending for ${seconds(timeoutMs)} in the middle of the reply, so it was cut off there: send again to retry.`
  return { type, category: errorCategory('error', type), message }
}

/** What a blocked call is recorded as: Bedrock's guardrail intervened (CloudWatch: InvocationsIntervened). */
export const GUARDRAIL_INTERVENED = 'GuardrailIntervened'

/**
 * A call the guardrail blocked (stopReason guardrail_intervened): not an answer, and not a
 * failure to retry. `guardrailText` is what Bedrock sent in the answer's place, the guardrail's
 * own message (its blocked-input or blocked-output messaging).
 */
export function guardrailInterventionError(guardrailText: string): ModelError {
  const said = guardrailText.trim()
  const message = said ? `Blocked by the guardrail: ${said}` : 'Blocked by the guardrail (it gave no message).'
  return { type: GUARDRAIL_INTERVENED, category: errorCategory('error', GUARDRAIL_INTERVENED), message }
}

const bytes = (n: number) => `${n.toLocaleString('en')} bytes`

/** A model's name as the Model select shows it, with its id: "Claude Opus 4.7 (global.anthropic.claude-opus-4-7)". */
function named(modelId: string): string {
  const entry = findModel(modelId)
  return entry ? `${entry.name} (${modelId})` : modelId
}

/**
 * The inference profile to use for a model Bedrock will not serve on demand: one these credentials
 * can call (the discovered list), `global.` first, then the region's geography, then any; else one
 * the catalogue offers; else the region's geographic profile id.
 */
export function profileFor(modelId: string, region: string, callable: string[] = []): string {
  const base = baseModelId(modelId)
  const geo = `${inferenceProfilePrefix(region)}.`
  const profiles = callable.filter((id) => id !== modelId && baseModelId(id) === base && (id.startsWith('global.') || isGeoProfile(id)))
  const found = profiles.find((id) => id.startsWith('global.')) ?? profiles.find((id) => id.startsWith(geo)) ?? profiles[0]
  if (found) return found
  const entry = findModel(modelId)
  if (entry && entry.id !== modelId && baseModelId(entry.id) === base) return entry.id
  return suggestedProfileId(modelId, region)
}

/** The request parameter a model refused, from Bedrock's words ("`temperature` is deprecated for this model."). */
function refusedParameter(text: string): string | null {
  const both = /`?(temperature)`? and `?(top_p)`? cannot both be specified/i.exec(text)
  if (both) return 'both temperature and top_p'
  const match = /`?([\w.]+)`? (?:is deprecated|is not supported|is not permitted|may only be set)[^.]*for this model|`?([\w.]+)`? may only be set to/i.exec(
    text,
  )
  return match ? (match[1] ?? match[2] ?? null) : null
}

const API_KEY_REFUSED = /Invalid API Key format|bearer token|API key/i

/**
 * The person's message for a failure, with its name and the dashboard's category for that name.
 * The message is shown, logged and saved with the reply, so no URL in it keeps its userinfo, not
 * even one inside the SDK's own error text.
 */
export function classifyError(err: unknown, ctx: ErrorContext): ModelError {
  const { type, message } = describeError(err, ctx)
  return { type, category: errorCategory('error', type), message: withoutUserinfo(message) }
}

function describeError(err: unknown, ctx: ErrorContext): Omit<ModelError, 'category'> {
  const name = errorName(err)
  const text = errorText(err)
  const tries = ctx.attempts > 1 ? ` (tried ${ctx.attempts} times)` : ''
  const category = errorCategory('error', name)

  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(text)) {
    return {
      type: 'CredentialsProviderError',
      message: 'No AWS credentials: enter an access key in the sidebar, or start the server with AWS credentials (environment, profile or instance role).',
    }
  }
  const bearer = ctx.auth === 'apiKey' || ctx.auth === 'serverApiKey'
  const whose = ctx.auth === 'serverApiKey' ? "The server's Bedrock API key (AWS_BEARER_TOKEN_BEDROCK)" : 'This Bedrock API key'
  // Bedrock answers an expired key with ExpiredTokenException and a malformed one with
  // UnrecognizedClientException: each is said as such
  if (bearer && name !== 'AccessDeniedException' && (category === 'access' || API_KEY_REFUSED.test(text))) {
    const expired = /expired/i.test(name + text)
    return {
      type: name,
      message: expired
        ? `${whose} has expired: make a new one in the Bedrock console (API keys)${ctx.auth === 'serverApiKey' ? ' and restart the server with it' : ' and save it in the sidebar'}, or use access keys instead.`
        : `${whose} was refused as invalid (${name}: ${text.replace(/[.\s]+$/, '')}): check that it was copied whole, or make a new one in the Bedrock console (API keys).`,
    }
  }
  // a key it cannot authenticate is AccessDeniedException ("Authentication failed: Please make
  // sure your API Key is valid."): an expired key and a wrong one look the same
  if (bearer && name === 'AccessDeniedException' && /API key/i.test(text)) {
    return {
      type: name,
      message:
        ctx.auth === 'apiKey'
          ? 'Bedrock refused your Bedrock API key: it has expired or is not valid. Paste a fresh one in the sidebar (a short-term key lasts at most 12 hours), or save access keys instead.'
          : "Bedrock refused the server's Bedrock API key (AWS_BEARER_TOKEN_BEDROCK): it has expired or is not valid. Ask whoever runs the server for a fresh one, or save your own Bedrock API key or access keys in the sidebar.",
    }
  }
  if (category === 'access' && name !== 'AccessDeniedException') {
    const expired = /expired/i.test(name + text)
    return {
      type: name,
      message: expired
        ? 'AWS says these credentials have expired: save fresh ones in the sidebar.'
        : 'AWS rejected these credentials: check the access key ID, secret access key and session token in the sidebar.',
    }
  }
  if (name === 'AccessDeniedException' && /not authorized to perform/i.test(text)) {
    return {
      type: name,
      message: `These credentials may not call ${named(ctx.modelId)} in ${ctx.region}: allow bedrock:InvokeModelWithResponseStream on the model (and on its inference profile) in IAM, or pick another model.`,
    }
  }
  if (name === 'AccessDeniedException') {
    return {
      type: name,
      message: `This account has no access to ${named(ctx.modelId)} in ${ctx.region}: it is not enabled for the account. Request access in the Bedrock console (Model catalog; Anthropic models ask for a use-case form once), or pick a model from the Model list, which shows what these credentials can call.`,
    }
  }
  if (name === 'ValidationException' && /inference profile/i.test(text)) {
    const profile = profileFor(ctx.modelId, ctx.region, ctx.callable)
    const entry = findModel(profile)
    return {
      type: name,
      message: `${ctx.modelId} can't be called on demand in ${ctx.region}: Bedrock serves it only through an inference profile, so use its inference profile ${profile}${entry ? ` (${entry.name} in the Model list)` : ''} instead.`,
    }
  }
  const parameter = name === 'ValidationException' ? refusedParameter(text) : null
  if (parameter) {
    return {
      type: name,
      message: `${named(ctx.modelId)} does not accept ${parameter === 'both temperature and top_p' ? parameter : `\`${parameter}\``} (Bedrock: ${text.replace(/[.\s]+$/, '')}). Change it in "Settings for this conversation"${findModel(ctx.modelId) ? '' : ', or describe the model in MODEL_CATALOG_FILE so the app sends only what it accepts'}.`,
    }
  }
  if (name === 'ResourceNotFoundException') {
    return {
      type: name,
      message: `Bedrock doesn't know the model ${ctx.modelId} in ${ctx.region}: check the model ID and region.`,
    }
  }
  if (name === 'ValidationException') {
    return { type: name, message: `Bedrock refused the request: ${text}` }
  }
  if (category === 'throttled') {
    return {
      type: name,
      message: `Bedrock is throttling requests for ${ctx.modelId}${tries}: wait a few seconds and send again.`,
    }
  }
  if (name === 'ModelTimeoutException') {
    return { type: name, message: `${ctx.modelId} took too long to answer${tries}: try again, or ask for a shorter reply.` }
  }
  if (name === 'MalformedStreamError') {
    return {
      type: name,
      message: "Bedrock's answer could not be read: what arrived was not a valid Bedrock stream, so the reply was abandoned: send again to retry.",
    }
  }
  if (name === 'EventMessageTooLargeError') {
    const { claimedBytes, limitBytes } = err as { claimedBytes?: unknown; limitBytes?: unknown }
    const claimed = typeof claimedBytes === 'number' ? ` of ${bytes(claimedBytes)}` : ''
    const limit = typeof limitBytes === 'number' ? `, and at most ${bytes(limitBytes)} are accepted (Bedrock's own are far smaller)` : ''
    return {
      type: name,
      message: `Bedrock's answer could not be read: it announced a single event${claimed}${limit}, so the reply was abandoned without waiting for it: send again to retry.`,
    }
  }
  if (category === 'server') {
    return { type: name, message: `Bedrock had a service error${tries}: ${(text || name).replace(/[.\s]+$/, '')}. Try again in a moment.` }
  }
  if (name === 'IncompleteStreamError') {
    return { type: name, message: BROKE_OFF }
  }
  if (isNetworkError(err, name)) {
    if (ctx.midStream) return { type: 'NetworkError', message: BROKE_OFF }
    const where = displayEndpoint(ctx.endpoint) ?? `Bedrock in ${ctx.region}`
    return { type: 'NetworkError', message: `Could not reach ${where}${tries}: check the network and try again.` }
  }
  return { type: name, message: `The model call failed: ${text || name}` }
}
