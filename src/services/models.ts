import { z } from 'zod'

/**
 * Models, in one module: the catalogue of every Bedrock text model the app knows (display name,
 * context window, output limit, what a request to it may carry, on-demand price), how model and
 * profile ids are matched, prices and cost, and what the app assumes of a model it does not know.
 * Which models an account can call comes from Bedrock itself (src/services/discovery); this
 * catalogue stays the source of the facts about them.
 *
 * Prices: USD per 1,000 tokens, on-demand, US East (N. Virginia) us-east-1, standard tier (prompt-cache,
 * batch and provisioned prices are not used). Source of each price, as cited on its entry:
 * - [bedrock] the public Amazon Bedrock pricing page (https://aws.amazon.com/bedrock/pricing/), 2026;
 * - [anthropic] Anthropic's model overview pages (https://platform.claude.com/docs/en/models/<model>/overview,
 *   "Input pricing" / "Output pricing"), which Bedrock's on-demand prices for Claude equal. Used for
 *   the Claude 4.6 to 4.8 models, whose per-model rows could not be read from the Bedrock page here.
 * From the Claude 4.5 generation on, Bedrock bills a geographic cross-region profile (us., eu., apac.,
 * jp., au.) 10% above the global profile and the base id: `geoPremium` applies that.
 * Context windows and output limits: each model's card in the Amazon Bedrock user guide
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-*.html) or, where none was found,
 * Anthropic's overview page, as cited on the entry.
 *
 * Prompt caching: which models take cache points and the minimum tokens per cache checkpoint are
 * the supported-models table of "Prompt caching for faster model inference" in the Bedrock user
 * guide (https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html; at most 4
 * checkpoints a request, MAX_CACHE_POINTS). Cache prices are the pricing page's "cache write" and
 * "cache read" columns (5-minute TTL): for Claude, writes cost 1.25 times the input price and reads
 * 0.1 times (CACHE_WRITE_RATIO, CACHE_READ_RATIO, also used for an entry that gives no cache
 * price). Bedrock's inputTokens excludes the tokens read from and written to the cache, so a call
 * costs input + output + cache reads + cache writes, each at its own rate (costFor).
 *
 * Request rules (what Bedrock refuses, not what it ignores):
 * - `sampling`: `both` (temperature and top-p), `one` (either, never both in one request: Claude 4.1
 *   and the 4.5 and 4.6 models answer "`temperature` and `top_p` cannot both be specified"), `none`
 *   (neither: Claude Opus 4.7 and later answer "`temperature` is deprecated for this model.").
 * - `thinking`: `none`, `budget` (extended thinking, `thinking: {type: "enabled", budget_tokens}`),
 *   or `adaptive` (`thinking: {type: "adaptive"}` with Converse's `outputConfig.effort`; Opus 4.7 and
 *   later refuse `enabled`, and Bedrock calls `enabled` deprecated on Sonnet and Opus 4.6).
 *   `thinkingByDefault`: thinking is on until the conversation turns it off. `effort`: the effort
 *   level sent with adaptive thinking (the model's own default, `high`, unless set).
 * - `images` and `documents`: whether Converse takes image and document blocks for the model.
 * Source: Bedrock's "Adaptive thinking" and "Extended thinking" pages
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-adaptive-thinking.html) and
 * the Opus 4.7 model card ("`thinking.type: "adaptive"` only").
 *
 * Overrides: MODEL_CATALOG_FILE names a JSON array of entries in this shape (see catalogEntrySchema);
 * an entry with an id already here replaces it, a new id is added (and listed unless `listed` is false).
 * Ids are matched without their ARN, profile prefix (us., eu., global. ...) and version suffix.
 */

export const THINKING_MODES = ['none', 'budget', 'adaptive'] as const
export type ThinkingMode = (typeof THINKING_MODES)[number]
export const SAMPLING_RULES = ['both', 'one', 'none'] as const
export const EFFORT_LEVELS = ['low', 'medium', 'high', 'xhigh', 'max'] as const
export type EffortLevel = (typeof EFFORT_LEVELS)[number]

export const catalogEntrySchema = z.object({
  /** The id offered in the "Model" select: a cross-region profile id where Bedrock requires one. */
  id: z.string().min(3),
  name: z.string().min(1),
  contextWindow: z.number().int().positive(),
  maxOutput: z.number().int().positive(),
  /** How the model thinks; `true` and `false` (the catalogue file's older form) mean `budget` and `none`. */
  thinking: z
    .union([z.boolean(), z.enum(THINKING_MODES)])
    .default('none')
    .transform((v): ThinkingMode => (v === true ? 'budget' : v === false ? 'none' : v)),
  thinkingByDefault: z.boolean().default(false),
  effort: z.enum(EFFORT_LEVELS).optional(),
  /** Temperature and top-p: both accepted, only one of them per request, or neither. */
  sampling: z.enum(SAMPLING_RULES).default('both'),
  images: z.boolean().default(true),
  documents: z.boolean().default(true),
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
type EntryInput = z.input<typeof catalogEntrySchema>

const GEO = 1.1

/** The Claude models of today, newest first. */
const CLAUDE_CURRENT: EntryInput[] = [
  {
    // [anthropic] $3 / $15 per MTok; window 1M (Anthropic overview). Max output: Anthropic's overview
    // says 128K, other listings 64K: the lower is kept, so a request never asks for more than is served.
    id: 'global.anthropic.claude-sonnet-4-6',
    name: 'Claude Sonnet 4.6',
    contextWindow: 1_000_000,
    maxOutput: 64_000,
    thinking: 'adaptive',
    sampling: 'one',
    inputPer1k: 0.003,
    outputPer1k: 0.015,
    geoPremium: GEO,
    // cache minimum: Anthropic's prompt-caching page (minimum cacheable prompt length); cache prices at the Claude ratios (cachePriceFor)
    cacheMinTokens: 1_024,
  },
  {
    // [anthropic] $5 / $25 per MTok; window 1M, max output 128K (Anthropic overview, Bedrock model card)
    id: 'global.anthropic.claude-opus-4-8',
    name: 'Claude Opus 4.8',
    contextWindow: 1_000_000,
    maxOutput: 128_000,
    thinking: 'adaptive',
    thinkingByDefault: true,
    sampling: 'none',
    inputPer1k: 0.005,
    outputPer1k: 0.025,
    geoPremium: GEO,
    // cache minimum: Anthropic's prompt-caching page, as quoted in 2026 write-ups; not read from the page itself; cache prices at the Claude ratios (cachePriceFor)
    cacheMinTokens: 1_024,
  },
  {
    // [anthropic] $5 / $25 per MTok; window 1M, max output 128K, adaptive thinking only (Bedrock model card)
    id: 'global.anthropic.claude-opus-4-7',
    name: 'Claude Opus 4.7',
    contextWindow: 1_000_000,
    maxOutput: 128_000,
    thinking: 'adaptive',
    thinkingByDefault: true,
    sampling: 'none',
    inputPer1k: 0.005,
    outputPer1k: 0.025,
    geoPremium: GEO,
    // cache minimum: Anthropic's prompt-caching page, as quoted in 2026 write-ups; not read from the page itself; cache prices at the Claude ratios (cachePriceFor)
    cacheMinTokens: 2_048,
  },
  {
    // [anthropic] $5 / $25 per MTok; window 1M, max output 128K (Anthropic overview)
    id: 'global.anthropic.claude-opus-4-6-v1',
    name: 'Claude Opus 4.6',
    contextWindow: 1_000_000,
    maxOutput: 128_000,
    thinking: 'adaptive',
    sampling: 'one',
    inputPer1k: 0.005,
    outputPer1k: 0.025,
    geoPremium: GEO,
    // cache minimum: Anthropic's prompt-caching page (minimum cacheable prompt length); cache prices at the Claude ratios (cachePriceFor)
    cacheMinTokens: 4_096,
  },
]

const DEFAULT_CATALOG: CatalogEntry[] = (
  [
    ...CLAUDE_CURRENT,
    {
      // [bedrock]
      id: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      sampling: 'one',
      name: 'Claude Sonnet 4.5',
      contextWindow: 200_000,
      maxOutput: 64_000,
      thinking: 'budget',
      inputPer1k: 0.003,
      outputPer1k: 0.015,
      geoPremium: GEO,
      listed: true,
      cacheMinTokens: 1_024,
      cacheWritePer1k: 0.00375,
      cacheReadPer1k: 0.0003,
    },
    {
      // [bedrock]
      id: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
      sampling: 'one',
      name: 'Claude Haiku 4.5',
      contextWindow: 200_000,
      maxOutput: 64_000,
      thinking: 'budget',
      inputPer1k: 0.001,
      outputPer1k: 0.005,
      geoPremium: GEO,
      listed: true,
      cacheMinTokens: 4_096,
      cacheWritePer1k: 0.00125,
      cacheReadPer1k: 0.0001,
    },
    {
      // [bedrock]
      id: 'us.anthropic.claude-opus-4-5-20251101-v1:0',
      sampling: 'one',
      name: 'Claude Opus 4.5',
      contextWindow: 200_000,
      maxOutput: 64_000,
      thinking: 'budget',
      inputPer1k: 0.005,
      outputPer1k: 0.025,
      geoPremium: GEO,
      listed: true,
      cacheMinTokens: 4_096,
      cacheWritePer1k: 0.00625,
      cacheReadPer1k: 0.0005,
    },
    {
      // [bedrock]
      id: 'us.anthropic.claude-opus-4-1-20250805-v1:0',
      sampling: 'one',
      name: 'Claude Opus 4.1',
      contextWindow: 200_000,
      maxOutput: 32_000,
      thinking: 'budget',
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
      thinking: 'budget',
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
      thinking: 'budget',
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
      thinking: 'budget',
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
      thinking: 'none',
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
      thinking: 'none',
      inputPer1k: 0.00025,
      outputPer1k: 0.00125,
      listed: false,
    },
    {
      id: 'us.amazon.nova-premier-v1:0',
      name: 'Amazon Nova Premier',
      contextWindow: 1_000_000,
      maxOutput: 32_000,
      thinking: 'none',
      inputPer1k: 0.0025,
      outputPer1k: 0.0125,
      listed: false,
    },
    {
      id: 'us.amazon.nova-pro-v1:0',
      name: 'Amazon Nova Pro',
      contextWindow: 300_000,
      maxOutput: 10_000,
      thinking: 'none',
      inputPer1k: 0.0008,
      outputPer1k: 0.0032,
      listed: true,
    },
    {
      id: 'us.amazon.nova-lite-v1:0',
      name: 'Amazon Nova Lite',
      contextWindow: 300_000,
      maxOutput: 10_000,
      thinking: 'none',
      inputPer1k: 0.00006,
      outputPer1k: 0.00024,
      listed: true,
    },
    {
      // [bedrock]; text and documents, no images (Converse's supported features)
      id: 'us.amazon.nova-micro-v1:0',
      images: false,
      name: 'Amazon Nova Micro',
      contextWindow: 128_000,
      maxOutput: 10_000,
      thinking: 'none',
      inputPer1k: 0.000035,
      outputPer1k: 0.00014,
      listed: false,
    },
    {
      // [bedrock]; text and documents, no images (Converse's supported features)
      id: 'us.meta.llama3-3-70b-instruct-v1:0',
      images: false,
      name: 'Meta Llama 3.3 70B Instruct',
      contextWindow: 128_000,
      maxOutput: 8_192,
      thinking: 'none',
      inputPer1k: 0.00072,
      outputPer1k: 0.00072,
      listed: true,
    },
    {
      // [bedrock]; text and documents, no images (Converse's supported features)
      id: 'mistral.mistral-large-2407-v1:0',
      images: false,
      name: 'Mistral Large (24.07)',
      contextWindow: 128_000,
      maxOutput: 8_192,
      thinking: 'none',
      inputPer1k: 0.002,
      outputPer1k: 0.006,
      listed: true,
    },
  ] as EntryInput[]
).map((e) => catalogEntrySchema.parse(e))

let entries: CatalogEntry[] = DEFAULT_CATALOG
let applied: CatalogEntry[] = []

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
  applied = overrides
  const merged = [...DEFAULT_CATALOG]
  for (const entry of overrides) {
    const at = merged.findIndex((e) => baseModelId(e.id) === baseModelId(entry.id))
    if (at >= 0) merged[at] = entry
    else merged.push(entry)
  }
  entries = merged
}

/** The overrides in use (what a read thread applies to its own copy of the catalogue). */
export function catalogOverrides(): CatalogEntry[] {
  return applied
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

/** What a request to a model may carry, and its limits: the catalogue's facts without the price. */
export type ModelInfo = Pick<
  CatalogEntry,
  'id' | 'name' | 'contextWindow' | 'maxOutput' | 'thinking' | 'thinkingByDefault' | 'effort' | 'sampling' | 'images' | 'documents' | 'cacheMinTokens'
>

/** The models offered in the "Model" select when Bedrock cannot be asked, Claude first (the catalogue's listed entries). */
export function listedModels(): ModelInfo[] {
  return catalog().filter((m) => m.listed)
}

/**
 * What the app assumes of a model it does not know (a custom id, an application profile's ARN):
 * conservative. No thinking, no temperature unless the person set one (request.ts), both sampling
 * parameters allowed only as the person sets them, and files sent as they come (Bedrock says so
 * if it refuses them).
 */
const UNKNOWN: Omit<ModelInfo, 'id' | 'name'> = {
  contextWindow: 128_000,
  maxOutput: 8_192,
  thinking: 'none',
  thinkingByDefault: false,
  effort: undefined,
  sampling: 'both',
  images: true,
  documents: true,
  cacheMinTokens: undefined,
}

/** A Bedrock model id, inference profile id or ARN: what the "Custom model ID" field accepts. */
export const MODEL_ID_PATTERN = /^(arn:aws(-[a-z]+)*:bedrock:[a-z0-9-]+:\d{12}:[a-z-]+\/[A-Za-z0-9.:_\/-]+|[A-Za-z0-9][A-Za-z0-9.:_-]{2,199})$/

/** The catalogue entry for an id (profile, base id or ARN), or a conservative guess. */
export function modelInfo(id: string): ModelInfo & { known: boolean; price: ModelPrice | null } {
  const found = findModel(id)
  if (!found) return { id, name: id, ...UNKNOWN, known: false, price: priceFor(id) }
  const { inputPer1k: _in, outputPer1k: _out, geoPremium: _geo, listed: _listed, cacheWritePer1k: _cw, cacheReadPer1k: _cr, ...facts } = found
  return { ...facts, id, known: true, price: priceFor(id) }
}
