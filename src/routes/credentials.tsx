import { Hono, type Context } from 'hono'
import { z } from 'zod'
import type { AppEnv } from '../app.ts'
import { maskAccessKey } from '../services/chat/index.ts'
import { CredentialsPanel, type CredentialsView } from '../../views/chat.tsx'
import { chatPage, credentialsView, refererConversation, refererPath } from '../presenters/chat-page.tsx'
import { renderFragment } from '../http/render.tsx'
import { validForm } from '../http/validate.ts'

const optional = (schema: z.ZodString) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional())

export const credentialsForm = z
  .object({
    accessKeyId: z
      .string({ error: 'Enter the AWS Access Key ID.' })
      .trim()
      .min(1, 'Enter the AWS Access Key ID.')
      .regex(/^(AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,124}$/, 'An AWS Access Key ID looks like AKIA… or ASIA… (16 or more capital letters and digits).'),
    secretAccessKey: z
      .string({ error: 'Enter the AWS Secret Access Key.' })
      .trim()
      .min(1, 'Enter the AWS Secret Access Key.')
      .regex(/^[A-Za-z0-9/+=]{16,128}$/, 'An AWS Secret Access Key is 40 characters of letters, digits, / and +.'),
    sessionToken: optional(z.string().trim().max(8192, 'That session token is too long.').regex(/^[A-Za-z0-9/+=]+$/, 'A session token has only letters, digits, / + and =.')),
    region: optional(z.string().trim().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'An AWS Region looks like us-east-1.')),
  })
  .refine((v) => !v.accessKeyId.startsWith('ASIA') || v.sessionToken, {
    message: 'Temporary keys (ASIA…) need their AWS Session Token.',
    path: ['sessionToken'],
  })

const credentials = new Hono<AppEnv>()

function answer(c: Context<AppEnv>, view: CredentialsView, status: 200 | 422 = 200) {
  if (c.var.partial) return c.html(renderFragment(<CredentialsPanel {...view} />), status)
  // Without JavaScript: a refusal is the whole page with the form's message; a save goes back to the chat.
  if (status === 422) return chatPage(c, refererConversation(c), { credentials: view }, 422)
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
    deps.sessions.setCredentials(session, {
      accessKeyId: form.accessKeyId,
      secretAccessKey: form.secretAccessKey,
      sessionToken: form.sessionToken,
    })
    session.region = form.region ?? session.region
    deps.log.info('browser credentials saved', { accessKey: maskAccessKey(form.accessKeyId), region: session.region ?? deps.config.AWS_REGION })
    return answer(c, credentialsView(session, deps.config, { notice: { kind: 'ok', text: 'Saved. Replies in this browser now use these credentials.' } }))
  },
)

credentials.post('/clear', (c) => {
  const { session, deps } = c.var
  deps.sessions.setCredentials(session, undefined)
  session.region = undefined
  deps.log.info('browser credentials cleared')
  return answer(c, credentialsView(session, deps.config, { notice: { kind: 'ok', text: 'Cleared. Replies now use the server credentials.' } }))
})

export default credentials
