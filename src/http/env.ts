import type { DashboardDeps, Deps } from '../deps.ts'
import type { HtmxVariables } from '../middleware/htmx.ts'
import type { SessionVariables } from '../middleware/session.ts'

/**
 * The context types of the two servers, composed from what each middleware puts on the context
 * (the Hono way): routes import these, and nothing here imports a route or the app.
 */
export type DashboardEnv = { Variables: { deps: DashboardDeps } & HtmxVariables }

export type AppEnv = { Variables: { deps: Deps } & SessionVariables & HtmxVariables }
