import { sql } from 'drizzle-orm'
import { blob, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

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
    /**
     * Whose call it was: the `owner` its conversation is stored under (a hash, never a cookie or a
     * user name). Null for calls recorded before the column existed. The daily budgets read it.
     */
    owner: text(),
    /**
     * Prompt caching, as Bedrock reported it (null when it reported no usage): tokens read from and
     * written to the cache. Bedrock's `inputTokens` excludes both; each has its own price.
     */
    cacheReadInputTokens: integer('cache_read_input_tokens'),
    cacheWriteInputTokens: integer('cache_write_input_tokens'),
  },
  (t) => [
    index('invocations_timestamp').on(t.timestamp),
    // The Invocations list: a filter by model and/or outcome, or a sort by another column, within
    // a time range. Each ends with timestamp so the range is checked on the index entry alone.
    index('invocations_model_timestamp').on(t.modelId, t.timestamp),
    index('invocations_outcome_timestamp').on(t.outcome, t.timestamp),
    index('invocations_latency_timestamp').on(t.latencyMs, t.timestamp),
    index('invocations_ttft_timestamp').on(t.timeToFirstTokenMs, t.timestamp),
    index('invocations_input_tokens_timestamp').on(t.inputTokens, t.timestamp),
    index('invocations_output_tokens_timestamp').on(t.outputTokens, t.timestamp),
    // one person's calls of today (the daily budget), read as an index range
    index('invocations_owner_timestamp').on(t.owner, t.timestamp),
  ],
)

export type Invocation = typeof invocations.$inferSelect
export type NewInvocation = typeof invocations.$inferInsert

/**
 * Inclusive upper bounds (ms) of the latency histogram kept in the rollup: 1, 2, ..., 10 ms one
 * by one, then each bound is the previous one times 1.2 (rounded down) up to ~11 minutes, plus an
 * overflow bucket above the last bound: 73 buckets. A bucket (lower, upper] holds whole
 * milliseconds lower+1..upper, and upper ≤ 1.2 × (lower + 1), so any value read from a bucket is
 * within 20% (or 1 ms) of every call in it. Changing these needs a new rollup migration: the
 * triggers and the back-fill spell them out (a test compares them).
 */
export const HISTOGRAM_BOUNDS_MS: readonly number[] = histogramBounds(1.2, 600_000)

function histogramBounds(ratio: number, atLeast: number): number[] {
  const bounds = [1]
  for (let last = 1; last < atLeast; bounds.push(last)) last = Math.max(last + 1, Math.floor(last * ratio))
  return bounds
}

/** Buckets per histogram: one per bound plus the overflow bucket. */
export const HISTOGRAM_BUCKETS = HISTOGRAM_BOUNDS_MS.length + 1

/**
 * The rollup's time resolutions (ms), each a multiple of the one before: a range's series reads the
 * one equal to its bucket size, and its totals read the fewest whole buckets that tile the range.
 */
export const ROLLUP_BUCKETS_MS = [60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000] as const

/** `bucket_ms` of the all-time rows (t = 0): Prometheus and the model list read them. */
export const ALL_TIME = 0

/**
 * `model_id` of the rollup rows that add up every model, so that a panel over all models reads one
 * row per bucket, not one per model. Not a possible Bedrock model id (those start with a letter
 * or digit); a call recorded under it would be counted twice there.
 */
export const ALL_MODELS = '*'

/** `lat_00`..`lat_72` (latency) or `ttft_00`..`ttft_72` (time to first token): calls per bucket. */
export function histogramColumnName(prefix: 'lat' | 'ttft', bucket: number): string {
  return `${prefix}_${String(bucket).padStart(2, '0')}`
}

const counter = (name: string) => integer(name).notNull().default(0)
type Counter = ReturnType<typeof counter>

function histogramColumns<P extends 'lat' | 'ttft'>(prefix: P): Record<`${P}_${string}`, Counter> {
  const columns: Record<string, Counter> = {}
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) columns[histogramColumnName(prefix, i)] = counter(histogramColumnName(prefix, i))
  return columns
}

/**
 * Pre-aggregated invocations: one row per resolution (`bucket_ms`), bucket start `t` (ms, UTC,
 * aligned to the resolution) and model, plus one all-time row per model (bucket_ms = 0, t = 0);
 * each also for ALL_MODELS, the sum over every model.
 * Kept current by triggers on `invocations` (every writer maintains it, no app code) and
 * rebuildable from `invocations` (see src/db/rollup-sql.ts). The dashboard reads at most
 * a few hundred rows of it per panel, whatever the size of `invocations`.
 */
export const invocationRollup = sqliteTable(
  'invocation_rollup',
  {
    bucketMs: integer('bucket_ms').notNull(),
    t: integer().notNull(),
    modelId: text('model_id').notNull(),
    requests: counter('requests'),
    ok: counter('ok'),
    errors: counter('errors'),
    stopped: counter('stopped'),
    latencySum: counter('latency_sum'),
    /** Largest latency seen (an upper bound once rows have been deleted). */
    latencyMax: counter('latency_max'),
    ttftCount: counter('ttft_count'),
    ttftSum: counter('ttft_sum'),
    /** Calls that reported input (output) tokens: the rest sort last in the Invocations list. */
    inputCalls: counter('input_calls'),
    outputCalls: counter('output_calls'),
    inputTokens: counter('input_tokens'),
    outputTokens: counter('output_tokens'),
    /** Summed latency of the calls that reported output tokens: the divisor of tokens per second. */
    outputLatencyMs: counter('output_latency_ms'),
    ...histogramColumns('lat'),
    ...histogramColumns('ttft'),
    /** Summed prompt-cache reads and writes (migration 0009's triggers; calls before it had none). */
    cacheReadInputTokens: counter('cache_read_input_tokens'),
    cacheWriteInputTokens: counter('cache_write_input_tokens'),
  },
  (t) => [primaryKey({ columns: [t.bucketMs, t.t, t.modelId] })],
)

/**
 * The OpenTelemetry GenAI semantic conventions' explicit bucket boundaries: seconds for
 * gen_ai.client.operation.duration and gen_ai.client.operation.time_to_first_chunk (the same
 * list), tokens for gen_ai.client.token.usage. `/metrics` serves its GenAI histograms with exactly
 * these, counted per call in `invocation_gen_ai_rollup`. Every duration bound is a whole number
 * of milliseconds, and calls are recorded in whole milliseconds, so each bucket count is exact.
 */
export const GEN_AI_DURATION_BOUNDS_S: readonly number[] = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
export const GEN_AI_DURATION_BOUNDS_MS: readonly number[] = GEN_AI_DURATION_BOUNDS_S.map((s) => Math.round(s * 1000))
export const GEN_AI_TOKEN_BOUNDS: readonly number[] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
/** Buckets per GenAI histogram: one per boundary plus the overflow bucket (both lists have 14). */
export const GEN_AI_BUCKETS = GEN_AI_DURATION_BOUNDS_S.length + 1

/** The GenAI rollup's histograms: operation duration, time to first chunk, input and output tokens. */
export const GEN_AI_HISTOGRAMS = ['dur', 'ttfc', 'in', 'out'] as const
export type GenAiHistogram = (typeof GEN_AI_HISTOGRAMS)[number]

/** `dur_00`..`dur_14`, `ttfc_00`.., `in_00`.., `out_00`..: calls per GenAI bucket. */
export function genAiColumnName(prefix: GenAiHistogram, bucket: number): string {
  return `${prefix}_${String(bucket).padStart(2, '0')}`
}

function genAiColumns(): Record<string, Counter> {
  const columns: Record<string, Counter> = {}
  for (const prefix of GEN_AI_HISTOGRAMS) {
    for (let i = 0; i < GEN_AI_BUCKETS; i++) columns[genAiColumnName(prefix, i)] = counter(genAiColumnName(prefix, i))
  }
  return columns
}

/** `error_type` of the GenAI rollup's rows of calls that succeeded: the spec sets error.type only on failures. */
export const GEN_AI_NO_ERROR = ''

/**
 * All-time counts per model and error type (GEN_AI_NO_ERROR for calls that succeeded; a failed or
 * stopped call's `error_type`, 'Unknown' when none was recorded) in the OpenTelemetry GenAI
 * buckets: what `/metrics` serves as gen_ai_client_* histograms. Kept by the same triggers as
 * `invocation_rollup` (src/db/rollup-sql.ts) and rebuilt with it. Token usage counts the calls
 * that reported usage; its input side includes the prompt-cache reads and writes, as the spec's
 * input tokens do.
 */
export const invocationGenAiRollup = sqliteTable(
  'invocation_gen_ai_rollup',
  {
    modelId: text('model_id').notNull(),
    errorType: text('error_type').notNull(),
    calls: counter('calls'),
    /** Summed latency (ms) of the calls counted in dur_*. */
    durationSumMs: counter('duration_sum_ms'),
    /** Calls that streamed a first token, and their summed time to it (ms). */
    ttfcCount: counter('ttfc_count'),
    ttfcSumMs: counter('ttfc_sum_ms'),
    /** Calls that reported usage, and their input tokens (cache reads and writes included). */
    inputCalls: counter('input_calls'),
    inputTokens: counter('input_tokens'),
    outputCalls: counter('output_calls'),
    outputTokens: counter('output_tokens'),
    ...genAiColumns(),
  },
  (t) => [primaryKey({ columns: [t.modelId, t.errorType] })],
)

/**
 * Failed and stopped calls by type, at the same resolutions as `invocation_rollup`: one row per
 * resolution, bucket, model (and ALL_MODELS), outcome and error type ('Unknown' when none was
 * recorded).
 */
export const invocationErrorRollup = sqliteTable(
  'invocation_error_rollup',
  {
    bucketMs: integer('bucket_ms').notNull(),
    t: integer().notNull(),
    modelId: text('model_id').notNull(),
    outcome: text({ enum: OUTCOMES }).notNull(),
    errorType: text('error_type').notNull(),
    count: counter('count'),
  },
  (t) => [primaryKey({ columns: [t.bucketMs, t.t, t.modelId, t.outcome, t.errorType] })],
)

export type InvocationRollup = typeof invocationRollup.$inferSelect

/**
 * A conversation belongs to the browser that started it: `owner` is a SHA-256 of that browser's
 * session cookie (never the cookie itself), so the same browser finds its conversations again
 * after a restart and nobody can list another's by guessing ids.
 */
export const conversations = sqliteTable(
  'conversations',
  {
    id: text().primaryKey(),
    owner: text().notNull(),
    title: text().notNull(),
    modelId: text('model_id'),
    systemPrompt: text('system_prompt'),
    temperature: real(),
    maxTokens: integer('max_tokens'),
    /** Extended thinking budget in tokens; null means thinking is off. */
    thinkingBudget: integer('thinking_budget'),
    /** Prompt caching ("Prompt caching" in the settings): cache points are sent where the model takes them. */
    promptCaching: integer('prompt_caching', { mode: 'boolean' }).notNull().default(true),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [
    index('conversations_owner_updated').on(t.owner, t.updatedAt),
    // the retention clean-up: conversations unused since a cut-off, oldest first
    index('conversations_updated').on(t.updatedAt),
  ],
)

export const MESSAGE_ROLES = ['user', 'assistant'] as const
export const MESSAGE_STATUSES = ['streaming', 'done', 'error', 'stopped'] as const
export type MessageStatus = (typeof MESSAGE_STATUSES)[number]

export const messages = sqliteTable(
  'messages',
  {
    id: text().primaryKey(),
    conversationId: text('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    /** Order within the conversation. */
    seq: integer().notNull(),
    role: text({ enum: MESSAGE_ROLES }).notNull(),
    text: text().notNull(),
    /** The model's reasoning (extended thinking), shown apart from the answer. */
    reasoning: text(),
    status: text({ enum: MESSAGE_STATUSES }).notNull(),
    /** A readable explanation when the reply failed, stopped short or was cut off. */
    error: text(),
    modelId: text('model_id'),
    /** The recorded model call behind a reply (latency, tokens, cost). */
    invocationId: integer('invocation_id'),
    /** Earlier turns left out of what was sent because the context window was full. */
    droppedTurns: integer('dropped_turns'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    /** When a streaming reply's text so far was last saved: how long its call had run, should the server die. */
    progressAt: integer('progress_at', { mode: 'timestamp_ms' }),
    /** The server process a streaming reply runs in (its instance id): a reply left streaming is recovered once that one is gone. */
    instance: text('instance'),
  },
  (t) => [
    uniqueIndex('messages_conversation_seq').on(t.conversationId, t.seq),
    // the replies streaming now, however many messages there are: what recovery looks at
    index('messages_streaming').on(t.instance).where(sql`${t.status} = 'streaming'`),
  ],
)

export const attachments = sqliteTable(
  'attachments',
  {
    id: text().primaryKey(),
    messageId: text('message_id')
      .notNull()
      .references(() => messages.id, { onDelete: 'cascade' }),
    kind: text({ enum: ['image', 'document'] }).notNull(),
    format: text().notNull(),
    /** The Converse-safe document name; the person's own file name is `originalName`. */
    name: text().notNull(),
    originalName: text('original_name').notNull(),
    mediaType: text('media_type').notNull(),
    size: integer().notNull(),
    width: integer(),
    height: integer(),
    pages: integer(),
    bytes: blob({ mode: 'buffer' }).notNull(),
  },
  (t) => [index('attachments_message').on(t.messageId)],
)

export type Conversation = typeof conversations.$inferSelect
export type Message = typeof messages.$inferSelect
export type Attachment = typeof attachments.$inferSelect

/**
 * Secrets the server makes for itself once and keeps across restarts (and, on a shared database,
 * across instances): the key that signs session cookies.
 */
export const serverSecrets = sqliteTable('server_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
})

/**
 * Password sign-ins (APP_PASSWORD), so that one survives a move to another instance of a fleet
 * (or a restart): the SHA-256 of the signed-in session's id, never the id itself, and until when
 * it holds. Sign-out deletes it everywhere at once. Sidebar credentials are never here.
 */
export const signIns = sqliteTable('sign_ins', {
  id: text('id').primaryKey(),
  expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
})

export type SignIn = typeof signIns.$inferSelect
