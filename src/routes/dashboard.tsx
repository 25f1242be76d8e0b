import { Hono, type Context } from 'hono'
import { stream as streamBody } from 'hono/streaming'
import { z } from 'zod'
import type { DashboardDeps } from '../deps.ts'
import type { DashboardEnv } from '../http/env.ts'
import type { DashboardData } from '../services/dashboard/index.ts'
import { invocationQuerySchema, RANGES, type InvocationQuery, type RangeKey } from '../services/metrics/index.ts'
import {
  DashboardPage,
  DashboardUpdate,
  InvocationsTable,
  invocationsQueryString,
  PanelError,
  type InvocationsView,
  type RangeOption,
} from '../../views/dashboard.tsx'
import { renderErrorPage, renderFragment, renderPage } from '../http/render.tsx'
import { validQuery } from '../http/validate.ts'
import { eventStream, keepOpen } from '../http/event-stream.ts'

const RANGE_OPTIONS: RangeOption[] = Object.entries(RANGES).map(([key, r]) => ({
  key: key as RangeKey,
  label: r.label,
  bucketMs: r.bucketMs,
}))

const rangeOnly = z.object({ range: invocationQuerySchema.shape.range })

/** Live updates rendered once per computed result, shared by every stream watching that range. */
const renderedUpdates = new WeakMap<DashboardData, string>()
function updateHtml(data: DashboardData): string {
  let html = renderedUpdates.get(data)
  if (!html) {
    html = renderFragment(<DashboardUpdate data={data} bucketMs={RANGES[data.range].bucketMs} />)
    renderedUpdates.set(data, html)
  }
  return html
}

/** A bad query string: a 400 that says which parameter and why, as a panel's error or a page. */
function refuseQuery(c: Context<DashboardEnv>, message: string) {
  if (c.var.partial) return c.html(renderFragment(<PanelError error={message} />), 400)
  return renderErrorPage(c, 400, 'That dashboard address is not valid', message)
}

const validInvocationQuery = validQuery(invocationQuerySchema, refuseQuery)

/** The Invocations table's rows for a query, or why there are none (the database unavailable). */
async function invocationsView(deps: DashboardDeps, query: InvocationQuery): Promise<InvocationsView> {
  try {
    const q = deps.metricsQueries
    const [page, models] = await Promise.all([q.invocations(query), q.models()])
    return { ok: true, ...page, query, models }
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err), query }
  }
}

const dashboard = new Hono<DashboardEnv>()

dashboard.get('/', validInvocationQuery, async (c) => {
  const query = c.req.valid('query')
  const { deps } = c.var
  const [data, invocations] = await Promise.all([deps.dashboard.snapshot(query.range), invocationsView(c.var.deps, query)])
  return renderPage(c, <DashboardPage data={data} ranges={RANGE_OPTIONS} invocations={invocations} chatUrl={deps.chatUrl} />)
})

/** The Invocations table alone (filters, sorting, pages, live refresh); a page load gets the dashboard. */
dashboard.get('/invocations', validInvocationQuery, async (c) => {
  const query = c.req.valid('query')
  if (!c.var.partial) return c.redirect(`/dashboard?${invocationsQueryString(query)}#panel-invocations`, 303)
  return c.html(renderFragment(<InvocationsTable view={await invocationsView(c.var.deps, query)} />))
})

/** The current filter as CSV, streamed row by row (a 10-million-row export never sits in memory). */
dashboard.get('/invocations.csv', validInvocationQuery, async (c) => {
  const q = c.req.valid('query')
  let chunks: AsyncIterable<string>
  try {
    chunks = await c.var.deps.metricsQueries.invocationsCsv(q)
  } catch (err) {
    return renderErrorPage(c, 503, 'No data to export', err instanceof Error ? err.message : String(err))
  }
  const name = `invocations-${q.range}${q.outcome ? `-${q.outcome}` : ''}-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '')}.csv`
  c.header('Content-Type', 'text/csv; charset=utf-8')
  c.header('Content-Disposition', `attachment; filename="${name}"`)
  keepOpen(c)
  return streamBody(c, async (out) => {
    for await (const chunk of chunks) {
      if (out.aborted) break
      await out.write(chunk)
    }
  })
})

/**
 * The page's one event stream: the current panels at once (so a reconnect is never stale), then
 * a fresh set whenever something changed, and a named `invocations` event that makes the table
 * reload itself with its own filter. Heartbeats keep the idle connection open.
 */
dashboard.get('/stream', validQuery(rangeOnly, refuseQuery), (c) => {
  const range = c.req.valid('query').range
  const { deps } = c.var
  return eventStream(
    c,
    async (out) => {
      let tableVersion: string | undefined
      const send = (data: DashboardData) => {
        out.send(updateHtml(data))
        // the table reloads itself (with its own filter and page) when calls were recorded since it
        // was drawn, including while a dropped connection was reconnecting
        if (tableVersion !== data.metricsVersion) out.send(data.metricsVersion, 'invocations')
        tableVersion = data.metricsVersion
      }
      send(await deps.dashboard.snapshot(range))
      const unsubscribe = deps.dashboard.subscribe(range, send)
      out.onGone(unsubscribe)
      await out.gone
    },
    (err) => deps.log.warn('a dashboard stream failed', { err }),
  )
})

export default dashboard
