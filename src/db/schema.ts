import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/** How a model call ended: answered, failed, or stopped (the person pressed Stop or left). */
export const OUTCOMES = ['ok', 'error', 'stopped'] as const
export type Outcome = (typeof OUTCOMES)[number]

/**
 * One row per Bedrock call, whatever happened. `timestamp`, `latency_ms` and `success` are the
 * original design's columns; the rest is what the dashboard needs.
 */
export const invocations = sqliteTable(
  'invocations',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    timestamp: integer({ mode: 'timestamp_ms' }).notNull(),
    latencyMs: integer('latency_ms').notNull(),
    success: integer({ mode: 'boolean' }).notNull(),
    modelId: text('model_id').notNull(),
    timeToFirstTokenMs: integer('time_to_first_token_ms'),
    inputTokens: integer('input_tokens'),
    outputTokens: integer('output_tokens'),
    errorType: text('error_type'),
    attempts: integer().notNull().default(1),
    outcome: text({ enum: OUTCOMES }).notNull(),
  },
  (t) => [index('invocations_timestamp').on(t.timestamp)],
)

export type Invocation = typeof invocations.$inferSelect
export type NewInvocation = typeof invocations.$inferInsert
