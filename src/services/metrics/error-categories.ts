import type { Outcome } from '../../db/schema.ts'

/**
 * The one taxonomy of failed and stopped calls: the chat's error messages, the dashboard's "Errors"
 * panel and the `category` label of /metrics all take a call's category from this table.
 */
export const ERROR_CATEGORIES = ['throttled', 'validation', 'access', 'server', 'stopped', 'other'] as const
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number]

/**
 * AWS error names (and our own: NetworkError, IncompleteStreamError, CredentialsProviderError) by
 * category. Following CloudWatch's Bedrock metrics: throttled → InvocationThrottles; validation and
 * access → InvocationClientErrors; server (including ModelTimeoutException, the model's own
 * slowness) → InvocationServerErrors. Network failures between us and Bedrock are none of these:
 * 'other', with anything not listed.
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
}

/** A stopped call (Stop pressed, browser gone, shutdown) is 'stopped' whatever its type says. */
export function errorCategory(outcome: Outcome, type: string): ErrorCategory {
  if (outcome === 'stopped') return 'stopped'
  return CATEGORY_BY_TYPE[type] ?? 'other'
}
