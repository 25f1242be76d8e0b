import { Hono, type Context } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../app.ts'
import type { Conversation } from '../db/schema.ts'
import { DEFAULT_THINKING_BUDGET, effectiveSettings, THINKING_ANSWER_ROOM } from '../services/chat/index.ts'
import { ChatHeader, ConversationList, SettingsPanel } from '../../views/chat.tsx'
import { ConfirmDeletePage } from '../../views/confirm.tsx'
import { Partial } from '../../views/partial.tsx'
import { chatPage, conversationList, ownerFor, settingsView } from '../presenters/chat-page.tsx'
import { renderErrorPage, renderFragment, renderPage } from '../http/render.tsx'
import { validForm } from '../http/validate.ts'

const conversations = new Hono<AppEnv>()

function find(c: Context<AppEnv>): Conversation | null {
  return c.var.deps.conversations.get(ownerFor(c), c.req.param('id') ?? '')
}

function notFound(c: Context<AppEnv>) {
  return renderErrorPage(c, 404, 'Conversation not found', 'There is no such conversation in this browser. It may have been deleted.')
}

const renameForm = z.object({
  title: z.string({ error: 'Type a title.' }).trim().min(1, 'Type a title.').max(80, 'A title can be at most 80 characters.'),
})

conversations.post(
  '/c/:id/rename',
  validForm(renameForm, (c, { message }) => {
    if (c.var.partial) return c.html(renderFragment(<Partial target="#rename-error" swap="innerHTML">{message}</Partial>), 422)
    return renderErrorPage(c, 422, 'That title cannot be used', message)
  }),
  (c) => {
    const found = find(c)
    if (!found) return notFound(c)
    const renamed = c.var.deps.conversations.rename(ownerFor(c), found.id, c.req.valid('form').title)!
    if (!c.var.partial) return c.redirect(`/c/${found.id}`, 303)
    return c.html(
      renderFragment(
        <>
          <Partial target="#chat-header" swap="outerHTML">
            <ChatHeader conversation={{ id: renamed.id, title: renamed.title }} title={renamed.title} />
          </Partial>
          <Partial target="#conversation-list" swap="outerHTML">
            <ConversationList conversations={conversationList(c)} currentId={renamed.id} />
          </Partial>
        </>,
      ),
    )
  },
)

/** Without JavaScript, Delete is a link to this confirmation page. */
conversations.get('/c/:id/delete', (c) => {
  const found = find(c)
  if (!found) return notFound(c)
  return renderPage(c, <ConfirmDeletePage id={found.id} title={found.title} />)
})

conversations.post('/c/:id/delete', (c) => {
  const found = find(c)
  if (!found) return notFound(c)
  c.var.deps.conversations.remove(ownerFor(c), found.id)
  c.var.deps.log.info('conversation deleted', { conversation: found.id })
  if (c.var.partial) {
    c.header('HX-Redirect', '/')
    return c.body(null, 204)
  }
  return c.redirect('/', 303)
})

const number = (what: string, min: number, max: number, integer = false) => {
  const message = `${what} must be ${integer ? 'a whole number' : 'a number'} from ${min.toLocaleString('en')} to ${max.toLocaleString('en')}.`
  // an emptied field is refused like any other bad value, not read as 0
  return z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce.number({ error: message }).refine((n) => Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n)), { message }),
  )
}

const settingsForm = z.object({
  systemPrompt: z.string().max(20_000, 'The system prompt can be at most 20,000 characters.').optional().default(''),
  temperature: number('Temperature', 0, 1),
  maxTokens: number('Max tokens', 1, 200_000, true),
  thinking: z.literal('on').optional(),
  thinkingBudget: number('The thinking budget', 1024, 128_000, true).optional(),
})

function settingsAnswer(c: Context<AppEnv>, conversation: Conversation, notice: { kind: 'ok' | 'error'; text: string }, status: 200 | 422) {
  const view = settingsView(conversation, c.var.deps.config.BEDROCK_MODEL_ID, notice)
  if (c.var.partial) return c.html(renderFragment(<SettingsPanel {...view} />), status)
  if (status === 422) return chatPage(c, conversation, { settingsNotice: notice }, 422)
  return c.redirect(`/c/${conversation.id}`, 303)
}

conversations.post(
  '/c/:id/settings',
  validForm(settingsForm, (c, { message }) => {
    const found = find(c)
    if (!found) return notFound(c)
    return settingsAnswer(c, found, { kind: 'error', text: message }, 422)
  }),
  (c) => {
    const found = find(c)
    if (!found) return notFound(c)
    const form = c.req.valid('form')
    const info = effectiveSettings(found, c.var.deps.config.BEDROCK_MODEL_ID).info
    const refuse = (text: string) => settingsAnswer(c, found, { kind: 'error', text }, 422)
    if (form.maxTokens > info.maxOutput) return refuse(`Max tokens for ${info.name} can be at most ${info.maxOutput.toLocaleString('en')}.`)
    const thinkingBudget = form.thinking ? (form.thinkingBudget ?? DEFAULT_THINKING_BUDGET) : null
    if (thinkingBudget && !info.thinking) return refuse(`${info.name} does not support thinking.`)
    if (thinkingBudget && thinkingBudget + THINKING_ANSWER_ROOM > info.maxOutput) {
      return refuse(`The thinking budget for ${info.name} can be at most ${(info.maxOutput - THINKING_ANSWER_ROOM).toLocaleString('en')} tokens (it shares the reply's ${info.maxOutput.toLocaleString('en')}).`)
    }
    const saved = c.var.deps.conversations.updateSettings(ownerFor(c), found.id, {
      systemPrompt: form.systemPrompt.trim() || null,
      temperature: form.temperature,
      maxTokens: form.maxTokens,
      thinkingBudget,
    })!
    return settingsAnswer(c, saved, { kind: 'ok', text: 'Saved. The next reply uses these settings.' }, 200)
  },
)

/** Conversations whose messages contain the words: the sidebar list for htmx, the page otherwise. */
const searchQuery = z.object({ q: z.string().max(200, 'Search for at most 200 characters.').optional().default('') })

conversations.get('/search', (c) => {
  const parsed = searchQuery.safeParse(c.req.query())
  if (!parsed.success) return renderErrorPage(c, 400, 'That search cannot be run', parsed.error.issues[0]?.message ?? 'Bad search.')
  const query = parsed.data.q
  const hits = query.trim() ? c.var.deps.conversations.search(ownerFor(c), query) : []
  const search = { query, hits }
  if (c.var.partial) return c.html(renderFragment(<ConversationList conversations={conversationList(c)} search={search} />))
  return chatPage(c, null, { search })
})

/**
 * An attachment, to its conversation's owner only. Images show inline; everything else downloads
 * (an HTML file served inline from this origin could run script), never sniffed, in a sandbox.
 */
conversations.get('/c/:id/attachments/:attachmentId', (c) => {
  const file = c.var.deps.conversations.attachment(ownerFor(c), c.req.param('id'), c.req.param('attachmentId'))
  if (!file) return renderErrorPage(c, 404, 'File not found', 'There is no such file in this browser’s conversations.')
  const inline = file.kind === 'image'
  c.header('Content-Type', inline ? file.mediaType : 'application/octet-stream')
  c.header('Content-Disposition', `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(file.originalName)}`)
  c.header('Content-Security-Policy', "default-src 'none'; sandbox")
  c.header('Cache-Control', 'private, max-age=3600')
  return c.body(new Uint8Array(file.bytes))
})

export default conversations
