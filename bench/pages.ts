import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getPage, openBrowser, sendMessage } from './lib/client.ts'
import { startApp, startRelay, type Started } from './lib/processes.ts'
import { fmt, median, printTable, ratio } from './lib/stats.ts'

/** Requests per second for `url` from `concurrency` clients asking one after another for `ms`. */
async function requestsPerSecond(url: string, cookie: string, concurrency: number, ms: number): Promise<number> {
  const deadline = performance.now() + ms
  let done = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await getPage(url, cookie)
        done += 1
      }
    }),
  )
  return done / (ms / 1000)
}

/**
 * (d) Requests per second for the chat page of a 100-message conversation and for the dashboard
 * page, each against a bare Bun.serve answer of the same size, in alternating rounds.
 */
export async function pageThroughput(emulator: Started, options: { ms: number; rounds: number; concurrency?: number }) {
  const concurrency = options.concurrency ?? 32
  const dir = mkdtempSync(join(tmpdir(), 'bench-pages-'))
  const app = await startApp(emulator.url, dir)
  const relay = await startRelay(emulator.url)
  try {
    const cookie = await openBrowser(app.url)
    let path = '/c/new/messages'
    for (let i = 0; i < 50; i++) {
      const sent = await sendMessage(app.url, cookie, `Question ${i}: tell me about **Markdown**, \`code\` and lists. [[tokens:60]]`, path)
      if (!sent.ok) throw new Error(`could not fill the conversation: ${sent.error}`)
      path = sent.next ?? path
    }
    const pages = [
      { name: 'chat page, 100-message conversation', url: `${app.url}${path.replace(/\/messages$/, '')}` },
      { name: 'dashboard page', url: `${app.url}/dashboard` },
    ]
    const results = []
    for (const page of pages) {
      const bytes = await getPage(page.url, cookie)
      const floorUrl = `${relay.url}/static?bytes=${bytes}`
      await requestsPerSecond(page.url, cookie, concurrency, 500) // warm-up
      await requestsPerSecond(floorUrl, '', concurrency, 500)
      const ours: number[] = []
      const floor: number[] = []
      for (let r = 0; r < options.rounds; r++) {
        floor.push(await requestsPerSecond(floorUrl, '', concurrency, options.ms))
        ours.push(await requestsPerSecond(page.url, cookie, concurrency, options.ms))
      }
      results.push({ page: page.name, bytes, appRps: median(ours), floorRps: median(floor), ratio: ratio(median(ours), median(floor)) })
    }
    console.log(
      `\n(d) pages: requests per second, ${concurrency} clients, ${options.rounds} alternating rounds of ${options.ms / 1000} s (ratio = app ÷ floor)`,
    )
    printTable([
      ['', 'bytes', 'bare Bun.serve, same size (floor)', 'the app', 'ratio'],
      ...results.map((r) => [r.page, String(r.bytes), fmt(r.floorRps), fmt(r.appRps), `${r.ratio}x`]),
    ])
    return { concurrency, seconds: options.ms / 1000, rounds: options.rounds, results }
  } finally {
    await app.stop()
    await relay.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** (e) From starting the process to its first page, and its memory when idle, against the bare relay. */
export async function startAndIdle(emulator: Started, rounds: number) {
  const measure = async (start: () => Promise<Started>) => {
    const t0 = performance.now()
    const server = await start()
    await getPage(`${server.url}/`)
    const firstPageMs = performance.now() - t0
    await Bun.sleep(2000)
    const idleMiB = server.memory().rssMiB
    await server.stop()
    return { firstPageMs, idleMiB }
  }
  const app: { firstPageMs: number; idleMiB: number }[] = []
  const floor: typeof app = []
  for (let r = 0; r < rounds; r++) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-start-'))
    floor.push(await measure(() => startRelay(emulator.url)))
    app.push(await measure(() => startApp(emulator.url, dir)))
    rmSync(dir, { recursive: true, force: true })
  }
  const a = { firstPageMs: median(app.map((x) => x.firstPageMs)), idleMiB: median(app.map((x) => x.idleMiB)) }
  const f = { firstPageMs: median(floor.map((x) => x.firstPageMs)), idleMiB: median(floor.map((x) => x.idleMiB)) }
  console.log(`\n(e) start to first page and idle memory (median of ${rounds}; the app on a new database)`)
  printTable([
    ['', 'start → first page ms', 'idle MiB'],
    ['bare Bun.serve relay with the SDK loaded (floor)', f.firstPageMs, f.idleMiB],
    ['the app', a.firstPageMs, a.idleMiB],
  ])
  return { rounds, app: a, floor: f }
}
