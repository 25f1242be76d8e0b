import type { Deps } from './app.ts'
import type { Config } from './config.ts'
import type { Db } from './db/open.ts'
import { getLogger } from './logger.ts'
import { createBedrock, type BedrockOptions } from './services/bedrock.ts'
import { createChatTurns } from './services/chat-turn.ts'
import { createConversations } from './services/conversations.ts'
import { createMetrics } from './services/metrics.ts'
import { createSessions, type SessionsOptions } from './services/sessions.ts'
import { createDashboard } from './services/dashboard.ts'
import { createLogTail } from './services/log-tail.ts'
import { createMetricsQueries } from './services/metrics-queries.ts'

export type DepsOptions = {
  config: Config
  db: Db
  bedrock?: Omit<BedrockOptions, 'endpoint'>
  sessions?: SessionsOptions
  /** How long a model call may send nothing before it is abandoned (tests shorten it). */
  idleTimeoutMs?: number
}

/** Wires the services from config and an open database: used by start-up and by tests alike. */
export function createDeps({ config, db, bedrock: bedrockOptions, sessions: sessionsOptions, idleTimeoutMs }: DepsOptions): Deps {
  const metrics = createMetrics({ db, log: getLogger('metrics') })
  const bedrock = createBedrock({ endpoint: config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME, ...bedrockOptions })
  const queries = createMetricsQueries(db)
  const metricsQueries = () => queries
  return {
    config,
    metrics,
    metricsQueries,
    conversations: createConversations({ db }),
    dashboard: createDashboard({ metrics: metricsQueries, logTail: createLogTail(config.LOG_DIR), log: getLogger('dashboard') }),
    chatUrl: '/',
    sessions: createSessions(sessionsOptions),
    turns: createChatTurns({ bedrock, metrics, log: getLogger('chat'), idleTimeoutMs }),
    log: getLogger('app'),
  }
}
