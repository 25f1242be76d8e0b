import { z } from 'zod'

/**
 * Models, in one module: the catalogue of every Bedrock text model the app knows (display name,
 * context window, output limit, whether it can think, on-demand price), how model and profile ids
 * are matched, prices and cost, and what the app assumes of a model it does not know.
 *
 * Prices: USD per 1,000 tokens, from the public Amazon Bedrock pricing page
 * (https://aws.amazon.com/bedrock/pricing/), on-demand, US East (N. Virginia) us-east-1, standard
 * tier, as published in 2026 (batch and provisioned prices are not used). For the
 * Claude 4.5 generation Bedrock bills a geographic cross-region profile (us., eu., apac., jp., au.)
 * 10% above the global profile and the base id: `geoPremium` applies that.
 * Context windows and output limits: each provider's model card in the Bedrock console (2026).
 * Prompt caching: which models take cache points and the minimum tokens per cache checkpoint are
 * the supported-models table of "Prompt caching for faster model inference" in the Bedrock user
 * guide (https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html; at most 4
 * checkpoints a request, MAX_CACHE_POINTS). Cache prices are the pricing page's "cache write" and
 * "cache read" columns (5-minute TTL): for Claude, writes cost 1.25 times the input price and reads
 * 0.1 times (CACHE_WRITE_RATIO, CACHE_READ_RATIO, also used for an entry that gives no cache
 * price). Bedrock's inputTokens excludes the tokens read from and written to the cache, so a call
 * costs input + output + cache reads + cache writes, each at its own rate (costFor).
 *
 * Overrides: MODEL_CATALOG_FILE names a JSON array of entries in this shape (see catalogEntrySchema);
 * an entry with an id already here replaces it, a new id is added (and listed unless `listed` is false).
 * Ids are matched without their ARN, profile prefix (us., eu., global. ...) and version suffix.
 */
export const catalogEntrySchema = z.object({
  /** The id offered in the "Model" select: a cross-region profile id where Bedrock requires one. */
  id: z.string().min(3),
  name: z.string().min(1),
  contextWindow: z.number().int().positive(),
  maxOutput: z.number().int().positive(),
  thinking: z.boolean().default(false),
  inputPer1k: z.number().nonnegative().nullable().default(null),
  outputPer1k: z.number().nonnegative().nullable().default(null),
  geoPremium: z.number().positive().optional(),
  /** False: known (for prices and limits) but not offered in the select. */
  listed: z.boolean().default(true),
  /**
   * Prompt caching: the fewest tokens a cache checkpoint's prefix must hold for Bedrock to cache
   * it; absent when the model takes no cache points (Converse `cachePoint` blocks): none are sent.
   */
  cacheMinTokens: z.number().int().positive().optional(),
  /** USD per 1,000 tokens written to the cache (5-minute TTL) and read from it; absent: unknown. */
  cacheWritePer1k: z.number().nonnegative().optional(),
  cacheReadPer1k: z.number().nonnegative().optional(),
})

export type CatalogEntry = z.infer<typeof catalogEntrySchema>

const GEO = 1.1

const DEFAULT_CATALOG: CatalogEntry[] = [
  {
    id: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
    name: 'Claude Sonnet 4.5',
    contextWindow: 200_000,
    maxOutput: 64_000,
    thinking: true,
    inputPer1k: 0.003,
    outputPer1k: 0.015,
    geoPremium: GEO,
    listed: true,
    cacheMinTokens: 1_024,
    cacheWritePer1k: 0.00375,
    cacheReadPer1k: 0.0003,
  },
  {
    id: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
    name: 'Claude Haiku 4.5',
    contextWindow: 200_000,
    maxOutput: 64_000,
    thinking: true,
    inputPer1k: 0.001,
    outputPer1k: 0.005,
    geoPremium: GEO,
    listed: true,
    cacheMinTokens: 4_096,
    cacheWritePer1k: 0.00125,
    cacheReadPer1k: 0.0001,
  },
  {
    id: 'us.anthropic.claude-opus-4-5-20251101-v1:0',
    name: 'Claude Opus 4.5',
    contextWindow: 200_000,
    maxOutput: 64_000,
    thinking: true,
    inputPer1k: 0.005,
    outputPer1k: 0.025,
    geoPremium: GEO,
    listed: true,
    cacheMinTokens: 4_096,
    cacheWritePer1k: 0.00625,
    cacheReadPer1k: 0.0005,
  },
  {
    id: 'us.anthropic.claude-opus-4-1-20250805-v1:0',
    name: 'Claude Opus 4.1',
    contextWindow: 200_000,
    maxOutput: 32_000,
    thinking: true,
    inputPer1k: 0.015,
    outputPer1k: 0.075,
    listed: true,
    cacheMinTokens: 1_024,
    cacheWritePer1k: 0.01875,
    cacheReadPer1k: 0.0015,
  },
  {
    id: 'us.anthropic.claude-sonnet-4-20250514-v1:0',
    name: 'Claude Sonnet 4',
    contextWindow: 200_000,
    maxOutput: 64_000,
    thinking: true,
    inputPer1k: 0.003,
    outputPer1k: 0.015,
    listed: true,
    cacheMinTokens: 1_024,
    cacheWritePer1k: 0.00375,
    cacheReadPer1k: 0.0003,
  },
  {
    id: 'us.anthropic.claude-opus-4-20250514-v1:0',
    name: 'Claude Opus 4',
    contextWindow: 200_000,
    maxOutput: 32_000,
    thinking: true,
    inputPer1k: 0.015,
    outputPer1k: 0.075,
    listed: false,
    cacheMinTokens: 1_024,
    cacheWritePer1k: 0.01875,
    cacheReadPer1k: 0.0015,
  },
  {
    id: 'us.anthropic.claude-3-7-sonnet-20250219-v1:0',
    name: 'Claude 3.7 Sonnet',
    contextWindow: 200_000,
    maxOutput: 64_000,
    thinking: true,
    inputPer1k: 0.003,
    outputPer1k: 0.015,
    listed: false,
    cacheMinTokens: 1_024,
    cacheWritePer1k: 0.00375,
    cacheReadPer1k: 0.0003,
  },
  {
    id: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
    name: 'Claude 3.5 Haiku',
    contextWindow: 200_000,
    maxOutput: 8_192,
    thinking: false,
    inputPer1k: 0.0008,
    outputPer1k: 0.004,
    listed: true,
    cacheMinTokens: 2_048,
    cacheWritePer1k: 0.001,
    cacheReadPer1k: 8e-5,
  },
  {
    id: 'anthropic.claude-3-haiku-20240307-v1:0',
    name: 'Claude 3 Haiku',
    contextWindow: 200_000,
    maxOutput: 4_096,
    thinking: false,
    inputPer1k: 0.00025,
    outputPer1k: 0.00125,
    listed: false,
  },
  {
    id: 'us.amazon.nova-premier-v1:0',
    name: 'Amazon Nova Premier',
    contextWindow: 1_000_000,
    maxOutput: 32_000,
    thinking: false,
    inputPer1k: 0.0025,
    outputPer1k: 0.0125,
    listed: false,
  },
  {
    id: 'us.amazon.nova-pro-v1:0',
    name: 'Amazon Nova Pro',
    contextWindow: 300_000,
    maxOutput: 10_000,
    thinking: false,
    inputPer1k: 0.0008,
    outputPer1k: 0.0032,
    listed: true,
  },
  {
    id: 'us.amazon.nova-lite-v1:0',
    name: 'Amazon Nova Lite',
    contextWindow: 300_000,
    maxOutput: 10_000,
    thinking: false,
    inputPer1k: 0.00006,
    outputPer1k: 0.00024,
    listed: true,
  },
  {
    id: 'us.amazon.nova-micro-v1:0',
    name: 'Amazon Nova Micro',
    contextWindow: 128_000,
    maxOutput: 10_000,
    thinking: false,
    inputPer1k: 0.000035,
    outputPer1k: 0.00014,
    listed: false,
  },
  {
    id: 'us.meta.llama3-3-70b-instruct-v1:0',
    name: 'Meta Llama 3.3 70B Instruct',
    contextWindow: 128_000,
    maxOutput: 8_192,
    thinking: false,
    inputPer1k: 0.00072,
    outputPer1k: 0.00072,
    listed: true,
  },
  {
    id: 'mistral.mistral-large-2407-v1:0',
    name: 'Mistral Large (24.07)',
    contextWindow: 128_000,
    maxOutput: 8_192,
    thinking: false,
    inputPer1k: 0.002,
    outputPer1k: 0.006,
    listed: true,
  },
]

let entries: CatalogEntry[] = DEFAULT_CATALOG

/**
 * The prefix of a cross-region inference profile id: `global.` (any commercial region) or a
 * geography's (us., eu., apac., jp., au., ca., us-gov.). The one pattern for it.
 */
const PROFILE_PREFIX = /^(global|us-gov|us|eu|apac|jp|au|ca)\./

/** The geographic cross-region profile prefix for a region: us-east-1 → us, eu-west-1 → eu. */
export function inferenceProfilePrefix(region: string): string {
  if (region.startsWith('us-gov-')) return 'us-gov'
  if (region.startsWith('us-') || region.startsWith('ca-')) return 'us'
  if (region.startsWith('eu-')) return 'eu'
  if (region.startsWith('ap-')) return 'apac'
  return region.split('-')[0] ?? 'us'
}

/** The inference profile id to suggest for a base model id that Bedrock refused on demand. */
export function suggestedProfileId(modelId: string, region: string): string {
  return PROFILE_PREFIX.test(modelId) ? modelId : `${inferenceProfilePrefix(region)}.${modelId}`
}

/** A model id with its ARN, profile prefix and version suffix removed: the key entries match on. */
export function baseModelId(modelId: string): string {
  const id = modelId.trim().toLowerCase()
  const resource = id.startsWith('arn:') ? (id.split('/').pop() ?? id) : id
  return resource
    .replace(PROFILE_PREFIX, '')
    .replace(/:[^:]*$/, '')
    .replace(/-v\d+$/, '')
}

/** Whether an id names a geographic cross-region profile (billed with the geo premium). */
export function isGeoProfile(modelId: string): boolean {
  const id = modelId.trim().toLowerCase()
  const resource = id.startsWith('arn:') ? (id.split('/').pop() ?? id) : id
  const prefix = resource.match(PROFILE_PREFIX)?.[1]
  return prefix !== undefined && prefix !== 'global'
}

export function catalog(): readonly CatalogEntry[] {
  return entries
}

export function findModel(modelId: string): CatalogEntry | undefined {
  const base = baseModelId(modelId)
  return entries.find((e) => e.id === modelId) ?? entries.find((e) => baseModelId(e.id) === base)
}

/** Applies MODEL_CATALOG_FILE's entries over the defaults (start-up; tests reset with []). */
export function useCatalogOverrides(overrides: CatalogEntry[]): void {
  const merged = [...DEFAULT_CATALOG]
  for (const entry of overrides) {
    const at = merged.findIndex((e) => baseModelId(e.id) === baseModelId(entry.id))
    if (at >= 0) merged[at] = entry
    else merged.push(entry)
  }
  entries = merged
}

/** Reads and checks an override file; a bad file is refused with a message naming the problem. */
export async function loadCatalogFile(path: string): Promise<CatalogEntry[]> {
  let json: unknown
  try {
    json = JSON.parse(await Bun.file(path).text())
  } catch (err) {
    throw new Error(`MODEL_CATALOG_FILE ${path} cannot be read as JSON: ${(err as Error).message}`)
  }
  const parsed = z.array(catalogEntrySchema).safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`MODEL_CATALOG_FILE ${path}: entry ${issue?.path.join('.')} ${issue?.message}`)
  }
  return parsed.data
}

/** USD per 1,000 tokens (the catalogue's on-demand prices; the source is named above). */
export type ModelPrice = {
  inputPer1k: number
  outputPer1k: number
}

/** USD per 1,000 tokens written to and read from the prompt cache. */
export type CachePrice = {
  writePer1k: number
  readPer1k: number
}

/** Bedrock's most cache points in one request (system, messages and tools together). */
export const MAX_CACHE_POINTS = 4
/** Claude's cache prices on Bedrock against its input price (5-minute TTL): see the header. */
export const CACHE_WRITE_RATIO = 1.25
export const CACHE_READ_RATIO = 0.1

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

/** The prompt-cache prices of a model id, as priceFor (geo premium included); null when its input price is unknown. */
export function cachePriceFor(modelId: string): CachePrice | null {
  const entry = findModel(modelId)
  if (!entry || entry.inputPer1k === null) return null
  const factor = isGeoProfile(modelId) && entry.geoPremium ? entry.geoPremium : 1
  return {
    writePer1k: (entry.cacheWritePer1k ?? entry.inputPer1k * CACHE_WRITE_RATIO) * factor,
    readPer1k: (entry.cacheReadPer1k ?? entry.inputPer1k * CACHE_READ_RATIO) * factor,
  }
}

/**
 * Cost in USD of the given tokens at a model's price; null when its price is unknown. Input
 * tokens are Bedrock's `inputTokens`, which leave out the cache reads and writes priced here.
 */
export function costFor(modelId: string, inputTokens: number, outputTokens: number, cacheReadTokens = 0, cacheWriteTokens = 0): number | null {
  const price = priceFor(modelId)
  const cache = cachePriceFor(modelId)
  if (!price || !cache) return null
  return (
    (inputTokens / 1000) * price.inputPer1k +
    (outputTokens / 1000) * price.outputPer1k +
    (cacheReadTokens / 1000) * cache.readPer1k +
    (cacheWriteTokens / 1000) * cache.writePer1k
  )
}

/** What the cache reads saved: their cost at the input price less their cost as reads; null when the price is unknown. */
export function cacheSavingsFor(modelId: string, cacheReadTokens: number): number | null {
  const price = priceFor(modelId)
  const cache = cachePriceFor(modelId)
  if (!price || !cache) return null
  return (cacheReadTokens / 1000) * (price.inputPer1k - cache.readPer1k)
}

export type ModelInfo = Pick<CatalogEntry, 'id' | 'name' | 'contextWindow' | 'maxOutput' | 'thinking' | 'cacheMinTokens'>

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
    ? {
        id,
        name: found.name,
        contextWindow: found.contextWindow,
        maxOutput: found.maxOutput,
        thinking: found.thinking,
        cacheMinTokens: found.cacheMinTokens,
        known: true,
        price: priceFor(id),
      }
    : { id, name: id, ...UNKNOWN, known: false, price: priceFor(id) }
}
