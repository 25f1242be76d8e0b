import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import {
  BedrockClient,
  ListFoundationModelsCommand,
  paginateListInferenceProfiles,
  type BedrockClientConfig,
  type InferenceProfileSummary,
} from '@aws-sdk/client-bedrock'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { clientAuth, clientsByCredentials, type Credentials } from '../aws-credentials.ts'

/**
 * Bedrock's control plane, asked which models the credentials in use can call in a region:
 * ListFoundationModels (text out, streaming, callable on demand) and ListInferenceProfiles (the
 * system-defined `global.` and geographic profiles, and the account's application profiles). The
 * only other module that imports the AWS SDK besides the runtime's (src/services/chat/bedrock.ts),
 * whose way of choosing credentials it keeps: a browser's keys always sign with SigV4, the
 * server's own calls use its Bedrock API key when it has one, else the SDK's default chain.
 */

export type { Credentials } from '../aws-credentials.ts'

/** A model the account can call: its id as Converse takes it, and the foundation model behind it. */
export type AccountModel = {
  /** A foundation model id, a system-defined profile id (`global.…`, `us.…`) or an application profile's ARN. */
  id: string
  /** Bedrock's own name for it (the catalogue's is shown where it knows the model). */
  name: string
  kind: 'foundation' | 'profile' | 'application'
  /** The foundation model it runs, e.g. anthropic.claude-sonnet-4-6. */
  foundationModelId: string
}

export type ControlPlaneOptions = {
  /** AWS_ENDPOINT_URL_BEDROCK; the SDK's regional endpoint when absent. */
  endpoint?: string
  serverCredentials?: BedrockClientConfig['credentials']
  serverBearerToken?: string
  /** Connecting, and then waiting for an answer, each at most this long. */
  timeoutMs: number
}

/** Pages of inference profiles read at most (100 each): far more than any account has. */
export const MAX_PROFILE_PAGES = 20
const PAGE_SIZE = 100

/** `arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-6` → anthropic.claude-sonnet-4-6. */
function foundationIdOf(arn: string | undefined): string | undefined {
  return arn?.split('foundation-model/')[1]
}

export function createControlPlane(options: ControlPlaneOptions) {
  const requestHandler = new NodeHttpHandler({
    httpAgent: new HttpAgent({ keepAlive: true }),
    httpsAgent: new HttpsAgent({ keepAlive: true }),
    connectionTimeout: options.timeoutMs,
    requestTimeout: options.timeoutMs,
  })
  // exactly the browser's credential, or the server's own: the runtime's rule (aws-credentials.ts)
  const clientFor = clientsByCredentials(
    (region, credentials) =>
      new BedrockClient({
        region,
        endpoint: options.endpoint,
        ...clientAuth(credentials, { credentials: options.serverCredentials, bearerToken: options.serverBearerToken }),
        maxAttempts: 2,
        requestHandler,
      }),
  )

  async function profiles(client: BedrockClient, type: 'SYSTEM_DEFINED' | 'APPLICATION', signal: AbortSignal): Promise<InferenceProfileSummary[]> {
    const found: InferenceProfileSummary[] = []
    let pages = 0
    // the paginator hands its extra arguments to client.send: the abort signal reaches every page
    for await (const page of paginateListInferenceProfiles({ client, pageSize: PAGE_SIZE }, { typeEquals: type }, { abortSignal: signal })) {
      found.push(...(page.inferenceProfileSummaries ?? []))
      if (++pages >= MAX_PROFILE_PAGES || signal.aborted) break
    }
    return found
  }

  return {
    endpoint: options.endpoint,

    /** The text models these credentials can stream from in `region`, foundation models and profiles. */
    async list(region: string, credentials: Credentials | undefined, signal: AbortSignal): Promise<AccountModel[]> {
      const client = clientFor(region, credentials)
      const [foundation, system, application] = await Promise.all([
        client.send(new ListFoundationModelsCommand({ byOutputModality: 'TEXT' }), { abortSignal: signal }),
        profiles(client, 'SYSTEM_DEFINED', signal),
        profiles(client, 'APPLICATION', signal),
      ])
      const text = new Map(
        (foundation.modelSummaries ?? [])
          .filter((m) => m.modelId && m.responseStreamingSupported && m.modelLifecycle?.status !== 'LEGACY')
          .map((m) => [m.modelId!, m]),
      )
      const models: AccountModel[] = [...text.values()]
        .filter((m) => m.inferenceTypesSupported?.includes('ON_DEMAND'))
        .map((m) => ({ id: m.modelId!, name: m.modelName ?? m.modelId!, kind: 'foundation', foundationModelId: m.modelId! }))
      for (const p of [...system, ...application]) {
        const foundationModelId = foundationIdOf(p.models?.[0]?.modelArn)
        const id = p.type === 'APPLICATION' ? p.inferenceProfileArn : p.inferenceProfileId
        if (!id || !foundationModelId || !text.has(foundationModelId) || (p.status && p.status !== 'ACTIVE')) continue
        models.push({ id, name: p.inferenceProfileName ?? id, kind: p.type === 'APPLICATION' ? 'application' : 'profile', foundationModelId })
      }
      return models
    },
  }
}

export type ControlPlane = ReturnType<typeof createControlPlane>
