import { catalog, findModel, type CatalogEntry } from './model-catalog.ts'
import { priceFor, type ModelPrice } from './model-prices.ts'

export type ModelInfo = Pick<CatalogEntry, 'id' | 'name' | 'contextWindow' | 'maxOutput' | 'thinking'>

/** The models offered in the "Model" select, Claude first (the catalogue's listed entries). */
export function listedModels(): ModelInfo[] {
  return catalog().filter((m) => m.listed)
}

/** What the app assumes of a model it does not know (a custom id or an ARN): conservative. */
const UNKNOWN: Omit<ModelInfo, 'id' | 'name'> = { contextWindow: 128_000, maxOutput: 8_192, thinking: false }

/** A Bedrock model id, inference profile id or ARN: what the "Custom model ID" field accepts. */
export const MODEL_ID_PATTERN = /^(arn:aws(-[a-z]+)*:bedrock:[a-z0-9-]+:\d{12}:[a-z-]+\/[A-Za-z0-9.:_\/-]+|[A-Za-z0-9][A-Za-z0-9.:_-]{2,199})$/

/** The catalogue entry for an id (profile, base id or ARN), or a conservative guess. */
export function modelInfo(id: string): ModelInfo & { known: boolean; price: ModelPrice | null } {
  const found = findModel(id)
  return found
    ? { id, name: found.name, contextWindow: found.contextWindow, maxOutput: found.maxOutput, thinking: found.thinking, known: true, price: priceFor(id) }
    : { id, name: id, ...UNKNOWN, known: false, price: priceFor(id) }
}
