/**
 * The models offered in the "Model" select: current Bedrock text models reachable through the
 * Converse API, Claude first. Cross-region inference profile ids (us.…) are what Bedrock requires
 * for on-demand use of newer models.
 */
export const MODELS = [
  { id: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', name: 'Claude Sonnet 4.5' },
  { id: 'us.anthropic.claude-haiku-4-5-20251001-v1:0', name: 'Claude Haiku 4.5' },
  { id: 'us.anthropic.claude-opus-4-1-20250805-v1:0', name: 'Claude Opus 4.1' },
  { id: 'us.anthropic.claude-sonnet-4-20250514-v1:0', name: 'Claude Sonnet 4' },
  { id: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', name: 'Claude 3.5 Haiku' },
  { id: 'us.amazon.nova-pro-v1:0', name: 'Amazon Nova Pro' },
  { id: 'us.amazon.nova-lite-v1:0', name: 'Amazon Nova Lite' },
  { id: 'us.meta.llama3-3-70b-instruct-v1:0', name: 'Meta Llama 3.3 70B Instruct' },
  { id: 'mistral.mistral-large-2407-v1:0', name: 'Mistral Large (24.07)' },
] as const satisfies readonly { id: string; name: string }[]

/** A Bedrock model id, inference profile id or ARN: what the "Model" field accepts. */
export const MODEL_ID_PATTERN = /^(arn:aws(-[a-z]+)*:bedrock:[a-z0-9-]+:\d{12}:[a-z-]+\/[A-Za-z0-9.:_\/-]+|[A-Za-z0-9][A-Za-z0-9.:_-]{2,199})$/
