// Writes docs/BENCHMARKS.md from bench/results.json, so the document shows exactly the latest full
// run: `bun bench/report.ts` (a full `bun run bench` does it at the end). `bun bench/report.ts
// --with-quick` first keeps the PostgreSQL sections of the latest quick run (bench/results-quick.json)
// in results.json, under `quick`, shown in a section of their own until a full run has them.
import { join } from 'node:path'
import type { DataResult } from './data.ts'
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
type Dashboards = { missed: number; allMsMedian: number; allMsMax: number }
type DashboardData = {
  rows: number[]
  sqlite: string
  results: DataResult[]
  postgres?: { version: string; fills: { rows: number; copyMs: number; indexMs: number; rollupMs: number; vacuumMs: number }[] } | null
}
type Rate = { calls: number; failed: number; perSecond: number; callsPerCommit?: number }
type Recording = {
  seconds: number
  rounds: number
  concurrency: number[]
  failed: number
  rowsMatch: Record<string, boolean>
  results: { database: 'sqlite' | 'postgres'; concurrent: number; floor: Rate; app: Rate; ratio: number }[]
}
type DashboardsOnPostgres = { updateBytes: number; app: Dashboards; floor: Dashboards; ratio: number; appRssMiB: number } | null
type Machine = { cpus: number; cpuModel: string; memoryGb: number; platform: string; bun: string }
/** The PostgreSQL sections of a quick run, kept until a full run has them. */
type Quick = {
  date: string
  machine: Machine
  postgres?: string
  dashboardData?: DashboardData
  recording?: Recording
  dashboards?: { dashboards: number; rounds: number; updateBytes: number; app: Dashboards; floor: Dashboards; postgres?: DashboardsOnPostgres }
}
type Results = {
  machine: Machine
  postgres?: string
  recording?: Recording
  quick?: Quick
  date: string
  totalSeconds: number
  sequential: { samples: number; tokens: number; direct: Timing; relay: Timing; app: Timing; aiSdk: Timing; ratios: Timing; relayRatios: Timing }
  concurrent: Concurrent[]
  dashboards: {
    dashboards: number
    rounds: number
    updateBytes: number
    postgres?: DashboardsOnPostgres
    app: { missed: number; allMsMedian: number; allMsMax: number }
    floor: { missed: number; allMsMedian: number; allMsMax: number }
    appRssMiB: number
  }
  pages: { concurrency: number; seconds: number; rounds: number; results: { page: string; bytes: number; appRps: number; floorRps: number; ratio: number }[] }
  start: { rounds: number; app: { firstPageMs: number; idleMiB: number }; floor: { firstPageMs: number; idleMiB: number } }
  dashboardData: DashboardData
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
    ...(r.dashboards.postgres ? ['', dashboardsOnPostgres(r.dashboards.postgres)] : []),
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
    dataTable(r.dashboardData),
    '',
    ...(r.recording ? ['## (g) Recording', '', recordingText(r.recording), ''] : []),
    ...(r.quick ? quickSection(r.quick) : []),
  )
  return lines.join('\n')
}

function dataTable(d: DashboardData): string {
  const pg = d.results.some((x) => x.postgresMs !== undefined)
  const ratioCell = (ratio: number | null | undefined) => (ratio == null ? '' : x(ratio))
  return table([
    ['measure', 'rows', pg ? 'SQLite' : 'median', 'vs (a)', ...(pg ? ['PostgreSQL', 'vs (a)'] : [])],
    ...d.results.map((r) => [
      r.name.trim(),
      r.rows.toLocaleString('en-US'),
      ms(r.medianMs),
      ratioCell(r.ratioVsBaseline),
      ...(pg ? [r.postgresMs == null ? '' : ms(r.postgresMs), ratioCell(r.postgresRatioVsBaseline)] : []),
    ]),
  ])
}

function dashboardsOnPostgres(p: NonNullable<DashboardsOnPostgres>): string {
  return [
    'The same with the app on PostgreSQL (`DATABASE_URL`, one instance), its floor measured again, interleaved with it:',
    '',
    table([
      ['', 'missed', 'all updated (median)', 'worst round'],
      ['bare Bun.serve push (floor)', String(p.floor.missed), ms(p.floor.allMsMedian), ms(p.floor.allMsMax)],
      ['the app on PostgreSQL', String(p.app.missed), ms(p.app.allMsMedian), ms(p.app.allMsMax)],
    ]),
    '',
    `It held ${fmt(p.appRssMiB)} MiB with them open.`,
  ].join('\n')
}

function recordingText(rec: Recording): string {
  const name = { sqlite: 'SQLite', postgres: 'PostgreSQL' }
  const databases = [...new Set(rec.results.map((r) => r.database))]
  const at = (database: string, c: number) => rec.results.find((r) => r.database === database && r.concurrent === c)!
  const matched = Object.entries(rec.rowsMatch)
    .map(([db, ok]) => `${name[db as 'sqlite' | 'postgres']}: ${ok ? 'one row per call answered with an id' : '**rows and answered calls differ**'}`)
    .join('; ')
  return [
    `Calls recorded per second through the app's writer (\`createWriter\` with SQLite's engine, its own thread, or PostgreSQL's on a pool of 4 as \`openPostgresStore\` opens it; each INSERT built by \`createMetrics(...).record\`, kept, and logged to the log file as the app does), by 1 recorder and by ${rec.concurrency.at(-1)} at once, each waiting for its call's id before the next. Floor: a bare \`INSERT … RETURNING id\` loop on the raw driver, one autocommit per row (bun:sqlite on the main thread, where loops at once take turns; postgres.js with its default pool of 10), as many loops at once, into the same database with its indexes and rollup triggers. Median of ${rec.rounds} alternating rounds of ${rec.seconds} s; ratio = the app ÷ the floor (above 1: faster than the floor); calls/commit: the writer's group commit. ${rec.failed} calls failed; ${matched}.`,
    '',
    table([
      ['', ...rec.concurrency.flatMap((c) => [`${c} at once`, '÷ floor', 'calls/commit'])],
      ...databases.flatMap((database) => [
        [`${name[database]}: bare INSERT loop (floor)`, ...rec.concurrency.flatMap((c) => [`${fmt(at(database, c).floor.perSecond)}/s`, '', ''])],
        [
          `${name[database]}: the app's writer`,
          ...rec.concurrency.flatMap((c) => [
            `${fmt(at(database, c).app.perSecond)}/s`,
            x(at(database, c).ratio),
            fmt(at(database, c).app.callsPerCommit ?? Number.NaN),
          ]),
        ],
      ]),
    ]),
  ].join('\n')
}

function quickSection(q: Quick): string[] {
  const d = q.dashboardData
  const fills = d?.postgres?.fills ?? []
  return [
    `## PostgreSQL beside SQLite (a quick run, ${q.date.slice(0, 10)})`,
    '',
    `\`bun run bench --quick --only data,recording,dashboards\` on ${q.machine.cpus} cores (${q.machine.cpuModel}), ${q.machine.memoryGb} GiB, ${q.machine.platform}, Bun ${q.machine.bun}, SQLite ${d?.sqlite ?? '–'}, PostgreSQL ${q.postgres ?? '–'}: the sections above are the full run's, on SQLite alone; these are a quick run's, at quick sizes, until a full run has PostgreSQL in them. PostgreSQL is a throwaway cluster the benchmark starts on 127.0.0.1 (tests/support/postgres.ts) with its default memory (shared_buffers 128MB) and durability off as in the tests (fsync, synchronous_commit: a commit waits for no disk flush, as SQLite's WAL with synchronous=NORMAL does not). Another process may have been running the test suite on the same two cores: compare ratios within a table, not milliseconds across runs.`,
    '',
    ...(d
      ? [
          "### The dashboard's data",
          '',
          `The same ${d.rows.map((n) => n.toLocaleString('en-US')).join(' and ')} calls (same seed) in both databases; on PostgreSQL COPYed in with the triggers disabled and the indexes dropped, then indexes, the rollups by \`rebuildRollupSql()\` and VACUUM ANALYZE (${fills.map((f) => `${f.rows.toLocaleString('en-US')}: COPY ${ms(f.copyMs)}, indexes ${ms(f.indexMs)}, rollups ${ms(f.rollupMs)}, VACUUM ANALYZE ${ms(f.vacuumMs)}`).join('; ')}). Each line runs on SQLite then on PostgreSQL through the same queries (\`createMetricsQueries\` over \`sqliteReader\` and \`postgresReader\`); medians; both ratios are to the same floor, (a) on SQLite (the original design's way: load every row, aggregate in the program) divided by the line.`,
          '',
          dataTable(d),
          '',
        ]
      : []),
    ...(q.recording ? ['### (g) Recording', '', recordingText(q.recording), ''] : []),
    ...(q.dashboards?.postgres
      ? [
          '### (c) Open dashboards',
          '',
          `${q.dashboards.dashboards} dashboards, ${q.dashboards.rounds} rounds; on SQLite: ${ms(q.dashboards.app.allMsMedian)} (worst ${ms(q.dashboards.app.allMsMax)}) against a floor of ${ms(q.dashboards.floor.allMsMedian)}.`,
          '',
          dashboardsOnPostgres(q.dashboards.postgres),
          '',
        ]
      : []),
  ]
}

if (import.meta.main) {
  const results = (await Bun.file(join(import.meta.dir, 'results.json')).json()) as Results
  if (Bun.argv.includes('--with-quick')) {
    const q = (await Bun.file(join(import.meta.dir, 'results-quick.json')).json()) as Quick & { quick: boolean }
    results.quick = { date: q.date, machine: q.machine, postgres: q.postgres, dashboardData: q.dashboardData, recording: q.recording, dashboards: q.dashboards }
    await Bun.write(join(import.meta.dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
  }
  await Bun.write(join(import.meta.dir, '..', 'docs', 'BENCHMARKS.md'), renderReport(results))
  console.log('Wrote docs/BENCHMARKS.md')
}
