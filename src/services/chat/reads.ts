import { sqliteDialect } from '../../db/dialect.ts'
import type { Db } from '../../db/open.ts'
import { conversationReads } from './conversation-reads.ts'
import { spendReads } from './spend-reads.ts'

/**
 * The chat's face for the read threads (src/services/reads.ts): what it reads, without the rest of
 * the chat (the SDK, the reply lifecycle), so a read thread starts in a few milliseconds.
 */
export function chatReads(db: Db) {
  return { conversations: conversationReads(sqliteDialect(db)), spend: spendReads(db) }
}

export { conversationReads, type ConversationReads, type ThreadRow } from './conversation-reads.ts'
export type { SpendReads, Tokens } from './spend-reads.ts'
