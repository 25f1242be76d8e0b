import { and, eq, gt, sql } from 'drizzle-orm'
import { deleteOldestBefore } from '../../db/oldest-before.ts'
import type { Dialect } from '../../db/dialect.ts'
import type { Attachment, Conversation, Message } from '../../db/schema.ts'
import type { Remote } from '../../db/read-pool.ts'
import { changesOf, statement, type Statement, type Writer } from '../../db/writer.ts'
import type { AttachmentMeta, ConversationReads, SearchHit } from './conversation-reads.ts'
import type { RecordedInvocation } from '../metrics/index.ts'
import { newId } from './sessions.ts'

export const TITLE_MAX = 80

/** A title from the first message: its first line, whitespace folded, cut at a word near 60 characters. */
export function titleFrom(text: string): string {
  const line = text
    .replace(/\[\[[a-z]+(:\d+)?\]\]/gi, '')
    .replace(/\s+/g, ' ')
    .trim()
  if (!line) return 'New chat'
  if (line.length <= 60) return line
  const cut = line.slice(0, 60)
  const space = cut.lastIndexOf(' ')
  return `${(space > 30 ? cut.slice(0, space) : cut).trimEnd()}…`
}

export type { AttachmentMeta, SearchHit } from './conversation-reads.ts'
export type ThreadEntry = Message & { attachments: AttachmentMeta[]; invocation: RecordedInvocation | null }

export type ConversationSettings = Pick<Conversation, 'modelId' | 'systemPrompt' | 'temperature' | 'maxTokens' | 'thinkingBudget' | 'promptCaching'>

/** What starting a reply writes, in one job: everything the person sees before the first token. */
export type ReplyStartWrite = {
  /** The conversation as it is from now on (title, model, time of use). */
  conversation: Conversation
  isNew: boolean
  /** Messages after this seq are removed first (Regenerate, Retry, Edit start again from there). */
  truncateAfter?: number
  /** Edit: the person's message gets its new text. */
  edited?: { id: string; text: string }
  /** The person's new message and its files. */
  user?: { message: Message; files: Attachment[] }
  /** The empty, streaming reply. */
  reply: Message
}

/**
 * What a finished reply saves; its call's row is named by the recorder's reference (the call is
 * recorded just before, by the same writer), null when it made no call.
 */
export type ReplyFinishWrite = Pick<Message, 'text' | 'reasoning' | 'status' | 'error' | 'droppedTurns'> & { invocationRef: string | null }

const p = sql.placeholder

/** The error type of a call whose server stopped before it could record it. */
export const INTERRUPTED = 'Interrupted'

/** What a finished reply that is waiting for the database says under it. */
export const NOT_SAVED_YET = 'Not saved yet: the server keeps this reply and saves it as soon as it can write its database again.'

/** A file's bytes as the read thread sends them (a Uint8Array), as the Buffer the table's type says. */
function withBuffer(file: Attachment): Attachment {
  const bytes = file.bytes as Uint8Array
  return { ...file, bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) }
}

/**
 * Conversations, their messages and attachments, in the metrics database beside `invocations`.
 * Reads run on the read threads (`reads`, conversation-reads.ts); writes are statements for the
 * database's writer, which runs them on its own thread. The server's thread waits for neither.
 */
export type ConversationsOptions = {
  dialect: Dialect
  writer: Writer
  reads: Remote<ConversationReads>
  /** This server's instance id, written on the replies it streams. */
  instance: string
  /** Whether an instance is running: the replies it left streaming are recovered only once it is not. */
  instanceAlive: (id: string | null) => Promise<boolean>
}

export function createConversations({ dialect, writer, reads, instance, instanceAlive }: ConversationsOptions) {
  const { db } = dialect
  const { conversations, messages, attachments, invocations } = dialect.tables
  /** Finished replies the database has not taken yet, by message id: shown from here meanwhile. */
  const unsaved = new Map<string, ReplyFinishWrite>()
  const byOwner = (id: string, owner: string) => and(eq(conversations.id, id), eq(conversations.owner, owner))

  return {
    /** The browser's conversations, most recently used first. */
    list(owner: string, limit = 200): Promise<Pick<Conversation, 'id' | 'title' | 'updatedAt'>[]> {
      return reads.list(owner, limit)
    },

    /** Whether any conversation is stored under this owner. */
    ownerExists(owner: string): Promise<boolean> {
      return reads.ownerExists(owner)
    },

    /** A conversation, only for its owner: anyone else gets null (and so a 404). */
    get(owner: string, id: string): Promise<Conversation | null> {
      return reads.get(owner, id)
    },

    /** Renames a conversation of this owner; resolves with it as saved (null: not theirs, or gone). */
    async rename(owner: string, id: string, title: string): Promise<Conversation | null> {
      await writer.write([statement(db.update(conversations).set({ title }).where(byOwner(id, owner)))])
      return reads.get(owner, id)
    },

    /** Deletes a conversation of this owner with its messages and files; resolves with whether it was there. */
    async remove(owner: string, id: string): Promise<boolean> {
      const results = await writer.write([statement(db.delete(conversations).where(byOwner(id, owner)))])
      return changesOf(results) > 0
    },

    /** Saves a conversation's settings; resolves with it as saved (null: not theirs, or gone). */
    async updateSettings(owner: string, id: string, settings: Partial<ConversationSettings>): Promise<Conversation | null> {
      await writer.write([statement(db.update(conversations).set(settings).where(byOwner(id, owner)))])
      return reads.get(owner, id)
    },

    /** Every message in order, with its attachments (without their bytes) and its recorded call. */
    async thread(conversationId: string): Promise<ThreadEntry[]> {
      const { rows, files } = await reads.thread(conversationId)
      return rows.map(({ message, invocation }) => {
        // only while the row still says streaming: once the writer has committed it, the row is the truth
        const waiting = unsaved.size > 0 && message.status === 'streaming' ? unsaved.get(message.id) : undefined
        const shown = waiting
          ? {
              ...message,
              text: waiting.text,
              reasoning: waiting.reasoning,
              status: waiting.status,
              error: waiting.error ?? NOT_SAVED_YET,
              droppedTurns: waiting.droppedTurns,
            }
          : message
        return { ...shown, invocation, attachments: files.length ? files.filter((f) => f.messageId === message.id) : [] }
      })
    },

    /** The attachments of these messages with their bytes, to send to the model. */
    async attachmentBytes(messageIds: string[]): Promise<Attachment[]> {
      if (messageIds.length === 0) return []
      return (await reads.attachmentBytes(messageIds)).map(withBuffer)
    },

    /** One attachment, only through a conversation its owner holds. */
    async attachment(owner: string, conversationId: string, attachmentId: string): Promise<Attachment | null> {
      const file = await reads.attachment(owner, conversationId, attachmentId)
      return file && withBuffer(file)
    },

    /** Bytes of every file stored in this owner's conversations (what the attachment quota counts). */
    attachmentBytesUsed(owner: string): Promise<number> {
      return reads.attachmentBytesUsed(owner)
    },

    /**
     * Conversations whose messages contain the words (prefix match on the last word), newest
     * first, with a snippet around the match.
     */
    search(owner: string, query: string, limit = 30): Promise<SearchHit[]> {
      return reads.search(owner, query, limit)
    },

    /**
     * Deletes up to `batch` conversations last used before `cutoff` (the oldest first), with their
     * messages and files, in one job of the writer; resolves with how many went.
     */
    async forgetUnusedBefore(cutoff: Date, batch: number): Promise<number> {
      // messages and files go with their conversation (ON DELETE CASCADE), the search index with its messages
      const old = deleteOldestBefore(dialect, conversations, { id: conversations.id, time: conversations.updatedAt }, cutoff, batch)
      return changesOf(await writer.write([old]))
    },

    /** A new id for a conversation, message or attachment. */
    newId: () => newId(9),

    /** Saves the start of a reply in one job of the writer; resolves once committed. */
    beginReply(write: ReplyStartWrite): Promise<void> {
      const { conversation } = write
      const statements: Statement[] = [
        write.isNew
          ? statement(db.insert(conversations).values(conversation))
          : statement(
              db
                .update(conversations)
                .set({ title: conversation.title, modelId: conversation.modelId, updatedAt: conversation.updatedAt })
                .where(eq(conversations.id, conversation.id)),
            ),
      ]
      if (write.truncateAfter !== undefined) {
        statements.push(statement(db.delete(messages).where(and(eq(messages.conversationId, conversation.id), gt(messages.seq, write.truncateAfter)))))
      }
      if (write.edited) statements.push(statement(db.update(messages).set({ text: write.edited.text }).where(eq(messages.id, write.edited.id))))
      if (write.user) {
        statements.push(statement(db.insert(messages).values(write.user.message)))
        for (const file of write.user.files) statements.push(statement(db.insert(attachments).values(file)))
      }
      statements.push(statement(db.insert(messages).values({ ...write.reply, instance })))
      return writer.write(statements).then(() => {})
    },

    /** Settles a reply with what its model call produced; resolves once committed. */
    /**
     * Saves a finished reply. Kept while the database refuses writes, and written once it takes
     * them; meanwhile the thread shows the finished reply from memory (never "Still answering…").
     * `onDeferred` says the first try failed.
     */
    finishReply(id: string, result: ReplyFinishWrite, onDeferred?: () => void): Promise<void> {
      unsaved.set(id, result)
      const { invocationRef, ...fields } = result
      const finish = db
        .update(messages)
        .set({ ...fields, invocationId: sql`${p('invocation')}` })
        .where(eq(messages.id, id))
      return writer
        .write([statement(finish, { refs: { invocation: invocationRef } })], { keep: true, onDeferred })
        .then(() => {})
        .finally(() => {
          if (unsaved.get(id) === result) unsaved.delete(id)
        })
    },

    /** The text of a reply so far, while it streams: what a crash or a kill keeps. Not kept if refused. */
    saveProgress(id: string, text: string, reasoning: string | null): Promise<void> {
      const progress = db
        .update(messages)
        .set({ text, reasoning, progressAt: new Date() })
        .where(and(eq(messages.id, id), eq(messages.status, 'streaming')))
      return writer.write([statement(progress)]).then(() => {})
    },

    /** Finished replies waiting in memory for the database to take them. */
    get unsavedReplies(): number {
      return unsaved.size
    },

    /**
     * Replies left "streaming" by a server that stopped without saving them (kill -9, a crash,
     * power loss) are marked as interrupted, keeping the text of their last progress save, and each
     * gets the row its model call never wrote: `stopped` (the server stopped it), error type
     * `Interrupted`, running from the message's start to its last progress save. Only replies of
     * instances that are gone (a fleet's others may be streaming theirs right now). One job of the
     * writer; at start-up, and on a timer for instances that stop while others run.
     */
    async recoverInterrupted(): Promise<number> {
      const streaming = await reads.interrupted()
      const gone = await Promise.all(streaming.map(async (reply) => !(await instanceAlive(reply.instance))))
      const left = streaming.filter((_, i) => gone[i])
      if (left.length === 0) return 0
      const statements = left.flatMap((reply) => {
        const ref = `interrupted:${reply.id}`
        const row = db
          .insert(invocations)
          .values({
            timestamp: reply.createdAt,
            latencyMs: Math.max(0, (reply.progressAt ?? reply.createdAt).getTime() - reply.createdAt.getTime()),
            success: false,
            modelId: reply.modelId ?? reply.fallbackModel ?? 'unknown',
            errorType: INTERRUPTED,
            attempts: 1,
            outcome: 'stopped',
            owner: reply.owner,
          })
          .returning({ id: invocations.id })
        const marked = db
          .update(messages)
          .set({ status: 'error', error: 'This reply was interrupted when the server stopped: press Retry.', invocationId: sql`${p('invocation')}` })
          // a reply that finished between the read and this write keeps what it saved
          .where(and(eq(messages.id, reply.id), eq(messages.status, 'streaming')))
        return [statement(row, { returns: 'rows', saveAs: ref }), statement(marked, { refs: { invocation: ref } })]
      })
      await writer.write(statements)
      return left.length
    },
  }
}

export type Conversations = ReturnType<typeof createConversations>
