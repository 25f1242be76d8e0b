// `bun run bench` (`--quick` for a try in under two minutes): every benchmark, each against a
// floor measured in the same run, printing tables and writing bench/results.json.
// Load goes to 127.0.0.1 only, bounded in count and time; every process started here is stopped.
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { dashboardQueries } from './data.ts'
import { startBenchPostgres } from './lib/postgres.ts'
import { startEmulatorProcess } from './lib/processes.ts'
import { openDashboards } from './dashboards.ts'
import { pageThroughput, startAndIdle } from './pages.ts'
import { recordingRates } from './recording.ts'
import { concurrentReplies, sequentialReplies } from './reply.ts'
import { renderReport } from './report.ts'

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { quick: { type: 'boolean' }, only: { type: 'string' } } })
const quick = Boolean(values.quick)
const only = values.only?.split(',')
const wanted = (name: string) => !only || only.includes(name)

const started = performance.now()
const report: Record<string, unknown> = {
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform} ${process.arch}`,
    bun: Bun.version,
  },
  date: new Date().toISOString(),
  quick,
}

// one PostgreSQL server for the run, when this machine has one: each benchmark makes its own database on it
const pg = ['data', 'recording', 'dashboards'].some(wanted) ? await startBenchPostgres() : undefined
if (pg) report.postgres = pg.version

const emulator = await startEmulatorProcess(0)
try {
  if (wanted('sequential')) report.sequential = await sequentialReplies(emulator, quick ? 60 : 400, 200)
  if (wanted('concurrent')) {
    const sizes = quick
      ? [
          { n: 100, rounds: 1 },
          { n: 500, rounds: 1 },
        ]
      : [
          { n: 100, rounds: 3 },
          { n: 500, rounds: 3 },
          { n: 1000, rounds: 3 },
        ]
    report.concurrent = await concurrentReplies(emulator, sizes)
  }
  if (wanted('dashboards')) report.dashboards = await openDashboards(emulator, quick ? 300 : 1000, quick ? 2 : 5, await pg?.database('dashboards'))
  if (wanted('pages')) report.pages = await pageThroughput(emulator, quick ? { ms: 1000, rounds: 1 } : { ms: 3000, rounds: 3 })
  if (wanted('start')) report.start = await startAndIdle(emulator, quick ? 2 : 5)
  if (wanted('recording')) report.recording = await recordingRates(pg, quick ? { seconds: 1, rounds: 1 } : { seconds: 3, rounds: 3 })
  if (wanted('data')) report.dashboardData = await dashboardQueries(quick ? [200_000] : [1_000_000, 10_000_000], pg)
} finally {
  await emulator.stop()
  await pg?.server.stop()
}

report.totalSeconds = Number(((performance.now() - started) / 1000).toFixed(1))
// only a complete full run replaces bench/results.json (and the document made from it)
const complete = !quick && !only
const output = complete ? 'results.json' : 'results-quick.json'
await Bun.write(join(import.meta.dir, output), `${JSON.stringify(report, null, 2)}\n`)
if (complete) await Bun.write(join(import.meta.dir, '..', 'docs', 'BENCHMARKS.md'), renderReport(report as Parameters<typeof renderReport>[0]))
console.log(`\nTotal ${report.totalSeconds} s. Wrote bench/${output}${complete ? ' and docs/BENCHMARKS.md' : ''}.`)
