import { sql } from 'drizzle-orm'
import { bigint, boolean, customType, doublePrecision, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import {
  GEN_AI_BUCKETS,
  GEN_AI_HISTOGRAMS,
  genAiColumnName,
  HISTOGRAM_BUCKETS,
  histogramColumnName,
  MESSAGE_ROLES,
  MESSAGE_STATUSES,
  OUTCOMES,
} from '../schema.ts'

/**
 * The PostgreSQL store (DATABASE_URL=postgres://…): the same tables, columns and TypeScript types
 * as src/db/schema.ts, which stays the home of what each table and column means (read it there)
 * and of the constants both dialects share. Only the column types differ, chosen so that
 * drizzle's inferred select and insert types are identical (tests/postgres-schema-types.ts fails
 * to compile when they are not):
 * - timestamps are `timestamp(3) with time zone` read as Date (SQLite: integer ms, mode timestamp_ms);
 * - flags are boolean; enums are text checked by TypeScript only, as SQLite's are;
 * - ids other tables point at, epoch ms and every rollup counter are bigint read as number (mode
 *   'number'): all-time sums of latency and tokens pass int4's 2^31 quickly; exact up to 2^53;
 * - bytes are bytea read as Buffer; real is double precision (SQLite's REAL is 8 bytes);
 * - composite primary keys are named <table>_pkey, as PostgreSQL names single-column ones
 *   (drizzle's default name for invocation_error_rollup's passes the 63-character limit).
 * The rollup triggers and the search index's query live in src/db/pg/rollup-sql.ts and the
 * migrations.
 */

/** ms since the epoch, millisecond precision, read and written as Date. */
const instant = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 })

/** Raw bytes; postgres.js reads bytea as a Buffer and writes a Buffer as bytea. */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' })

const counter = (name: string) => bigint(name, { mode: 'number' }).notNull().default(0)
type Counter = ReturnType<typeof counter>

function histogramColumns<P extends 'lat' | 'ttft'>(prefix: P): Record<`${P}_${string}`, Counter> {
  const columns: Record<string, Counter> = {}
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) columns[histogramColumnName(prefix, i)] = counter(histogramColumnName(prefix, i))
  return columns
}

function genAiColumns(): Record<string, Counter> {
  const columns: Record<string, Counter> = {}
  for (const prefix of GEN_AI_HISTOGRAMS) {
    for (let i = 0; i < GEN_AI_BUCKETS; i++) columns[genAiColumnName(prefix, i)] = counter(genAiColumnName(prefix, i))
  }
  return columns
}

export const invocations = pgTable(
  'invocations',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    timestamp: instant('timestamp').notNull(),
    latencyMs: integer('latency_ms').notNull(),
    success: boolean().notNull(),
    modelId: text('model_id').notNull(),
    timeToFirstTokenMs: integer('time_to_first_token_ms'),
    inputTokens: integer('input_tokens'),
    outputTokens: integer('output_tokens'),
    errorType: text('error_type'),
    attempts: integer().notNull().default(1),
    outcome: text({ enum: OUTCOMES }).notNull(),
    owner: text(),
    cacheReadInputTokens: integer('cache_read_input_tokens'),
    cacheWriteInputTokens: integer('cache_write_input_tokens'),
  },
  (t) => [
    index('invocations_timestamp').on(t.timestamp),
    index('invocations_model_timestamp').on(t.modelId, t.timestamp),
    index('invocations_outcome_timestamp').on(t.outcome, t.timestamp),
    index('invocations_latency_timestamp').on(t.latencyMs, t.timestamp),
    index('invocations_ttft_timestamp').on(t.timeToFirstTokenMs, t.timestamp),
    index('invocations_input_tokens_timestamp').on(t.inputTokens, t.timestamp),
    index('invocations_output_tokens_timestamp').on(t.outputTokens, t.timestamp),
    index('invocations_owner_timestamp').on(t.owner, t.timestamp),
  ],
)

export type Invocation = typeof invocations.$inferSelect
export type NewInvocation = typeof invocations.$inferInsert

export const invocationRollup = pgTable(
  'invocation_rollup',
  {
    bucketMs: bigint('bucket_ms', { mode: 'number' }).notNull(),
    t: bigint({ mode: 'number' }).notNull(),
    modelId: text('model_id').notNull(),
    requests: counter('requests'),
    ok: counter('ok'),
    errors: counter('errors'),
    stopped: counter('stopped'),
    latencySum: counter('latency_sum'),
    latencyMax: counter('latency_max'),
    ttftCount: counter('ttft_count'),
    ttftSum: counter('ttft_sum'),
    inputCalls: counter('input_calls'),
    outputCalls: counter('output_calls'),
    inputTokens: counter('input_tokens'),
    outputTokens: counter('output_tokens'),
    outputLatencyMs: counter('output_latency_ms'),
    ...histogramColumns('lat'),
    ...histogramColumns('ttft'),
    cacheReadInputTokens: counter('cache_read_input_tokens'),
    cacheWriteInputTokens: counter('cache_write_input_tokens'),
  },
  (t) => [primaryKey({ name: 'invocation_rollup_pkey', columns: [t.bucketMs, t.t, t.modelId] })],
)

export const invocationGenAiRollup = pgTable(
  'invocation_gen_ai_rollup',
  {
    modelId: text('model_id').notNull(),
    errorType: text('error_type').notNull(),
    calls: counter('calls'),
    durationSumMs: counter('duration_sum_ms'),
    ttfcCount: counter('ttfc_count'),
    ttfcSumMs: counter('ttfc_sum_ms'),
    inputCalls: counter('input_calls'),
    inputTokens: counter('input_tokens'),
    outputCalls: counter('output_calls'),
    outputTokens: counter('output_tokens'),
    ...genAiColumns(),
  },
  (t) => [primaryKey({ name: 'invocation_gen_ai_rollup_pkey', columns: [t.modelId, t.errorType] })],
)

export const invocationErrorRollup = pgTable(
  'invocation_error_rollup',
  {
    bucketMs: bigint('bucket_ms', { mode: 'number' }).notNull(),
    t: bigint({ mode: 'number' }).notNull(),
    modelId: text('model_id').notNull(),
    outcome: text({ enum: OUTCOMES }).notNull(),
    errorType: text('error_type').notNull(),
    count: counter('count'),
  },
  (t) => [primaryKey({ name: 'invocation_error_rollup_pkey', columns: [t.bucketMs, t.t, t.modelId, t.outcome, t.errorType] })],
)

export type InvocationRollup = typeof invocationRollup.$inferSelect

export const conversations = pgTable(
  'conversations',
  {
    id: text().primaryKey(),
    owner: text().notNull(),
    title: text().notNull(),
    modelId: text('model_id'),
    systemPrompt: text('system_prompt'),
    temperature: doublePrecision(),
    maxTokens: integer('max_tokens'),
    thinkingBudget: integer('thinking_budget'),
    promptCaching: boolean('prompt_caching').notNull().default(true),
    createdAt: instant('created_at').notNull(),
    updatedAt: instant('updated_at').notNull(),
  },
  (t) => [index('conversations_owner_updated').on(t.owner, t.updatedAt), index('conversations_updated').on(t.updatedAt)],
)

export const messages = pgTable(
  'messages',
  {
    id: text().primaryKey(),
    conversationId: text('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    seq: integer().notNull(),
    role: text({ enum: MESSAGE_ROLES }).notNull(),
    text: text().notNull(),
    reasoning: text(),
    status: text({ enum: MESSAGE_STATUSES }).notNull(),
    error: text(),
    modelId: text('model_id'),
    invocationId: bigint('invocation_id', { mode: 'number' }),
    droppedTurns: integer('dropped_turns'),
    createdAt: instant('created_at').notNull(),
    progressAt: instant('progress_at'),
    instance: text('instance'),
  },
  (t) => [
    uniqueIndex('messages_conversation_seq').on(t.conversationId, t.seq),
    index('messages_streaming').on(t.instance).where(sql`${t.status} = 'streaming'`),
    // Full-text search (SQLite: the FTS5 table messages_fts): an expression index, so the text is
    // stored once, as with SQLite's external-content table. 'simple': words lower-cased, no
    // language's stemming or stop words (replies come in any language). A query uses the index
    // only when it spells exactly this expression (src/db/pg/search.ts does).
    index('messages_search').using('gin', sql`to_tsvector('simple', ${t.text})`),
  ],
)

export const attachments = pgTable(
  'attachments',
  {
    id: text().primaryKey(),
    messageId: text('message_id')
      .notNull()
      .references(() => messages.id, { onDelete: 'cascade' }),
    kind: text({ enum: ['image', 'document'] }).notNull(),
    format: text().notNull(),
    name: text().notNull(),
    originalName: text('original_name').notNull(),
    mediaType: text('media_type').notNull(),
    size: integer().notNull(),
    width: integer(),
    height: integer(),
    pages: integer(),
    bytes: bytea().notNull(),
  },
  (t) => [index('attachments_message').on(t.messageId)],
)

export type Conversation = typeof conversations.$inferSelect
export type Message = typeof messages.$inferSelect
export type Attachment = typeof attachments.$inferSelect

export const serverSecrets = pgTable('server_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
})

export const signIns = pgTable('sign_ins', {
  id: text('id').primaryKey(),
  expiresAt: instant('expires_at').notNull(),
})

export type SignIn = typeof signIns.$inferSelect
