import type { Attachment, Conversation, Message } from '../../db/schema.ts'
import type { Log } from '../../logger.ts'
import type { AcceptedAttachment } from './attachments/index.ts'
import { NOT_SAVED_YET, titleFrom, type Conversations, type ThreadEntry } from './conversations.ts'
import type { Session } from './sessions.ts'
import type { Limits } from './limits.ts'
import type { CallEvent, CallResult, ModelCalls } from './model-call.ts'
import { buildModelRequest } from './request.ts'
import { modelInfo, type ModelInfo } from '../models.ts'

/**
 * One reply, start to end. `start` first reads what the limits need (limits.ts `load`: today's
 * spend; the files a person keeps), then checks that the browser has no reply streaming and that
 * the limits (the person's rate and budget, the server's cap and budget, the files quota) allow a
 * call, and reserves both in the same synchronous step (nothing is awaited between the checks and
 * the reservations, so two tabs cannot both start one, nor two people both take the server's last
 * place); only then does it read the thread and build the request, giving the reservations back
 * when that refuses or fails. A refused start saves nothing and sends nothing. `run` (which the caller must call once) saves the start, calls
 * the model, hands every event to the caller, saves the reply and its metrics after the last
 * token, and frees the browser in `finally`, whatever happened.
 */

/** What starts a reply: a new message, Regenerate (or Retry), or Edit of the last message. */
export type ReplyStart =
  | { kind: 'message'; conversation: Conversation | null; text: string; files: AcceptedAttachment[]; modelId?: string }
  | { kind: 'regenerate'; conversation: Conversation; modelId?: string }
  | { kind: 'edit'; conversation: Conversation; text: string; modelId?: string }

/** Why a reply cannot start: a status for the route, a sentence for the person, and when to try again. */
export type Refusal = { status: 409 | 413 | 422 | 429 | 503; message: string; retryAfterS?: number }

/** What a reply tells whoever shows it: the model call's events, then the finished reply. */
export type ReplyEvent =
  | CallEvent
  /** `unsaved`: the start could not be saved, so nothing of this turn is stored (a new chat does not exist). */
  | { type: 'finished'; reply: ThreadEntry; thread: ThreadEntry[]; unsaved?: true }
  /** The finished reply could not be saved yet: it is kept and saved later; `reply` says so. */
  | { type: 'unsaved'; reply: ThreadEntry }

export type Reply = {
  id: string
  /** The conversation as it is from now on (a new chat's, with its title). */
  conversation: Conversation
  isNew: boolean
  /** The person's message this reply answers, when it is new or edited. */
  user?: ThreadEntry
  /** The reply as it starts: empty and streaming, or already failed when nothing fits. */
  reply: ThreadEntry
  /** Messages this reply replaces on the page (Regenerate, Edit). */
  replaced: string[]
  /** Runs the reply to its end; resolves with it once saved and the browser freed. */
  run(emit: (event: ReplyEvent) => void | Promise<void>): Promise<ThreadEntry>
  /** Ends the model call early (the browser left); the reply is saved as stopped. */
  abort(reason: 'disconnected'): void
}

export const BUSY = 'A reply is still streaming: wait for it, or press Stop.'
export const TOO_LONG = "This message is too long for the model's context window, even with every earlier message left out: shorten it or attach less."
const BROKE_OFF = 'The reply stream broke off.'
const NOT_SAVED = 'Your message could not be saved, so it was not sent: try again.'
/** How often a streaming reply's text so far is saved. */
export const PROGRESS_SAVE_MS = 2000

export const STORAGE_DOWN = 'Messages cannot be saved right now (the server cannot write its database), so yours was not sent: try again in a moment.'
export const SHUTTING_DOWN = 'The server is restarting: your message was not sent. Send it again in a moment.'
/** A browser whose saved credentials this server does not hold: nothing is sent on the server's instead. */
export const CREDENTIALS_NOT_HELD =
  'This server does not hold the credentials you saved, so your message was not sent: enter them again in the sidebar, or press Use server credentials.'

export type RepliesOptions = {
  conversations: Conversations
  modelCalls: ModelCalls
  limits: Limits
  log: Log
  defaultModelId: string
  defaultRegion: string
  now?: () => Date
  /**
   * Whether the database takes writes right now (its writer's last batch), and a small write that
   * finds out again. While it does not, new replies are refused before anything goes to Bedrock.
   */
  storage?: { writable: () => boolean; probe: () => void }
}

/** A stored message with every column set (what the writer inserts). */
function message(fields: Pick<Message, 'id' | 'conversationId' | 'seq' | 'role' | 'text' | 'status' | 'createdAt'> & Partial<Message>): Message {
  return { reasoning: null, error: null, modelId: null, invocationId: null, droppedTurns: null, progressAt: null, instance: null, ...fields }
}

function attachmentRows(messageId: string, files: AcceptedAttachment[], newId: () => string): Attachment[] {
  return files.map((file) => ({
    id: newId(),
    messageId,
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
  }))
}

/** A start refused with a status and a sentence. */
function refuse(status: Refusal['status'], text: string): { ok: false; refusal: Refusal } {
  return { ok: false, refusal: { status, message: text } }
}

/** How a finished model call is saved: its text, and the status and note the person sees. */
function outcomeOf(result: CallResult | null): Pick<Message, 'status' | 'error'> {
  if (!result) return { status: 'error', error: BROKE_OFF }
  if (result.outcome === 'ok') {
    return { status: 'done', error: result.stopReason === 'max_tokens' ? 'The reply reached the Max tokens limit and was cut off.' : null }
  }
  if (result.outcome === 'stopped') return { status: 'stopped', error: null }
  return { status: 'error', error: result.error?.message ?? 'The model call failed.' }
}

/** The catalogue's word on a message's files: a sentence when the model takes none of their kind. */
function filesRefusedBy(info: ModelInfo, files: { kind: 'image' | 'document' }[]): string | null {
  if (!info.images && files.some((f) => f.kind === 'image')) return `${info.name} does not take images: remove them, or choose another model.`
  if (!info.documents && files.some((f) => f.kind === 'document')) return `${info.name} does not take documents: remove them, or choose another model.`
  return null
}

export function createReplies({ conversations, modelCalls, limits, log, defaultModelId, defaultRegion, now = () => new Date(), storage }: RepliesOptions) {
  const newId = conversations.newId
  let closing = false

  const replies = {
    /** Shutdown: from now on every new reply is refused with a clear message; those running go on. */
    close() {
      closing = true
    },

    async start(session: Session, start: ReplyStart): Promise<{ ok: true; reply: Reply } | { ok: false; refusal: Refusal }> {
      /** What refuses a start before anything is reserved: asked before the reads and again after them. */
      const refusedNow = (): { ok: false; refusal: Refusal } | null => {
        if (closing) return { ok: false, refusal: { status: 503, message: SHUTTING_DOWN, retryAfterS: 5 } }
        if (storage && !storage.writable()) {
          // refused before anything is sent, so no call goes unrecorded; the probe finds the recovery
          storage.probe()
          return { ok: false, refusal: { status: 503, message: STORAGE_DOWN, retryAfterS: 5 } }
        }
        if (session.activeReply) return refuse(409, BUSY)
        // never quietly on the server's credentials when the person chose their own
        if (session.credentialsLost && !session.credentials) return refuse(409, CREDENTIALS_NOT_HELD)
        return null
      }
      const early = refusedNow()
      if (early) return early
      const refusedFiles =
        start.kind === 'message' ? filesRefusedBy(modelInfo(start.modelId ?? start.conversation?.modelId ?? defaultModelId), start.files) : null
      if (refusedFiles) return refuse(422, refusedFiles)

      // what the limits need from the database, read before anything is reserved
      const adding = start.kind === 'message' ? start.files.reduce((sum, f) => sum + f.size, 0) : 0
      const [filesUsed] = await Promise.all([
        limits.filesQuotaOn && adding > 0 ? conversations.attachmentBytesUsed(session.owner) : 0,
        limits.load(session.owner),
      ])
      // the reservations: from these checks to them nothing is awaited, so two tabs cannot both
      // start a reply, nor two people both take the server's last place
      const late = refusedNow()
      if (late) return late
      const limited = limits.check(session.owner) ?? limits.checkFiles(adding, filesUsed)
      if (limited) return { ok: false, refusal: limited }
      const controller = new AbortController()
      const replyId = newId()
      session.activeReply = { id: replyId, controller }
      const release = limits.reserve(session.owner)
      /** A start refused after its reservations (what its thread says): they are given back, the minute uncounted. */
      const undo = () => {
        release({ unused: true })
        if (session.activeReply?.id === replyId) session.activeReply = undefined
      }
      try {
        const begun = await prepared(session, start, replyId, controller, release)
        if (!begun.ok) undo()
        return begun
      } catch (err) {
        undo()
        throw err
      }
    },
  }

  /** The rest of a start, with the browser and a place reserved: reads the thread and builds the request. */
  async function prepared(
    session: Session,
    start: ReplyStart,
    replyId: string,
    controller: AbortController,
    reserved: (options?: { unused: true }) => void,
  ): Promise<{ ok: true; reply: Reply } | { ok: false; refusal: Refusal }> {
    const at = now()
    const existing = start.conversation
    const thread = existing ? await conversations.thread(existing.id) : []
    const conversation: Conversation = existing
      ? { ...existing, modelId: start.modelId ?? existing.modelId, updatedAt: at }
      : {
          id: newId(),
          owner: session.owner,
          title: 'New chat',
          modelId: start.modelId ?? defaultModelId,
          systemPrompt: null,
          temperature: null,
          maxTokens: null,
          thinkingBudget: null,
          promptCaching: true,
          createdAt: at,
          updatedAt: at,
        }

    // the thread as it will be once the reply is in (`before` it), and what changes to get there
    let before: ThreadEntry[]
    let user: ThreadEntry | undefined
    let newFiles: Attachment[] = []
    let truncateAfter: number | undefined
    let edited: { id: string; text: string } | undefined
    let replaced: string[] = []
    if (start.kind === 'regenerate') {
      const last = thread.at(-1)
      if (!last || last.role !== 'assistant') return refuse(409, 'There is no reply to regenerate yet.')
      before = thread.slice(0, -1)
      truncateAfter = last.seq - 1
      replaced = [last.id]
    } else if (start.kind === 'edit') {
      const lastUser = thread.findLast((m) => m.role === 'user')
      if (!lastUser) return refuse(409, 'There is no message to edit yet.')
      user = { ...lastUser, text: start.text }
      before = [...thread.filter((m) => m.seq < lastUser.seq), user]
      truncateAfter = lastUser.seq
      edited = { id: lastUser.id, text: start.text }
      replaced = [...thread.filter((m) => m.seq > lastUser.seq).map((m) => m.id), lastUser.id]
    } else {
      const seq = (thread.at(-1)?.seq ?? 0) + 1
      const userRow = message({ id: newId(), conversationId: conversation.id, seq, role: 'user', text: start.text, status: 'done', createdAt: at })
      newFiles = attachmentRows(userRow.id, start.files, newId)
      user = { ...userRow, invocation: null, attachments: newFiles.map(({ bytes: _, ...meta }) => meta) }
      before = [...thread, user]
      if (seq === 1 && conversation.title === 'New chat') {
        conversation.title = start.text.trim() ? titleFrom(start.text) : start.files[0] ? titleFrom(start.files[0].originalName) : 'New chat'
      }
    }

    // file bytes are read only for sent messages that have files; a new message's are in memory
    const withStoredFiles = new Set(before.filter((m) => m.attachments.length > 0 && !newFiles.some((f) => f.messageId === m.id)).map((m) => m.id))
    const { request, droppedTurns, fits } = await buildModelRequest(conversation, before, defaultModelId, async (ids) => [
      ...(await conversations.attachmentBytes(ids.filter((id) => withStoredFiles.has(id)))),
      ...newFiles,
    ])
    const replyRow = message({
      id: replyId,
      conversationId: conversation.id,
      seq: (before.at(-1)?.seq ?? 0) + 1,
      role: 'assistant',
      text: '',
      status: 'streaming',
      modelId: conversation.modelId ?? defaultModelId,
      createdAt: at,
    })
    const reply: ThreadEntry = {
      ...replyRow,
      droppedTurns: droppedTurns || null,
      ...(fits ? {} : { status: 'error' as const, error: TOO_LONG }),
      invocation: null,
      attachments: [],
    }
    const unpriced = fits ? limits.checkModel(request.modelId) : null
    if (unpriced) return { ok: false, refusal: unpriced }

    // a reply that makes no call (nothing fits) takes no place in the limits
    const release = () => reserved(fits ? undefined : { unused: true })
    if (!fits) release()
    session.saved = true
    // whether the start was saved, known from here on (the caller runs the reply a moment later)
    const saved = conversations
      .beginReply({
        conversation,
        isNew: !existing,
        truncateAfter,
        edited,
        user: start.kind === 'message' && user ? { message: user, files: newFiles } : undefined,
        reply: replyRow,
      })
      .then(
        () => true,
        (err: unknown) => {
          log.error('saving the start of a reply failed', { reply: reply.id, err })
          return false
        },
      )

    async function run(emit: (event: ReplyEvent) => void | Promise<void>): Promise<ThreadEntry> {
      const show = (event: ReplyEvent) =>
        Promise.resolve()
          .then(() => emit(event))
          .catch(() => {})
      try {
        // The model call starts at once: the start's save commits while the request is in flight,
        // and nothing of the reply is shown before it has (a message that could not be saved
        // ends the call at its first event).
        let result: CallResult | null = null
        // the text so far, saved every PROGRESS_SAVE_MS while it streams (what a crash keeps),
        // read from the model call's own running text, once the start is saved
        let readSoFar: (() => { text: string; reasoning: string }) | undefined
        let savedLength = 0
        let isSaved: boolean | undefined
        const progress = setInterval(() => {
          const now = isSaved ? readSoFar?.() : undefined
          if (!now || now.text.length + now.reasoning.length === savedLength) return
          savedLength = now.text.length + now.reasoning.length
          void conversations.saveProgress(reply.id, now.text, now.reasoning || null).catch(() => {})
        }, PROGRESS_SAVE_MS)
        progress.unref?.()
        if (fits) {
          const shown = (event: CallEvent): void | Promise<void> => {
            if (isSaved) return emit(event)
            return saved.then((ok) => {
              isSaved = ok
              if (ok) return emit(event)
              controller.abort('unsaved')
            })
          }
          try {
            result = await modelCalls.call({
              request,
              credentials: session.credentials,
              region: session.region ?? defaultRegion,
              owner: session.owner,
              signal: controller.signal,
              emit: shown,
              soFar: (read) => (readSoFar = read),
            })
          } catch (err) {
            log.error('a model call failed unexpectedly', { reply: reply.id, err })
          } finally {
            // the server's place is free as soon as the call is over, before the reply is saved
            release()
          }
        }
        clearInterval(progress)
        if (!(await saved)) {
          const failed: ThreadEntry = { ...reply, status: 'error', error: NOT_SAVED }
          await show({ type: 'finished', reply: failed, thread: [...before, failed], unsaved: true })
          return failed
        }
        const finished: ThreadEntry = fits
          ? { ...reply, text: result?.text ?? '', reasoning: result?.reasoning || null, ...outcomeOf(result), invocation: result?.invocation ?? null }
          : reply
        // the finished reply is shown first; saving it and its metrics comes after the last token
        await show({ type: 'finished', reply: finished, thread: [...before, finished] })
        // queued right after the call's metrics row, so both commit together. Kept while the
        // database refuses writes: the person is told, and it is saved once the database takes it
        await new Promise<void>((done) => {
          conversations
            .finishReply(
              reply.id,
              {
                text: finished.text,
                reasoning: finished.reasoning,
                status: finished.status,
                error: finished.error,
                invocationRef: result?.invocationRef ?? null,
                droppedTurns: finished.droppedTurns,
              },
              () => {
                log.warn('a finished reply could not be saved yet: it is kept and saved once the database takes writes', { reply: reply.id })
                void show({ type: 'unsaved', reply: { ...finished, error: finished.error ?? NOT_SAVED_YET } }).then(() => done())
              },
            )
            .then(done, (err: unknown) => {
              log.error('saving a reply failed', { reply: reply.id, err })
              done()
            })
        })
        return finished
      } finally {
        release()
        if (session.activeReply?.id === reply.id) session.activeReply = undefined
      }
    }

    const abort = (reason: 'disconnected') => controller.abort(reason)
    return { ok: true, reply: { id: reply.id, conversation, isNew: !existing, user, reply, replaced, run, abort } }
  }

  return replies
}

export type Replies = ReturnType<typeof createReplies>
