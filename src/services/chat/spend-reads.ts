import type { Db } from '../../db/open.ts'

/** A day's tokens of one model: what its cost is worked out from. */
export type Tokens = { modelId: string; inputTokens: number; outputTokens: number; cacheReadInputTokens: number; cacheWriteInputTokens: number }

const TOKENS =
  'model_id AS modelId, coalesce(sum(input_tokens), 0) AS inputTokens, coalesce(sum(output_tokens), 0) AS outputTokens,' +
  ' coalesce(sum(cache_read_input_tokens), 0) AS cacheReadInputTokens, coalesce(sum(cache_write_input_tokens), 0) AS cacheWriteInputTokens'

/** What the daily budgets read of `invocations` (run on a read thread: src/services/reads.ts). */
export function spendReads(db: Db) {
  // one person's calls since midnight: a range of the (owner, timestamp) index
  const ownerSince = db.$client.prepare<Tokens, [string, number]>(
    `SELECT ${TOKENS} FROM invocations INDEXED BY invocations_owner_timestamp WHERE owner = ? AND timestamp >= ? GROUP BY model_id`,
  )
  // every call since midnight: a range of the timestamp index
  const serverSince = db.$client.prepare<Tokens, [number]>(
    `SELECT ${TOKENS} FROM invocations INDEXED BY invocations_timestamp WHERE timestamp >= ? GROUP BY model_id`,
  )
  return {
    /** One person's tokens per model since `since` (ms). */
    ownerSince: (owner: string, since: number): Tokens[] => ownerSince.all(owner, since),
    /** Everyone's tokens per model since `since` (ms). */
    serverSince: (since: number): Tokens[] => serverSince.all(since),
  }
}

export type SpendReads = ReturnType<typeof spendReads>
