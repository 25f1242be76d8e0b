import type { Db } from '../../db/open.ts'
import { sqliteReader } from '../../db/sql-reader.ts'
import { conversationReads } from './conversation-reads.ts'
import { spendReads } from './spend-reads.ts'

/**
 * The chat's face for the read threads (src/services/reads.ts): what it reads, without the rest of
 * the chat (the SDK, the reply lifecycle), so a read thread starts in a few milliseconds.
 */
export function chatReads(db: Db) {
  return { conversations: conversationReads(db), spend: spendReads(sqliteReader(db.$client)) }
}

export type { ConversationReads, ThreadRow } from './conversation-reads.ts'
export type { SpendReads, Tokens } from './spend-reads.ts'
