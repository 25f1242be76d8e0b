import { describe, expect, test } from 'bun:test'
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime'
import { png } from './fixtures/attachments/build.ts'
import { browser, SERVER_CREDENTIALS, type TestApp, unique, useApp } from './helpers.ts'

let t: TestApp
useApp((app) => {
  t = app
})

const OPUS_47 = 'global.anthropic.claude-opus-4-7'
const OPUS_48 = 'global.anthropic.claude-opus-4-8'
const SONNET_45 = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'
const SONNET_46 = 'global.anthropic.claude-sonnet-4-6'
const UNKNOWN = 'my.private-model-v1:0'

type Sent = {
  inferenceConfig?: { maxTokens?: number; temperature?: number; topP?: number }
  additionalModelRequestFields?: { thinking?: { type: string; budget_tokens?: number } }
  outputConfig?: { effort?: string }
}

/** The body the emulator received for the request whose newest user text holds `marker`, and its outcome. */
function sentFor(marker: string): { body: Sent; status: number; outcome: string } {
  const found = t.emulator.requests.filter((r) => JSON.stringify(r.body).includes(marker)).at(-1)
  expect(found).toBeDefined()
  return { body: found!.body as Sent, status: found!.status, outcome: found!.outcome }
}

/** A new conversation with `modelId`, its settings saved as given (none: the defaults). */
async function conversationWith(modelId: string, settings?: Record<string, string>) {
  const you = browser(t.app)
  await you.send(unique('First'), { modelId })
  const path = you.conversation!
  if (settings) expect((await you.post(`${path}/settings`, settings, { htmx: true })).status).toBe(200)
  return { you, path }
}

describe('requests carry only what the model accepts', () => {
  test('Claude Opus 4.7 and 4.8 get no temperature, and adaptive thinking with an effort level, which Bedrock takes', async () => {
    for (const model of [OPUS_47, OPUS_48]) {
      const { you } = await conversationWith(model)
      const text = unique('Opus asks')
      const { body } = await you.send(text)
      const sent = sentFor(text)
      expect(sent.body.inferenceConfig).toEqual({ maxTokens: 2048 })
      expect(sent.body.additionalModelRequestFields).toEqual({ thinking: { type: 'adaptive' } })
      expect(sent.body.outputConfig).toEqual({ effort: 'high' })
      expect({ status: sent.status, outcome: sent.outcome }).toEqual({ status: 200, outcome: 'ok' })
      expect(body).toContain('Emulated reply to')
    }
  })

  test('Claude Opus 4.7 with thinking turned off gets neither thinking nor a temperature, even one saved earlier', async () => {
    const { you } = await conversationWith(OPUS_47, { systemPrompt: '', maxTokens: '1000', temperature: '0.3' })
    const text = unique('No thinking')
    await you.send(text)
    const sent = sentFor(text).body
    expect(sent.inferenceConfig).toEqual({ maxTokens: 1000 })
    expect(sent.additionalModelRequestFields).toBeUndefined()
    expect(sent.outputConfig).toBeUndefined()
  })

  test('Claude Sonnet 4.5 with thinking on gets a budget and no temperature; Sonnet 4.6 thinks adaptively', async () => {
    const old = await conversationWith(SONNET_45, { systemPrompt: '', temperature: '0.3', maxTokens: '1000', thinking: 'on', thinkingBudget: '2048' })
    const a = unique('Budget')
    await old.you.send(a)
    expect(sentFor(a).body.additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 2048 } })
    expect(sentFor(a).body.inferenceConfig?.temperature).toBeUndefined()
    expect(sentFor(a).body.outputConfig).toBeUndefined()

    const now = await conversationWith(SONNET_46, { systemPrompt: '', temperature: '0.3', maxTokens: '1000', thinking: 'on' })
    const b = unique('Adaptive')
    await now.you.send(b)
    expect(sentFor(b).body.additionalModelRequestFields).toEqual({ thinking: { type: 'adaptive' } })
    expect(sentFor(b).body.inferenceConfig).toEqual({ maxTokens: 1000 })
    expect(sentFor(b).status).toBe(200)

    // without thinking, the default model takes the temperature
    const plain = await conversationWith(SONNET_46, { systemPrompt: '', temperature: '0.3', maxTokens: '1000' })
    const c = unique('Plain')
    await plain.you.send(c)
    expect(sentFor(c).body.inferenceConfig).toEqual({ maxTokens: 1000, temperature: 0.3 })
  })

  test('a model the catalogue does not know gets the conservative request: no temperature unless the person set one, no thinking', async () => {
    const stranger = browser(t.app)
    const first = unique('Unknown model')
    await stranger.send(first, { modelId: 'custom', customModelId: UNKNOWN })
    expect(sentFor(first).body.inferenceConfig).toEqual({ maxTokens: 2048 })
    expect(sentFor(first).body.additionalModelRequestFields).toBeUndefined()

    await stranger.post(`${stranger.conversation}/settings`, { systemPrompt: '', temperature: '0.2', maxTokens: '500' }, { htmx: true })
    const second = unique('Now with a temperature')
    await stranger.send(second)
    expect(sentFor(second).body.inferenceConfig).toEqual({ maxTokens: 500, temperature: 0.2 })
  })

  test('an image to a model that takes none is refused before anything is sent', async () => {
    const you = browser(t.app)
    await you.get('/')
    const marker = unique('Look at this')
    const form = new FormData()
    form.append('message', marker)
    form.append('modelId', 'us.amazon.nova-micro-v1:0')
    form.append('files', new File([new Uint8Array(png(8, 8))], 'dot.png', { type: 'image/png' }))
    const res = await t.app.request('http://localhost/c/new/messages', {
      method: 'POST',
      headers: { Cookie: you.cookie, Origin: 'http://localhost', 'HX-Request': 'true', 'HX-Request-Type': 'partial' },
      body: form,
    })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('Amazon Nova Micro does not take images: remove them, or choose another model.')
    expect(t.emulator.requests.some((r) => JSON.stringify(r.body).includes(marker))).toBe(false)
  })
})

describe('the settings panel shows only the settings the chosen model has', () => {
  const panelOf = async (modelId: string) => {
    const { you, path } = await conversationWith(modelId)
    const html = await (await you.get(path)).text()
    return html.match(/<section class="panel" id="settings"[\s\S]*?<\/section>/)![0]
  }

  test('Opus 4.7: no temperature, thinking on and adaptive with its effort, no budget', async () => {
    const panel = await panelOf(OPUS_47)
    expect(panel).not.toContain('id="temperature"')
    expect(panel).toContain('name="thinking" value="on" checked=""')
    expect(panel).toContain('Adaptive: the model decides how much to think, at effort high.')
    expect(panel).not.toContain('id="thinking-budget"')
  })

  test('Sonnet 4.5: temperature and a thinking budget; Nova Pro: temperature and no thinking at all', async () => {
    const sonnet = await panelOf(SONNET_45)
    expect(sonnet).toContain('id="temperature"')
    expect(sonnet).toContain('id="thinking-budget"')
    // thinking is off until turned on (the checked box is Prompt caching's)
    expect(sonnet).toContain('<input type="checkbox" name="thinking" value="on"/>')
    const nova = await panelOf('us.amazon.nova-pro-v1:0')
    expect(nova).toContain('id="temperature"')
    expect(nova).not.toContain('Thinking')
  })

  test('saving the settings of a model without a temperature keeps the one saved for another model', async () => {
    const { you, path } = await conversationWith(SONNET_45, { systemPrompt: '', temperature: '0.2', maxTokens: '700' })
    await you.send(unique('Switch'), { modelId: OPUS_47 })
    const res = await you.post(`${path}/settings`, { systemPrompt: 'Short.', maxTokens: '800' }, { htmx: true })
    expect(res.status).toBe(200)
    await you.send(unique('Back'), { modelId: SONNET_45 })
    const text = unique('Temperature kept')
    await you.send(text)
    expect(sentFor(text).body.inferenceConfig).toEqual({ maxTokens: 800, temperature: 0.2 })
  })
})

describe('the emulator refuses what Bedrock refuses, in its words (through the real SDK)', () => {
  const client = () => new BedrockRuntimeClient({ region: 'us-east-1', endpoint: t.emulator.url, credentials: SERVER_CREDENTIALS, maxAttempts: 1 })
  const converse = async (modelId: string, extra: Record<string, unknown>) => {
    try {
      await client().send(new ConverseCommand({ modelId, messages: [{ role: 'user', content: [{ text: unique('rules') }] }], ...extra }))
      return 'accepted'
    } catch (err) {
      return `${(err as Error).name}: ${(err as Error).message}`
    }
  }

  test('temperature, top-p and enabled thinking to Opus 4.7; both samplers to Sonnet 4.5; adaptive thinking to Sonnet 4.5', async () => {
    expect(await converse(OPUS_47, { inferenceConfig: { temperature: 0.5 } })).toBe('ValidationException: `temperature` is deprecated for this model.')
    expect(await converse(OPUS_48, { inferenceConfig: { topP: 0.9 } })).toBe('ValidationException: `top_p` is deprecated for this model.')
    expect(await converse(OPUS_47, { additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 2048 } } })).toBe(
      'ValidationException: thinking.type.enabled is not supported for this model. Use thinking.type.adaptive and output_config.effort to control thinking behavior.',
    )
    expect(await converse(SONNET_45, { inferenceConfig: { temperature: 0.5, topP: 0.9 } })).toBe(
      'ValidationException: `temperature` and `top_p` cannot both be specified for this model. Please use only one.',
    )
    expect(await converse(SONNET_45, { additionalModelRequestFields: { thinking: { type: 'adaptive' } } })).toStartWith(
      'ValidationException: thinking.type.adaptive is not supported for this model.',
    )
    expect(await converse(OPUS_47, { additionalModelRequestFields: { thinking: { type: 'adaptive' } }, outputConfig: { effort: 'max' } })).toBe('accepted')
    expect(await converse('us.amazon.nova-pro-v1:0', { inferenceConfig: { temperature: 0.5, topP: 0.9 } })).toBe('accepted')
  })
})
