/**
 * On-demand prices of the models the app offers, in USD per 1,000 tokens.
 *
 * Source: the public Amazon Bedrock pricing page, https://aws.amazon.com/bedrock/pricing/,
 * on-demand, US East (N. Virginia) us-east-1, standard tier, as published in 2026 (prices for
 * prompt-cache reads and writes, batch and provisioned throughput are not used). Update the
 * table when the page changes; an id not found here has no price (null), and the dashboard then
 * shows the cost as unknown or partial, never as 0.
 *
 * For the Claude 4.5 generation, Bedrock bills a geographic cross-region profile (us., eu., apac.,
 * jp., au.) 10% above the global profile and the base model id: `geoPremium` applies that.
 */
export type ModelPrice = {
  inputPer1k: number
  outputPer1k: number
}

type PriceEntry = ModelPrice & { geoPremium?: number }

const GEO_PREMIUM = 1.1

/** Keyed by the base model id without its version suffix (`-v1:0`, `:0`). */
const PRICES: Record<string, PriceEntry> = {
  'anthropic.claude-opus-4-5-20251101': { inputPer1k: 0.005, outputPer1k: 0.025, geoPremium: GEO_PREMIUM },
  'anthropic.claude-sonnet-4-5-20250929': { inputPer1k: 0.003, outputPer1k: 0.015, geoPremium: GEO_PREMIUM },
  'anthropic.claude-haiku-4-5-20251001': { inputPer1k: 0.001, outputPer1k: 0.005, geoPremium: GEO_PREMIUM },
  'anthropic.claude-opus-4-1-20250805': { inputPer1k: 0.015, outputPer1k: 0.075 },
  'anthropic.claude-opus-4-20250514': { inputPer1k: 0.015, outputPer1k: 0.075 },
  'anthropic.claude-sonnet-4-20250514': { inputPer1k: 0.003, outputPer1k: 0.015 },
  'anthropic.claude-3-7-sonnet-20250219': { inputPer1k: 0.003, outputPer1k: 0.015 },
  'anthropic.claude-3-5-haiku-20241022': { inputPer1k: 0.0008, outputPer1k: 0.004 },
  'anthropic.claude-3-haiku-20240307': { inputPer1k: 0.00025, outputPer1k: 0.00125 },
  'amazon.nova-premier': { inputPer1k: 0.0025, outputPer1k: 0.0125 },
  'amazon.nova-pro': { inputPer1k: 0.0008, outputPer1k: 0.0032 },
  'amazon.nova-lite': { inputPer1k: 0.00006, outputPer1k: 0.00024 },
  'amazon.nova-micro': { inputPer1k: 0.000035, outputPer1k: 0.00014 },
  'meta.llama3-3-70b-instruct': { inputPer1k: 0.00072, outputPer1k: 0.00072 },
  'mistral.mistral-large-2407': { inputPer1k: 0.002, outputPer1k: 0.006 },
}

const PROFILE_PREFIX = /^(us|eu|apac|jp|au|ca|us-gov|global)\./
const GEO_PREFIX = /^(us|eu|apac|jp|au|ca|us-gov)\./

type ParsedId = { base: string; geo: boolean }

/**
 * `arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-…-v1:0`,
 * `us.anthropic.claude-…-v1:0` and `anthropic.claude-…-v1:0` all name the same model: keep the part
 * after the ARN's last `/`, drop the profile prefix, then the version suffix (`-v1:0`, `-v2`, `:0`,
 * or a context-window suffix such as `:200k`).
 */
function parseModelId(modelId: string): ParsedId {
  const id = modelId.trim().toLowerCase()
  const resource = id.startsWith('arn:') ? (id.split('/').pop() ?? id) : id
  const geo = GEO_PREFIX.test(resource)
  const base = resource
    .replace(PROFILE_PREFIX, '')
    .replace(/:[^:]*$/, '')
    .replace(/-v\d+$/, '')
  return { base, geo }
}

/** The on-demand price of a model id, profile id or ARN; null when it is not in the table. */
export function priceFor(modelId: string): ModelPrice | null {
  const { base, geo } = parseModelId(modelId)
  const entry = PRICES[base]
  if (!entry) return null
  const factor = geo && entry.geoPremium ? entry.geoPremium : 1
  return { inputPer1k: entry.inputPer1k * factor, outputPer1k: entry.outputPer1k * factor }
}

/** Cost in USD of the given tokens at a model's price; null when its price is unknown. */
export function costFor(modelId: string, inputTokens: number, outputTokens: number): number | null {
  const price = priceFor(modelId)
  if (!price) return null
  return (inputTokens / 1000) * price.inputPer1k + (outputTokens / 1000) * price.outputPer1k
}
