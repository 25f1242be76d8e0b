import type { Outcome } from '../../db/schema.ts'

/**
 * The one taxonomy of failed and stopped calls: the chat's error messages, the dashboard's "Errors"
 * panel and the `category` label of /metrics all take a call's category from this table.
 */
export const ERROR_CATEGORIES = ['throttled', 'validation', 'access', 'server', 'intervened', 'stopped', 'other'] as const
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number]

/**
 * AWS error names (and our own: NetworkError, IncompleteStreamError, CredentialsProviderError...) by
 * category. Following CloudWatch's Bedrock metrics: throttled → InvocationThrottles; validation and
 * access → InvocationClientErrors; server (including ModelTimeoutException, the model's own
 * slowness) → InvocationServerErrors. Network failures between us and Bedrock are none of these:
 * 'other', with anything not listed.
 *
 * A call the guardrail blocked (GuardrailIntervened: stopReason guardrail_intervened, with
 * BEDROCK_GUARDRAIL_ID) is none of them either: Bedrock answered, and its guardrail said no.
 * CloudWatch counts it as InvocationsIntervened, and so it is 'intervened', a category of its own.
 * Its outcome is 'error' (the person got no answer; counted in the error rate), kept apart from
 * client and server errors by this category.
 *
 * CloudWatch has no name for what only this app sees: our own timeouts and an answer that cannot
 * be read. Each is Bedrock's side failing to deliver an answer it had accepted (the request was
 * sent and, for the stream errors, answered 200), like ModelTimeoutException and
 * ModelStreamErrorException, so each is 'server': FirstTokenTimeout (no token in time),
 * StreamIdleTimeout (the answer stopped), MalformedStreamError (bytes that are no event stream) and
 * EventMessageTooLargeError (a message beyond any Bedrock sends). A connection that breaks is still
 * 'other' (NetworkError, IncompleteStreamError): that is the network's failure, not the answer's.
 */
const CATEGORY_BY_TYPE: Record<string, ErrorCategory> = {
  ThrottlingException: 'throttled',
  ServiceQuotaExceededException: 'throttled',
  TooManyRequestsException: 'throttled',
  ValidationException: 'validation',
  ResourceNotFoundException: 'validation',
  AccessDeniedException: 'access',
  UnrecognizedClientException: 'access',
  CredentialsProviderError: 'access',
  InvalidSignatureException: 'access',
  SignatureDoesNotMatch: 'access',
  ExpiredTokenException: 'access',
  ExpiredToken: 'access',
  InvalidClientTokenId: 'access',
  IncompleteSignature: 'access',
  MissingAuthenticationTokenException: 'access',
  InternalServerException: 'server',
  ServiceUnavailableException: 'server',
  ModelStreamErrorException: 'server',
  ModelErrorException: 'server',
  ModelNotReadyException: 'server',
  ModelTimeoutException: 'server',
  FirstTokenTimeout: 'server',
  StreamIdleTimeout: 'server',
  MalformedStreamError: 'server',
  EventMessageTooLargeError: 'server',
  GuardrailIntervened: 'intervened',
}

/** A stopped call (Stop pressed, browser gone, shutdown) is 'stopped' whatever its type says. */
export function errorCategory(outcome: Outcome, type: string): ErrorCategory {
  if (outcome === 'stopped') return 'stopped'
  return CATEGORY_BY_TYPE[type] ?? 'other'
}
