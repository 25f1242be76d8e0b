// The Bedrock control plane's two model lists, as the real service answers them (restJson1, the
// shapes of @aws-sdk/client-bedrock): GET /foundation-models (ListFoundationModels) and
// GET /inference-profiles (ListInferenceProfiles, paged with nextToken). The emulated account
// holds today's Claude models through their cross-region profiles (a `global.` one among them),
// a few on-demand models, an embeddings model (not text out) and one application profile.

export const EMULATED_ACCOUNT = '123456789012'

/** Profiles per page when the request names no maxResults: small, so clients meet nextToken. */
export const DEFAULT_PAGE_SIZE = 4

type Foundation = {
  id: string
  name: string
  provider: string
  input: string[]
  output: string[]
  streaming: boolean
  inference: ('ON_DEMAND' | 'INFERENCE_PROFILE' | 'PROVISIONED')[]
}

const FOUNDATION: Foundation[] = [
  {
    id: 'anthropic.claude-sonnet-4-6',
    name: 'Claude Sonnet 4.6',
    provider: 'Anthropic',
    input: ['TEXT', 'IMAGE'],
    output: ['TEXT'],
    streaming: true,
    inference: ['INFERENCE_PROFILE'],
  },
  {
    id: 'anthropic.claude-opus-4-8',
    name: 'Claude Opus 4.8',
    provider: 'Anthropic',
    input: ['TEXT', 'IMAGE'],
    output: ['TEXT'],
    streaming: true,
    inference: ['INFERENCE_PROFILE'],
  },
  {
    id: 'anthropic.claude-opus-4-7',
    name: 'Claude Opus 4.7',
    provider: 'Anthropic',
    input: ['TEXT', 'IMAGE'],
    output: ['TEXT'],
    streaming: true,
    inference: ['INFERENCE_PROFILE'],
  },
  {
    id: 'anthropic.claude-opus-4-6-v1',
    name: 'Claude Opus 4.6',
    provider: 'Anthropic',
    input: ['TEXT', 'IMAGE'],
    output: ['TEXT'],
    streaming: true,
    inference: ['INFERENCE_PROFILE'],
  },
  {
    id: 'anthropic.claude-sonnet-4-5-20250929-v1:0',
    name: 'Claude Sonnet 4.5',
    provider: 'Anthropic',
    input: ['TEXT', 'IMAGE'],
    output: ['TEXT'],
    streaming: true,
    inference: ['INFERENCE_PROFILE'],
  },
  {
    id: 'anthropic.claude-haiku-4-5-20251001-v1:0',
    name: 'Claude Haiku 4.5',
    provider: 'Anthropic',
    input: ['TEXT', 'IMAGE'],
    output: ['TEXT'],
    streaming: true,
    inference: ['INFERENCE_PROFILE'],
  },
  {
    id: 'anthropic.claude-3-haiku-20240307-v1:0',
    name: 'Claude 3 Haiku',
    provider: 'Anthropic',
    input: ['TEXT', 'IMAGE'],
    output: ['TEXT'],
    streaming: true,
    inference: ['ON_DEMAND'],
  },
  {
    id: 'amazon.nova-pro-v1:0',
    name: 'Nova Pro',
    provider: 'Amazon',
    input: ['TEXT', 'IMAGE', 'VIDEO'],
    output: ['TEXT'],
    streaming: true,
    inference: ['ON_DEMAND', 'INFERENCE_PROFILE'],
  },
  {
    id: 'amazon.nova-lite-v1:0',
    name: 'Nova Lite',
    provider: 'Amazon',
    input: ['TEXT', 'IMAGE', 'VIDEO'],
    output: ['TEXT'],
    streaming: true,
    inference: ['ON_DEMAND', 'INFERENCE_PROFILE'],
  },
  {
    id: 'mistral.mistral-large-2407-v1:0',
    name: 'Mistral Large (24.07)',
    provider: 'Mistral AI',
    input: ['TEXT'],
    output: ['TEXT'],
    streaming: true,
    inference: ['ON_DEMAND'],
  },
  {
    id: 'amazon.titan-embed-text-v2:0',
    name: 'Titan Text Embeddings V2',
    provider: 'Amazon',
    input: ['TEXT'],
    output: ['EMBEDDING'],
    streaming: false,
    inference: ['ON_DEMAND'],
  },
]

/** System-defined profiles: `global.` ones, and geographic ones under the region's prefix (`us.` in us-east-1). */
const SYSTEM_PROFILES: { prefix: 'global' | 'geo'; model: string; name: string }[] = [
  { prefix: 'global', model: 'anthropic.claude-sonnet-4-6', name: 'Global Claude Sonnet 4.6' },
  { prefix: 'geo', model: 'anthropic.claude-sonnet-4-6', name: 'Claude Sonnet 4.6' },
  { prefix: 'global', model: 'anthropic.claude-opus-4-8', name: 'Global Claude Opus 4.8' },
  { prefix: 'global', model: 'anthropic.claude-opus-4-7', name: 'Global Claude Opus 4.7' },
  { prefix: 'geo', model: 'anthropic.claude-opus-4-7', name: 'Claude Opus 4.7' },
  { prefix: 'global', model: 'anthropic.claude-opus-4-6-v1', name: 'Global Claude Opus 4.6' },
  { prefix: 'global', model: 'anthropic.claude-sonnet-4-5-20250929-v1:0', name: 'Global Claude Sonnet 4.5' },
  { prefix: 'geo', model: 'anthropic.claude-sonnet-4-5-20250929-v1:0', name: 'Claude Sonnet 4.5' },
  { prefix: 'geo', model: 'anthropic.claude-haiku-4-5-20251001-v1:0', name: 'Claude Haiku 4.5' },
  { prefix: 'geo', model: 'amazon.nova-pro-v1:0', name: 'Nova Pro' },
]

/** The account's one application inference profile (its id is the last part of its ARN). */
export const APPLICATION_PROFILE = { id: 'emuteamchat01', name: 'Team chat (Sonnet 4.6)', model: 'anthropic.claude-sonnet-4-6' }

function geoPrefix(region: string): string {
  if (region.startsWith('eu-')) return 'eu'
  if (region.startsWith('ap-')) return 'apac'
  return 'us'
}

const CREATED = '2026-01-01T00:00:00Z'
const foundationArn = (region: string, id: string) => `arn:aws:bedrock:${region}::foundation-model/${id}`

/** ListFoundationModels: filtered by byOutputModality, byInferenceType and byProvider as Bedrock filters them. */
export function listFoundationModels(region: string, query: URLSearchParams): unknown {
  const output = query.get('byOutputModality')
  const inference = query.get('byInferenceType')
  const provider = query.get('byProvider')?.toLowerCase()
  const summaries = FOUNDATION.filter(
    (m) =>
      (!output || m.output.includes(output)) &&
      (!inference || m.inference.includes(inference as Foundation['inference'][number])) &&
      (!provider || m.provider.toLowerCase() === provider),
  ).map((m) => ({
    modelArn: foundationArn(region, m.id),
    modelId: m.id,
    modelName: m.name,
    providerName: m.provider,
    inputModalities: m.input,
    outputModalities: m.output,
    responseStreamingSupported: m.streaming,
    customizationsSupported: [],
    inferenceTypesSupported: m.inference,
    modelLifecycle: { status: 'ACTIVE' },
  }))
  return { modelSummaries: summaries }
}

function profiles(region: string) {
  const system = SYSTEM_PROFILES.map((p) => {
    const prefix = p.prefix === 'global' ? 'global' : geoPrefix(region)
    const id = `${prefix}.${p.model}`
    return {
      inferenceProfileName: p.name,
      description: `Routes requests to ${p.name.replace(/^Global /, '')} ${prefix === 'global' ? 'in any commercial region' : `in the ${prefix.toUpperCase()} regions`}.`,
      createdAt: CREATED,
      updatedAt: CREATED,
      inferenceProfileArn: `arn:aws:bedrock:${region}:${EMULATED_ACCOUNT}:inference-profile/${id}`,
      models: [{ modelArn: foundationArn(region, p.model) }],
      inferenceProfileId: id,
      status: 'ACTIVE',
      type: 'SYSTEM_DEFINED',
    }
  })
  const app = {
    inferenceProfileName: APPLICATION_PROFILE.name,
    description: 'An application inference profile of the emulated account.',
    createdAt: CREATED,
    updatedAt: CREATED,
    inferenceProfileArn: `arn:aws:bedrock:${region}:${EMULATED_ACCOUNT}:application-inference-profile/${APPLICATION_PROFILE.id}`,
    models: [{ modelArn: foundationArn(region, APPLICATION_PROFILE.model) }],
    inferenceProfileId: APPLICATION_PROFILE.id,
    status: 'ACTIVE',
    type: 'APPLICATION',
  }
  return [...system, app]
}

/** ListInferenceProfiles: `type` (typeEquals) filters, `maxResults` and `nextToken` page. */
export function listInferenceProfiles(region: string, query: URLSearchParams): unknown {
  const type = query.get('type')
  const all = profiles(region).filter((p) => !type || p.type === type)
  const size = Math.max(1, Math.min(1000, Number(query.get('maxResults')) || DEFAULT_PAGE_SIZE))
  const start = query.get('nextToken') ? Number(Buffer.from(query.get('nextToken')!, 'base64url').toString()) || 0 : 0
  const page = all.slice(start, start + size)
  const next = start + size < all.length ? Buffer.from(String(start + size)).toString('base64url') : undefined
  return { inferenceProfileSummaries: page, ...(next ? { nextToken: next } : {}) }
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-1/bedrock/aws4_request` → eu-west-1 (us-east-1 without one). */
export function regionOf(authorization: string | undefined): string {
  return /Credential=[^/]+\/\d+\/([a-z0-9-]+)\//.exec(authorization ?? '')?.[1] ?? 'us-east-1'
}

/** Whether Bedrock serves this id only through an inference profile (a foundation model of the account without ON_DEMAND). */
export function needsProfile(modelId: string): boolean {
  const model = FOUNDATION.find((m) => m.id === modelId)
  return model !== undefined && !model.inference.includes('ON_DEMAND')
}
