import { Hono, type Context } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../app.ts'
import type { Conversation } from '../db/schema.ts'
import type { ThreadEntry } from '../services/chat/index.ts'
import { checkAttachments, type AcceptedAttachment } from '../services/chat/index.ts'
import { BUSY, type Reply, type ReplyStart } from '../services/chat/index.ts'
import { MODEL_ID_PATTERN } from '../services/models.ts'
import {
  AssistantMessage,
  ChatHeader,
  MESSAGE_MAX_LENGTH,
  replyStreamRenderer,
  StreamStart,
  ThreadActions,
  type ThreadMessageView,
} from '../../views/chat.tsx'
import { Partial } from '../../views/partial.tsx'
import { chatPage, conversationList, markdownReady, messageView, ownerFor, refererPath } from '../presenters/chat-page.tsx'
import { renderErrorPage, renderFragment } from '../http/render.tsx'
import { validForm } from '../http/validate.ts'
import { eventStream, keepOpen } from '../http/event-stream.ts'


const messageText = z
  .string()
  .trim()
  .max(MESSAGE_MAX_LENGTH, `A message can be at most ${MESSAGE_MAX_LENGTH.toLocaleString('en')} characters.`)

const messageForm = z.object({
  message: messageText.optional().default(''),
  modelId: z.string().trim().optional(),
  customModelId: z.string().trim().optional(),
  files: z.any().optional(),
})

const modelFields = { modelId: z.string().trim().optional(), customModelId: z.string().trim().optional() }
const regenerateForm = z.object(modelFields)
const editForm = z.object({ message: messageText.min(1, 'Type the message to send.'), ...modelFields })

const chat = new Hono<AppEnv>()

/** The model a message asks for: a listed one, or the "Custom model ID" field. */
function chosenModel(form: { modelId?: string; customModelId?: string }): { ok: true; modelId?: string } | { ok: false; message: string } {
  const id = form.modelId === 'custom' ? form.customModelId : form.modelId
  if (!id) return form.modelId === 'custom' ? { ok: false, message: 'Enter a Custom model ID, or choose a model from the list.' } : { ok: true }
  if (!MODEL_ID_PATTERN.test(id)) {
    return { ok: false, message: 'A Custom model ID is a Bedrock model ID, inference profile ID or ARN, such as us.anthropic.claude-sonnet-4-5-20250929-v1:0.' }
  }
  return { ok: true, modelId: id }
}

/** A refused message: next to the composer for htmx, the whole page (text kept) without it. */
function refuse(c: Context<AppEnv>, conversation: Conversation | null, message: string, status: 409 | 422, text?: string) {
  if (c.var.partial) {
    return c.html(renderFragment(<Partial target="#composer-error" swap="innerHTML">{message}</Partial>), status)
  }
  return chatPage(c, conversation, { composer: { text, error: message } }, status)
}

function notFound(c: Context<AppEnv>) {
  return renderErrorPage(c, 404, 'Conversation not found', 'There is no such conversation in this browser. It may have been deleted.')
}

/** The conversation in the URL, for this browser only ('new' creates nothing yet). */
function conversationParam(c: Context<AppEnv>): Conversation | null | 'new' {
  const id = c.req.param('id') ?? ''
  if (id === 'new') return 'new'
  return c.var.deps.conversations.get(ownerFor(c), id)
}

/** The conversation of the URL for re-showing a refused form (null: a new chat, or not this browser's). */
function pageConversation(c: Context<AppEnv>): Conversation | null {
  const found = conversationParam(c)
  return found === 'new' ? null : found
}

async function uploadedFiles(c: Context<AppEnv>): Promise<File[]> {
  const body = await c.req.parseBody({ all: true }).catch(() => ({}) as Record<string, unknown>)
  const raw = body['files']
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]
  // an empty file input still sends one part: no name, no bytes
  return list.filter((f): f is File => f instanceof File && (f.size > 0 || Boolean(f.name)))
}

chat.get('/', (c) => chatPage(c, null))

chat.get('/c/:id', (c) => {
  const conversation = conversationParam(c)
  if (conversation === 'new') return c.redirect('/', 302)
  if (!conversation) return notFound(c)
  return chatPage(c, conversation)
})

/** Starts a reply through the reply service, or answers its refusal; then streams it. */
function startReply(c: Context<AppEnv>, start: ReplyStart, text?: string) {
  const started = c.var.deps.replies.start(c.var.session, ownerFor(c), start)
  if (!started.ok) return refuse(c, start.conversation, started.refusal.message, started.refusal.status, text)
  return streamReply(c, started.reply)
}

chat.post(
  '/c/:id/messages',
  validForm(messageForm, (c, { message, fields }) => refuse(c, pageConversation(c), message, 422, fields['message'])),
  async (c) => {
    const found = conversationParam(c)
    if (found === null) return notFound(c)
    const form = c.req.valid('form')
    const existing = found === 'new' ? null : found
    // every await comes before the reply service's start, which checks and reserves the browser in one step
    const files = await uploadedFiles(c)
    const incoming = await Promise.all(files.map(async (f) => ({ name: f.name, type: f.type, bytes: new Uint8Array(await f.arrayBuffer()) })))
    if (c.var.session.activeReply) return refuse(c, existing, BUSY, 409, form.message)
    const model = chosenModel(form)
    if (!model.ok) return refuse(c, existing, model.message, 422, form.message)

    let accepted: AcceptedAttachment[] = []
    if (incoming.length > 0) {
      const checked = await checkAttachments(incoming)
      if (checked.refused.length > 0) {
        return refuse(c, existing, checked.refused.map((r) => r.reason).join(' '), 422, form.message)
      }
      accepted = checked.accepted
    }
    if (form.message === '' && accepted.length === 0) return refuse(c, existing, 'Type a message first.', 422, form.message)
    return startReply(c, { kind: 'message', conversation: existing, text: form.message, files: accepted, modelId: model.modelId }, form.message)
  },
)

/** One reply as it stands: what a page loaded mid-reply polls until the reply is finished. */
chat.get('/c/:id/replies/:replyId', async (c) => {
  const conversation = conversationParam(c)
  if (!conversation || conversation === 'new') return notFound(c)
  if (!c.var.partial) return c.redirect(`/c/${conversation.id}#m-${c.req.param('replyId')}`, 303)
  const thread = c.var.deps.conversations.thread(conversation.id)
  const entry = thread.find((m) => m.id === c.req.param('replyId') && m.role === 'assistant')
  if (!entry) return c.html('', 404)
  const finished = entry.status !== 'streaming'
  if (finished) await markdownReady()
  return c.html(
    renderFragment(
      <>
        <AssistantMessage message={messageView(entry, conversation.id, c.var.session.activeReply?.id)} />
        {finished && (
          <Partial target="#thread-actions" swap="outerHTML">
            <ThreadActions conversationId={conversation.id} messages={thread.map(actionView)} streaming={false} />
          </Partial>
        )}
      </>,
    ),
  )
})

/** Where Regenerate and Edit start: this browser's conversation and the model the Model select names. */
function retake(c: Context<AppEnv>, form: { modelId?: string; customModelId?: string }) {
  const found = conversationParam(c)
  if (!found || found === 'new') return { refused: notFound(c) }
  const model = chosenModel(form)
  if (!model.ok) return { refused: refuse(c, found, model.message, 422) }
  return { conversation: found, modelId: model.modelId }
}

/** Regenerate (or Retry after an error): the last reply again, from the same history. */
chat.post(
  '/c/:id/regenerate',
  validForm(regenerateForm, (c, { message }) => refuse(c, pageConversation(c), message, 422)),
  (c) => {
    const start = retake(c, c.req.valid('form'))
    if (start.refused) return start.refused
    return startReply(c, { kind: 'regenerate', conversation: start.conversation, modelId: start.modelId })
  },
)

/** Edit and resend the last message: its text changes, its reply is asked for again. */
chat.post(
  '/c/:id/edit',
  validForm(editForm, (c, { message, fields }) => refuse(c, pageConversation(c), message, 422, fields['message'])),
  (c) => {
    const form = c.req.valid('form')
    const start = retake(c, form)
    if (start.refused) return start.refused
    return startReply(c, { kind: 'edit', conversation: start.conversation, text: form.message, modelId: start.modelId }, form.message)
  },
)

/** Stop: aborts the Bedrock call itself; the stream then ends with the partial reply marked stopped. */
chat.post('/replies/:id/stop', (c) => {
  const active = c.var.session.activeReply
  if (active && active.id === c.req.param('id')) active.controller.abort('stop')
  if (!c.var.partial) return c.redirect(refererPath(c), 303)
  return c.body(null, 204)
})

/** What Regenerate, Retry and Edit need of a message: no Markdown rendering. */
function actionView(entry: ThreadEntry): ThreadMessageView {
  return { id: entry.id, role: entry.role, text: entry.text, status: entry.status }
}

/**
 * Shows one reply as it runs: as an event stream for htmx (the person's message and the bubble
 * first, then each token, then the finished reply), or, without JavaScript, by waiting for the
 * whole reply and redirecting to the conversation. The reply service owns everything else.
 */
async function streamReply(c: Context<AppEnv>, reply: Reply) {
  const { conversation } = reply
  if (!c.var.partial) {
    keepOpen(c)
    c.req.raw.signal.addEventListener('abort', () => reply.abort('disconnected'))
    await reply.run(() => {})
    return c.redirect(`/c/${conversation.id}#m-${reply.id}`, 303)
  }

  const piece = replyStreamRenderer(reply.id)
  const opening = renderFragment(
    <StreamStart
      user={reply.user && messageView(reply.user, conversation.id)}
      reply={{ ...messageView(reply.reply, conversation.id), poll: undefined }}
      replaced={reply.replaced}
      conversation={{ id: conversation.id, title: conversation.title }}
      conversations={reply.isNew ? conversationList(c, conversation) : []}
      isNew={reply.isNew}
    />,
  )
  return eventStream(
    c,
    async (out) => {
      out.onGone(() => reply.abort('disconnected'))
      out.send(opening)
      await reply.run((event) => {
        if (event.type !== 'finished') {
          out.send(piece(event))
          return
        }
        // the finished reply is rendered from Markdown, loaded by now except just after start-up
        return markdownReady().then(() => {
          out.send(
            renderFragment(
              <>
                <Partial target={`#m-${reply.id}`} swap="outerHTML">
                  <AssistantMessage message={messageView(event.reply, conversation.id)} />
                </Partial>
                {reply.isNew && (
                  <Partial target="#chat-header" swap="outerHTML">
                    <ChatHeader conversation={{ id: conversation.id, title: conversation.title }} title={conversation.title} />
                  </Partial>
                )}
                <Partial target="#thread-actions" swap="outerHTML">
                  <ThreadActions conversationId={conversation.id} messages={event.thread.map(actionView)} streaming={false} />
                </Partial>
              </>,
            ),
          )
        })
      })
    },
    (err) => c.var.deps.log.error('a reply stream failed', { reply: reply.id, err }),
  )
}

export default chat
