/**
 * Prompt caching as a person meets it: cache points placed in what the app sends (after a long
 * system prompt, at the tail of the conversation, never below the model's minimum or past
 * Bedrock's four), the "Prompt caching" setting, and the emulator's cache usage, all through the
 * real SDK against the emulator.
 */
import { describe, expect, test } from 'bun:test'
import { BedrockRuntimeClient, ConverseCommand, type Message } from '@aws-sdk/client-bedrock-runtime'
import type { RecordedRequest } from '../src/emulator/server.ts'
import { startEmulator } from '../src/emulator/server.ts'
import { usd } from '../src/services/chat/index.ts'
import { cachePriceFor, cacheSavingsFor, costFor, loadCatalogFile, modelInfo, useCatalogOverrides } from '../src/services/models.ts'
import { browser, eventually, unique, useApp, type TestApp } from './helpers.ts'

let t: TestApp
useApp((made) => (t = made))

/** About 1,200 estimated tokens (3 bytes a token): over Claude Sonnet's 1,024 minimum. */
const LONG = 'lorem '.repeat(600).trim()
const SETTINGS = { temperature: '0.7', maxTokens: '2048' }

type Block = Record<string, unknown>
type Body = { system?: Block[]; messages: { role: string; content: Block[] }[] }

function sentWith(marker: string): RecordedRequest[] {
  return t.emulator.requests.filter((r) => JSON.stringify(r.body).includes(marker))
}

/** Where a request's cache points are: `system` and the indexes of the messages that end with one. */
function cachePoints(record: RecordedRequest) {
  const body = record.body as Body
  const isPoint = (b: Block) => 'cachePoint' in b
  return {
    system: (body.system ?? []).findIndex(isPoint) === (body.system?.length ?? 0) - 1 && (body.system ?? []).some(isPoint),
    messages: body.messages.flatMap((m, i) => (m.content.some(isPoint) ? [i] : [])),
    total: (body.system ?? []).filter(isPoint).length + body.messages.reduce((n, m) => n + m.content.filter(isPoint).length, 0),
    /** Each point is its own block, after the message's text. */
    lastBlocks: body.messages.filter((m) => m.content.some(isPoint)).map((m) => m.content.at(-1)),
  }
}

describe('cache points in the request', () => {
  test('a short conversation gets none: its prefix is below the model minimum', async () => {
    const you = browser(t.app)
    const marker = unique('Short hello')
    await you.send(marker)
    const [sent] = sentWith(marker)
    expect(cachePoints(sent!).total).toBe(0)
  })

  test('after a long system prompt, and after the newest user turn, each as its own block', async () => {
    const you = browser(t.app)
    await you.send(unique('First, short'))
    await you.post(`${you.conversation}/settings`, { ...SETTINGS, systemPrompt: LONG, promptCaching: 'on' })
    const marker = unique('Second, with a long system prompt')
    await you.send(marker)
    const points = cachePoints(sentWith(marker)[0]!)
    expect(points.system).toBe(true)
    // the system prompt alone reaches the minimum, so both user turns are past it too
    expect(points.messages).toEqual([0, 2])
    expect(points.lastBlocks).toEqual([{ cachePoint: { type: 'default' } }, { cachePoint: { type: 'default' } }])
  })

  test('the tail moves with the conversation, and the previous tail is kept so its prefix is read', async () => {
    const you = browser(t.app)
    const first = unique(`Tail one ${LONG}`)
    await you.send(first)
    expect(cachePoints(sentWith(first)[0]!)).toMatchObject({ system: false, messages: [0], total: 1 })
    const second = unique('Tail two')
    await you.send(second)
    expect(cachePoints(sentWith(second)[0]!)).toMatchObject({ messages: [0, 2], total: 2 })
    const third = unique('Tail three')
    await you.send(third)
    expect(cachePoints(sentWith(third)[0]!)).toMatchObject({ messages: [2, 4], total: 2 })
  })

  test('never more than 4 cache points, however long the conversation and its system prompt', async () => {
    const you = browser(t.app)
    await you.send(unique(`Many turns ${LONG}`))
    await you.post(`${you.conversation}/settings`, { ...SETTINGS, systemPrompt: LONG, promptCaching: 'on' })
    for (let i = 0; i < 6; i++) {
      const marker = unique(`Turn ${i} ${LONG}`)
      const { res } = await you.send(marker)
      expect(res.status).toBe(200)
      const points = cachePoints(sentWith(marker)[0]!)
      expect(points.total).toBeGreaterThan(0)
      expect(points.total).toBeLessThanOrEqual(4)
    }
  })

  test('a conversation with Prompt caching turned off sends none, and turning it on again does', async () => {
    const you = browser(t.app)
    await you.send(unique('Caching off'))
    const page = await (await you.get(you.conversation!)).text()
    expect(page).toMatch(/<input type="checkbox" id="prompt-caching" name="promptCaching" value="on" checked=""\/> Prompt caching/)
    const saved = await you.post(`${you.conversation}/settings`, { ...SETTINGS, systemPrompt: LONG }, { htmx: true })
    expect(await saved.text()).toMatch(/id="prompt-caching" name="promptCaching" value="on"\/>/)
    const off = unique(`Caching off ${LONG}`)
    await you.send(off)
    expect(cachePoints(sentWith(off)[0]!).total).toBe(0)
    await you.post(`${you.conversation}/settings`, { ...SETTINGS, systemPrompt: LONG, promptCaching: 'on' })
    const on = unique('Caching on again')
    await you.send(on)
    expect(cachePoints(sentWith(on)[0]!).total).toBeGreaterThan(0)
  })

  test('a bad Prompt caching value is refused with a message and changes nothing', async () => {
    const you = browser(t.app)
    await you.send(unique('Bad caching value'))
    const res = await you.post(`${you.conversation}/settings`, { ...SETTINGS, systemPrompt: 'kept?', promptCaching: 'yes' }, { htmx: true })
    expect(res.status).toBe(422)
    const page = await (await you.get(you.conversation!)).text()
    expect(page).not.toContain('kept?')
    expect(page).toMatch(/id="prompt-caching" name="promptCaching" value="on" checked=""/)
  })

  test('a model without prompt caching, or one the catalogue does not know, gets none and shows no checkbox', async () => {
    for (const modelId of ['us.meta.llama3-3-70b-instruct-v1:0', 'custom']) {
      const you = browser(t.app)
      const extra: Record<string, string> = modelId === 'custom' ? { modelId: 'custom', customModelId: 'acme.unknown-model-v1:0' } : { modelId }
      const marker = unique(`No caching model ${LONG}`)
      await you.send(marker, extra)
      expect(cachePoints(sentWith(marker)[0]!).total).toBe(0)
      const page = await (await you.get(you.conversation!)).text()
      expect(page).not.toContain('Prompt caching')
    }
  })

  test('Claude Haiku 4.5 needs 4,096 tokens before a cache point', async () => {
    const you = browser(t.app)
    const marker = unique(`Haiku ${LONG}`)
    await you.send(marker, { modelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0' })
    expect(cachePoints(sentWith(marker)[0]!).total).toBe(0)
    const longer = unique(`Haiku longer ${LONG} ${LONG} ${LONG} ${LONG}`)
    await you.send(longer)
    expect(cachePoints(sentWith(longer)[0]!).messages).toEqual([2])
  })
})

/** Claude Sonnet 4.6 through its global profile (the default model): USD per 1,000 tokens, no geographic premium. */
const SONNET = { input: 0.003, output: 0.015, cacheWrite: 0.00375, cacheRead: 0.0003 }

type Row = {
  input_tokens: number
  output_tokens: number
  cache_read_input_tokens: number | null
  cache_write_input_tokens: number | null
}

/** The call row behind the newest reply of a conversation (once it is written). */
async function rowOfLatestReply(conversationPath: string): Promise<Row> {
  const id = conversationPath.replace('/c/', '')
  const [row] = await t.sql<Row>(
    `SELECT i.* FROM messages m JOIN invocations i ON i.id = m.invocation_id WHERE m.conversation_id = ? AND m.role = 'assistant' ORDER BY m.seq DESC LIMIT 1`,
    id,
  )
  if (!row) throw new Error('no row yet')
  return row
}

const priced = (r: Row) =>
  (r.input_tokens * SONNET.input +
    r.output_tokens * SONNET.output +
    (r.cache_read_input_tokens ?? 0) * SONNET.cacheRead +
    (r.cache_write_input_tokens ?? 0) * SONNET.cacheWrite) /
  1000

describe('the catalogue', () => {
  test('says which models take cache points and their minimum; an unknown model takes none', () => {
    expect(modelInfo('us.anthropic.claude-sonnet-4-5-20250929-v1:0').cacheMinTokens).toBe(1024)
    expect(modelInfo('global.anthropic.claude-haiku-4-5-20251001-v1:0').cacheMinTokens).toBe(4096)
    expect(modelInfo('us.amazon.nova-pro-v1:0').cacheMinTokens).toBeUndefined()
    expect(modelInfo('acme.unknown-model-v1:0').cacheMinTokens).toBeUndefined()
  })

  test('prices cache reads and writes at their own rates, with the geographic premium, beside input and output', () => {
    expect(cachePriceFor('global.anthropic.claude-sonnet-4-5-20250929-v1:0')).toEqual({ writePer1k: 0.00375, readPer1k: 0.0003 })
    const geo = cachePriceFor('us.anthropic.claude-sonnet-4-5-20250929-v1:0')!
    expect(geo.writePer1k).toBeCloseTo(0.004125, 10)
    expect(geo.readPer1k).toBeCloseTo(0.00033, 10)
    // 1,000 of each: input 0.003 + output 0.015 + read 0.0003 + write 0.00375
    expect(costFor('global.anthropic.claude-sonnet-4-5-20250929-v1:0', 1000, 1000, 1000, 1000)).toBeCloseTo(0.02205, 10)
    expect(costFor('global.anthropic.claude-sonnet-4-5-20250929-v1:0', 1000, 1000)).toBeCloseTo(0.018, 10)
    expect(cacheSavingsFor('global.anthropic.claude-sonnet-4-5-20250929-v1:0', 10_000)).toBeCloseTo(0.027, 10)
    expect(costFor('acme.unknown-model-v1:0', 1, 1, 1, 1)).toBeNull()
    expect(cacheSavingsFor('acme.unknown-model-v1:0', 1)).toBeNull()
  })

  test('a catalogue file can give a model prompt caching, with its own cache prices or Claude ratios', async () => {
    const file = `/tmp/catalog-${crypto.randomUUID()}.json`
    await Bun.write(
      file,
      JSON.stringify([
        { id: 'acme.cached-v1:0', name: 'Cached', contextWindow: 100000, maxOutput: 4000, inputPer1k: 0.01, outputPer1k: 0.02, cacheMinTokens: 512 },
        {
          id: 'acme.priced-v1:0',
          name: 'Priced',
          contextWindow: 100000,
          maxOutput: 4000,
          inputPer1k: 0.01,
          outputPer1k: 0.02,
          cacheMinTokens: 512,
          cacheWritePer1k: 0.01,
          cacheReadPer1k: 0.002,
        },
      ]),
    )
    try {
      useCatalogOverrides(await loadCatalogFile(file))
      expect(modelInfo('acme.cached-v1:0').cacheMinTokens).toBe(512)
      expect(cachePriceFor('acme.cached-v1:0')!.writePer1k).toBeCloseTo(0.0125, 10)
      expect(cachePriceFor('acme.cached-v1:0')!.readPer1k).toBeCloseTo(0.001, 10)
      expect(cachePriceFor('acme.priced-v1:0')).toEqual({ writePer1k: 0.01, readPer1k: 0.002 })
      await Bun.write(file, JSON.stringify([{ id: 'acme.bad-v1:0', name: 'Bad', contextWindow: 1000, maxOutput: 100, cacheMinTokens: 0 }]))
      await expect(loadCatalogFile(file)).rejects.toThrow(/cacheMinTokens/)
    } finally {
      useCatalogOverrides([])
    }
  })
})

describe('cache tokens recorded, priced and shown', () => {
  test('the first turn writes the cache, the second reads it: both on the call rows, priced at their own rates, in the reply details', async () => {
    const you = browser(t.app)
    const first = unique(`Remember this ${LONG}`)
    await you.send(first)
    const wrote = sentWith(first)[0]!.cache!
    expect(wrote.cacheWriteInputTokens).toBeGreaterThan(600)
    const one = await eventually(() => rowOfLatestReply(you.conversation!))
    expect(one).toMatchObject({ cache_read_input_tokens: 0, cache_write_input_tokens: wrote.cacheWriteInputTokens })
    // Bedrock's inputTokens leaves out what was written: only the words after the cache point remain (none)
    expect(one.input_tokens).toBe(0)

    const second = unique('And now a short question')
    await you.send(second)
    const read = sentWith(second)[0]!.cache!
    expect(read.cacheReadInputTokens).toBe(wrote.cacheWriteInputTokens)
    const two = await eventually(async () => {
      const row = await rowOfLatestReply(you.conversation!)
      expect(row.cache_read_input_tokens).toBe(read.cacheReadInputTokens)
      return row
    })
    expect(two.cache_write_input_tokens).toBe(read.cacheWriteInputTokens)

    const page = await (await you.get(you.conversation!)).text()
    const details = [...page.matchAll(/<p class="msg-meta">([^<]*)<\/p>/g)].map((m) => m[1]!)
    expect(details).toHaveLength(2)
    const count = (n: number) => n.toLocaleString('en-US')
    expect(details[0]).toContain(`cache 0 read / ${count(wrote.cacheWriteInputTokens)} written`)
    expect(details[1]).toContain(`cache ${count(read.cacheReadInputTokens)} read / ${count(read.cacheWriteInputTokens)} written`)
    // the cost counts the cache at its own prices: the write dearer than input, the read far cheaper
    const money = (n: number) => (n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(3)}`)
    expect(details[0]).toContain(`≈ ${money(priced(one))}`)
    expect(details[1]).toContain(`≈ ${money(priced(two))}`)
    expect(priced(one)).toBeGreaterThan(((one.cache_write_input_tokens ?? 0) * SONNET.input) / 1000)
  })
})

describe('the daily budget counts cache reads and writes', () => {
  let b: TestApp
  const today = Date.now()
  useApp((made) => (b = made), { env: { BUDGET_USD_PER_DAY: '5' }, deps: { limits: { now: () => today } } })

  test('the sidebar spend is the recorded calls priced with their cache tokens', async () => {
    const you = browser(b.app)
    const sent = await you.send(unique(`Budgeted ${LONG}`))
    expect(sent.res.status).toBe(200)
    const [row] = (await b.sql<Row>('SELECT * FROM invocations ORDER BY id DESC LIMIT 1')) as [Row]
    expect(row.cache_write_input_tokens).toBeGreaterThan(600)
    const cost = priced(row)
    const budgetLine = (html: string) => html.match(/<p id="budget"[\s\S]*?<\/p>/)?.[0] ?? ''
    expect(budgetLine(sent.messages.at(-1)!.data)).toContain(`Today: ${usd(cost)} of $5.00`)
    expect(budgetLine(await (await you.get(you.conversation!)).text())).toContain(`Today: ${usd(cost)} of $5.00`)
  })
})

describe('the dashboard and /metrics show the cache', () => {
  let d: TestApp
  useApp((made) => (d = made))

  test('cache tokens per minute, the hit ratio and the savings on the dashboard, and token counters on /metrics', async () => {
    const you = browser(d.app)
    await you.send(unique(`Dashboard cache ${LONG}`))
    await you.send(unique('Dashboard cache, second turn'))
    const rows = await eventually(async () => {
      const all = await d.sql<Row & { model_id: string }>('SELECT * FROM invocations ORDER BY id')
      expect(all).toHaveLength(2)
      return all
    })
    const sum = (f: (r: Row) => number) => rows.reduce((n, r) => n + f(r), 0)
    const read = sum((r) => r.cache_read_input_tokens ?? 0)
    const write = sum((r) => r.cache_write_input_tokens ?? 0)
    const input = sum((r) => r.input_tokens)
    expect(read).toBeGreaterThan(600)
    expect(write).toBeGreaterThan(read)

    const html = await (await you.get('/dashboard?range=1h')).text()
    const figure = (label: string) => html.match(new RegExp(`<dt>${label}</dt><dd><span class="value">([^<]*)</span>`))?.[1]
    const count = (n: number) => n.toLocaleString('en-US')
    expect(figure('CacheReadInputTokenCount')).toBe(count(read))
    expect(figure('CacheWriteInputTokenCount')).toBe(count(write))
    const ratio = read / (input + read + write)
    expect(figure('Cache hit ratio')).toBe(`${(ratio * 100).toFixed(1)}%`)
    expect(figure('Cache savings')).toBe(`$${((read * (SONNET.input - SONNET.cacheRead)) / 1000).toFixed(4)}`)
    expect(figure('Estimated cost')).toBe(`$${rows.reduce((n, r) => n + priced(r), 0).toFixed(4)}`)
    // the chart: reads and writes per minute, summing to the totals over the range
    expect(html).toContain('aria-label="Cache tokens per minute chart"')
    const json = JSON.parse(attributeText(html.match(/id="chart-data" hidden="" data-json="([^"]*)"/)![1]!)) as { cache: number[][] }
    expect(json.cache.map((series) => series.reduce((a, b) => a + b, 0))).toEqual([read, write])

    const metrics = await (await you.get('/metrics')).text()
    const model = 'global.anthropic.claude-sonnet-4-6'
    expect(metrics).toContain('# TYPE bedrock_cache_read_input_tokens_total counter')
    expect(metrics).toContain(`bedrock_cache_read_input_tokens_total{model="${model}"} ${read}`)
    expect(metrics).toContain(`bedrock_cache_write_input_tokens_total{model="${model}"} ${write}`)
    expect(metrics).toContain(`bedrock_input_tokens_total{model="${model}"} ${input}`)
  })
})

/** An attribute's text as the page escaped it. */
function attributeText(attribute: string): string {
  return attribute
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
}

describe('the emulator reports cache usage', () => {
  const cachePoint = { cachePoint: { type: 'default' as const } }
  const words = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ')

  async function withEmulator(run: (client: BedrockRuntimeClient, emu: Awaited<ReturnType<typeof startEmulator>>) => Promise<void>, cacheEntries?: number) {
    const emu = await startEmulator({ port: 0, cacheEntries })
    const client = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: emu.url, credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'x' } })
    try {
      await run(client, emu)
    } finally {
      client.destroy()
      await emu.close()
    }
  }

  test('a write on first sight of a prefix, reads after, and inputTokens leaves both out', async () => {
    await withEmulator(async (client) => {
      const system = [{ text: words(50, 's') }, cachePoint]
      const first: Message[] = [{ role: 'user', content: [{ text: words(30, 'a') }, cachePoint] }]
      const one = await client.send(new ConverseCommand({ modelId: 'm', system, messages: first }))
      expect(one.usage).toMatchObject({ inputTokens: 0, cacheReadInputTokens: 0, cacheWriteInputTokens: 80, totalTokens: 80 + one.usage!.outputTokens! })
      const reply = one.output!.message!
      const second: Message[] = [
        { role: 'user', content: [{ text: words(30, 'a') }, cachePoint] },
        reply,
        { role: 'user', content: [{ text: words(10, 'b') }, cachePoint] },
      ]
      const two = await client.send(new ConverseCommand({ modelId: 'm', system, messages: second }))
      const replyWords = reply
        .content!.map((b) => b.text ?? '')
        .join(' ')
        .trim()
        .split(/\s+/).length
      expect(two.usage).toMatchObject({ cacheReadInputTokens: 80, cacheWriteInputTokens: replyWords + 10, inputTokens: 0 })
      // the same request again: all read, nothing written
      const three = await client.send(new ConverseCommand({ modelId: 'm', system, messages: second }))
      expect(three.usage).toMatchObject({ cacheReadInputTokens: 80 + replyWords + 10, cacheWriteInputTokens: 0, inputTokens: 0 })
      // text after the last cache point is ordinary input; another model has its own cache
      const after: Message[] = [{ role: 'user', content: [{ text: words(30, 'a') }, cachePoint, { text: 'five more words right here' }] }]
      const four = await client.send(new ConverseCommand({ modelId: 'm', system, messages: after }))
      expect(four.usage).toMatchObject({ cacheReadInputTokens: 80, cacheWriteInputTokens: 0, inputTokens: 5 })
      const other = await client.send(new ConverseCommand({ modelId: 'other', system, messages: first }))
      expect(other.usage).toMatchObject({ cacheReadInputTokens: 0, cacheWriteInputTokens: 80 })
      // no cache point: no cache usage reported
      const plain = await client.send(new ConverseCommand({ modelId: 'm', messages: [{ role: 'user', content: [{ text: 'no cache here' }] }] }))
      expect(plain.usage?.cacheReadInputTokens).toBeUndefined()
      expect(plain.usage?.inputTokens).toBe(3)
    })
  })

  test('more than 4 cache points are refused with Bedrock wording', async () => {
    await withEmulator(async (client, emu) => {
      const content = [{ text: 'a' }, cachePoint, { text: 'b' }, cachePoint, { text: 'c' }, cachePoint, { text: 'd' }, cachePoint]
      const error = await client
        .send(new ConverseCommand({ modelId: 'm', system: [{ text: 's' }, cachePoint], messages: [{ role: 'user', content }] }))
        .catch((e: Error) => e)
      expect(error).toBeInstanceOf(Error)
      expect((error as Error).name).toBe('ValidationException')
      expect((error as Error).message).toBe('A maximum of 4 blocks with cache_control may be provided. Found 5.')
      expect(emu.cacheEntries()).toBe(0)
    })
  })

  test('its memory is bounded: past its size the least recently used prefix is forgotten', async () => {
    await withEmulator(async (client, emu) => {
      const ask = (tag: string) =>
        client.send(new ConverseCommand({ modelId: 'm', messages: [{ role: 'user', content: [{ text: words(5, tag) }, cachePoint] }] })).then((r) => r.usage!)
      for (const tag of ['a', 'b', 'c']) expect((await ask(tag)).cacheWriteInputTokens).toBe(5)
      expect(emu.cacheEntries()).toBe(2)
      expect((await ask('c')).cacheReadInputTokens).toBe(5)
      expect((await ask('a')).cacheWriteInputTokens).toBe(5)
      emu.reset()
      expect(emu.cacheEntries()).toBe(0)
    }, 2)
  })
})
