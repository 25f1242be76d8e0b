import { Hono, type Context } from 'hono'
import type { AppEnv } from '../http/env.ts'
import { refererPath } from '../http/referer.ts'
import { renderFragment } from '../http/render.tsx'
import { validForm } from '../http/validate.ts'
import { conversationAt } from '../presenters/chat-page.tsx'
import { ModelSelect } from '../../views/chat.tsx'
import { modelsRefreshForm } from '../http/forms.ts'

/** Refresh models: the list of models these credentials can call, asked of Bedrock again now. */
const models = new Hono<AppEnv>()

async function refreshed(c: Context<AppEnv>, chosen: string | undefined) {
  const { deps, session } = c.var
  const menu = await deps.models.refresh(session.region ?? deps.config.AWS_REGION, session.credentials)
  // without JavaScript: back to the page, which shows the fresh list
  if (!c.var.partial) return c.redirect(refererPath(c), 303)
  const modelId = chosen ?? (await conversationAt(c.var, refererPath(c)))?.modelId ?? menu.defaultModelId
  return c.html(renderFragment(<ModelSelect models={menu.models} modelId={modelId} note={menu.note} />))
}

models.post(
  '/refresh',
  // a choice that is no model id is simply not kept: the list is what was asked for
  validForm(modelsRefreshForm, (c) => refreshed(c, undefined)),
  (c) => refreshed(c, c.req.valid('form').modelId),
)

export default models
