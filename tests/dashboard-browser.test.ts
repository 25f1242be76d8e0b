// The live monitoring dashboard in a real headless Chromium, against the real app served over
// HTTP and the Bedrock emulator. Chats are made over HTTP (as another person chatting would);
// what is checked is what someone watching /dashboard sees. Elements are found by their roles,
// labels and headings.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Browser, Page } from 'playwright-core'
import { serve } from '../src/server.ts'
import { expectWatchCatchesInlineScript, launchBrowser, sampleUntil, skipBrowserTests, watchProblems, type PageProblem } from './browser-helpers.ts'
import { browser as httpClient, eventually, makeApp, type TestApp, unique } from './helpers.ts'

let chromium: Browser
let t: TestApp
let server: Served
/** Every console error, uncaught exception and CSP violation any dashboard page reported, across the file. */
const problems: PageProblem[] = []

type Served = { url: string; port: number; stop: () => void }

/**
 * The app over real HTTP, as tests/helpers.ts `listen` serves it, but on a chosen port (0: any free
 * one), so a test can stop the server and start it again where open pages expect it.
 */
function listenOn(port: number): Served {
  const s = serve(t.app, { port, hostname: '127.0.0.1' })
  return { url: `http://127.0.0.1:${s.port}`, port: s.port!, stop: () => s.stop(true) }
}

beforeAll(async () => {
  if (skipBrowserTests) return
  chromium = await launchBrowser()
  t = await makeApp()
  server = listenOn(0)
})

afterAll(async () => {
  await chromium?.close()
  server?.stop()
  await t?.close()
})

const browserTest = test.skipIf(skipBrowserTests)
/** Per test; bun's default (5 s) is too short here, and a timeout kills the browser. */
const TEST_TIMEOUT_MS = 15_000
/** The dashboard promises a chat shows up within 2 s; 0.5 s more for a busy test machine. */
const LIVE_UPDATE_MS = 2_500

/** Short words of its own for each call, so a row, a log line or an emulator request can be told apart. */

/** One chat message over HTTP from a new session; resolves when the whole reply has streamed. */
async function chat(message: string) {
  const { res } = await httpClient(server.url).send(message)
  expect(res.status).toBe(200)
}

type Options = {
  viewport?: { width: number; height: number }
  /** Problems this test expects (decided when each is reported, so a test can allow them only for a while). */
  expected?: (p: PageProblem) => boolean
}

/** A fresh browser context on a dashboard address, open and Live; checked for problems; closed after `use`. */
async function withDashboard(name: string, path: string, use: (page: Page) => Promise<void>, options: Options = {}) {
  const context = await chromium.newContext({ viewport: options.viewport ?? { width: 1280, height: 720 } })
  const page = await context.newPage()
  page.setDefaultTimeout(5_000)
  const reported: PageProblem[] = []
  const unexpected: PageProblem[] = []
  reported.push = (...items: PageProblem[]) => {
    for (const p of items) if (!options.expected?.(p)) unexpected.push(p)
    return Array.prototype.push.apply(reported, items)
  }
  await watchProblems(context, page, name, reported)
  try {
    await openDashboard(page, path)
    await use(page)
  } finally {
    await context.close()
    problems.push(...unexpected)
  }
  expect(unexpected).toEqual([])
}

/**
 * Loads a dashboard address and waits until it is Live and its table has done the reload the stream
 * asks for on every (re)connection, so nothing lands later in the middle of a test's clicks.
 */
async function openDashboard(page: Page, path: string) {
  const tableReloaded = page.waitForResponse((r) => new URL(r.url()).pathname === '/dashboard/invocations')
  await page.goto(server.url + path)
  await waitForLive(page)
  await tableReloaded
  // the page's own document, to prove later that nothing reloaded it
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true))
}

const liveStatus = (page: Page) => page.getByRole('status').and(page.locator('#live-status'))
async function waitForLive(page: Page, timeoutMs = 5_000) {
  await eventually(async () => expect(await liveStatus(page).textContent()).toBe('Live'), timeoutMs)
}
async function sameDocument(page: Page) {
  const marker = await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)
  const navigations = await page.evaluate(() => performance.getEntriesByType('navigation').length)
  return marker === true && navigations === 1
}

const overview = (page: Page) => page.getByRole('region', { name: 'Overview', exact: true })
const invocationsPanel = (page: Page) => page.getByRole('region', { name: 'Invocations', exact: true })
const logPanel = (page: Page) => page.getByRole('region', { name: 'Recent log', exact: true })
const outcomeFilter = (page: Page) => page.getByLabel('Outcome', { exact: true })

/** A figure of the Overview as a number (the value under its term); 0 while it says there are no calls yet. */
async function figure(page: Page, label: string): Promise<number> {
  const region = overview(page)
  const read = await region.evaluate((el, label) => {
    const term = [...el.querySelectorAll('dt')].find((dt) => dt.textContent?.trim() === label)
    return { value: term?.nextElementSibling?.querySelector('.value')?.textContent ?? null, text: el.textContent ?? '' }
  }, label)
  if (read.value === null) {
    expect(read.text).toContain('No model calls in this time range yet')
    return 0
  }
  return Number(read.value.replace(/,/g, ''))
}

type Row = { time: string; outcome: string; latencyMs: number; text: string }
/** The Invocations table's rows on screen, read by its column headers. */
async function tableRows(page: Page): Promise<Row[]> {
  const table = invocationsPanel(page).getByRole('table')
  if ((await table.count()) === 0) return []
  return table.evaluate((el) => {
    const headers = [...el.querySelectorAll('thead th')].map((th) => th.textContent!.replace(/[▲▼]/g, '').trim())
    const col = (name: string) => headers.indexOf(name)
    return [...el.querySelectorAll('tbody tr')].map((tr) => {
      const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())
      return {
        time: tr.querySelector('time')?.getAttribute('datetime') ?? '',
        outcome: cells[col('Outcome')]!,
        latencyMs: Number(cells[col('Latency')]!.replace(/[^\d]/g, '')),
        text: cells.join(' | '),
      }
    })
  })
}
const tableMeta = (page: Page) => invocationsPanel(page).locator('.table-meta').textContent()

/** The Recent log's lines saying a call was recorded, with their times. */
async function recordedLogLines(page: Page) {
  return logPanel(page)
    .getByRole('listitem')
    .filter({ hasText: 'invocation recorded' })
    .evaluateAll((items) => items.map((li) => ({ time: li.querySelector('time')?.getAttribute('datetime') ?? '', text: li.textContent ?? '' })))
}

/**
 * What each chart has drawn: bars with a height, line paths that reach at least one bucket (a
 * "M x,y" move) and line paths with a visible segment (an "L").
 */
async function drawnSeries(page: Page) {
  return page.evaluate(() => {
    const out: Record<string, { bars: number; paths: number; segments: number }> = {}
    for (const chart of document.querySelectorAll<HTMLElement>('[data-chart]')) {
      const paths = [...chart.querySelectorAll('svg .ct-series path.ct-line')].map((p) => p.getAttribute('d') ?? '')
      out[chart.dataset.chart!] = {
        bars: [...chart.querySelectorAll('svg .ct-series .ct-bar')].filter((b) => b.getAttribute('y1') !== b.getAttribute('y2')).length,
        paths: paths.filter((d) => /^M\s*[\d.]+[ ,][\d.]+/.test(d)).length,
        segments: paths.filter((d) => d.includes('L')).length,
      }
    }
    return out
  })
}

/** Polls `check` until it passes, failing after `ms` from `since`; returns when it passed, in ms after `since`. */
async function within(ms: number, since: number, check: () => Promise<void>): Promise<number> {
  for (;;) {
    try {
      await check()
      return Date.now() - since
    } catch (err) {
      if (Date.now() - since > ms) throw err
      await Bun.sleep(25)
    }
  }
}

browserTest(
  'a dashboard left open updates within 2 seconds when a chat happens',
  async () => {
    await withDashboard('live update', '/dashboard', async (page) => {
      const before = {
        invocations: await figure(page, 'Invocations'),
        rows: await tableRows(page),
        logLines: await recordedLogLines(page),
      }
      const sent = Date.now()
      await chat(unique('Hello dashboard'))
      const done = Date.now()

      const elapsed = await within(LIVE_UPDATE_MS, done, async () => {
        // the Overview counts it
        expect(await figure(page, 'Invocations')).toBe(before.invocations + 1)
        // the Invocations table has its row, newest first
        const rows = await tableRows(page)
        expect(rows.length).toBe(before.rows.length + 1)
        expect(Date.parse(rows[0]!.time)).toBeGreaterThanOrEqual(sent - 1_000)
        expect(rows[0]!.outcome).toBe('ok')
        // the charts have drawn it
        const drawn = await drawnSeries(page)
        expect(drawn.requests!.bars).toBeGreaterThan(0) // a bar for the minute of the call
        expect(drawn.tokens!.segments).toBe(2) // input and output lines
        expect(drawn.latency!.paths).toBe(2) // average and p95 reach the call's minute
        expect(drawn.errors!.paths).toBe(1)
        // the Recent log shows the new line
        const lines = await recordedLogLines(page)
        const fresh = lines.filter((l) => Date.parse(l.time) >= sent - 1_000 && !before.logLines.some((b) => b.time === l.time))
        expect(fresh.length).toBe(1)
        expect(fresh[0]!.text).toContain('outcome=ok')
      })
      expect(elapsed).toBeLessThanOrEqual(LIVE_UPDATE_MS)
      console.info(`[live update] everything shown ${elapsed} ms after the reply ended`)
      // all of it without a reload, and still Live
      expect(await sameDocument(page)).toBe(true)
      expect(await liveStatus(page).textContent()).toBe('Live')
    })
  },
  TEST_TIMEOUT_MS,
)

// No line joins a bucket to an empty (null) neighbour: a minute with calls between quiet minutes
// must still show, as a point.
browserTest(
  'a minute with calls between quiet minutes still shows on the Average latency and Error rate charts',
  async () => {
    await chat(unique('lone minute'))
    await withDashboard('lone minute', '/dashboard', async (page) => {
      const check = await page.evaluate(() => {
        const data = JSON.parse(document.getElementById('chart-data')!.dataset.json!) as Record<string, (number | null)[][]>
        return (['latency', 'errors'] as const).flatMap((name) =>
          data[name]!.map((values, i) => {
            const lone = values.filter((v, j) => v !== null && (values[j - 1] ?? null) === null && (values[j + 1] ?? null) === null).length
            const series = document.querySelectorAll(`[data-chart="${name}"] svg .ct-series`)[i]
            return { chart: name, series: i, lone, marked: Math.min(lone, series?.querySelectorAll('.ct-point').length ?? 0) }
          }),
        )
      })
      expect(check.some((c) => c.lone > 0)).toBe(true)
      expect(check.map((c) => c.marked)).toEqual(check.map((c) => c.lone))
    })
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  "chart updates keep the page's scroll and the table's filter",
  async () => {
    // one call of each kind first, so the panels above the table already have their shape
    await Promise.all([chat(unique('[[validation]] warm error')), chat(unique('warm ok'))])
    await withDashboard(
      'scroll and filter',
      '/dashboard',
      async (page) => {
        // show only the errors
        const filtered = page.waitForResponse((r) => new URL(r.url()).pathname === '/dashboard/invocations')
        await outcomeFilter(page).selectOption('error')
        expect(new URL((await filtered).url()).searchParams.get('outcome')).toBe('error')
        await eventually(async () => {
          const rows = await tableRows(page)
          expect(rows.length).toBeGreaterThan(0)
          expect(rows.every((r) => r.outcome === 'error')).toBe(true)
        })
        const errorRows = (await tableRows(page)).length

        // read down to the table
        const y = await invocationsPanel(page).evaluate((el) => {
          const max = document.documentElement.scrollHeight - window.innerHeight
          window.scrollTo(0, Math.min(el.getBoundingClientRect().top + window.scrollY - 40, max - 20))
          return window.scrollY
        })
        expect(y).toBeGreaterThan(200)
        // tag what must survive the updates: the chart areas and the filter itself
        await page.evaluate(() => {
          for (const el of document.querySelectorAll<HTMLElement>('[data-chart]')) (el as unknown as { __kept: boolean }).__kept = true
          ;(document.getElementById('filter-outcome') as unknown as { __kept: boolean }).__kept = true
        })
        const chartsBefore = await page.getByRole('img', { name: 'Requests per minute chart' }).innerHTML()
        const invocationsBefore = await figure(page, 'Invocations')

        const sent = Date.now()
        await Promise.all([chat(unique('filtered ok')), chat(unique('[[validation]] filtered error'))])
        const done = Date.now()

        await within(LIVE_UPDATE_MS, done, async () => {
          expect(await figure(page, 'Invocations')).toBe(invocationsBefore + 2)
          expect(await page.getByRole('img', { name: 'Requests per minute chart' }).innerHTML()).not.toBe(chartsBefore)
          const rows = await tableRows(page)
          expect(rows.length).toBe(errorRows + 1)
          expect(Date.parse(rows[0]!.time)).toBeGreaterThanOrEqual(sent - 1_000)
        })
        // the table still shows only errors, and the filter still says so
        const rows = await tableRows(page)
        expect(rows.map((r) => r.outcome)).toEqual(rows.map(() => 'error'))
        expect(await outcomeFilter(page).inputValue()).toBe('error')
        expect(await page.evaluate(() => (document.getElementById('filter-outcome') as unknown as { __kept?: boolean }).__kept)).toBe(true)
        // the page did not move, and the chart areas are the same elements, each with one chart in it
        // (Chartist's update() draws a new <svg> inside its area every time: the area is what stays)
        expect(Math.abs((await page.evaluate(() => window.scrollY)) - y)).toBeLessThanOrEqual(3)
        const kept = await page.evaluate(() =>
          [...document.querySelectorAll<HTMLElement>('[data-chart]')].map((el) => ({
            chart: el.dataset.chart,
            kept: (el as unknown as { __kept?: boolean }).__kept === true,
            svgs: el.querySelectorAll('svg').length,
          })),
        )
        expect(kept).toEqual(['requests', 'latency', 'errors', 'tokens', 'cache'].map((chart) => ({ chart, kept: true, svgs: 1 })))
        expect(await sameDocument(page)).toBe(true)
      },
      { viewport: { width: 1280, height: 600 } },
    )
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  'the page says when it is disconnected and reconnects by itself after a server restart',
  async () => {
    // While the server is down the browser reports each refused reconnection attempt as a failed
    // load: expected then, and only then.
    let outage = false
    const expectedWhileDown = (p: PageProblem) =>
      outage &&
      p.kind === 'console' &&
      /^Failed to load resource: net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE|INCOMPLETE_CHUNKED_ENCODING)$|^htmx: htmx:sse:error: /.test(
        p.text,
      )
    await withDashboard(
      'reconnect',
      '/dashboard',
      async (page) => {
        const port = server.port
        const streamRequests: string[] = []
        page.on('request', (r) => {
          if (new URL(r.url()).pathname === '/dashboard/stream') streamRequests.push(r.url())
        })
        const invocationsBefore = await figure(page, 'Invocations')
        const rowsBefore = (await tableRows(page)).length

        outage = true
        const stopped = Date.now()
        let noticedMs = 0
        server.stop()
        try {
          await eventually(async () => expect(await liveStatus(page).textContent()).toMatch(/^Disconnected/), 5_000)
          noticedMs = Date.now() - stopped
          expect(noticedMs).toBeLessThan(5_000)
          // it keeps trying (the first retry comes 0.35 to 0.65 s after the cut, and is refused) and
          // says so all along: no false "Live" while the server is away
          const attemptsBefore = streamRequests.length
          await sampleUntil(
            () => liveStatus(page).textContent(),
            () => Date.now() - stopped > 1_200,
            { everyMs: 50 },
          ).then((seen) => expect(seen.every((text) => /^Disconnected/.test(text ?? ''))).toBe(true))
          expect(streamRequests.length).toBeGreaterThan(attemptsBefore)
        } finally {
          // back on the same port whatever happened, so the tests after this one have their server
          server = listenOn(port)
        }
        const restarted = Date.now()
        // backoff 0.5 s doubling with ±30% jitter: the next attempt is at most ~3.4 s away here
        await waitForLive(page, 8_000)
        outage = false
        const backMs = Date.now() - restarted

        // a chat after the restart reaches the page that was open all along
        await chat(unique('after restart'))
        const done = Date.now()
        await within(LIVE_UPDATE_MS, done, async () => {
          expect(await figure(page, 'Invocations')).toBe(invocationsBefore + 1)
          expect((await tableRows(page)).length).toBe(rowsBefore + 1)
        })
        expect(await sameDocument(page)).toBe(true)
        expect(await liveStatus(page).textContent()).toBe('Live')
        console.info(`[reconnect] "Disconnected" after ${noticedMs} ms; ${streamRequests.length} stream requests; Live again ${backMs} ms after the restart`)
      },
      { expected: expectedWhileDown },
    )
  },
  TEST_TIMEOUT_MS + 5_000,
)

browserTest(
  'changing the Time range shows that range',
  async () => {
    await withDashboard('time range', '/dashboard', async (page) => {
      const streams: string[] = []
      page.on('request', (r) => {
        const url = new URL(r.url())
        if (url.pathname === '/dashboard/stream') streams.push(url.search)
      })
      const requestsChart = page.getByRole('region', { name: 'Requests per minute', exact: true })
      expect(await requestsChart.textContent()).toContain('1-minute buckets')

      const reloaded = page.waitForResponse((r) => new URL(r.url()).pathname === '/dashboard/invocations')
      await page.getByLabel('Time range', { exact: true }).selectOption({ label: 'Last 6 hours' })
      await page.waitForURL((url) => url.searchParams.get('range') === '6h')
      await waitForLive(page)
      await reloaded

      expect(await page.getByLabel('Time range', { exact: true }).inputValue()).toBe('6h')
      expect(await requestsChart.textContent()).toContain('5-minute buckets')
      expect(await page.getByRole('region', { name: 'Tokens per minute', exact: true }).textContent()).toContain('5-minute buckets')
      // the live stream now follows the 6-hour range
      expect(streams).toEqual(['?range=6h'])
      // and the figures are that range's: every call so far is within it
      expect(await figure(page, 'Invocations')).toBe((await t.sql<{ n: number }>('select count(*) as n from invocations'))[0]!.n)
    })
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  'sorting the Invocations table by Latency orders its rows, and Next and Previous page through them',
  async () => {
    // calls with clearly different latencies: 0 to 220 ms before the first token
    await Promise.all(Array.from({ length: 12 }, (_, i) => chat(unique(`[[firstdelay:${i * 20}]] sort ${i}`))))
    const total = (await t.sql<{ n: number }>('select count(*) as n from invocations'))[0]!.n
    expect(total).toBeGreaterThanOrEqual(12)

    await withDashboard('sort and page', '/dashboard?pageSize=10', async (page) => {
      const panel = invocationsPanel(page)
      const header = (name: string) => panel.getByRole('columnheader', { name: new RegExp(`^${name}`) })
      const pager = panel.getByRole('navigation', { name: 'Invocations pages' })
      const pages = Math.ceil(total / 10)
      expect(await tableMeta(page)).toContain(`page 1 of ${pages}`)
      expect((await tableRows(page)).length).toBe(10)
      expect(await header('Time').getAttribute('aria-sort')).toBe('descending')
      expect(await header('Latency').getAttribute('aria-sort')).toBe('none')

      // slowest first
      await header('Latency').getByRole('link').click()
      await eventually(async () => expect(await header('Latency').getAttribute('aria-sort')).toBe('descending'))
      expect(await header('Time').getAttribute('aria-sort')).toBe('none')
      const desc = (await tableRows(page)).map((r) => r.latencyMs)
      expect(desc.length).toBe(10)
      expect(desc).toEqual([...desc].sort((a, b) => b - a))
      expect(desc[0]).toBeGreaterThanOrEqual(220)

      // again: fastest first
      await header('Latency').getByRole('link').click()
      await eventually(async () => expect(await header('Latency').getAttribute('aria-sort')).toBe('ascending'))
      const page1 = await tableRows(page)
      const asc = page1.map((r) => r.latencyMs)
      expect(asc).toEqual([...asc].sort((a, b) => a - b))
      expect(asc[0]).toBeLessThan(desc[0]!)
      expect(await pager.getByText('Previous', { exact: true }).getAttribute('aria-disabled')).toBe('true')

      // the next page goes on from there, in the same order
      await pager.getByRole('link', { name: 'Next', exact: true }).click()
      await eventually(async () => expect(await tableMeta(page)).toContain(`page 2 of ${pages}`))
      const page2 = await tableRows(page)
      expect(page2.length).toBe(Math.min(10, total - 10))
      expect(await header('Latency').getAttribute('aria-sort')).toBe('ascending')
      const latencies2 = page2.map((r) => r.latencyMs)
      expect(latencies2).toEqual([...latencies2].sort((a, b) => a - b))
      expect(latencies2[0]).toBeGreaterThanOrEqual(asc.at(-1)!)
      expect(page2.some((r) => page1.some((p) => p.text === r.text))).toBe(false)

      // and back
      await pager.getByRole('link', { name: 'Previous', exact: true }).click()
      await eventually(async () => expect(await tableMeta(page)).toContain(`page 1 of ${pages}`))
      expect(await tableRows(page)).toEqual(page1)
      expect(await sameDocument(page)).toBe(true)
    })
  },
  TEST_TIMEOUT_MS,
)

// htmx's first pass over the page must find its SSE extension registered, however late the
// extension's script arrives (the layout loads both scripts without defer).
browserTest(
  'the dashboard goes Live even when the SSE extension script arrives late',
  async () => {
    const context = await chromium.newContext()
    try {
      // a slow network or a cold cache: the extension script arrives 200 ms after htmx has run
      let htmxRan!: () => void
      const htmxHasRun = new Promise<void>((resolve) => (htmxRan = resolve))
      await context.exposeBinding('__htmxRan', () => htmxRan())
      await context.addInitScript(() => {
        let real: unknown
        Object.defineProperty(window, 'htmx', {
          configurable: true,
          get: () => real,
          set: (value) => {
            real = value
            ;(window as unknown as { __htmxRan: () => void }).__htmxRan()
          },
        })
      })
      const page = await context.newPage()
      await page.route('**/public/vendor/hx-sse.min.js', async (route) => {
        await htmxHasRun
        await Bun.sleep(200)
        await route.continue()
      })
      await page.goto(server.url + '/dashboard')
      await waitForLive(page, 3_000)
    } finally {
      await context.close()
    }
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  'the dashboard pages logged no console errors, uncaught exceptions or CSP violations',
  async () => {
    const control = await expectWatchCatchesInlineScript(chromium, server.url + '/dashboard', (page) => waitForLive(page))
    // the charts themselves draw within the policy (Chartist sets style attributes)
    const inlineScript = (p: PageProblem) => /script-src|inline script/.test(p.text)
    expect(control.filter((p) => !inlineScript(p))).toEqual([])
    // then: nothing in any of the tests above
    expect(problems).toEqual([])
  },
  TEST_TIMEOUT_MS,
)
