import { Hono } from 'hono'
import type { DashboardEnv } from '../http/env.ts'

const prometheus = new Hono<DashboardEnv>()

/** GET /metrics: the Prometheus text format, for a fleet watched by Prometheus and Grafana. */
prometheus.get('/', async (c) => {
  c.header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  c.header('Cache-Control', 'no-store')
  try {
    return c.body(await c.var.deps.metricsQueries.prometheus())
  } catch (err) {
    return c.body(`# metrics unavailable: ${(err instanceof Error ? err.message : String(err)).replace(/\n/g, ' ')}\n`, 503)
  }
})

export default prometheus
