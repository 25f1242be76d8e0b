import { Hono, type Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import { z } from 'zod'
import type { AppEnv } from '../app.ts'
import type { Conversation, Message } from '../db/schema.ts'
import type { ThreadEntry } from '../services/conversations.ts'
import { checkAttachments, type AcceptedAttachment } from '../services/attachments.ts'
import type { TurnEvent, TurnResult } from '../services/chat-turn.ts'
import { buildRequest } from '../services/conversation-turn.ts'
import { MODEL_ID_PATTERN } from '../services/models.ts'
import {
  AssistantMessage,
  ChatHeader,
  MESSAGE_MAX_LENGTH,
  StreamStart,
  ThreadActions,
  type ThreadMessageView,
} from '../../views/chat.tsx'
import { Partial } from '../../views/partial.tsx'
import { chatPage, conversationList, messageView, ownerFor, refererPath } from './pages.tsx'
import { renderErrorPage, renderFragment } from './render.tsx'
import { validForm } from './validate.ts'
import { HEARTBEAT_MS } from '../server.ts'


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

/** The conversation, switched to the model the Model select names (when it names one). */
function useModel(c: Context<AppEnv>, conversation: Conversation, modelId?: string): Conversation {
  if (!modelId || modelId === conversation.modelId) return conversation
  return c.var.deps.conversations.updateSettings(ownerFor(c), conversation.id, { modelId }) ?? conversation
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

chat.post(
  '/c/:id/messages',
  validForm(messageForm, (c, { message, fields }) => refuse(c, pageConversation(c), message, 422, fields['message'])),
  async (c) => {
    const { deps, session } = c.var
    const found = conversationParam(c)
    if (found === null) return notFound(c)
    const form = c.req.valid('form')
    const existing = found === 'new' ? null : found
    // every await comes before the busy check: from the check to the reply's reservation
    // (in streamReply) nothing yields, so two tabs cannot both start a reply
    const files = await uploadedFiles(c)
    const incoming = await Promise.all(files.map(async (f) => ({ name: f.name, type: f.type, bytes: new Uint8Array(await f.arrayBuffer()) })))
    if (session.activeTurn) return refuse(c, existing, 'A reply is still streaming: wait for it, or press Stop.', 409, form.message)
    const model = chosenModel(form)
    if (!model.ok) return refuse(c, existing, model.message, 422, form.message)

    let accepted: AcceptedAttachment[] = []
    if (incoming.length > 0) {
      const checked = checkAttachments(incoming)
      if (checked.refused.length > 0) {
        return refuse(c, existing, checked.refused.map((r) => r.reason).join(' '), 422, form.message)
      }
      accepted = checked.accepted
    }
    if (form.message === '' && accepted.length === 0) return refuse(c, existing, 'Type a message first.', 422, form.message)

    const conversation = existing ?? deps.conversations.create(ownerFor(c), { modelId: model.modelId ?? deps.config.BEDROCK_MODEL_ID })
    const current = useModel(c, conversation, model.modelId)
    const { user, reply } = deps.conversations.addExchange(current, form.message, accepted, current.modelId ?? deps.config.BEDROCK_MODEL_ID)
    return streamReply(c, current.id, reply, { user: user.id, replaced: [], isNew: existing === null })
  },
)

/** One reply as it stands: what a page loaded mid-reply polls until the reply is finished. */
chat.get('/c/:id/replies/:replyId', (c) => {
  const conversation = conversationParam(c)
  if (!conversation || conversation === 'new') return notFound(c)
  if (!c.var.partial) return c.redirect(`/c/${conversation.id}#m-${c.req.param('replyId')}`, 303)
  const entry = c.var.deps.conversations.thread(conversation.id).find((m) => m.id === c.req.param('replyId') && m.role === 'assistant')
  if (!entry) return c.html('', 404)
  const finished = entry.status !== 'streaming'
  const thread = finished ? c.var.deps.conversations.thread(conversation.id) : []
  return c.html(
    renderFragment(
      <>
        <AssistantMessage message={messageView(entry, conversation.id, c.var.session.activeTurn?.id)} />
        {finished && (
          <Partial target="#thread-actions" swap="outerHTML">
            <ThreadActions conversationId={conversation.id} messages={thread.map(actionView)} streaming={false} />
          </Partial>
        )}
      </>,
    ),
  )
})

/**
 * Where Regenerate and Edit start: this browser's conversation, with no reply streaming, switched
 * to the model the Model select names; or the answer that refuses.
 */
function retake(c: Context<AppEnv>, form: { modelId?: string; customModelId?: string }) {
  const found = conversationParam(c)
  if (!found || found === 'new') return { refused: notFound(c) }
  if (c.var.session.activeTurn) return { refused: refuse(c, found, 'A reply is still streaming: wait for it, or press Stop.', 409) }
  const model = chosenModel(form)
  if (!model.ok) return { refused: refuse(c, found, model.message, 422) }
  const conversation = useModel(c, found, model.modelId)
  return { conversation, thread: c.var.deps.conversations.thread(conversation.id) }
}

/** Regenerate (or Retry after an error): the last reply again, from the same history. */
chat.post(
  '/c/:id/regenerate',
  validForm(regenerateForm, (c, { message }) => refuse(c, pageConversation(c), message, 422)),
  (c) => {
    const { deps } = c.var
    const start = retake(c, c.req.valid('form'))
    if (start.refused) return start.refused
    const { conversation, thread } = start
    const last = thread.at(-1)
    if (!last || last.role !== 'assistant') return refuse(c, conversation, 'There is no reply to regenerate yet.', 409)
    deps.conversations.truncateAfter(conversation.id, last.seq - 1)
    const reply = deps.conversations.addReply(conversation.id, conversation.modelId ?? deps.config.BEDROCK_MODEL_ID)
    return streamReply(c, conversation.id, reply, { replaced: [last.id], isNew: false })
  },
)

/** Edit and resend the last message: its text changes, its reply is asked for again. */
chat.post(
  '/c/:id/edit',
  validForm(editForm, (c, { message, fields }) => refuse(c, pageConversation(c), message, 422, fields['message'])),
  (c) => {
    const { deps } = c.var
    const form = c.req.valid('form')
    const start = retake(c, form)
    if (start.refused) return start.refused
    const { conversation, thread } = start
    const lastUser = [...thread].reverse().find((m) => m.role === 'user')
    if (!lastUser) return refuse(c, conversation, 'There is no message to edit yet.', 409)
    const replaced = thread.filter((m) => m.seq > lastUser.seq).map((m) => m.id)
    deps.conversations.updateText(lastUser.id, form.message)
    deps.conversations.truncateAfter(conversation.id, lastUser.seq)
    const reply = deps.conversations.addReply(conversation.id, conversation.modelId ?? deps.config.BEDROCK_MODEL_ID)
    return streamReply(c, conversation.id, reply, { user: lastUser.id, replaced: [...replaced, lastUser.id], isNew: false })
  },
)

/** Stop: aborts the Bedrock call itself; the stream then ends with the partial reply marked stopped. */
chat.post('/turns/:id/stop', (c) => {
  const active = c.var.session.activeTurn
  if (active && active.id === c.req.param('id')) active.controller.abort('stop')
  if (!c.var.partial) return c.redirect(refererPath(c), 303)
  return c.body(null, 204)
})

/** What Regenerate, Retry and Edit need of a message: no Markdown rendering. */
function actionView(entry: ThreadEntry): ThreadMessageView {
  return { id: entry.id, role: entry.role, text: entry.text, status: entry.status }
}

function outcomeOf(result: TurnResult): Pick<Message, 'status' | 'error'> {
  if (result.outcome === 'ok') {
    return { status: 'done', error: result.stopReason === 'max_tokens' ? 'The reply reached the Max tokens limit and was cut off.' : null }
  }
  if (result.outcome === 'stopped') return { status: 'stopped', error: null }
  return { status: 'error', error: result.error?.message ?? 'The model call failed.' }
}

/**
 * Streams one reply into a stored, empty assistant message: as an event stream for htmx (the
 * person's message and the bubble first, then each token, then the finished reply), or, without
 * JavaScript, by waiting for the whole reply and redirecting to the conversation.
 */
async function streamReply(
  c: Context<AppEnv>,
  conversationId: string,
  reply: Message,
  start: { user?: string; replaced: string[]; isNew: boolean },
) {
  const { deps, session } = c.var
  const owner = ownerFor(c)
  const conversation = deps.conversations.get(owner, conversationId)!
  const thread = deps.conversations.thread(conversationId)
  const before = thread.filter((m) => m.id !== reply.id)
  const { request, droppedTurns, fits } = buildRequest(conversation, before, deps.config.BEDROCK_MODEL_ID, deps.conversations.attachmentBytes)
  const view = (id: string) => {
    const entry = deps.conversations.thread(conversationId).find((m) => m.id === id)
    return entry ? messageView(entry, conversationId) : undefined
  }

  const controller = new AbortController()
  // Frees the browser's turn first, whatever happens next: a failed save must not lock it out.
  const settle = (result: TurnResult | null) => {
    if (session.activeTurn?.id === reply.id) session.activeTurn = undefined
    const outcome = result ? outcomeOf(result) : { status: 'error' as const, error: 'The reply stream broke off.' }
    try {
      deps.conversations.finishReply(reply.id, {
        text: result?.text ?? '',
        reasoning: result?.reasoning,
        ...outcome,
        invocationId: result?.invocationId,
        droppedTurns,
      })
    } catch (err) {
      deps.log.error('saving a reply failed', { reply: reply.id, err })
    }
  }
  const run = (emit: (event: TurnEvent) => void | Promise<void>) =>
    fits
      ? deps.turns.run({ request, credentials: session.credentials, region: session.region ?? deps.config.AWS_REGION, signal: controller.signal, emit })
      : null

  if (!fits) {
    deps.conversations.finishReply(reply.id, {
      text: '',
      status: 'error',
      error: "This message is too long for the model's context window, even with every earlier message left out: shorten it or attach less.",
    })
  } else {
    session.activeTurn = { id: reply.id, controller }
  }

  deps.keepOpen?.(c.req.raw)
  if (!c.var.partial) {
    // Without JavaScript: wait for the whole reply, then show the conversation again.
    c.req.raw.signal.addEventListener('abort', () => controller.abort('disconnected'))
    let result: TurnResult | null = null
    try {
      result = await run(() => {})
    } finally {
      if (fits) settle(result)
    }
    return c.redirect(`/c/${conversationId}#m-${reply.id}`, 303)
  }

  return streamSSE(c, async (stream) => {
    const gone = () => controller.abort('disconnected')
    stream.onAbort(gone)
    c.req.raw.signal.addEventListener('abort', gone)
    const send = async (html: string) => {
      if (stream.aborted || stream.closed) return
      try {
        await stream.writeSSE({ data: html })
      } catch {
        gone()
      }
    }
    const heartbeat = setInterval(() => {
      if (!stream.aborted && !stream.closed) stream.write(': keep-alive\n\n').catch(gone)
    }, HEARTBEAT_MS)
    try {
      const replyView: ThreadMessageView = { ...view(reply.id)!, status: fits ? 'streaming' : 'error', html: undefined, poll: undefined }
      await send(
        renderFragment(
          <StreamStart
            user={start.user ? view(start.user) : undefined}
            reply={{ ...replyView, droppedTurns }}
            replaced={start.replaced}
            conversation={{ id: conversation.id, title: conversation.title }}
            conversations={conversationList(c)}
            isNew={start.isNew}
          />,
        ),
      )
      let firstText = true
      let firstThought = true
      const result = await run((event) => {
        const html = eventFragment(reply.id, event, { firstText, firstThought })
        if (event.type === 'text') firstText = false
        if (event.type === 'reasoning') firstThought = false
        return send(html)
      })
      if (result) settle(result)
      const finished = view(reply.id)
      const latest = deps.conversations.thread(conversationId).map(actionView)
      await send(
        renderFragment(
          <>
            {finished && (
              <Partial target={`#m-${reply.id}`} swap="outerHTML">
                <AssistantMessage message={finished} />
              </Partial>
            )}
            {start.isNew && (
              <Partial target="#chat-header" swap="outerHTML">
                <ChatHeader conversation={{ id: conversation.id, title: conversation.title }} title={conversation.title} />
              </Partial>
            )}
            <Partial target="#thread-actions" swap="outerHTML">
              <ThreadActions conversationId={conversationId} messages={latest} streaming={false} />
            </Partial>
          </>,
        ),
      )
    } finally {
      clearInterval(heartbeat)
      c.req.raw.signal.removeEventListener('abort', gone)
      if (session.activeTurn?.id === reply.id) settle(null)
    }
  })
}

/** The stream message for one turn event: text appended to the bubble, thinking, or a status line. */
function eventFragment(replyId: string, event: TurnEvent, first: { firstText: boolean; firstThought: boolean }): string {
  const status = (text: string) => (
    <Partial target={`#m-${replyId}-status`} swap="innerHTML">
      {text}
    </Partial>
  )
  if (event.type === 'retry') {
    return renderFragment(status(`Bedrock answered ${event.errorName || 'with an error'}; retrying (attempt ${event.attempt} of ${event.maxAttempts})…`))
  }
  if (event.type === 'reasoning') {
    return renderFragment(
      <>
        {first.firstThought && (
          <Partial target={`#m-${replyId}-thinking-box`} swap="outerHTML">
            <details class="thinking" id={`m-${replyId}-thinking-box`}>
              <summary>Thinking</summary>
              <div class="thinking-text" id={`m-${replyId}-thinking`}></div>
            </details>
          </Partial>
        )}
        <Partial target={`#m-${replyId}-thinking`} swap="beforeend">
          {event.text}
        </Partial>
        {first.firstThought && status('Thinking…')}
      </>,
    )
  }
  return renderFragment(
    <>
      <Partial target={`#m-${replyId}-text`} swap="beforeend">
        {event.text}
      </Partial>
      {first.firstText && status('')}
    </>,
  )
}

export default chat
