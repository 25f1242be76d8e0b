import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { browser, eventually, makeApp, type TestApp } from './helpers.ts'

/**
 * docs/monitoring/: the Prometheus scrape config and the Grafana dashboard, parsed as Prometheus
 * and Grafana read them, and every query's metric names checked against what /metrics serves
 * after real calls through the emulator.
 */

const DOCS = join(import.meta.dir, '..', 'docs', 'monitoring')
const METRICS_TOKEN = 'a-metrics-token-for-prometheus'

type Target = { expr: string; refId: string }
type Panel = { id: number; title: string; type: string; datasource: { uid: string }; targets: Target[] }
type Variable = { name: string; type: string; query: string | { query: string } }
type Dashboard = { title: string; uid: string; panels: Panel[]; templating: { list: Variable[] } }

const dashboard = JSON.parse(readFileSync(join(DOCS, 'grafana-dashboard.json'), 'utf8')) as Dashboard

/** PromQL's functions and aggregations the dashboard may use (a misspelt one is then caught too). */
const FUNCTIONS = new Set(['sum', 'avg', 'max', 'min', 'rate', 'increase', 'histogram_quantile', 'scalar', 'clamp_min', 'label_values'])
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless'])

/**
 * The metric names a PromQL expression reads: what is left once strings, label matchers, range
 * selectors, grouping clauses, functions and keywords are taken out. Functions are returned apart.
 */
function promqlNames(expr: string): { metrics: string[]; functions: string[] } {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    // a Grafana variable query: its second argument is a label, not a metric
    .replace(/label_values\(\s*([^,)]+?)\s*,\s*\w+\s*\)/g, 'label_values($1)')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const metrics: string[] = []
  const functions: string[] = []
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0]
    const after = bare.slice(m.index! + word.length)
    if (/^\s*\(/.test(after)) functions.push(word)
    else if (!KEYWORDS.has(word)) metrics.push(word)
  }
  return { metrics, functions }
}

/** Every query of the dashboard: each panel's targets and each query variable (label_values). */
function queries(): { where: string; expr: string }[] {
  const fromPanels = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr })))
  const fromVariables = dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => ({ where: `variable $${v.name}`, expr: typeof v.query === 'string' ? v.query : v.query.query }))
  return [...fromPanels, ...fromVariables]
}

/** The sample names an exposition serves (histograms as their _bucket, _sum and _count). */
function servedNames(text: string): Set<string> {
  const names = new Set<string>()
  for (const line of text.split('\n')) if (line && !line.startsWith('#')) names.add(line.split(/[{ ]/)[0]!)
  return names
}

let t: TestApp
let metricsText: string
beforeAll(async () => {
  t = await makeApp({ env: { APP_PASSWORD: 'a-password-for-tests', METRICS_TOKEN } })
  // a few calls through the real SDK and the emulator: two answered, one refused by Bedrock
  const person = browser(t.app)
  expect((await person.post('/signin', { password: 'a-password-for-tests', next: '/' })).status).toBe(303)
  for (const message of ['first question #m1', 'second question #m2', '[[validation]] a refused question #m3']) await person.send(message)
  metricsText = await eventually(async () => {
    const res = await t.app.request('http://localhost/metrics', { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text).toMatch(/^gen_ai_client_operation_duration_seconds_count\{[^}]*error_type="ValidationException"\} 1$/m)
    expect(text).toMatch(
      /^gen_ai_client_operation_duration_seconds_count\{gen_ai_provider_name="aws\.bedrock",gen_ai_operation_name="chat",gen_ai_request_model="[^"]+"\} 2$/m,
    )
    return text
  }, 5000)
})
afterAll(async () => {
  await t.close()
})

describe('/metrics after real calls', () => {
  test('the GenAI duration histogram sums the recorded latencies in seconds, and counts failures apart by error_type', async () => {
    const rows = await t.sql<{ outcome: string; latency_ms: number; model_id: string }>('SELECT outcome, latency_ms, model_id FROM invocations ORDER BY id')
    expect(rows.map((r) => r.outcome)).toEqual(['ok', 'ok', 'error'])
    const model = rows[0]!.model_id
    const labels = `gen_ai_provider_name="aws.bedrock",gen_ai_operation_name="chat",gen_ai_request_model="${model}"`
    const okSum = (rows[0]!.latency_ms + rows[1]!.latency_ms) / 1000
    expect(metricsText).toContain(`gen_ai_client_operation_duration_seconds_sum{${labels}} ${okSum}\n`)
    expect(metricsText).toContain(`gen_ai_client_operation_duration_seconds_sum{${labels},error_type="ValidationException"} ${rows[2]!.latency_ms / 1000}\n`)
    expect(metricsText).toContain(`gen_ai_client_operation_duration_seconds_bucket{${labels},le="+Inf"} 2\n`)
    expect(metricsText).toContain(`gen_ai_client_operation_time_to_first_chunk_seconds_count{${labels}} 2\n`)
    expect(metricsText).toContain(`gen_ai_client_token_usage_count{${labels},gen_ai_token_type="output"} 2\n`)
    // the CloudWatch-named counters beside them, and the names of before
    expect(metricsText).toContain(`bedrock_invocations_total{model="${model}",outcome="ok"} 2\n`)
    expect(metricsText).toContain(`bedrock_invocation_latency_ms_count{model="${model}"} 3\n`)
  })
})

describe('the Grafana dashboard (docs/monitoring/grafana-dashboard.json)', () => {
  test('has the panels of the app dashboard, each on the chosen Prometheus data source', () => {
    const titles = dashboard.panels.map((p) => p.title)
    for (const title of [
      'Requests per minute',
      'Latency p50 / p95 / p99',
      'Time to first token',
      'Error rate',
      'Error rate by type',
      'Tokens per minute',
      'Estimated cost',
    ])
      expect(titles).toContain(title)
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length)
    for (const p of dashboard.panels) {
      expect({ panel: p.title, uid: p.datasource.uid }).toEqual({ panel: p.title, uid: '${datasource}' })
      expect(p.targets.length).toBeGreaterThan(0)
    }
  })

  test('every query names only metrics that /metrics serves, and only known PromQL functions', () => {
    const served = servedNames(metricsText)
    expect(served.size).toBeGreaterThan(20)
    for (const { where, expr } of queries()) {
      const { metrics, functions } = promqlNames(expr)
      expect({ where, reads: metrics.length > 0 }).toEqual({ where, reads: true })
      for (const name of metrics) expect({ where, name, served: served.has(name) }).toEqual({ where, name, served: true })
      for (const name of functions) expect({ where, name, known: FUNCTIONS.has(name) }).toEqual({ where, name, known: true })
    }
  })

  test('latency percentiles come from histogram_quantile over the GenAI histograms, grouped by le', () => {
    const quantiles = queries().filter((q) => q.expr.includes('histogram_quantile'))
    expect(quantiles.length).toBeGreaterThanOrEqual(5)
    for (const { where, expr } of quantiles) {
      expect({ where, expr }).toEqual({ where, expr: expect.stringMatching(/by \(le\) \(\w+\(gen_ai_client_operation_\w+_seconds_bucket\{/) })
    }
  })

  test('the name extraction finds what a query reads and nothing else', () => {
    // the check above is only as good as this
    expect(promqlNames('histogram_quantile(0.95, sum by (le) (rate(a_bucket{x=~"$model",le!="1"}[$__rate_interval])))')).toEqual({
      metrics: ['a_bucket'],
      functions: ['histogram_quantile', 'sum', 'rate'],
    })
    expect(promqlNames('sum(increase(b_total[$__range])) / scalar(sum(rate(c_count{error_type!=""}[5m]))) * 60').metrics).toEqual(['b_total', 'c_count'])
    expect(promqlNames('label_values(d_count, instance)').metrics).toEqual(['d_count'])
  })
})

describe('the Prometheus scrape config (docs/monitoring/prometheus.yml)', () => {
  type ScrapeConfig = {
    job_name: string
    metrics_path: string
    scheme: string
    authorization?: { type: string; credentials_file?: string; credentials?: string }
    static_configs: { targets: string[] }[]
  }
  const config = Bun.YAML.parse(readFileSync(join(DOCS, 'prometheus.yml'), 'utf8')) as { scrape_configs: ScrapeConfig[] }

  test('scrapes /metrics with the METRICS_TOKEN as a bearer token', async () => {
    const [job] = config.scrape_configs
    expect(job!.metrics_path).toBe('/metrics')
    expect(job!.scheme).toBe('http')
    expect(job!.authorization?.type).toBe('Bearer')
    expect(job!.authorization?.credentials_file).toBeString()
    for (const target of job!.static_configs.flatMap((s) => s.targets)) expect(target).toMatch(/^[\w.-]+:\d+$/)
    // what that header gets from an app that asks for sign-in
    const scrape = (authorization?: string) => t.app.request('http://localhost/metrics', { headers: authorization ? { Authorization: authorization } : {} })
    expect((await scrape(`${job!.authorization!.type} ${METRICS_TOKEN}`)).status).toBe(200)
    expect((await scrape()).status).toBe(401)
  })

  test('leaves the instance label to the scrape: /metrics sets none', () => {
    expect(metricsText).not.toMatch(/[{,]instance="/)
  })
})

describe('the label_values variables', () => {
  test('read labels the served series carry', () => {
    for (const v of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const query = typeof v.query === 'string' ? v.query : v.query.query
      const [, metric, label] = /^label_values\((\w+), (\w+)\)$/.exec(query) ?? []
      expect({ variable: v.name, metric: Boolean(metric) }).toEqual({ variable: v.name, metric: true })
      // instance comes from the scrape; the others from /metrics itself
      if (label !== 'instance') expect(metricsText).toMatch(new RegExp(`^${metric}\\{[^}]*${label}="`, 'm'))
    }
  })
})
