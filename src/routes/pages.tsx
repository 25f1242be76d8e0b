import type { Context } from 'hono'
import type { AppEnv } from '../app.ts'
import type { Config } from '../config.ts'
import { MODELS } from '../services/models.ts'
import { maskAccessKey, type Session } from '../services/sessions.ts'
import { ChatPage, type CredentialsView } from '../../views/chat.tsx'
import { renderPage } from './render.tsx'

export function modelIdFor(c: Context<AppEnv>): string {
  return c.var.session.modelId ?? c.var.deps.config.BEDROCK_MODEL_ID
}

/** The whole chat page for this session, optionally with a refused form's message and values. */
export function chatPage(
  c: Context<AppEnv>,
  extra: { composer?: { text?: string; error?: string }; credentials?: Partial<CredentialsView> } = {},
  status: 200 | 409 | 422 = 200,
) {
  const { session, deps } = c.var
  return renderPage(
    c,
    <ChatPage
      credentials={credentialsView(session, deps.config, extra.credentials)}
      models={[...MODELS]}
      modelId={modelIdFor(c)}
      messages={session.messages}
      streaming={Boolean(session.activeTurn)}
      composer={extra.composer}
    />,
    status,
  )
}

/** What the sidebar shows about a session's credentials: never a secret, only a masked key id. */
export function credentialsView(session: Session, config: Config, extra: Partial<CredentialsView> = {}): CredentialsView {
  return {
    maskedAccessKey: session.credentials ? maskAccessKey(session.credentials.accessKeyId) : null,
    region: session.region ?? config.AWS_REGION,
    defaultRegion: config.AWS_REGION,
    ...extra,
  }
}

