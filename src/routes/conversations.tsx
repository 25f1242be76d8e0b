import { Hono, type Context } from 'hono'
import type { Conversation } from '../db/schema.ts'
import type { AppEnv } from '../http/env.ts'
import { renderErrorPage, renderFragment, renderPage } from '../http/render.tsx'
import { validForm, validQuery } from '../http/validate.ts'
import { conversationNotFound, urlConversation, type ConversationEnv } from '../middleware/conversation.ts'
import { chatPage, conversationList, settingsView } from '../presenters/chat-page.tsx'
import { DEFAULT_THINKING_BUDGET, effectiveSettings, THINKING_ANSWER_ROOM } from '../services/chat/index.ts'
import { ChatHeader, ConversationList, SettingsPanel } from '../../views/chat.tsx'
import { ConfirmDeletePage } from '../../views/confirm.tsx'
import { Partial } from '../../views/partial.tsx'
import { FORM_LIMITS, renameForm, searchQuery, settingsFields, settingsForm } from '../http/forms.ts'

const conversations = new Hono<AppEnv>()

conversations.post(
  '/c/:id/rename',
  urlConversation(),
  validForm(renameForm, (c, { message }) => {
    if (c.var.partial)
      return c.html(
        renderFragment(
          <Partial target="#rename-error" swap="innerHTML">
            {message}
          </Partial>,
        ),
        422,
      )
    return renderErrorPage(c, 422, 'That title cannot be used', message)
  }),
  async (c) => {
    const found = c.var.conversation
    const renamed = await c.var.deps.conversations.rename(c.var.session.owner, found.id, c.req.valid('form').title)
    if (!renamed) return conversationNotFound(c)
    if (!c.var.partial) return c.redirect(`/c/${found.id}`, 303)
    return c.html(
      renderFragment(
        <>
          <Partial target="#chat-header" swap="outerHTML">
            <ChatHeader conversation={{ id: renamed.id, title: renamed.title }} title={renamed.title} titleMax={FORM_LIMITS.title} />
          </Partial>
          <Partial target="#conversation-list" swap="outerHTML">
            <ConversationList conversations={await conversationList(c.var)} currentId={renamed.id} />
          </Partial>
        </>,
      ),
    )
  },
)

/** Without JavaScript, Delete is a link to this confirmation page. */
conversations.get('/c/:id/delete', urlConversation(), (c) => {
  const found = c.var.conversation
  return renderPage(c, <ConfirmDeletePage id={found.id} title={found.title} />)
})

conversations.post('/c/:id/delete', urlConversation(), async (c) => {
  const found = c.var.conversation
  await c.var.deps.conversations.remove(c.var.session.owner, found.id)
  c.var.deps.log.info('conversation deleted', { conversation: found.id })
  if (c.var.partial) {
    c.header('HX-Redirect', '/')
    return c.body(null, 204)
  }
  return c.redirect('/', 303)
})

async function settingsAnswer(c: Context<ConversationEnv>, conversation: Conversation, notice: { kind: 'ok' | 'error'; text: string }, status: 200 | 422) {
  const view = settingsView(conversation, c.var.deps.config.BEDROCK_MODEL_ID, notice)
  if (c.var.partial) return c.html(renderFragment(<SettingsPanel {...view} />), status)
  if (status === 422) return renderPage(c, await chatPage(c.var, conversation, { settingsNotice: notice }), 422)
  return c.redirect(`/c/${conversation.id}`, 303)
}

conversations.post(
  '/c/:id/settings',
  urlConversation(),
  validForm(
    settingsForm,
    (c: Context<ConversationEnv>, { message }) => settingsAnswer(c, c.var.conversation, { kind: 'error', text: message }, 422),
    settingsFields,
  ),
  async (c) => {
    const found = c.var.conversation
    const form = c.req.valid('form')
    const info = effectiveSettings(found, c.var.deps.config.BEDROCK_MODEL_ID).info
    const refuse = (text: string) => settingsAnswer(c, found, { kind: 'error', text }, 422)
    if (form.maxTokens > info.maxOutput) return refuse(`Max tokens for ${info.name} can be at most ${info.maxOutput.toLocaleString('en')}.`)
    // thinking_budget: 0 is off, a number on; a model that cannot think keeps what was saved for another
    const budget = form.thinking && info.thinking === 'budget' ? (form.thinkingBudget ?? DEFAULT_THINKING_BUDGET) : null
    if (form.thinking && info.thinking === 'none') return refuse(`${info.name} does not support thinking.`)
    if (budget && budget + THINKING_ANSWER_ROOM > info.maxOutput) {
      return refuse(
        `The thinking budget for ${info.name} can be at most ${(info.maxOutput - THINKING_ANSWER_ROOM).toLocaleString('en')} tokens (it shares the reply's ${info.maxOutput.toLocaleString('en')}).`,
      )
    }
    const thinkingBudget = info.thinking === 'none' ? found.thinkingBudget : !form.thinking ? 0 : (budget ?? (found.thinkingBudget || DEFAULT_THINKING_BUDGET))
    const saved = await c.var.deps.conversations.updateSettings(c.var.session.owner, found.id, {
      systemPrompt: form.systemPrompt.trim() || null,
      temperature: form.temperature ?? found.temperature,
      maxTokens: form.maxTokens,
      thinkingBudget,
      // a model without prompt caching shows no checkbox: the conversation keeps its choice
      promptCaching: info.cacheMinTokens !== undefined ? form.promptCaching === 'on' : found.promptCaching,
    })
    if (!saved) return conversationNotFound(c)
    return settingsAnswer(c, saved, { kind: 'ok', text: 'Saved. The next reply uses these settings.' }, 200)
  },
)

/** Conversations whose messages contain the words: the sidebar list for htmx, the page otherwise. */
conversations.get(
  '/search',
  validQuery(searchQuery, (c, message) => renderErrorPage(c, 400, 'That search cannot be run', message)),
  async (c) => {
    const query = c.req.valid('query').q
    const hits = query.trim() ? await c.var.deps.conversations.search(c.var.session.owner, query) : []
    const search = { query, hits }
    if (c.var.partial) return c.html(renderFragment(<ConversationList conversations={await conversationList(c.var)} search={search} />))
    return renderPage(c, await chatPage(c.var, null, { search }))
  },
)

/**
 * An attachment, to its conversation's owner only. Images show inline; everything else downloads
 * (an HTML file served inline from this origin could run script), never sniffed, in a sandbox.
 */
conversations.get('/c/:id/attachments/:attachmentId', async (c) => {
  const file = await c.var.deps.conversations.attachment(c.var.session.owner, c.req.param('id'), c.req.param('attachmentId'))
  if (!file) return renderErrorPage(c, 404, 'File not found', 'There is no such file in this browser’s conversations.')
  const inline = file.kind === 'image'
  c.header('Content-Type', inline ? file.mediaType : 'application/octet-stream')
  c.header('Content-Disposition', `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(file.originalName)}`)
  c.header('Content-Security-Policy', "default-src 'none'; sandbox")
  c.header('Cache-Control', 'private, max-age=3600')
  return c.body(new Uint8Array(file.bytes))
})

export default conversations
