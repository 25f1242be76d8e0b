import type { DashboardData } from '../src/services/dashboard/index.ts'
import type { LogTail } from '../src/services/dashboard/index.ts'
import type { InvocationQuery, ListedInvocation as Invocation, RangeKey } from '../src/services/metrics/index.ts'
import { Layout } from './layout.tsx'
import { Partial } from './partial.tsx'

export type RangeOption = { key: RangeKey; label: string; bucketMs: number }

export type InvocationsView =
  | { ok: true; rows: Invocation[]; total: number; page: number; pages: number; pageSize: number; query: InvocationQuery; models: string[] }
  | { ok: false; error: string; query: InvocationQuery }

export type DashboardPageProps = {
  data: DashboardData
  ranges: RangeOption[]
  invocations: InvocationsView
  /** Where the chat is, when the dashboard runs inside the app. */
  chatUrl?: string
}

const number = new Intl.NumberFormat('en-US')
const fmt = {
  count: (n: number) => number.format(n),
  ms: (n: number | null) => (n === null ? '–' : `${number.format(Math.round(n))} ms`),
  pct: (n: number | null) => (n === null ? '–' : `${(n * 100).toFixed(n < 0.1 && n > 0 ? 2 : 1)}%`),
  usd: (n: number | null, partial = false) => (n === null ? 'unknown' : `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}${partial ? '+' : ''}`),
  rate: (n: number | null) => (n === null ? '–' : `${n.toFixed(1)}/s`),
}

function bucketWords(bucketMs: number): string {
  const minutes = bucketMs / 60_000
  return minutes >= 60 ? `${minutes / 60}-hour buckets` : minutes === 1 ? '1-minute buckets' : `${minutes}-minute buckets`
}

export function DashboardPage({ data, ranges, invocations, chatUrl }: DashboardPageProps) {
  const range = ranges.find((r) => r.key === data.range) ?? ranges[0]!
  return (
    <Layout title="Bedrock Chat · Monitoring" styles={['/public/vendor/chartist.css']} scripts={['/public/vendor/chartist.umd.js', '/public/dashboard.js']}>
      <div class="dashboard" id="dashboard" hx-sse:connect={`/dashboard/stream?range=${data.range}`} hx-swap="none" data-range={data.range}>
        <header class="dash-header">
          <h1>Monitoring</h1>
          <form method="get" action="/dashboard" class="range-form" id="range-form">
            <label for="range">Time range</label>
            <select id="range" name="range">
              {ranges.map((r) => (
                <option value={r.key} selected={r.key === data.range}>
                  {r.label}
                </option>
              ))}
            </select>
            <noscript>
              <button type="submit">Show</button>
            </noscript>
          </form>
          <p id="live-status" class="live-status" role="status" data-state="connecting">
            Connecting…
          </p>
          {chatUrl && (
            <a href={chatUrl} class="back">
              Back to the chat
            </a>
          )}
        </header>
        <HealthBanner problems={data.problems} />
        <SummaryPanel data={data} />
        <section class="charts" aria-label="Charts">
          <ChartPanel id="requests" title="Requests per minute" note={bucketWords(range.bucketMs)} legend={['Successes', 'Errors']} />
          <ChartPanel id="latency" title="Average latency" note="milliseconds" legend={['Average', 'p95']} />
          <ChartPanel id="errors" title="Error rate" note="percent of calls" legend={['Error rate']} />
          <ChartPanel id="tokens" title="Tokens per minute" note={bucketWords(range.bucketMs)} legend={['Input', 'Output']} />
          <ChartPanel id="cache" title="Cache tokens per minute" note={bucketWords(range.bucketMs)} legend={['Read', 'Write']} />
        </section>
        <ChartData data={data} bucketMs={range.bucketMs} />
        <div class="dash-grid">
          <ErrorsPanel data={data} />
          <ModelsPanel data={data} />
        </div>
        <LogPanel log={data.log} />
        <InvocationsPanel view={invocations} />
      </div>
    </Layout>
  )
}

/** A panel that cannot show its figures (the database unavailable, a bad address), and why. */
export function PanelError({ error }: { error: string }) {
  return (
    <p class="panel-error" role="alert">
      {error}
    </p>
  )
}

export function SummaryPanel({ data }: { data: DashboardData }) {
  return (
    <section class="dash-panel summary" id="panel-summary" aria-labelledby="summary-heading">
      <h2 id="summary-heading">Overview</h2>
      <SummaryBody data={data} />
    </section>
  )
}

function SummaryBody({ data }: { data: DashboardData }) {
  if (!data.metrics.ok) return <PanelError error={data.metrics.error} />
  const s = data.metrics.summary
  if (s.requests === 0) {
    return (
      <p class="empty-state" id="summary-empty">
        No model calls in this time range yet. Send a message in the chat: it shows up here within 2 seconds.
      </p>
    )
  }
  const figures: [string, string, string][] = [
    ['Invocations', fmt.count(s.requests), 'requests'],
    ['Error rate', fmt.pct(s.errorRate), `${fmt.count(s.errors)} errors`],
    ['InvocationLatency', fmt.ms(s.avgLatencyMs), 'average'],
    ['p50 / p95 / p99', `${fmt.ms(s.p50LatencyMs)} / ${fmt.ms(s.p95LatencyMs)} / ${fmt.ms(s.p99LatencyMs)}`, 'latency'],
    ['TimeToFirstToken', fmt.ms(s.avgTtftMs), 'average'],
    ['InputTokenCount', fmt.count(s.inputTokens), 'tokens'],
    ['OutputTokenCount', fmt.count(s.outputTokens), 'tokens'],
    ['Output speed', fmt.rate(s.outputTokensPerSecond), 'output tokens per second'],
    ['Estimated cost', fmt.usd(s.estimatedCostUsd, s.costIsPartial), s.costIsPartial ? 'some models have no known price' : 'on-demand prices'],
    ['CacheReadInputTokenCount', fmt.count(s.cacheReadInputTokens), 'tokens read from the prompt cache'],
    ['CacheWriteInputTokenCount', fmt.count(s.cacheWriteInputTokens), 'tokens written to the prompt cache'],
    ['Cache hit ratio', fmt.pct(s.cacheHitRatio), 'of input tokens read from the cache'],
    ['Cache savings', fmt.usd(s.cacheSavingsUsd, s.costIsPartial), 'cache reads against the input price'],
    ['InvocationThrottles', fmt.count(s.throttles), 'throttled calls'],
    ['InvocationClientErrors', fmt.count(s.clientErrors), '4xx'],
    ['InvocationServerErrors', fmt.count(s.serverErrors), '5xx'],
    ['InvocationsIntervened', fmt.count(s.intervened), 'blocked by the guardrail'],
  ]
  return (
    <dl class="figures">
      {figures.map(([label, value, note]) => (
        <div class="figure">
          <dt>{label}</dt>
          <dd>
            <span class="value">{value}</span>
            <span class="note">{note}</span>
          </dd>
        </div>
      ))}
    </dl>
  )
}

function ChartPanel({ id, title, note, legend }: { id: string; title: string; note: string; legend: string[] }) {
  return (
    <section class="dash-panel chart-panel" aria-labelledby={`chart-${id}-heading`}>
      <h2 id={`chart-${id}-heading`}>{title}</h2>
      <p class="note">
        {note}
        {legend.map((name, i) => (
          <span class={`legend legend-${i}`}>{name}</span>
        ))}
      </p>
      <div class="chart" id={`chart-${id}`} data-chart={id} role="img" aria-label={`${title} chart`}></div>
    </section>
  )
}

/** The charts' numbers, as JSON the chart script reads; swapped alone, so charts update in place. */
export function ChartData({ data, bucketMs }: { data: DashboardData; bucketMs: number }) {
  const perMinute = 60_000 / bucketMs
  const series = data.metrics.ok ? data.metrics.series : []
  const json = {
    generatedAt: data.generatedAt,
    available: data.metrics.ok,
    t: series.map((p) => p.t),
    requests: [series.map((p) => p.successes * perMinute), series.map((p) => p.errors * perMinute)],
    latency: [series.map((p) => p.avgLatencyMs), series.map((p) => p.p95LatencyMs)],
    errors: [series.map((p) => (p.errorRate === null ? null : p.errorRate * 100))],
    tokens: [series.map((p) => p.inputTokens * perMinute), series.map((p) => p.outputTokens * perMinute)],
    cache: [series.map((p) => p.cacheReadInputTokens * perMinute), series.map((p) => p.cacheWriteInputTokens * perMinute)],
  }
  // JSON in a data attribute: escaped like any attribute, read back decoded by dataset
  return <div id="chart-data" hidden data-json={JSON.stringify(json)}></div>
}

const CATEGORY_LABEL: Record<string, string> = {
  throttled: 'Throttled',
  validation: 'Validation',
  access: 'Access and credentials',
  server: 'Server and network',
  intervened: 'Blocked by the guardrail',
  stopped: 'Stopped',
  other: 'Other',
}

export function ErrorsPanel({ data }: { data: DashboardData }) {
  return (
    <section class="dash-panel" id="panel-errors" aria-labelledby="errors-heading">
      <h2 id="errors-heading">Errors by type</h2>
      {!data.metrics.ok ? (
        <PanelError error={data.metrics.error} />
      ) : data.metrics.errorsByType.length === 0 ? (
        <p class="empty-state">No errors in this time range.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Category</th>
              <th scope="col">Error</th>
              <th scope="col" class="num">
                Calls
              </th>
            </tr>
          </thead>
          <tbody>
            {data.metrics.errorsByType.map((e) => (
              <tr>
                <td>{CATEGORY_LABEL[e.category] ?? e.category}</td>
                <td>{e.type}</td>
                <td class="num">{fmt.count(e.count)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

export function ModelsPanel({ data }: { data: DashboardData }) {
  return (
    <section class="dash-panel" id="panel-models" aria-labelledby="models-heading">
      <h2 id="models-heading">By model</h2>
      {!data.metrics.ok ? (
        <PanelError error={data.metrics.error} />
      ) : data.metrics.perModel.length === 0 ? (
        <p class="empty-state">No model calls in this time range.</p>
      ) : (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col" class="num">
                  Calls
                </th>
                <th scope="col" class="num">
                  Errors
                </th>
                <th scope="col" class="num">
                  Avg latency
                </th>
                <th scope="col" class="num">
                  p95
                </th>
                <th scope="col" class="num">
                  Tokens in / out
                </th>
                <th scope="col" class="num">
                  Cost
                </th>
              </tr>
            </thead>
            <tbody>
              {data.metrics.perModel.map((m) => (
                <tr>
                  <td class="model">{m.modelId}</td>
                  <td class="num">{fmt.count(m.requests)}</td>
                  <td class="num">{fmt.pct(m.errorRate)}</td>
                  <td class="num">{fmt.ms(m.avgLatencyMs)}</td>
                  <td class="num">{fmt.ms(m.p95LatencyMs)}</td>
                  <td class="num">
                    {fmt.count(m.inputTokens)} / {fmt.count(m.outputTokens)}
                  </td>
                  <td class="num">{fmt.usd(m.estimatedCostUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}

export function LogPanel({ log }: { log: LogTail }) {
  return (
    <section class="dash-panel" id="panel-log" aria-labelledby="log-heading">
      <h2 id="log-heading">Recent log</h2>
      {log.error ? (
        <PanelError error={log.error} />
      ) : log.lines.length === 0 ? (
        <p class="empty-state">The log is empty.</p>
      ) : (
        <ol class="log-lines">
          {log.lines.map((line) => (
            <li class={`log-line level-${(line.level ?? 'raw').toLowerCase()}`}>
              {line.time && <time datetime={line.time}>{line.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>}
              {line.level && <span class="level">{line.level}</span>}
              {line.name && <span class="logger">{line.name}</span>}
              <span class="message">{line.message}</span>
              {line.fields.length > 0 && <span class="fields">{line.fields.map(([k, v]) => `${k}=${v}`).join(' ')}</span>}
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}

const SORTS: [InvocationQuery['sort'], string][] = [
  ['timestamp', 'Time'],
  ['model', 'Model'],
  ['outcome', 'Outcome'],
  ['latency', 'Latency'],
  ['ttft', 'First token'],
  ['input_tokens', 'Tokens in'],
  ['output_tokens', 'Tokens out'],
]

export function invocationsQueryString(q: InvocationQuery, change: Partial<InvocationQuery> = {}): string {
  const merged = { ...q, ...change }
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(merged)) if (value !== '' && value !== undefined) params.set(key, String(value))
  return params.toString()
}

export function InvocationsPanel({ view }: { view: InvocationsView }) {
  return (
    <section class="dash-panel" id="panel-invocations" aria-labelledby="invocations-heading">
      <h2 id="invocations-heading">Invocations</h2>
      <InvocationsTable view={view} />
    </section>
  )
}

/** The filters travel with the table, so a filter change keeps the sort and page size it shows. */
function InvocationsFilter({ view }: { view: InvocationsView }) {
  const q = view.query
  return (
    <form
      method="get"
      action="/dashboard"
      id="invocations-filter"
      class="filters"
      hx-get="/dashboard/invocations"
      hx-target="#invocations-table"
      hx-swap="outerHTML"
      hx-trigger="change, submit"
    >
      <input type="hidden" name="range" value={q.range} />
      <input type="hidden" name="sort" value={q.sort} />
      <input type="hidden" name="dir" value={q.dir} />
      <input type="hidden" name="pageSize" value={String(q.pageSize)} />
      <label for="filter-outcome">Outcome</label>
      <select id="filter-outcome" name="outcome">
        <option value="" selected={q.outcome === ''}>
          All
        </option>
        {(['ok', 'error', 'stopped'] as const).map((o) => (
          <option value={o} selected={q.outcome === o}>
            {o}
          </option>
        ))}
      </select>
      <label for="filter-model">Model</label>
      <select id="filter-model" name="model">
        <option value="" selected={q.model === ''}>
          All models
        </option>
        {view.ok &&
          view.models.map((m) => (
            <option value={m} selected={q.model === m}>
              {m}
            </option>
          ))}
      </select>
      <noscript>
        <button type="submit">Filter</button>
      </noscript>
    </form>
  )
}

export function InvocationsTable({ view }: { view: InvocationsView }) {
  const q = view.query
  if (!view.ok) {
    return (
      <div id="invocations-table">
        <InvocationsFilter view={view} />
        <PanelError error={view.error} />
      </div>
    )
  }
  const link = (change: Partial<InvocationQuery>) => `/dashboard?${invocationsQueryString(q, change)}#panel-invocations`
  const hx = (change: Partial<InvocationQuery>) => `/dashboard/invocations?${invocationsQueryString(q, change)}`
  return (
    <div id="invocations-table" hx-get={hx({})} hx-trigger="invocations from:#dashboard" hx-swap="outerMorph">
      <InvocationsFilter view={view} />
      <p class="table-meta">
        {fmt.count(view.total)} {view.total === 1 ? 'call' : 'calls'} · page {view.page} of {Math.max(view.pages, 1)} ·{' '}
        <a href={`/dashboard/invocations.csv?${invocationsQueryString(q, { page: 1 })}`} download>
          Export CSV
        </a>
      </p>
      {view.rows.length === 0 ? (
        <p class="empty-state">{view.total === 0 ? 'No calls match this filter in this time range.' : 'No calls on this page.'}</p>
      ) : (
        <div class="table-scroll">
          <table class="invocations">
            <thead>
              <tr>
                {SORTS.map(([key, label]) => {
                  const active = q.sort === key
                  const dir = active && q.dir === 'desc' ? 'asc' : 'desc'
                  return (
                    <th scope="col" aria-sort={active ? (q.dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
                      <a href={link({ sort: key, dir, page: 1 })} hx-get={hx({ sort: key, dir, page: 1 })} hx-target="#invocations-table" hx-swap="outerHTML">
                        {label}
                        {active ? (q.dir === 'asc' ? ' ▲' : ' ▼') : ''}
                      </a>
                    </th>
                  )
                })}
                <th scope="col">Error</th>
                <th scope="col" class="num">
                  Attempts
                </th>
              </tr>
            </thead>
            <tbody>
              {view.rows.map((r) => (
                <tr class={`outcome-${r.outcome}`}>
                  <td>
                    <time datetime={r.timestamp.toISOString()}>
                      {r.timestamp
                        .toISOString()
                        .replace('T', ' ')
                        .replace(/\.\d+Z$/, 'Z')}
                    </time>
                  </td>
                  <td class="model">{r.modelId}</td>
                  <td>{r.outcome}</td>
                  <td class="num">{fmt.ms(r.latencyMs)}</td>
                  <td class="num">{fmt.ms(r.timeToFirstTokenMs)}</td>
                  <td class="num">{r.inputTokens === null ? '–' : fmt.count(r.inputTokens)}</td>
                  <td class="num">{r.outputTokens === null ? '–' : fmt.count(r.outputTokens)}</td>
                  <td>{r.errorType ?? ''}</td>
                  <td class="num">{r.attempts}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {view.pages > 1 && (
        <nav class="pager" aria-label="Invocations pages">
          {view.page > 1 ? (
            <a href={link({ page: view.page - 1 })} hx-get={hx({ page: view.page - 1 })} hx-target="#invocations-table" hx-swap="outerHTML">
              Previous
            </a>
          ) : (
            <span aria-disabled="true">Previous</span>
          )}
          {view.page < view.pages ? (
            <a href={link({ page: view.page + 1 })} hx-get={hx({ page: view.page + 1 })} hx-target="#invocations-table" hx-swap="outerHTML">
              Next
            </a>
          ) : (
            <span aria-disabled="true">Next</span>
          )}
        </nav>
      )}
    </div>
  )
}

/** One live update: every panel for the range as partials, swapped by the page's single stream. */
/** What is not working in the app right now (storage, the log), above the panels; empty when all is well. */
export function HealthBanner({ problems }: { problems: string[] }) {
  return (
    <div id="health-banner" class="health-banner" role="alert" hidden={problems.length === 0}>
      {problems.length > 0 && (
        <>
          <strong>The app is degraded.</strong>
          <ul>
            {problems.map((p) => (
              <li>{p}</li>
            ))}
          </ul>
        </>
      )}
    </div>
  )
}

export function DashboardUpdate({ data, bucketMs }: { data: DashboardData; bucketMs: number }) {
  return (
    <>
      <Partial target="#health-banner" swap="outerHTML">
        <HealthBanner problems={data.problems} />
      </Partial>
      <Partial target="#panel-summary" swap="outerHTML">
        <SummaryPanel data={data} />
      </Partial>
      <Partial target="#chart-data" swap="outerHTML">
        <ChartData data={data} bucketMs={bucketMs} />
      </Partial>
      <Partial target="#panel-errors" swap="outerHTML">
        <ErrorsPanel data={data} />
      </Partial>
      <Partial target="#panel-models" swap="outerHTML">
        <ModelsPanel data={data} />
      </Partial>
      <Partial target="#panel-log" swap="outerHTML">
        <LogPanel log={data.log} />
      </Partial>
    </>
  )
}
