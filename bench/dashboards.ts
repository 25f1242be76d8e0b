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

/**
 * (c) `n` dashboards open on their event streams; one chat call is recorded: the time from the
 * end of that reply until every dashboard has its update. Floor: a bare Bun.serve pushing a
 * message of the same size to the same number of event streams.
 */
export async function openDashboards(emulator: Started, n: number, rounds: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-dash-'))
  const app = await startApp(emulator.url, dir)
  const relay = await startRelay(emulator.url)
  const stop = new AbortController()
  const appRuns: { missed: number; allMs: number; p50Ms: number }[] = []
  const floorRuns: typeof appRuns = []
  try {
    const onApp = await openWatchers(`${app.url}/dashboard/stream?range=15m`, n, stop.signal)
    const onRelay = await openWatchers(`${relay.url}/events`, n, stop.signal)
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
    stop.abort()
    const summary = (runs: typeof appRuns) => ({
      missed: Math.max(...runs.map((r) => r.missed)),
      allMsMedian: percentile(
        runs.map((r) => r.allMs),
        50,
      ),
      allMsMax: Math.max(...runs.map((r) => r.allMs)),
    })
    const a = summary(appRuns)
    const f = summary(floorRuns)
    console.log(`\n(c) ${n} open dashboards, one call recorded: time until every dashboard has it (ms, ${rounds} rounds; update ${updateSize} bytes)`)
    printTable([
      ['', 'missed', 'all updated, median', 'worst round'],
      ['bare Bun.serve push to as many streams (floor)', String(f.missed), f.allMsMedian, f.allMsMax],
      ['the app (last token → every dashboard)', String(a.missed), a.allMsMedian, a.allMsMax],
    ])
    console.log(`  app memory with ${n} dashboards open: ${fmt(memory.rssMiB)} MiB`)
    return { dashboards: n, rounds, updateBytes: updateSize, app: a, floor: f, ratio: ratio(a.allMsMedian, f.allMsMedian), appRssMiB: memory.rssMiB }
  } finally {
    stop.abort()
    await app.stop()
    await relay.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
