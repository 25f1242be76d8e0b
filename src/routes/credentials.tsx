import { Hono, type Context } from 'hono'
import type { AppEnv } from '../http/env.ts'
import { refererPath } from '../http/referer.ts'
import { renderFragment, renderPage } from '../http/render.tsx'
import { validForm } from '../http/validate.ts'
import { chatPage, conversationAt, credentialsView } from '../presenters/chat-page.tsx'
import { apiKeyKind, maskAccessKey } from '../services/chat/index.ts'
import { CredentialsPanel, type CredentialsView } from '../../views/chat.tsx'
import { credentialsForm } from '../http/forms.ts'

const credentials = new Hono<AppEnv>()

async function answer(c: Context<AppEnv>, view: CredentialsView, status: 200 | 422 = 200) {
  if (c.var.partial) return c.html(renderFragment(<CredentialsPanel {...view} />), status)
  // Without JavaScript: a refusal is the whole page with the form's message; a save goes back to the chat.
  if (status === 422) return renderPage(c, await chatPage(c.var, await conversationAt(c.var, refererPath(c)), { credentials: view }), 422)
  return c.redirect(refererPath(c), 303)
}

credentials.post(
  '/',
  validForm(credentialsForm, (c, { message, fields }) => {
    const { session, deps } = c.var
    const view = credentialsView(session, deps.config, {
      notice: { kind: 'error', text: message },
      values: { accessKeyId: fields['accessKeyId']?.slice(0, 128), region: fields['region']?.slice(0, 32) },
    })
    return answer(c, view, 422)
  }),
  (c) => {
    const { session, deps } = c.var
    const form = c.req.valid('form')
    session.region = form.region ?? session.region
    const region = session.region ?? deps.config.AWS_REGION
    if (form.kind === 'apiKey') {
      deps.sessions.setCredentials(session, { apiKey: form.apiKey })
      c.var.noteCredentials(true)
      deps.log.info('browser Bedrock API key saved', { kind: apiKeyKind(form.apiKey), region })
      return answer(c, credentialsView(session, deps.config, { notice: { kind: 'ok', text: 'Saved. Replies in this browser now use this Bedrock API key.' } }))
    }
    deps.sessions.setCredentials(session, {
      accessKeyId: form.accessKeyId,
      secretAccessKey: form.secretAccessKey,
      sessionToken: form.sessionToken,
    })
    c.var.noteCredentials(true)
    deps.log.info('browser credentials saved', { accessKey: maskAccessKey(form.accessKeyId), region })
    return answer(c, credentialsView(session, deps.config, { notice: { kind: 'ok', text: 'Saved. Replies in this browser now use these credentials.' } }))
  },
)

credentials.post('/clear', (c) => {
  const { session, deps } = c.var
  deps.sessions.setCredentials(session, undefined)
  c.var.noteCredentials(false)
  session.region = undefined
  deps.log.info('browser credentials cleared')
  return answer(c, credentialsView(session, deps.config, { notice: { kind: 'ok', text: 'Cleared. Replies now use the server credentials.' } }))
})

export default credentials
