import { priceFor, type ModelPrice } from './model-prices.ts'

/**
 * The models offered in the "Model" select: current Bedrock text models reachable through the
 * Converse API, Claude first. Cross-region inference profile ids (us.…) are what Bedrock requires
 * for on-demand use of newer models. Context windows and output limits are from each provider's
 * model card on the Bedrock console (2026); prices live in model-prices.ts with their source.
 */
export const MODELS = [
  { id: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', name: 'Claude Sonnet 4.5', contextWindow: 200_000, maxOutput: 64_000, thinking: true },
  { id: 'us.anthropic.claude-haiku-4-5-20251001-v1:0', name: 'Claude Haiku 4.5', contextWindow: 200_000, maxOutput: 64_000, thinking: true },
  { id: 'us.anthropic.claude-opus-4-5-20251101-v1:0', name: 'Claude Opus 4.5', contextWindow: 200_000, maxOutput: 64_000, thinking: true },
  { id: 'us.anthropic.claude-opus-4-1-20250805-v1:0', name: 'Claude Opus 4.1', contextWindow: 200_000, maxOutput: 32_000, thinking: true },
  { id: 'us.anthropic.claude-sonnet-4-20250514-v1:0', name: 'Claude Sonnet 4', contextWindow: 200_000, maxOutput: 64_000, thinking: true },
  { id: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', name: 'Claude 3.5 Haiku', contextWindow: 200_000, maxOutput: 8_192, thinking: false },
  { id: 'us.amazon.nova-pro-v1:0', name: 'Amazon Nova Pro', contextWindow: 300_000, maxOutput: 10_000, thinking: false },
  { id: 'us.amazon.nova-lite-v1:0', name: 'Amazon Nova Lite', contextWindow: 300_000, maxOutput: 10_000, thinking: false },
  { id: 'us.meta.llama3-3-70b-instruct-v1:0', name: 'Meta Llama 3.3 70B Instruct', contextWindow: 128_000, maxOutput: 8_192, thinking: false },
  { id: 'mistral.mistral-large-2407-v1:0', name: 'Mistral Large (24.07)', contextWindow: 128_000, maxOutput: 8_192, thinking: false },
] as const satisfies readonly ModelInfo[]

export type ModelInfo = { id: string; name: string; contextWindow: number; maxOutput: number; thinking: boolean }

/** What the app assumes of a model it does not know (a custom id or an ARN): conservative. */
const UNKNOWN: Omit<ModelInfo, 'id' | 'name'> = { contextWindow: 128_000, maxOutput: 8_192, thinking: false }

/** A Bedrock model id, inference profile id or ARN: what the "Model" field accepts. */
export const MODEL_ID_PATTERN = /^(arn:aws(-[a-z]+)*:bedrock:[a-z0-9-]+:\d{12}:[a-z-]+\/[A-Za-z0-9.:_\/-]+|[A-Za-z0-9][A-Za-z0-9.:_-]{2,199})$/

/** Strips an ARN and a profile prefix, so us.anthropic.x and anthropic.x are the same model. */
function baseOf(id: string): string {
  const resource = id.startsWith('arn:') ? (id.split('/').pop() ?? id) : id
  return resource.replace(/^(us|eu|apac|jp|au|ca|us-gov|global)\./, '')
}

/** The catalogue entry for an id (profile, base id or ARN), or a conservative guess. */
export function modelInfo(id: string): ModelInfo & { known: boolean; price: ModelPrice | null } {
  const base = baseOf(id)
  const found = MODELS.find((m) => m.id === id || baseOf(m.id) === base)
  return found
    ? { ...found, known: true, price: priceFor(id) }
    : { id, name: id, ...UNKNOWN, known: false, price: priceFor(id) }
}
