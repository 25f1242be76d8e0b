import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openBrowser, openStream, sendMessage } from './lib/client.ts'
import { startApp, startRelay, type Started } from './lib/processes.ts'
import { fmt, percentile, printTable, ratio } from './lib/stats.ts'

type Watcher = { updates: number; lastAt: number; firstData: string }

/** Opens `n` event streams on `url`; each counts its `invocations` events. Resolves once all have the first. */
async function openWatchers(url: string, n: number, signal: AbortSignal) {
  const watchers: Watcher[] = Array.from({ length: n }, () => ({ updates: 0, lastAt: 0, firstData: '' }))
  const closed: Promise<void>[] = []
  for (let i = 0; i < n; i += 100) {
    for (const w of watchers.slice(i, i + 100)) {
      closed.push(
        openStream(
          url,
          (chunk) => {
            if (w.updates === 0) w.firstData += chunk
            const count = chunk.split('event: invocations').length - 1
            if (count) {
              w.updates += count
              w.lastAt = performance.now()
            }
          },
          signal,
        ).catch(() => {}),
      )
    }
    await Bun.sleep(20)
  }
  const deadline = Date.now() + 20_000
  while (watchers.some((w) => w.updates === 0) && Date.now() < deadline) await Bun.sleep(20)
  return { watchers, closed }
}

/** Time until every watcher has seen one more update than before `trigger`, from `t0` (ms). */
async function fanOut(watchers: Watcher[], trigger: () => Promise<number>) {
  const before = watchers.map((w) => w.updates)
  const t0 = await trigger()
  const deadline = Date.now() + 10_000
  while (watchers.some((w, i) => w.updates <= before[i]!) && Date.now() < deadline) await Bun.sleep(2)
  const reached = watchers.filter((w, i) => w.updates > before[i]!)
  return {
    missed: watchers.length - reached.length,
    allMs: Math.max(...reached.map((w) => w.lastAt - t0)),
    p50Ms: percentile(
      reached.map((w) => w.lastAt - t0),
      50,
    ),
  }
}

type Runs = { missed: number; allMs: number; p50Ms: number }[]

const summary = (runs: Runs) => ({
  missed: Math.max(...runs.map((r) => r.missed)),
  allMsMedian: percentile(
    runs.map((r) => r.allMs),
    50,
  ),
  allMsMax: Math.max(...runs.map((r) => r.allMs)),
})

/**
 * (c) `n` dashboards open on their event streams; one chat call is recorded: the time from the
 * end of that reply until every dashboard has its update. Floor: a bare Bun.serve pushing a
 * message of the same size to the same number of event streams. Given `postgresUrl`, the same
 * again with the app on PostgreSQL (DATABASE_URL), its floor measured again, interleaved with it.
 */
export async function openDashboards(emulator: Started, n: number, rounds: number, postgresUrl?: string) {
  const relay = await startRelay(emulator.url)
  const stop = new AbortController()
  try {
    const onRelay = await openWatchers(`${relay.url}/events`, n, stop.signal)
    /** One app's rounds (on SQLite, or on PostgreSQL with `env`), each followed by a round of the floor. */
    const measureApp = async (env: Record<string, string>) => {
      const dir = mkdtempSync(join(tmpdir(), 'bench-dash-'))
      const app = await startApp(emulator.url, dir, env)
      const own = new AbortController()
      const appRuns: Runs = []
      const floorRuns: Runs = []
      try {
        const onApp = await openWatchers(`${app.url}/dashboard/stream?range=15m`, n, own.signal)
        const updateSize = onApp.watchers[0]!.firstData.length
        const payload = 'x'.repeat(updateSize)
        const cookie = await openBrowser(app.url)
        for (let i = 0; i < rounds; i++) {
          // a call in this process, timed from its last token: its row is committed after that
          appRuns.push(
            await fanOut(onApp.watchers, async () => {
              const sent = performance.now()
              const reply = await sendMessage(app.url, cookie, `Dashboard round ${i} [[tokens:5]]`)
              return sent + reply.lastTokenMs
            }),
          )
          floorRuns.push(
            await fanOut(onRelay.watchers, async () => {
              const t0 = performance.now()
              await fetch(`${relay.url}/broadcast`, { method: 'POST', body: payload })
              return t0
            }),
          )
          await Bun.sleep(1200)
        }
        const memory = app.memory()
        const a = summary(appRuns)
        const f = summary(floorRuns)
        return { updateSize, app: a, floor: f, ratio: ratio(a.allMsMedian, f.allMsMedian), appRssMiB: memory.rssMiB }
      } finally {
        own.abort()
        await app.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    }
    const onSqlite = await measureApp({})
    const onPostgres = postgresUrl ? await measureApp({ DATABASE_URL: postgresUrl }) : undefined
    stop.abort()
    console.log(`\n(c) ${n} open dashboards, one call recorded: time until every dashboard has it (ms, ${rounds} rounds; update ${onSqlite.updateSize} bytes)`)
    printTable([
      ['', 'missed', 'all updated, median', 'worst round'],
      ['bare Bun.serve push to as many streams (floor)', String(onSqlite.floor.missed), onSqlite.floor.allMsMedian, onSqlite.floor.allMsMax],
      ['the app (last token → every dashboard)', String(onSqlite.app.missed), onSqlite.app.allMsMedian, onSqlite.app.allMsMax],
      ...(onPostgres
        ? [
            ['bare Bun.serve push, again (floor of the next line)', String(onPostgres.floor.missed), onPostgres.floor.allMsMedian, onPostgres.floor.allMsMax],
            ['the app on PostgreSQL (DATABASE_URL)', String(onPostgres.app.missed), onPostgres.app.allMsMedian, onPostgres.app.allMsMax],
          ]
        : []),
    ])
    console.log(
      `  app memory with ${n} dashboards open: ${fmt(onSqlite.appRssMiB)} MiB${onPostgres ? ` (on PostgreSQL: ${fmt(onPostgres.appRssMiB)} MiB)` : ''}`,
    )
    return {
      dashboards: n,
      rounds,
      updateBytes: onSqlite.updateSize,
      app: onSqlite.app,
      floor: onSqlite.floor,
      ratio: onSqlite.ratio,
      appRssMiB: onSqlite.appRssMiB,
      postgres: onPostgres
        ? { updateBytes: onPostgres.updateSize, app: onPostgres.app, floor: onPostgres.floor, ratio: onPostgres.ratio, appRssMiB: onPostgres.appRssMiB }
        : null,
    }
  } finally {
    stop.abort()
    await relay.stop()
  }
}
