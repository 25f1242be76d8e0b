import { DEFAULT_MODEL_ID, type Config } from './config.ts'
import type { OpenedDatabase } from './db/open.ts'
import type { Remote } from './db/read-pool.ts'
import type { Writer } from './db/writer.ts'
import { getLogger, logFileStatus, registerSecret, type Log } from './logger.ts'
import { endpointPasswords } from './services/endpoints.ts'
import {
  createBedrock,
  createConversations,
  createLimits,
  createModelCalls,
  createReplies,
  createRetention,
  createSessions,
  createSignIns,
  type BedrockOptions,
  type Conversations,
  type Limits,
  type LimitsOptions,
  type Replies,
  type Retention,
  type Sessions,
  type SignIns,
  type SessionsOptions,
} from './services/chat/index.ts'
import { accessFor, type Access } from './services/access.ts'
import { createControlPlane, createDiscovery, DISCOVERY_TIMEOUT_MS, type Discovery, type DiscoveryOptions } from './services/discovery/index.ts'
import { displayEndpoint } from './services/endpoints.ts'
import { createReadiness, type ReadinessCheck } from './services/readiness.ts'
import { createDashboard, createLogTail, type Dashboard } from './services/dashboard/index.ts'
import { createMetrics, type MetricsQueries } from './services/metrics/index.ts'
import { sqliteStore, type Store } from './store.ts'

/** Everything the routes use, wired once by src/index.ts (or a test's makeApp). */
export type Deps = {
  config: Config
  sessions: Sessions
  replies: Replies
  conversations: Conversations
  log: Log
  /** The dashboard's queries, run on a read thread: each rejects with a readable reason when the database does not answer. */
  metricsQueries: Remote<MetricsQueries>
  dashboard: Dashboard
  /** Where the chat lives, for the dashboard's link back (absent in the standalone dashboard). */
  chatUrl?: string
  /** Who may use the app: sign-in password, proxy users. */
  access: Access
  /** Password sign-ins on record, so one holds on every instance (and across a restart). */
  signIns: SignIns
  /** Signs the session cookie: made once and kept in the database. */
  sessionSecret: string
  /** What /readyz reports and the dashboard's banner says. */
  readiness: ReadinessCheck
  /** The limits on model calls, spend and files (what the sidebar's budget line reads). */
  limits: Limits
  /** The age-based clean-up (RETENTION_DAYS), run by src/index.ts at start and on a timer. */
  retention: Retention
  /** The database's one writer (its own thread): closed last at shutdown, once what it holds is saved. */
  writer: Writer
  /** The database's readers (their own threads): every read the server makes. */
  store: Store
  /** Which models the credentials in use can call (Bedrock's control plane), with the catalogue as the fallback. */
  models: Discovery
}

/** What the standalone dashboard process has: no chat, no sessions. */
export type DashboardDeps = Pick<Deps, 'config' | 'log' | 'metricsQueries' | 'dashboard' | 'chatUrl' | 'access' | 'readiness'>

export type DepsOptions = {
  config: Config
  /** The storage: PostgreSQL's (openPostgresStore) or SQLite's; given a SQLite `database` instead, its store is made here. */
  store?: Store
  database?: Pick<OpenedDatabase, 'db' | 'path'>
  bedrock?: Omit<BedrockOptions, 'endpoint' | 'serverBearerToken' | 'guardrail'>
  sessions?: SessionsOptions
  /** How long a model call may wait for its first token (default FIRST_TOKEN_TIMEOUT_MS from the config; tests shorten it). */
  firstTokenTimeoutMs?: number
  /** How long a started answer may go silent (default TOKEN_IDLE_TIMEOUT_MS from the config; tests shorten it). */
  tokenIdleTimeoutMs?: number
  /** The limits' clock (tests). */
  limits?: Pick<LimitsOptions, 'now'>
  /** How long a read may take (default READ_TIMEOUT_MS; tests shorten it). */
  readTimeoutMs?: number
  /** The module the read threads run (default the app's, src/services/reads.ts; tests wrap it to stall on demand). */
  readersModule?: URL
  /** How often a signed-in session is checked against the record (default SIGN_IN_CHECK_MS; tests shorten it). */
  signInCheckMs?: number
  /** Model discovery's bounds and clock (tests). */
  discovery?: Pick<DiscoveryOptions, 'pageWaitMs' | 'ttlMs' | 'timeoutMs' | 'now'>
}

/** Wires the services from config and an open database: used by start-up and by tests alike. */
export function createDeps({
  config,
  database,
  bedrock: bedrockOptions,
  sessions: sessionsOptions,
  firstTokenTimeoutMs = config.FIRST_TOKEN_TIMEOUT_MS,
  tokenIdleTimeoutMs = config.TOKEN_IDLE_TIMEOUT_MS,
  limits: limitsOptions,
  discovery: discoveryOptions,
  readTimeoutMs,
  readersModule,
  store: given,
  signInCheckMs,
}: DepsOptions): Deps {
  if (!given && !database) throw new Error('createDeps needs a store or a SQLite database')
  const store = given ?? sqliteStore(database!, { readTimeoutMs, readersModule })
  const { dialect, writer, reads } = store
  // what the server holds from its environment never reaches a log line, whatever quotes it
  registerSecret(config.AWS_BEARER_TOKEN_BEDROCK)
  for (const endpoint of [config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME, config.AWS_ENDPOINT_URL_BEDROCK]) {
    for (const password of endpointPasswords(endpoint)) registerSecret(password)
  }
  const bedrock = createBedrock({
    endpoint: config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME,
    serverBearerToken: config.AWS_BEARER_TOKEN_BEDROCK,
    guardrail:
      config.BEDROCK_GUARDRAIL_ID && config.BEDROCK_GUARDRAIL_VERSION
        ? { id: config.BEDROCK_GUARDRAIL_ID, version: config.BEDROCK_GUARDRAIL_VERSION }
        : undefined,
    ...bedrockOptions,
  })
  const models = createDiscovery({
    controlPlane: createControlPlane({
      endpoint: config.AWS_ENDPOINT_URL_BEDROCK,
      serverCredentials: bedrockOptions?.serverCredentials,
      serverBearerToken: config.AWS_BEARER_TOKEN_BEDROCK,
      timeoutMs: discoveryOptions?.timeoutMs ?? DISCOVERY_TIMEOUT_MS,
    }),
    defaultModelId: config.BEDROCK_MODEL_ID,
    defaultIsChosen: config.BEDROCK_MODEL_ID !== DEFAULT_MODEL_ID,
    log: getLogger('models'),
    ...discoveryOptions,
  })
  const metricsQueries = reads.metrics
  const readiness = createReadiness({
    database: () => writer.status,
    databaseReadable: () => store.readStatus(),
    log: logFileStatus,
    pendingWrites: () => writer.pending,
    bedrockEndpoint: displayEndpoint(config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME) ?? `the SDK's endpoint for ${config.AWS_REGION}`,
  })
  const dashboard = createDashboard({ metrics: metricsQueries, logTail: createLogTail(config.LOG_DIR), log: getLogger('dashboard'), health: readiness })
  const metrics = createMetrics({ dialect, writer, log: getLogger('metrics'), onRecorded: () => dashboard.nudge() })
  // another instance's calls (PostgreSQL): open dashboards look at once; the poll is the safety net
  store.onRecordedElsewhere(() => dashboard.nudge())
  const conversations = createConversations({
    dialect,
    writer,
    reads: reads.conversations,
    instance: store.instance,
    instanceAlive: (id) => store.instanceAlive(id),
  })
  const limits = createLimits({
    spendReads: reads.spend,
    ratePerMinute: config.RATE_LIMIT_PER_MINUTE,
    maxConcurrent: config.MAX_CONCURRENT_CALLS,
    budgetUsdPerDay: config.BUDGET_USD_PER_DAY,
    serverBudgetUsdPerDay: config.SERVER_BUDGET_USD_PER_DAY,
    attachmentQuotaBytes: config.ATTACHMENT_QUOTA_MB === undefined ? undefined : config.ATTACHMENT_QUOTA_MB * 1_000_000,
    ...limitsOptions,
  })
  const modelCalls = createModelCalls({
    bedrock,
    metrics,
    log: getLogger('chat'),
    firstTokenTimeoutMs,
    tokenIdleTimeoutMs,
    onRecorded: (invocation) => limits.spend(invocation),
    callableModels: (region, credentials) => models.known(region, credentials)?.map((m) => m.id),
  })
  return {
    readiness,
    config,
    metricsQueries,
    conversations,
    dashboard,
    chatUrl: '/',
    sessions: createSessions({
      idleTtlMs: config.SESSION_IDLE_MINUTES * 60_000,
      ownerHasConversations: (owner) => conversations.ownerExists(owner),
      ...sessionsOptions,
    }),
    access: accessFor(config),
    sessionSecret: store.sessionSecret,
    signIns: createSignIns({ dialect, writer, reads: reads.signIns, ttlMs: config.SESSION_IDLE_MINUTES * 60_000, checkEveryMs: signInCheckMs }),
    limits,
    retention: createRetention({ days: config.RETENTION_DAYS, conversations, metrics, log: getLogger('retention') }),
    replies: createReplies({
      conversations,
      modelCalls,
      limits,
      log: getLogger('chat'),
      defaultModelId: config.BEDROCK_MODEL_ID,
      defaultRegion: config.AWS_REGION,
      storage: { writable: () => writer.status.ok, probe: () => writer.probe() },
    }),
    log: getLogger('app'),
    writer,
    store,
    models,
  }
}
