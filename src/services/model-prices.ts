import { findModel, isGeoProfile } from './model-catalog.ts'

/** USD per 1,000 tokens (the catalogue's on-demand prices; see model-catalog.ts for the source). */
export type ModelPrice = {
  inputPer1k: number
  outputPer1k: number
}

/**
 * The on-demand price of a model id, profile id or ARN; null when the catalogue has no price
 * for it, so the dashboard shows the cost as unknown or partial, never as 0.
 */
export function priceFor(modelId: string): ModelPrice | null {
  const entry = findModel(modelId)
  if (!entry || entry.inputPer1k === null || entry.outputPer1k === null) return null
  const factor = isGeoProfile(modelId) && entry.geoPremium ? entry.geoPremium : 1
  return { inputPer1k: entry.inputPer1k * factor, outputPer1k: entry.outputPer1k * factor }
}

/** Cost in USD of the given tokens at a model's price; null when its price is unknown. */
export function costFor(modelId: string, inputTokens: number, outputTokens: number): number | null {
  const price = priceFor(modelId)
  if (!price) return null
  return (inputTokens / 1000) * price.inputPer1k + (outputTokens / 1000) * price.outputPer1k
}
