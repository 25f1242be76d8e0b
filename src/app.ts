import type { Deps } from './deps.ts'
import { baseApp } from './http/base-app.ts'
import type { AppEnv } from './http/env.ts'
import { BODY_LIMITS, FILES_ROUTE } from './http/forms.ts'
import { clientAddress, requireSignIn } from './middleware/access.ts'
import { formBody } from './middleware/form-body.ts'
import { sameOrigin } from './middleware/same-origin.ts'
import { session } from './middleware/session.ts'
import chat from './routes/chat.tsx'
import conversations from './routes/conversations.tsx'
import credentials from './routes/credentials.tsx'
import dashboard from './routes/dashboard.tsx'
import models from './routes/models.tsx'
import prometheus from './routes/prometheus.ts'
import signIn from './routes/sign-in.tsx'

/** Builds the app: middleware order, sub-apps, error pages. No I/O of its own. */
export function createApp(deps: Deps) {
  const app = baseApp<AppEnv>(deps)
  app.use(sameOrigin())
  app.use(formBody({ filesRoute: FILES_ROUTE, limits: BODY_LIMITS }))
  app.use(
    session(deps.sessions, {
      secret: deps.sessionSecret,
      storeVisitors: !deps.access.required,
      ownerHasConversations: (owner) => deps.conversations.ownerExists(owner),
      // recorded sign-ins matter only where signing in does (APP_PASSWORD)
      signIns: deps.access.passwordOn ? deps.signIns : undefined,
      overHttps: (c) =>
        new URL(c.req.url).protocol === 'https:' || (c.req.header('X-Forwarded-Proto') === 'https' && deps.access.fromTrustedProxy(clientAddress(c))),
    }),
  )
  app.use(requireSignIn(deps.access, deps.config.METRICS_TOKEN))
  app.route('/metrics', prometheus)
  app.route('/', signIn)
  app.route('/', chat)
  app.route('/', conversations)
  app.route('/credentials', credentials)
  app.route('/models', models)
  app.route('/dashboard', dashboard)
  return app
}

export type App = ReturnType<typeof createApp>
