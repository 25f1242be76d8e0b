import type { Dialect } from '../../db/dialect.ts'
import type { SqlReader } from '../../db/sql-reader.ts'
import { conversationReads } from './conversation-reads.ts'
import { signInReads } from './sign-in-reads.ts'
import { spendReads } from './spend-reads.ts'

/**
 * The chat's face for the read side (src/services/reads.ts): what it reads, without the rest of
 * the chat (the SDK, the reply lifecycle), so a read thread starts in a few milliseconds.
 */
export function chatReads(dialect: Dialect, reader: SqlReader) {
  return { conversations: conversationReads(dialect), spend: spendReads(reader), signIns: signInReads(dialect) }
}

export { conversationReads, type ConversationReads, type ThreadRow } from './conversation-reads.ts'
export type { SpendReads, Tokens } from './spend-reads.ts'
