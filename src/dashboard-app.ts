import type { DashboardDeps } from './deps.ts'
import { baseApp } from './http/base-app.ts'
import type { DashboardEnv } from './http/env.ts'
import { requireProxyUser } from './middleware/access.ts'
import dashboard from './routes/dashboard.tsx'
import prometheus from './routes/prometheus.ts'

/** The dashboard as its own server (`bun run dashboard`): the dashboard, /metrics and health. */
export function createDashboardApp(deps: DashboardDeps) {
  const app = baseApp<DashboardEnv>(deps)
  app.use(requireProxyUser(deps.access, deps.config.METRICS_TOKEN))
  app.route('/metrics', prometheus)
  app.get('/', (c) => c.redirect('/dashboard', 302))
  app.route('/dashboard', dashboard)
  return app
}
