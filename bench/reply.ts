import { Database } from 'bun:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BedrockRuntimeClient, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { createAmazonBedrock } from '@ai-sdk/amazon-bedrock'
import { streamText } from 'ai'
import { openBrowser, sendMessage, type SendResult } from './lib/client.ts'
import { BENCH_CREDENTIALS, startApp, startRelay, type Started } from './lib/processes.ts'
import { percentile, printTable, ratio } from './lib/stats.ts'

const MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'

type Timing = { ttftMs: number; lastTokenMs: number }

/** The floor of (a): ConverseStream called directly through the SDK, timed to the first and last text delta. */
function directCaller(emulatorUrl: string) {
  const client = new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: emulatorUrl,
    credentials: BENCH_CREDENTIALS,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: Infinity }) }),
  })
  return async (message: string): Promise<Timing> => {
    const started = performance.now()
    const res = await client.send(
      new ConverseStreamCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: message }] }], inferenceConfig: { maxTokens: 2048 } }),
    )
    let ttftMs = Number.NaN
    let lastTokenMs = Number.NaN
    for await (const event of res.stream ?? []) {
      if (event.contentBlockDelta?.delta?.text) {
        lastTokenMs = performance.now() - started
        if (Number.isNaN(ttftMs)) ttftMs = lastTokenMs
      }
    }
    return { ttftMs, lastTokenMs }
  }
}

/** A peer's number: the Vercel AI SDK's Bedrock provider doing the same call on the same emulator. */
function aiSdkCaller(emulatorUrl: string) {
  const bedrock = createAmazonBedrock({
    region: 'us-east-1',
    baseURL: emulatorUrl,
    accessKeyId: BENCH_CREDENTIALS.accessKeyId,
    secretAccessKey: BENCH_CREDENTIALS.secretAccessKey,
  })
  return async (message: string): Promise<Timing> => {
    const started = performance.now()
    const result = streamText({ model: bedrock(MODEL), prompt: message, maxOutputTokens: 2048 })
    let ttftMs = Number.NaN
    let lastTokenMs = Number.NaN
    for await (const text of result.textStream) {
      if (!text) continue
      lastTokenMs = performance.now() - started
      if (Number.isNaN(ttftMs)) ttftMs = lastTokenMs
    }
    return { ttftMs, lastTokenMs }
  }
}

function summary(samples: Timing[]) {
  const ttft = samples.map((s) => s.ttftMs)
  const last = samples.map((s) => s.lastTokenMs)
  return { ttftP50: percentile(ttft, 50), ttftP99: percentile(ttft, 99), lastP50: percentile(last, 50), lastP99: percentile(last, 99) }
}

/**
 * (a) and (f): one reply at a time, `samples` times, the direct SDK call, the bare relay, the app
 * and the AI SDK interleaved (so a noisy moment hits all four). Each app sample is a new browser's
 * first message.
 */
export async function sequentialReplies(emulator: Started, samples: number, tokens: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-seq-'))
  const app = await startApp(emulator.url, dir)
  const relay = await startRelay(emulator.url)
  const direct = directCaller(emulator.url)
  const aiSdk = aiSdkCaller(emulator.url)
  const runs = { direct: [] as Timing[], relay: [] as Timing[], app: [] as Timing[], aiSdk: [] as Timing[] }
  const failures: string[] = []
  const message = (i: number) => `Sequential sample ${i} [[tokens:${tokens}]]`
  try {
    for (let i = -5; i < samples; i++) {
      const cookie = await openBrowser(app.url)
      const relayCookie = await openBrowser(relay.url)
      const d = await direct(message(i))
      const r = await sendMessage(relay.url, relayCookie, message(i))
      const a = await sendMessage(app.url, cookie, message(i))
      const v = await aiSdk(message(i))
      if (!a.ok) failures.push(a.error ?? 'failed')
      if (i < 0) continue // warm-up
      runs.direct.push(d)
      runs.relay.push(r)
      runs.app.push(a)
      runs.aiSdk.push(v)
    }
  } finally {
    await app.stop()
    await relay.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  const direct_ = summary(runs.direct)
  const relay_ = summary(runs.relay)
  const app_ = summary(runs.app)
  const ai = summary(runs.aiSdk)
  const ratios = (of: ReturnType<typeof summary>) => ({
    ttftP50: ratio(of.ttftP50, direct_.ttftP50),
    ttftP99: ratio(of.ttftP99, direct_.ttftP99),
    lastP50: ratio(of.lastP50, direct_.lastP50),
    lastP99: ratio(of.lastP99, direct_.lastP99),
  })
  console.log(`\n(a) one reply at a time, ${samples} samples of ${tokens} tokens, zero delay (ms; ratio = app ÷ direct)`)
  printTable([
    ['', 'TTFT p50', 'TTFT p99', 'last token p50', 'last token p99'],
    ['direct SDK call (floor)', direct_.ttftP50, direct_.ttftP99, direct_.lastP50, direct_.lastP99],
    ['bare Bun.serve relay', relay_.ttftP50, relay_.ttftP99, relay_.lastP50, relay_.lastP99],
    [
      '  ratio',
      `${ratio(relay_.ttftP50, direct_.ttftP50)}x`,
      `${ratio(relay_.ttftP99, direct_.ttftP99)}x`,
      `${ratio(relay_.lastP50, direct_.lastP50)}x`,
      `${ratio(relay_.lastP99, direct_.lastP99)}x`,
    ],
    ['the app', app_.ttftP50, app_.ttftP99, app_.lastP50, app_.lastP99],
    [
      '  ratio',
      `${ratio(app_.ttftP50, direct_.ttftP50)}x`,
      `${ratio(app_.ttftP99, direct_.ttftP99)}x`,
      `${ratio(app_.lastP50, direct_.lastP50)}x`,
      `${ratio(app_.lastP99, direct_.lastP99)}x`,
    ],
    ['(f) Vercel AI SDK (peer)', ai.ttftP50, ai.ttftP99, ai.lastP50, ai.lastP99],
    [
      '  ratio to direct',
      `${ratio(ai.ttftP50, direct_.ttftP50)}x`,
      `${ratio(ai.ttftP99, direct_.ttftP99)}x`,
      `${ratio(ai.lastP50, direct_.lastP50)}x`,
      `${ratio(ai.lastP99, direct_.lastP99)}x`,
    ],
  ])
  if (failures.length) console.log(`  app failures: ${failures.length} (${failures[0]})`)
  return {
    samples,
    tokens,
    direct: direct_,
    relay: relay_,
    app: app_,
    aiSdk: ai,
    appFailures: failures.length,
    ratios: ratios(app_),
    relayRatios: ratios(relay_),
    aiSdkRatios: ratios(ai),
  }
}

type LoadRun = {
  target: 'relay' | 'app'
  concurrent: number
  errors: number
  firstError?: string
  ttftP50: number
  ttftP99: number
  wallMs: number
  peakMiB: number
  afterMiB: number
  /** Resident memory once every browser had its cookie, before the first message. */
  browsersOpenMiB: number
  /** App only: rows in `invocations` with outcome ok, and rows in all (expect both = concurrent). */
  okRows?: number
  rows?: number
}

/** `n` distinct browsers press Send at the same moment; each reply streams `tokens` tokens, `delayMs` apart. */
async function loadOnce(target: Started, kind: LoadRun['target'], n: number, tokens: number, delayMs: number, dbPath?: string): Promise<LoadRun> {
  const cookies: string[] = []
  for (let i = 0; i < n; i += 50) cookies.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => openBrowser(target.url)))))
  const openedMiB = target.memory()
  const started = performance.now()
  const results: SendResult[] = await Promise.all(
    cookies.map((cookie, i) => sendMessage(target.url, cookie, `Load ${kind} ${n} browser ${i} [[slow:${delayMs}]] [[tokens:${tokens}]]`)),
  )
  const wallMs = performance.now() - started
  const peakMiB = target.memory().peakMiB
  await Bun.sleep(2000)
  const afterMiB = target.memory().rssMiB
  const failed = results.filter((r) => !r.ok || r.tokens !== tokens)
  const run: LoadRun = {
    target: kind,
    concurrent: n,
    errors: failed.length,
    firstError: failed[0] && (failed[0].error ?? `${failed[0].tokens} tokens`),
    ttftP50: percentile(
      results.map((r) => r.ttftMs),
      50,
    ),
    ttftP99: percentile(
      results.map((r) => r.ttftMs),
      99,
    ),
    wallMs,
    peakMiB,
    afterMiB,
    browsersOpenMiB: openedMiB.rssMiB,
  }
  if (dbPath) {
    const db = new Database(dbPath, { readonly: true })
    const row = db.query<{ rows: number; ok: number }, []>("SELECT count(*) AS rows, coalesce(sum(outcome = 'ok'), 0) AS ok FROM invocations").get()
    db.close()
    run.rows = row?.rows ?? 0
    run.okRows = row?.ok ?? 0
  }
  return run
}

/** The median of one figure over rounds. */
function medianOf(runs: LoadRun[], key: 'ttftP50' | 'ttftP99' | 'wallMs' | 'peakMiB' | 'afterMiB' | 'browsersOpenMiB'): number {
  return percentile(
    runs.map((r) => r[key]),
    50,
  )
}

/**
 * (b) 100, 500, 1,000 conversations at once through the relay (floor) and the app, alternating,
 * `rounds` times each, every run on a fresh process. Figures are medians over the rounds; errors
 * and rows are summed.
 */
export async function concurrentReplies(emulator: Started, sizes: { n: number; rounds: number }[], tokens = 200, delayMs = 20) {
  const runs: LoadRun[] = []
  for (const { n, rounds } of sizes) {
    for (let round = 0; round < rounds; round++) {
      const relay = await startRelay(emulator.url)
      try {
        runs.push(await loadOnce(relay, 'relay', n, tokens, delayMs))
      } finally {
        await relay.stop()
      }
      const dir = mkdtempSync(join(tmpdir(), 'bench-load-'))
      const app = await startApp(emulator.url, dir)
      try {
        runs.push(await loadOnce(app, 'app', n, tokens, delayMs, join(dir, 'metrics.db')))
      } finally {
        await app.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  const summaries = sizes.flatMap(({ n, rounds }) =>
    (['relay', 'app'] as const).map((target) => {
      const mine = runs.filter((r) => r.concurrent === n && r.target === target)
      return {
        target,
        concurrent: n,
        rounds,
        calls: n * rounds,
        errors: mine.reduce((sum, r) => sum + r.errors, 0),
        firstError: mine.find((r) => r.firstError)?.firstError,
        okRows: target === 'app' ? mine.reduce((sum, r) => sum + (r.okRows ?? 0), 0) : undefined,
        rows: target === 'app' ? mine.reduce((sum, r) => sum + (r.rows ?? 0), 0) : undefined,
        ttftP50: medianOf(mine, 'ttftP50'),
        ttftP99: medianOf(mine, 'ttftP99'),
        wallMs: medianOf(mine, 'wallMs'),
        browsersOpenMiB: medianOf(mine, 'browsersOpenMiB'),
        peakMiB: Math.max(...mine.map((r) => r.peakMiB)),
        afterMiB: medianOf(mine, 'afterMiB'),
        runs: mine,
      }
    }),
  )
  const withRatios = summaries.map((s) => {
    const floor = summaries.find((f) => f.target === 'relay' && f.concurrent === s.concurrent)!
    return { ...s, ttftP99Ratio: s.target === 'app' ? ratio(s.ttftP99, floor.ttftP99) : undefined }
  })
  console.log(`\n(b) concurrent conversations, ${tokens} tokens ${delayMs} ms apart; medians over alternating rounds (ratio = app ÷ relay)`)
  printTable([
    ['', 'rounds', 'errors', 'ok rows', 'TTFT p50 ms', 'TTFT p99 ms', 'p99 ratio', 'wall s', 'before MiB', 'peak MiB', 'after MiB'],
    ...withRatios.map((r) => [
      `${r.concurrent} through the ${r.target === 'relay' ? 'bare relay (floor)' : 'app'}`,
      String(r.rounds),
      String(r.errors),
      r.okRows === undefined ? '' : `${r.okRows}/${r.calls} (${r.rows} rows)`,
      r.ttftP50,
      r.ttftP99,
      r.ttftP99Ratio === undefined ? '' : `${r.ttftP99Ratio}x`,
      r.wallMs / 1000,
      r.browsersOpenMiB,
      r.peakMiB,
      r.afterMiB,
    ]),
  ])
  for (const r of withRatios) if (r.firstError) console.log(`  ${r.target} ${r.concurrent}: first error: ${r.firstError}`)
  return withRatios
}
