import { fromIndex, instantParam, type SqlReader } from '../../db/sql-reader.ts'

/** A day's tokens of one model: what its cost is worked out from. */
export type Tokens = { modelId: string; inputTokens: number; outputTokens: number; cacheReadInputTokens: number; cacheWriteInputTokens: number }

const TOKENS =
  'model_id AS "modelId", coalesce(sum(input_tokens), 0) AS "inputTokens", coalesce(sum(output_tokens), 0) AS "outputTokens",' +
  ' coalesce(sum(cache_read_input_tokens), 0) AS "cacheReadInputTokens", coalesce(sum(cache_write_input_tokens), 0) AS "cacheWriteInputTokens"'

/** What the daily budgets read of `invocations` (run on a read thread: src/services/reads.ts), on SQLite or PostgreSQL. */
export function spendReads(reader: SqlReader) {
  const since = instantParam(reader)
  // one person's calls since midnight: a range of the (owner, timestamp) index
  const ownerSince = `SELECT ${TOKENS} FROM ${fromIndex(reader, 'invocations', 'invocations_owner_timestamp')} WHERE owner = ? AND timestamp >= ${since} GROUP BY model_id`
  // every call since midnight: a range of the timestamp index
  const serverSince = `SELECT ${TOKENS} FROM ${fromIndex(reader, 'invocations', 'invocations_timestamp')} WHERE timestamp >= ${since} GROUP BY model_id`
  return {
    /** One person's tokens per model since `since` (ms). */
    ownerSince: (owner: string, since: number): Promise<Tokens[]> => reader.all<Tokens>(ownerSince, [owner, since]),
    /** Everyone's tokens per model since `since` (ms). */
    serverSince: (since: number): Promise<Tokens[]> => reader.all<Tokens>(serverSince, [since]),
  }
}

export type SpendReads = ReturnType<typeof spendReads>
