import { and, asc, desc, eq, sql } from 'drizzle-orm'
import type { Db } from '../../db/open.ts'
import { attachments, conversations, invocations, messages, type Attachment, type Conversation, type Message } from '../../db/schema.ts'
import type { RecordedInvocation } from '../metrics/index.ts'

/**
 * What the chat reads of conversations, messages and attachments: prepared once per connection,
 * run on a read thread (src/services/reads.ts), never on the server's.
 */

export type AttachmentMeta = Omit<Attachment, 'bytes'>
export type ThreadRow = { message: Message; invocation: RecordedInvocation | null }
export type SearchHit = { conversationId: string; title: string; messageId: string; snippet: string; updatedAt: Date }

const attachmentMeta = {
  id: attachments.id,
  messageId: attachments.messageId,
  kind: attachments.kind,
  format: attachments.format,
  name: attachments.name,
  originalName: attachments.originalName,
  mediaType: attachments.mediaType,
  size: attachments.size,
  width: attachments.width,
  height: attachments.height,
  pages: attachments.pages,
}

const p = sql.placeholder

export function conversationReads(db: Db) {
  const byOwner = (id: unknown, owner: unknown) => and(eq(conversations.id, id as string), eq(conversations.owner, owner as string))
  const q = {
    get: db
      .select()
      .from(conversations)
      .where(byOwner(p('id'), p('owner')))
      .prepare(),
    list: db
      .select({ id: conversations.id, title: conversations.title, updatedAt: conversations.updatedAt })
      .from(conversations)
      .where(eq(conversations.owner, p('owner')))
      .orderBy(desc(conversations.updatedAt))
      .limit(p('limit'))
      .prepare(),
    threadMessages: db
      .select({ message: messages, invocation: invocations })
      .from(messages)
      .leftJoin(invocations, eq(invocations.id, messages.invocationId))
      .where(eq(messages.conversationId, p('conversationId')))
      .orderBy(asc(messages.seq))
      .prepare(),
    threadFiles: db
      .select(attachmentMeta)
      .from(attachments)
      .innerJoin(messages, eq(messages.id, attachments.messageId))
      .where(eq(messages.conversationId, p('conversationId')))
      .prepare(),
    filesOfMessage: db
      .select()
      .from(attachments)
      .where(eq(attachments.messageId, p('messageId')))
      .prepare(),
    attachment: db
      .select({ attachment: attachments })
      .from(attachments)
      .innerJoin(messages, eq(messages.id, attachments.messageId))
      .innerJoin(conversations, eq(conversations.id, messages.conversationId))
      .where(and(eq(attachments.id, p('attachmentId')), eq(conversations.id, p('conversationId')), eq(conversations.owner, p('owner'))))
      .prepare(),
  }
  // every file under one owner: their conversations, their messages, their files (three index lookups)
  const filesUsed = db.$client.prepare<{ bytes: number }, [string]>(
    'SELECT coalesce(sum(a.size), 0) AS bytes FROM conversations c JOIN messages m ON m.conversation_id = c.id JOIN attachments a ON a.message_id = m.id WHERE c.owner = ?',
  )

  return {
    list(owner: string, limit: number): Pick<Conversation, 'id' | 'title' | 'updatedAt'>[] {
      return q.list.all({ owner, limit })
    },

    ownerExists(owner: string): boolean {
      return q.list.all({ owner, limit: 1 }).length > 0
    },

    get(owner: string, id: string): Conversation | null {
      return q.get.get({ id, owner }) ?? null
    },

    /** Every message in order with its recorded call, and the attachments (without bytes) of them all. */
    thread(conversationId: string): { rows: ThreadRow[]; files: AttachmentMeta[] } {
      const rows = q.threadMessages.all({ conversationId })
      return { rows, files: rows.length ? q.threadFiles.all({ conversationId }) : [] }
    },

    attachmentBytes(messageIds: string[]): Attachment[] {
      return messageIds.flatMap((messageId) => q.filesOfMessage.all({ messageId }))
    },

    attachment(owner: string, conversationId: string, attachmentId: string): Attachment | null {
      return q.attachment.get({ owner, conversationId, attachmentId })?.attachment ?? null
    },

    attachmentBytesUsed(owner: string): number {
      return filesUsed.get(owner)?.bytes ?? 0
    },

    /** SQLite FTS5 with a prefix match on the last word, newest conversation first, one hit per conversation. */
    search(owner: string, query: string, limit: number): SearchHit[] {
      const words = query.match(/[\p{L}\p{N}_]+/gu) ?? []
      if (words.length === 0) return []
      const match = words.map((w, i) => `"${w}"${i === words.length - 1 ? '*' : ''}`).join(' ')
      return db
        .all<SearchHit & { updatedAt: number }>(sql`
        select c.id as conversationId, c.title as title, m.id as messageId, c.updated_at as updatedAt,
               -- matches marked with control characters, which never clash with message text
               snippet(messages_fts, 0, char(1), char(2), '…', 12) as snippet
        from messages_fts
        join messages m on m.rowid = messages_fts.rowid
        join conversations c on c.id = m.conversation_id
        where messages_fts match ${match} and c.owner = ${owner}
        order by c.updated_at desc, rank
        limit ${limit * 4}
      `)
        .filter((hit, i, all) => all.findIndex((h) => h.conversationId === hit.conversationId) === i)
        .slice(0, limit)
        .map((hit) => ({ ...hit, updatedAt: new Date(hit.updatedAt) }))
    },
  }
}

export type ConversationReads = ReturnType<typeof conversationReads>
