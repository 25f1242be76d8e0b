import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm'
import type { Dialect } from '../../db/dialect.ts'
import type { PgDb } from '../../db/pg/open.ts'
import { searchMessages } from '../../db/pg/search.ts'
import type { Attachment, Conversation, Message } from '../../db/schema.ts'
import type { RecordedInvocation } from '../metrics/index.ts'

/**
 * What the chat reads of conversations, messages and attachments, written once for both
 * databases (drizzle's builder on the dialect's tables): on SQLite it runs on a read thread
 * (src/services/reads.ts), on PostgreSQL through the driver's pool; the server's thread waits
 * for neither. Only search is the database's own (SQLite's FTS5, PostgreSQL's tsvector).
 */

export type AttachmentMeta = Omit<Attachment, 'bytes'>
export type ThreadRow = { message: Message; invocation: RecordedInvocation | null }
export type SearchHit = { conversationId: string; title: string; messageId: string; snippet: string; updatedAt: Date }

/** A reply a stopped server left streaming, with what its recovery records. */
export type InterruptedReply = Pick<Message, 'id' | 'modelId' | 'createdAt' | 'progressAt' | 'instance'> & { owner: string; fallbackModel: string | null }

/** A drizzle query prepared once: SQLite's prepare() takes no name, PostgreSQL's one (the same call, both dialects). */
type Prepared<T> = { execute(values: Record<string, unknown>): PromiseLike<T> }
function prepared<T>(query: { prepare(): unknown }, name: string): Prepared<T> {
  return (query.prepare as unknown as (name: string) => Prepared<T>).call(query, name)
}

export function conversationReads({ name, db, tables }: Dialect) {
  const { conversations, messages, attachments, invocations } = tables
  const byOwner = (id: unknown, owner: unknown) => and(eq(conversations.id, id as string), eq(conversations.owner, owner as string))
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
  // prepared once per connection (a read thread's, or the pool's): a page's reads build no SQL
  const q = {
    list: prepared<Pick<Conversation, 'id' | 'title' | 'updatedAt'>[]>(
      db
        .select({ id: conversations.id, title: conversations.title, updatedAt: conversations.updatedAt })
        .from(conversations)
        .where(eq(conversations.owner, p('owner')))
        .orderBy(desc(conversations.updatedAt))
        .limit(p('limit')),
      'conversations_list',
    ),
    get: prepared<Conversation[]>(
      db
        .select()
        .from(conversations)
        .where(byOwner(p('id'), p('owner')))
        .limit(1),
      'conversations_get',
    ),
    threadMessages: prepared<ThreadRow[]>(
      db
        .select({ message: messages, invocation: invocations })
        .from(messages)
        .leftJoin(invocations, eq(invocations.id, messages.invocationId))
        .where(eq(messages.conversationId, p('conversationId')))
        .orderBy(asc(messages.seq)),
      'conversations_thread',
    ),
    threadFiles: prepared<AttachmentMeta[]>(
      db
        .select(attachmentMeta)
        .from(attachments)
        .innerJoin(messages, eq(messages.id, attachments.messageId))
        .where(eq(messages.conversationId, p('conversationId'))),
      'conversations_thread_files',
    ),
  }

  return {
    async list(owner: string, limit: number): Promise<Pick<Conversation, 'id' | 'title' | 'updatedAt'>[]> {
      return q.list.execute({ owner, limit })
    },

    async ownerExists(owner: string): Promise<boolean> {
      return (await q.list.execute({ owner, limit: 1 })).length > 0
    },

    async get(owner: string, id: string): Promise<Conversation | null> {
      return (await q.get.execute({ id, owner }))[0] ?? null
    },

    /** Every message in order with its recorded call, and the attachments (without bytes) of them all. */
    async thread(conversationId: string): Promise<{ rows: ThreadRow[]; files: AttachmentMeta[] }> {
      const rows = await q.threadMessages.execute({ conversationId })
      const files = rows.some((r) => r.message.role === 'user') ? await q.threadFiles.execute({ conversationId }) : []
      return { rows, files }
    },

    async attachmentBytes(messageIds: string[]): Promise<Attachment[]> {
      if (messageIds.length === 0) return []
      return db.select().from(attachments).where(inArray(attachments.messageId, messageIds))
    },

    async attachment(owner: string, conversationId: string, attachmentId: string): Promise<Attachment | null> {
      const [row] = await db
        .select({ attachment: attachments })
        .from(attachments)
        .innerJoin(messages, eq(messages.id, attachments.messageId))
        .innerJoin(conversations, eq(conversations.id, messages.conversationId))
        .where(and(eq(attachments.id, attachmentId), eq(conversations.id, conversationId), eq(conversations.owner, owner)))
        .limit(1)
      return row?.attachment ?? null
    },

    /** Every file under one owner: their conversations, their messages, their files (three index lookups). */
    async attachmentBytesUsed(owner: string): Promise<number> {
      const [row] = await db
        .select({ bytes: sql<number>`coalesce(sum(${attachments.size}), 0)`.mapWith(Number) })
        .from(conversations)
        .innerJoin(messages, eq(messages.conversationId, conversations.id))
        .innerJoin(attachments, eq(attachments.messageId, messages.id))
        .where(eq(conversations.owner, owner))
      return row?.bytes ?? 0
    },

    /** Every word, a prefix match on the last, newest conversation first, one hit per conversation. */
    async search(owner: string, query: string, limit: number): Promise<SearchHit[]> {
      if (name === 'postgres') return searchMessages(db as unknown as PgDb, owner, query, limit)
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

    /** Replies left "streaming" by a server that stopped without saving them (start-up's recovery). */
    async interrupted(): Promise<InterruptedReply[]> {
      return db
        .select({
          id: messages.id,
          modelId: messages.modelId,
          createdAt: messages.createdAt,
          progressAt: messages.progressAt,
          instance: messages.instance,
          owner: conversations.owner,
          fallbackModel: conversations.modelId,
        })
        .from(messages)
        .innerJoin(conversations, eq(conversations.id, messages.conversationId))
        .where(eq(messages.status, 'streaming'))
    },
  }
}

export type ConversationReads = ReturnType<typeof conversationReads>
