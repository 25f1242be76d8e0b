import { Hono, type Context } from 'hono'
import { STORAGE_RETRY_S, StorageNotAnswering } from '../db/read-pool.ts'
import type { Conversation } from '../db/schema.ts'
import type { AppEnv } from '../http/env.ts'
import { keepOpen, eventStream } from '../http/event-stream.ts'
import { refererPath } from '../http/referer.ts'
import { renderFragment, renderPage } from '../http/render.tsx'
import { validForm } from '../http/validate.ts'
import { urlConversation, urlConversationOrNew, type ConversationEnv, type ConversationOrNewEnv } from '../middleware/conversation.ts'
import { budgetView, chatPage, conversationList, markdownReady, messageView, type ChatPageExtra } from '../presenters/chat-page.tsx'
import { withoutBidiControls } from '../services/bidi.ts'
import { BUSY, checkAttachments, type AcceptedAttachment, type Refusal, type Reply, type ReplyStart, type ThreadEntry } from '../services/chat/index.ts'
import {
  AssistantMessage,
  BudgetLine,
  ChatHeader,
  ConversationList,
  ConversationMeta,
  NEW_CHAT_TITLE,
  replyStreamRenderer,
  StreamStart,
  ThreadActions,
  ThreadNotice,
  type ThreadMessageView,
} from '../../views/chat.tsx'
import { Partial } from '../../views/partial.tsx'
import { editFields, editForm, FORM_LIMITS, messageFields, messageForm, regenerateForm } from '../http/forms.ts'

const chat = new Hono<AppEnv>()

/** The whole chat page with the given status. */
async function page<E extends AppEnv>(c: Context<E>, conversation: Conversation | null, extra: ChatPageExtra = {}, status: 200 | Refusal['status'] = 200) {
  return renderPage(c, await chatPage(c.var, conversation, extra), status)
}

/**
 * A refused message: next to the composer for htmx, the whole page (text kept) without it. A
 * refusal by a limit says when to try again (Retry-After) as well as in words.
 */
function refuse<E extends ConversationOrNewEnv>(c: Context<E>, message: string, status: Refusal['status'], text?: string, retryAfterS?: number) {
  if (retryAfterS !== undefined) c.header('Retry-After', String(retryAfterS))
  if (c.var.partial) {
    return c.html(
      renderFragment(
        <Partial target="#composer-error" swap="innerHTML">
          {message}
        </Partial>,
      ),
      status,
    )
  }
  return page(c, c.var.conversation, { composer: { text, error: message } }, status)
}

chat.get('/', (c) => page(c, null))

chat.get('/c/new', (c) => c.redirect('/', 302))

chat.get('/c/:id', urlConversation(), (c) => page(c, c.var.conversation))

/** Starts a reply through the reply service, or answers its refusal; then streams it. */
async function startReply<E extends ConversationOrNewEnv>(c: Context<E>, start: ReplyStart, text?: string) {
  const started = await c.var.deps.replies.start(c.var.session, start).catch((err: unknown) => {
    // the database did not answer the reads a start needs: nothing was sent, the text stays in the box
    if (err instanceof StorageNotAnswering)
      return {
        ok: false as const,
        refusal: { status: 503 as const, message: `${err.message} Your message was not sent: try again in a moment.`, retryAfterS: STORAGE_RETRY_S },
      }
    throw err
  })
  if (!started.ok) return refuse(c, started.refusal.message, started.refusal.status, text, started.refusal.retryAfterS)
  return streamReply(c, started.reply)
}

chat.post(
  '/c/:id/messages',
  urlConversationOrNew(),
  validForm(messageForm, (c: Context<ConversationOrNewEnv>, { message, fields }) => refuse(c, message, 422, fields['message']), messageFields),
  async (c) => {
    const form = c.req.valid('form')
    const conversation = c.var.conversation
    // every await comes before the reply service's start, which checks and reserves the browser in one step
    const incoming = await Promise.all(form.files.map(async (f) => ({ name: f.name, type: f.type, bytes: new Uint8Array(await f.arrayBuffer()) })))
    const checked = incoming.length > 0 ? await checkAttachments(incoming) : { accepted: [], refused: [] }
    if (c.var.session.activeReply) return refuse(c, BUSY, 409, form.message)
    if (checked.refused.length > 0) return refuse(c, checked.refused.map((r) => r.reason).join(' '), 422, form.message)
    const accepted: AcceptedAttachment[] = checked.accepted
    if (form.message === '' && accepted.length === 0) return refuse(c, 'Type a message first.', 422, form.message)
    return startReply(c, { kind: 'message', conversation, text: form.message, files: accepted, modelId: form.modelId }, form.message)
  },
)

/** One reply as it stands: what a page loaded mid-reply polls until the reply is finished. */
chat.get('/c/:id/replies/:replyId', urlConversation(), async (c) => {
  const { conversation } = c.var
  if (!c.var.partial) return c.redirect(`/c/${conversation.id}#m-${c.req.param('replyId')}`, 303)
  const thread = await c.var.deps.conversations.thread(conversation.id)
  const entry = thread.find((m) => m.id === c.req.param('replyId') && m.role === 'assistant')
  // the bubble that polls is replaced by the note, so it stops polling
  if (!entry)
    return c.html(renderFragment(<ThreadNotice>This reply is no longer in the conversation. Reload the page to see it as it is now.</ThreadNotice>), 404)
  const finished = entry.status !== 'streaming'
  if (finished) await markdownReady()
  return c.html(
    renderFragment(
      <>
        <AssistantMessage message={messageView(entry, conversation.id, c.var.session.activeReply?.id)} />
        {finished && (
          <Partial target="#thread-actions" swap="outerHTML">
            <ThreadActions conversationId={conversation.id} messages={thread.map(actionView)} streaming={false} messageMax={FORM_LIMITS.message} />
          </Partial>
        )}
      </>,
    ),
  )
})

/** Regenerate (or Retry after an error): the last reply again, from the same history. */
chat.post(
  '/c/:id/regenerate',
  urlConversation(),
  validForm(regenerateForm, (c: Context<ConversationEnv>, { message }) => refuse(c, message, 422)),
  (c) => startReply(c, { kind: 'regenerate', conversation: c.var.conversation, modelId: c.req.valid('form').modelId }),
)

/** Edit and resend the last message: its text changes, its reply is asked for again. */
chat.post(
  '/c/:id/edit',
  urlConversation(),
  validForm(editForm, (c: Context<ConversationEnv>, { message, fields }) => refuse(c, message, 422, fields['message']), editFields),
  (c) => {
    const form = c.req.valid('form')
    return startReply(c, { kind: 'edit', conversation: c.var.conversation, text: form.message, modelId: form.modelId }, form.message)
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
async function streamReply<E extends AppEnv>(c: Context<E>, reply: Reply) {
  const { conversation } = reply
  if (!c.var.partial) {
    keepOpen(c)
    c.req.raw.signal.addEventListener('abort', () => reply.abort('disconnected'))
    await reply.run(() => {})
    return c.redirect(`/c/${conversation.id}#m-${reply.id}`, 303)
  }

  const piece = replyStreamRenderer(reply.id)
  // a new chat joins the sidebar's list; when the database does not answer, it is shown alone
  const listed = reply.isNew ? await conversationList(c.var, conversation).catch(() => [{ id: conversation.id, title: conversation.title }]) : []
  const opening = renderFragment(
    <StreamStart
      user={reply.user && messageView(reply.user, conversation.id)}
      reply={{ ...messageView(reply.reply, conversation.id), poll: undefined }}
      replaced={reply.replaced}
      conversation={{ id: conversation.id, title: conversation.title }}
      conversations={listed}
      isNew={reply.isNew}
    />,
  )
  return eventStream(
    c,
    async (out) => {
      out.onGone(() => reply.abort('disconnected'))
      out.send(opening)
      await reply.run((event) => {
        if (event.type === 'unsaved') {
          // the reply is kept and saved later: its bubble says so
          out.send(
            renderFragment(
              <Partial target={`#m-${reply.id}`} swap="outerHTML">
                <AssistantMessage message={messageView(event.reply, conversation.id)} />
              </Partial>,
            ),
          )
          return
        }
        if (event.type !== 'finished') {
          // model output never shows bidi controls, while it streams as once it is rendered
          out.send(piece(event.type === 'retry' ? event : { ...event, text: withoutBidiControls(event.text) }))
          return
        }
        if (event.unsaved && reply.isNew) {
          // nothing of this new chat was stored: the page goes back to a new chat, not to an address that leads nowhere
          return conversationList(c.var)
            .catch(() => undefined)
            .then((list) => {
              out.send(
                renderFragment(
                  <>
                    <Partial target={`#m-${reply.id}`} swap="outerHTML">
                      <AssistantMessage message={messageView(event.reply, conversation.id)} />
                    </Partial>
                    <Partial target="#conversation-meta" swap="outerHTML">
                      <ConversationMeta />
                    </Partial>
                    <Partial target="#chat-header" swap="outerHTML">
                      <ChatHeader title={NEW_CHAT_TITLE} titleMax={FORM_LIMITS.title} />
                    </Partial>
                    {list && (
                      <Partial target="#conversation-list" swap="outerHTML">
                        <ConversationList conversations={list} />
                      </Partial>
                    )}
                    <Partial target="#thread-actions" swap="outerHTML">
                      <ThreadActions messages={[]} streaming={false} messageMax={FORM_LIMITS.message} />
                    </Partial>
                  </>,
                ),
              )
            })
        }
        // the finished reply is rendered from Markdown, loaded by now except just after start-up
        // today's spend, with this call counted (it was counted as it was recorded); none when it cannot be read
        return Promise.all([markdownReady(), budgetView(c.var).catch(() => undefined)]).then(([, budget]) => {
          out.send(
            renderFragment(
              <>
                <Partial target={`#m-${reply.id}`} swap="outerHTML">
                  <AssistantMessage message={messageView(event.reply, conversation.id)} />
                </Partial>
                {reply.isNew && (
                  <Partial target="#chat-header" swap="outerHTML">
                    <ChatHeader conversation={{ id: conversation.id, title: conversation.title }} title={conversation.title} titleMax={FORM_LIMITS.title} />
                  </Partial>
                )}
                <Partial target="#thread-actions" swap="outerHTML">
                  <ThreadActions conversationId={conversation.id} messages={event.thread.map(actionView)} streaming={false} messageMax={FORM_LIMITS.message} />
                </Partial>
                {budget && (
                  <Partial target="#budget" swap="outerHTML">
                    <BudgetLine budget={budget} />
                  </Partial>
                )}
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
