/**
 * What AWS names look like, in one place: the environment's check (config.ts) and the sidebar's
 * form (routes/forms.ts) refuse the same things with these.
 */

/** An AWS Region name: us-east-1, eu-central-2, ap-southeast-4, us-gov-west-1. */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d$/

/** An access key id: long-term (AKIA) or temporary (ASIA), or the older role and user prefixes. */
export const ACCESS_KEY_ID_PATTERN = /^(AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,124}$/

/** A secret access key: 40 characters of base64 in practice; a little slack either way. */
export const SECRET_ACCESS_KEY_PATTERN = /^[A-Za-z0-9/+=]{16,128}$/

/** A session token: base64, up to a few kilobytes. */
export const SESSION_TOKEN_PATTERN = /^[A-Za-z0-9/+=]+$/
export const SESSION_TOKEN_MAX_LENGTH = 8192

/**
 * A Bedrock API key: a long-term one is `ABSK` and base64 (an IAM user's service-specific
 * credential), a short-term one `bedrock-api-key-` and base64 (a SigV4 presigned URL, as
 * aws-bedrock-token-generator makes it). Both are base64 after their prefix.
 */
export const BEDROCK_API_KEY_PATTERN = /^(ABSK|bedrock-api-key-)[A-Za-z0-9+/]{16,}={0,2}$/
/** A short-term key carries a presigned URL, with a session token when it was made from temporary keys. */
export const BEDROCK_API_KEY_MAX_LENGTH = 16_384

/** A guardrail's id, or its ARN: what Converse's guardrailConfig.guardrailIdentifier takes. */
export const GUARDRAIL_ID_PATTERN = /^([a-z0-9]{1,64}|arn:aws(-[a-z]+)*:bedrock:[a-z0-9-]{1,20}:\d{12}:guardrail\/[a-z0-9]{1,64})$/
/** A guardrail's version: a number (1 to 99999999), or DRAFT. */
export const GUARDRAIL_VERSION_PATTERN = /^([1-9]\d{0,7}|DRAFT)$/
