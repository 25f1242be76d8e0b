import { createHash } from 'node:crypto'
import { and, asc, desc, eq, gt, inArray, sql } from 'drizzle-orm'
import type { Db } from '../db/open.ts'
import {
  attachments,
  conversations,
  invocations,
  messages,
  type Attachment,
  type Conversation,
  type Invocation,
  type Message,
  type MessageStatus,
} from '../db/schema.ts'
import type { AcceptedAttachment } from './attachments.ts'
import { newId } from './sessions.ts'

/** The owner key stored with conversations: a hash of the session cookie, never the cookie. */
export function ownerOf(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('hex')
}

export const TITLE_MAX = 80

/** A title from the first message: its first line, whitespace folded, cut at a word near 60 characters. */
export function titleFrom(text: string): string {
  const line = text.replace(/\[\[[a-z]+(:\d+)?\]\]/gi, '').replace(/\s+/g, ' ').trim()
  if (!line) return 'New chat'
  if (line.length <= 60) return line
  const cut = line.slice(0, 60)
  const space = cut.lastIndexOf(' ')
  return `${(space > 30 ? cut.slice(0, space) : cut).trimEnd()}…`
}

export type AttachmentMeta = Omit<Attachment, 'bytes'>
export type ThreadEntry = Message & { attachments: AttachmentMeta[]; invocation: Invocation | null }

export type ConversationSettings = Pick<Conversation, 'modelId' | 'systemPrompt' | 'temperature' | 'maxTokens' | 'thinkingBudget'>

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

/** Conversations, their messages and attachments, in the metrics database beside `invocations`. */
export function createConversations({ db, now = () => new Date() }: { db: Db; now?: () => Date }) {
  function touch(id: string) {
    db.update(conversations).set({ updatedAt: now() }).where(eq(conversations.id, id)).run()
  }

  function nextSeq(conversationId: string): number {
    const row = db
      .select({ max: sql<number | null>`max(${messages.seq})` })
      .from(messages)
      .where(eq(messages.conversationId, conversationId))
      .get()
    return (row?.max ?? 0) + 1
  }

  return {
    /** The browser's conversations, most recently used first. */
    list(owner: string, limit = 200): Pick<Conversation, 'id' | 'title' | 'updatedAt'>[] {
      return db
        .select({ id: conversations.id, title: conversations.title, updatedAt: conversations.updatedAt })
        .from(conversations)
        .where(eq(conversations.owner, owner))
        .orderBy(desc(conversations.updatedAt))
        .limit(limit)
        .all()
    },

    /** A conversation, only for its owner: anyone else gets null (and so a 404). */
    get(owner: string, id: string): Conversation | null {
      return db.select().from(conversations).where(and(eq(conversations.id, id), eq(conversations.owner, owner))).get() ?? null
    },

    create(owner: string, settings: Partial<ConversationSettings> & { title?: string } = {}): Conversation {
      const at = now()
      return db
        .insert(conversations)
        .values({ id: newId(9), owner, title: settings.title ?? 'New chat', ...settings, createdAt: at, updatedAt: at })
        .returning()
        .get()
    },

    rename(owner: string, id: string, title: string): Conversation | null {
      return db.update(conversations).set({ title }).where(and(eq(conversations.id, id), eq(conversations.owner, owner))).returning().get() ?? null
    },

    remove(owner: string, id: string): boolean {
      return db.delete(conversations).where(and(eq(conversations.id, id), eq(conversations.owner, owner))).returning({ id: conversations.id }).all().length > 0
    },

    updateSettings(owner: string, id: string, settings: Partial<ConversationSettings>): Conversation | null {
      return db.update(conversations).set(settings).where(and(eq(conversations.id, id), eq(conversations.owner, owner))).returning().get() ?? null
    },

    /** Every message in order, with its attachments (without their bytes) and its recorded call. */
    thread(conversationId: string): ThreadEntry[] {
      const rows = db
        .select({ message: messages, invocation: invocations })
        .from(messages)
        .leftJoin(invocations, eq(invocations.id, messages.invocationId))
        .where(eq(messages.conversationId, conversationId))
        .orderBy(asc(messages.seq))
        .all()
      const ids = rows.map((r) => r.message.id)
      const files = ids.length
        ? db.select(attachmentMeta).from(attachments).where(inArray(attachments.messageId, ids)).all()
        : []
      return rows.map(({ message, invocation }) => ({
        ...message,
        invocation,
        attachments: files.filter((f) => f.messageId === message.id),
      }))
    },

    /** The attachments of these messages with their bytes, to send to the model. */
    attachmentBytes(messageIds: string[]): Attachment[] {
      return messageIds.length ? db.select().from(attachments).where(inArray(attachments.messageId, messageIds)).all() : []
    },

    /** One attachment, only through a conversation its owner holds. */
    attachment(owner: string, conversationId: string, attachmentId: string): Attachment | null {
      const row = db
        .select({ attachment: attachments })
        .from(attachments)
        .innerJoin(messages, eq(messages.id, attachments.messageId))
        .innerJoin(conversations, eq(conversations.id, messages.conversationId))
        .where(and(eq(attachments.id, attachmentId), eq(conversations.id, conversationId), eq(conversations.owner, owner)))
        .get()
      return row?.attachment ?? null
    },

    /**
     * Adds the person's message (with its files) and an empty streaming reply, in one
     * transaction; the first message also names the conversation.
     */
    addExchange(conversation: Conversation, text: string, files: AcceptedAttachment[], modelId: string) {
      return db.transaction((tx) => {
        const seq = nextSeq(conversation.id)
        const at = now()
        const user = tx
          .insert(messages)
          .values({ id: newId(9), conversationId: conversation.id, seq, role: 'user', text, status: 'done', createdAt: at })
          .returning()
          .get()
        for (const file of files) {
          tx.insert(attachments)
            .values({
              id: newId(9),
              messageId: user.id,
              kind: file.kind,
              format: file.format,
              name: file.name,
              originalName: file.originalName,
              mediaType: file.mediaType,
              size: file.size,
              width: 'width' in file ? file.width : null,
              height: 'height' in file ? file.height : null,
              pages: 'pages' in file ? (file.pages ?? null) : null,
              bytes: Buffer.from(file.bytes),
            })
            .run()
        }
        const reply = this.addReply(conversation.id, modelId, seq + 1)
        if (seq === 1 && conversation.title === 'New chat') {
          const title = text.trim() ? titleFrom(text) : files[0] ? titleFrom(files[0].originalName) : 'New chat'
          tx.update(conversations).set({ title }).where(eq(conversations.id, conversation.id)).run()
        }
        touch(conversation.id)
        return { user, reply }
      })
    },

    /** An empty streaming reply at the end of the thread (a new exchange, or Regenerate). */
    addReply(conversationId: string, modelId: string, seq = nextSeq(conversationId)): Message {
      touch(conversationId)
      return db
        .insert(messages)
        .values({ id: newId(9), conversationId, seq, role: 'assistant', text: '', status: 'streaming', modelId, createdAt: now() })
        .returning()
        .get()
    },

    /** Settles a reply with what its turn produced. */
    finishReply(
      id: string,
      result: { text: string; reasoning?: string | null; status: MessageStatus; error?: string | null; invocationId?: number | null; droppedTurns?: number | null },
    ): Message | null {
      return (
        db
          .update(messages)
          .set({
            text: result.text,
            reasoning: result.reasoning || null,
            status: result.status,
            error: result.error ?? null,
            invocationId: result.invocationId ?? null,
            droppedTurns: result.droppedTurns || null,
          })
          .where(eq(messages.id, id))
          .returning()
          .get() ?? null
      )
    },

    /** Removes every message after `seq` (Regenerate, Retry, Edit start again from there). */
    truncateAfter(conversationId: string, seq: number): void {
      db.delete(messages).where(and(eq(messages.conversationId, conversationId), gt(messages.seq, seq))).run()
    },

    updateText(messageId: string, text: string): void {
      db.update(messages).set({ text }).where(eq(messages.id, messageId)).run()
    },

    /**
     * Conversations whose messages contain the words (SQLite FTS5, prefix match on the last word),
     * newest first, with a snippet around the match.
     */
    search(owner: string, query: string, limit = 30): SearchHit[] {
      const words = query.match(/[\p{L}\p{N}_]+/gu) ?? []
      if (words.length === 0) return []
      const match = words.map((w, i) => `"${w}"${i === words.length - 1 ? '*' : ''}`).join(' ')
      return db.all<SearchHit & { updatedAt: number }>(sql`
        select c.id as conversationId, c.title as title, m.id as messageId, c.updated_at as updatedAt,
               -- matches marked with control characters, which never clash with message text
               snippet(messages_fts, 0, char(1), char(2), '…', 12) as snippet
        from messages_fts
        join messages m on m.rowid = messages_fts.rowid
        join conversations c on c.id = m.conversation_id
        where messages_fts match ${match} and c.owner = ${owner}
        order by c.updated_at desc, rank
        limit ${limit * 4}
      `).filter((hit, i, all) => all.findIndex((h) => h.conversationId === hit.conversationId) === i)
        .slice(0, limit)
        .map((hit) => ({ ...hit, updatedAt: new Date(hit.updatedAt) }))
    },

    /** Replies left "streaming" by a stopped server are marked as interrupted at start-up. */
    recoverInterrupted(): number {
      return db
        .update(messages)
        .set({ status: 'error', error: 'This reply was interrupted when the server stopped: press Retry.' })
        .where(eq(messages.status, 'streaming'))
        .returning({ id: messages.id })
        .all().length
    },
  }
}

export type Conversations = ReturnType<typeof createConversations>
