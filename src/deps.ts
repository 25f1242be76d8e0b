import type { Config } from './config.ts'
import type { OpenedDatabase } from './db/open.ts'
import { serverSecret } from './db/secrets.ts'
import { createWriter } from './db/writer.ts'
import { getLogger, registerSecret, type Log } from './logger.ts'
import { endpointPasswords } from './services/endpoints.ts'
import {
  createBedrock,
  createConversations,
  createModelCalls,
  createReplies,
  createSessions,
  type BedrockOptions,
  type Conversations,
  type Replies,
  type Sessions,
  type SessionsOptions,
} from './services/chat/index.ts'
import { accessFor, type Access } from './services/access.ts'
import { createDashboard, createLogTail, type Dashboard } from './services/dashboard/index.ts'
import { createMetrics, createMetricsQueries, type MetricsQueries } from './services/metrics/index.ts'

/** Everything the routes use, wired once by src/index.ts (or a test's makeApp). */
export type Deps = {
  config: Config
  sessions: Sessions
  replies: Replies
  conversations: Conversations
  log: Log
  /** The dashboard's queries; throws with a readable reason when the database is unavailable. */
  metricsQueries: () => MetricsQueries
  dashboard: Dashboard
  /** Where the chat lives, for the dashboard's link back (absent in the standalone dashboard). */
  chatUrl?: string
  /** Who may use the app: sign-in password, proxy users. */
  access: Access
  /** Signs the session cookie: made once and kept in the database. */
  sessionSecret: string
}

/** What the standalone dashboard process has: no chat, no sessions. */
export type DashboardDeps = Pick<Deps, 'config' | 'log' | 'metricsQueries' | 'dashboard' | 'chatUrl' | 'access'>

export type DepsOptions = {
  config: Config
  database: Pick<OpenedDatabase, 'db' | 'sqlite'>
  bedrock?: Omit<BedrockOptions, 'endpoint' | 'serverBearerToken'>
  sessions?: SessionsOptions
  /** How long a model call may send nothing before it is abandoned (tests shorten it). */
  idleTimeoutMs?: number
}

/** Wires the services from config and an open database: used by start-up and by tests alike. */
export function createDeps({ config, database, bedrock: bedrockOptions, sessions: sessionsOptions, idleTimeoutMs }: DepsOptions): Deps {
  const { db } = database
  const writer = createWriter(database.sqlite)
  // what the server holds from its environment never reaches a log line, whatever quotes it
  registerSecret(config.AWS_BEARER_TOKEN_BEDROCK)
  for (const password of endpointPasswords(config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME)) registerSecret(password)
  const bedrock = createBedrock({
    endpoint: config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME,
    serverBearerToken: config.AWS_BEARER_TOKEN_BEDROCK,
    ...bedrockOptions,
  })
  const queries = createMetricsQueries(db)
  const metricsQueries = () => queries
  const dashboard = createDashboard({ metrics: metricsQueries, logTail: createLogTail(config.LOG_DIR), log: getLogger('dashboard') })
  const metrics = createMetrics({ db, writer, log: getLogger('metrics'), onRecorded: () => dashboard.nudge() })
  const conversations = createConversations({ db, writer })
  const modelCalls = createModelCalls({ bedrock, metrics, log: getLogger('chat'), idleTimeoutMs })
  return {
    config,
    metricsQueries,
    conversations,
    dashboard,
    chatUrl: '/',
    sessions: createSessions({ idleTtlMs: config.SESSION_IDLE_MINUTES * 60_000, ...sessionsOptions }),
    access: accessFor(config),
    sessionSecret: serverSecret(db, 'session-cookie'),
    replies: createReplies({
      conversations,
      modelCalls,
      log: getLogger('chat'),
      defaultModelId: config.BEDROCK_MODEL_ID,
      defaultRegion: config.AWS_REGION,
    }),
    log: getLogger('app'),
  }
}
