import { MAX_CACHE_POINTS } from '../models.ts'
import { estimateSystemTokens, estimateTokens, type ContextMessage } from './context-window.ts'

/**
 * Where a request's prompt-cache checkpoints go (Converse `cachePoint` blocks), so that Bedrock
 * caches the prefix of a conversation and the next turn reads it back instead of paying for it
 * again (ADR 0015). At most three, within Bedrock's MAX_CACHE_POINTS:
 * - after the system prompt, when it alone reaches the model's minimum (it is the same every turn);
 * - after the previous user turn: where the previous request's last checkpoint was, so this request
 *   reads what that one wrote;
 * - after the newest user turn: this request writes the conversation so far, for the next one.
 * A checkpoint whose prefix (everything before it) is estimated below the model's minimum tokens
 * per checkpoint is left out: Bedrock would not cache it. The estimate is the context window's,
 * which errs high, so a checkpoint just above the minimum may still not be cached; nothing fails.
 */

export type CachePlan = {
  /** A checkpoint after the system prompt. */
  afterSystem: boolean
  /** Indexes of the messages after whose content a checkpoint goes, oldest first. */
  afterMessages: number[]
}

export const NO_CACHE_POINTS: CachePlan = { afterSystem: false, afterMessages: [] }

export function cachePointCount(plan: CachePlan): number {
  return (plan.afterSystem ? 1 : 0) + plan.afterMessages.length
}

/**
 * The checkpoints for a request's system prompt and messages (as sent, oldest first); none when
 * `minTokens` is undefined (the model takes no cache points, or the conversation turned caching off).
 */
export function placeCachePoints(input: { minTokens: number | undefined; system?: string; messages: readonly ContextMessage[] }): CachePlan {
  const { minTokens, messages } = input
  if (!minTokens) return NO_CACHE_POINTS
  const systemTokens = estimateSystemTokens(input.system)
  const afterSystem = systemTokens >= minTokens
  const users = messages.flatMap((m, i) => (m.role === 'user' ? [i] : []))
  const candidates = users.slice(-2)
  const afterMessages: number[] = []
  let prefix = systemTokens
  let next = 0
  for (const [i, message] of messages.entries()) {
    prefix += estimateTokens(message)
    if (i !== candidates[next]) continue
    next += 1
    if (prefix >= minTokens) afterMessages.push(i)
  }
  // never more than Bedrock takes: the newest checkpoints are the ones worth keeping
  const room = MAX_CACHE_POINTS - (afterSystem ? 1 : 0)
  return { afterSystem, afterMessages: afterMessages.slice(-room) }
}
