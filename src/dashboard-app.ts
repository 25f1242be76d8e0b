import type { DashboardDeps } from './deps.ts'
import { baseApp } from './http/base-app.ts'
import type { DashboardEnv } from './http/env.ts'
import dashboard from './routes/dashboard.tsx'

/** The dashboard as its own server (`bun run dashboard`): the dashboard, /metrics and health. */
export function createDashboardApp(deps: DashboardDeps) {
  const app = baseApp<DashboardEnv>(deps)
  app.get('/', (c) => c.redirect('/dashboard', 302))
  app.route('/dashboard', dashboard)
  return app
}
