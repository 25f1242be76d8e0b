// Prompt caching as Bedrock reports it: a request's cachePoint blocks mark prefixes; the first
// time a prefix is seen its tokens are a cache write, afterwards a cache read. Bounded: an LRU of
// prefix hashes.
import { createHash } from 'node:crypto'
import type { ConverseBody } from './conversation.ts'

/** Bedrock's most cache points in one request (system, messages and tools together). */
export const MAX_CACHE_POINTS = 4

/** Prefix hashes kept by default; the least recently used is forgotten first. */
export const DEFAULT_CACHE_ENTRIES = 10_000

export interface CacheUsage {
  cacheReadInputTokens: number
  cacheWriteInputTokens: number
}

function isCachePoint(block: unknown): boolean {
  return typeof block === 'object' && block !== null && 'cachePoint' in block
}

/** cachePoint blocks in the system prompt and every message (any JSON body; 0 when it has none). */
export function countCachePoints(body: unknown): number {
  if (typeof body !== 'object' || body === null) return 0
  const { system, messages } = body as { system?: unknown; messages?: unknown }
  let n = Array.isArray(system) ? system.filter(isCachePoint).length : 0
  if (Array.isArray(messages)) {
    for (const m of messages) {
      const content = (m as { content?: unknown } | null)?.content
      if (Array.isArray(content)) n += content.filter(isCachePoint).length
    }
  }
  return n
}

/** Each cache point of a body, in order: the hash of everything before it (cache points left out) and its words. */
function prefixes(modelId: string, body: ConverseBody, countWords: (text: string) => number): { hash: string; words: number }[] {
  const parts: string[] = [modelId]
  const points: { hash: string; words: number }[] = []
  let words = 0
  const visit = (block: Record<string, unknown>) => {
    if (isCachePoint(block)) {
      points.push({ hash: createHash('sha256').update(parts.join('\u0000')).digest('hex'), words })
      return
    }
    parts.push(JSON.stringify(block))
    if (typeof block.text === 'string') words += countWords(block.text)
  }
  parts.push('system')
  for (const block of body.system ?? []) visit(block as Record<string, unknown>)
  for (const message of body.messages) {
    parts.push(message.role)
    for (const block of message.content) visit(block)
  }
  return points
}

export function createPromptCache(maxEntries = DEFAULT_CACHE_ENTRIES) {
  const seen = new Map<string, true>()
  const touch = (hash: string) => {
    seen.delete(hash)
    seen.set(hash, true)
    for (const oldest of seen.keys()) {
      if (seen.size <= maxEntries) break
      seen.delete(oldest)
    }
  }
  return {
    /**
     * The cache usage of a valid body, or null when it has no cache point. The longest prefix
     * seen before is read; the rest up to the last cache point is written (nothing when that
     * prefix was seen too). Every prefix of the body is then remembered.
     */
    use(modelId: string, body: ConverseBody, countWords: (text: string) => number): CacheUsage | null {
      const points = prefixes(modelId, body, countWords)
      const last = points.at(-1)
      if (!last) return null
      let read = 0
      for (const p of points) if (seen.has(p.hash)) read = Math.max(read, p.words)
      const write = seen.has(last.hash) ? 0 : Math.max(0, last.words - read)
      for (const p of points) touch(p.hash)
      return { cacheReadInputTokens: read, cacheWriteInputTokens: write }
    },
    size: () => seen.size,
    clear: () => seen.clear(),
  }
}

export type PromptCache = ReturnType<typeof createPromptCache>
