// Writes docs/BENCHMARKS.md from bench/results.json, so the document shows exactly the latest full
// run: `bun bench/report.ts` (a full `bun run bench` does it at the end).
import { join } from 'node:path'
import { fmt } from './lib/stats.ts'

type Timing = { ttftP50: number; ttftP99: number; lastP50: number; lastP99: number }
type Concurrent = {
  target: 'relay' | 'app'
  concurrent: number
  rounds: number
  calls: number
  errors: number
  okRows?: number
  rows?: number
  ttftP50: number
  ttftP99: number
  ttftP99Ratio?: number
  wallMs: number
  browsersOpenMiB: number
  peakMiB: number
  afterMiB: number
}
type Results = {
  machine: { cpus: number; cpuModel: string; memoryGb: number; platform: string; bun: string }
  date: string
  totalSeconds: number
  sequential: { samples: number; tokens: number; direct: Timing; relay: Timing; app: Timing; aiSdk: Timing; ratios: Timing; relayRatios: Timing }
  concurrent: Concurrent[]
  dashboards: {
    dashboards: number
    rounds: number
    updateBytes: number
    app: { missed: number; allMsMedian: number; allMsMax: number }
    floor: { missed: number; allMsMedian: number; allMsMax: number }
    appRssMiB: number
  }
  pages: { concurrency: number; seconds: number; rounds: number; results: { page: string; bytes: number; appRps: number; floorRps: number; ratio: number }[] }
  start: { rounds: number; app: { firstPageMs: number; idleMiB: number }; floor: { firstPageMs: number; idleMiB: number } }
  dashboardData: { rows: number[]; sqlite: string; results: { name: string; rows: number; medianMs: number; ratioVsBaseline: number | null }[] }
}

const x = (ratio: number) => `${fmt(ratio)}x`
const ms = (value: number) => `${fmt(value)} ms`
const table = (rows: (string | number)[][]) =>
  [rows[0]!, rows[0]!.map(() => '---'), ...rows.slice(1)].map((r) => `| ${r.map((c) => (typeof c === 'number' ? fmt(c) : c)).join(' | ')} |`).join('\n')

export function renderReport(r: Results): string {
  const s = r.sequential
  const target = (ok: boolean) => (ok ? 'met' : '**not met**')
  const apps = r.concurrent.filter((c) => c.target === 'app')
  const at1000 = apps.find((c) => c.concurrent === 1000)
  const lines: string[] = []
  lines.push(
    '# Benchmarks',
    '',
    'Written by `bun bench/report.ts` from `bench/results.json` (the latest full `bun run bench`); do not edit by hand.',
    '',
    `Run ${r.date.slice(0, 10)} on ${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.memoryGb} GiB, ${r.machine.platform}, Bun ${r.machine.bun}, SQLite ${r.dashboardData.sqlite}; ${fmt(r.totalSeconds)} s in all.`,
    '',
    '## How to reproduce',
    '',
    '`bun run bench` runs everything below and writes `bench/results.json` and this page; `bun run bench --quick` is a shorter try (under two minutes) that writes `bench/results-quick.json` only. Every server runs as its own process (`bun src/index.ts` as `bun start` runs it, on a scratch database), the Bedrock emulator in another, the load client in the benchmark itself; all on 127.0.0.1. Each figure has a floor measured in the same run, interleaved with it: the direct ConverseStream call through the SDK, or `bench/relay.ts`, a bare `Bun.serve` with no framework and no database that relays the same SDK stream (or answers the same bytes). On a machine this small the three processes share two cores, so the numbers move from run to run; compare ratios, not milliseconds.',
    '',
    '## Targets',
    '',
    table([
      ['target', 'this run', ''],
      [
        'time to first token ≤ 1.2x the direct call at p50, ≤ 1.5x at p99',
        `${x(s.ratios.ttftP50)} / ${x(s.ratios.ttftP99)} (the bare relay: ${x(s.relayRatios.ttftP50)} / ${x(s.relayRatios.ttftP99)})`,
        target(s.ratios.ttftP50 <= 1.2 && s.ratios.ttftP99 <= 1.5),
      ],
      [
        '100, 500, 1,000 concurrent: zero errors and exactly one ok row per call',
        apps.map((c) => `${c.concurrent}: ${c.errors} errors, ${c.okRows}/${c.calls} ok rows of ${c.rows}`).join('; '),
        target(apps.every((c) => c.errors === 0 && c.okRows === c.calls && c.rows === c.calls)),
      ],
      [
        'p99 time to first token ≤ 1.3x the bare relay',
        apps.map((c) => `${c.concurrent}: ${x(c.ttftP99Ratio ?? Number.NaN)}`).join('; '),
        target(apps.every((c) => (c.ttftP99Ratio ?? 99) <= 1.3)),
      ],
      [
        'peak memory under 300 MiB at 1,000',
        at1000
          ? `${fmt(at1000.peakMiB)} MiB (the bare relay: ${fmt(r.concurrent.find((c) => c.target === 'relay' && c.concurrent === 1000)?.peakMiB ?? Number.NaN)} MiB)`
          : '–',
        target(Boolean(at1000 && at1000.peakMiB < 300)),
      ],
      [
        '1,000 dashboards updated within 500 ms',
        `${ms(r.dashboards.app.allMsMedian)} (worst round ${ms(r.dashboards.app.allMsMax)})`,
        target(r.dashboards.app.allMsMax <= 500 && r.dashboards.app.missed === 0),
      ],
      ['idle memory under 100 MB', `${fmt(r.start.app.idleMiB)} MiB`, target(r.start.app.idleMiB * 1.048576 < 100)],
      ['start under 300 ms', `${ms(r.start.app.firstPageMs)} to the first page`, target(r.start.app.firstPageMs < 300)],
    ]),
    '',
    `## (a) One reply at a time, and (f) a peer`,
    '',
    `${s.samples} samples of a ${s.tokens}-token reply with no delay between tokens; each app sample is a new browser's first message (GET / for the cookie, not timed, then the composer's POST with \`HX-Request\`, timed to the first and the last token fragment).`,
    '',
    table([
      ['', 'TTFT p50', 'TTFT p99', 'last token p50', 'last token p99'],
      ['direct ConverseStream call (floor)', ms(s.direct.ttftP50), ms(s.direct.ttftP99), ms(s.direct.lastP50), ms(s.direct.lastP99)],
      ['bare Bun.serve relay', ms(s.relay.ttftP50), ms(s.relay.ttftP99), ms(s.relay.lastP50), ms(s.relay.lastP99)],
      ['  ÷ direct', x(s.relayRatios.ttftP50), x(s.relayRatios.ttftP99), x(s.relayRatios.lastP50), x(s.relayRatios.lastP99)],
      ['the app', ms(s.app.ttftP50), ms(s.app.ttftP99), ms(s.app.lastP50), ms(s.app.lastP99)],
      ['  ÷ direct', x(s.ratios.ttftP50), x(s.ratios.ttftP99), x(s.ratios.lastP50), x(s.ratios.lastP99)],
      ['(f) Vercel AI SDK, `@ai-sdk/amazon-bedrock`, direct', ms(s.aiSdk.ttftP50), ms(s.aiSdk.ttftP99), ms(s.aiSdk.lastP50), ms(s.aiSdk.lastP99)],
    ]),
    '',
    '## (b) Concurrent conversations',
    '',
    'Distinct browsers press Send at the same moment; each reply is 200 tokens, 20 ms apart. Each run is a fresh process; the relay and the app alternate; figures are medians over the rounds (peak: the highest), errors and rows are summed. "before" is the resident memory once every browser has its cookie.',
    '',
    table([
      ['', 'rounds', 'errors', 'ok rows / calls', 'TTFT p50', 'TTFT p99', 'p99 ÷ relay', 'wall', 'before', 'peak', 'after'],
      ...r.concurrent.map((c) => [
        `${c.concurrent} through the ${c.target === 'relay' ? 'bare relay (floor)' : 'app'}`,
        String(c.rounds),
        String(c.errors),
        c.okRows === undefined ? '' : `${c.okRows} / ${c.calls} (${c.rows} rows)`,
        ms(c.ttftP50),
        ms(c.ttftP99),
        c.ttftP99Ratio === undefined ? '' : x(c.ttftP99Ratio),
        `${fmt(c.wallMs / 1000)} s`,
        `${fmt(c.browsersOpenMiB)} MiB`,
        `${fmt(c.peakMiB)} MiB`,
        `${fmt(c.afterMiB)} MiB`,
      ]),
    ]),
    '',
    '## (c) Open dashboards',
    '',
    `${r.dashboards.dashboards} dashboards on their event streams; one chat call is recorded, timed from its last token until every dashboard has its update (median of ${r.dashboards.rounds} rounds). Floor: a bare \`Bun.serve\` pushing a message of the same size (${r.dashboards.updateBytes} bytes) to as many event streams.`,
    '',
    table([
      ['', 'missed', 'all updated (median)', 'worst round'],
      ['bare Bun.serve push (floor)', String(r.dashboards.floor.missed), ms(r.dashboards.floor.allMsMedian), ms(r.dashboards.floor.allMsMax)],
      ['the app', String(r.dashboards.app.missed), ms(r.dashboards.app.allMsMedian), ms(r.dashboards.app.allMsMax)],
    ]),
    '',
    `The app held ${fmt(r.dashboards.appRssMiB)} MiB with them open.`,
    '',
    '## (d) Pages',
    '',
    `Requests per second from ${r.pages.concurrency} clients, ${r.pages.rounds} alternating rounds of ${r.pages.seconds} s (median). The floor answers a fixed string of the same size; the app renders the page (the chat page from the database, its replies' Markdown from the render cache; the dashboard with its queries).`,
    '',
    table([
      ['', 'bytes', 'floor', 'the app', '÷ floor'],
      ...r.pages.results.map((p) => [p.page, String(p.bytes), `${fmt(p.floorRps)}/s`, `${fmt(p.appRps)}/s`, x(p.ratio)]),
    ]),
    '',
    '## (e) Start and idle memory',
    '',
    `From starting the process to its first page, and resident memory 2 s later (median of ${r.start.rounds}).`,
    '',
    table([
      ['', 'start → first page', 'idle'],
      ['bare relay with the SDK loaded (floor)', ms(r.start.floor.firstPageMs), `${fmt(r.start.floor.idleMiB)} MiB`],
      ['the app, new database', ms(r.start.app.firstPageMs), `${fmt(r.start.app.idleMiB)} MiB`],
    ]),
    '',
    "## The dashboard's data",
    '',
    `A scratch database filled with ${r.dashboardData.rows.map((n) => n.toLocaleString('en-US')).join(' and ')} calls over 7 days; medians; the ratio is the original design's way (load every row, aggregate in the program) at ${r.dashboardData.rows[0]!.toLocaleString('en-US')} rows divided by each line.`,
    '',
    table([
      ['measure', 'rows', 'median', 'vs (a)'],
      ...r.dashboardData.results.map((d) => [
        d.name.trim(),
        d.rows.toLocaleString('en-US'),
        ms(d.medianMs),
        d.ratioVsBaseline === null ? '' : x(d.ratioVsBaseline),
      ]),
    ]),
    '',
  )
  return lines.join('\n')
}

if (import.meta.main) {
  const results = (await Bun.file(join(import.meta.dir, 'results.json')).json()) as Results
  await Bun.write(join(import.meta.dir, '..', 'docs', 'BENCHMARKS.md'), renderReport(results))
  console.log('Wrote docs/BENCHMARKS.md')
}
