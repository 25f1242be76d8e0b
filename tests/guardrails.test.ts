import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../src/config.ts'
import { GUARDRAIL_BLOCKED_MESSAGE } from '../src/emulator/guardrail.ts'
import { browser, makeApp, unescapeHtml, type TestApp } from './helpers.ts'

const GUARDRAIL = { BEDROCK_GUARDRAIL_ID: 'gr1a2b3c4d5e', BEDROCK_GUARDRAIL_VERSION: '2' }

describe('guardrail settings', () => {
  test('an id and a version together are taken; neither is the default', () => {
    expect(loadConfig(GUARDRAIL)).toMatchObject(GUARDRAIL)
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:guardrail/gr1a2b3c4d5e'
    expect(loadConfig({ BEDROCK_GUARDRAIL_ID: arn, BEDROCK_GUARDRAIL_VERSION: 'DRAFT' })).toMatchObject({ BEDROCK_GUARDRAIL_ID: arn })
    const none = loadConfig({})
    expect(none.BEDROCK_GUARDRAIL_ID).toBeUndefined()
    expect(none.BEDROCK_GUARDRAIL_VERSION).toBeUndefined()
  })

  test.each([
    [
      { BEDROCK_GUARDRAIL_ID: 'gr1a2b3c4d5e' },
      'Invalid BEDROCK_GUARDRAIL_VERSION="": expected a guardrail version (a number such as 1, or DRAFT) with BEDROCK_GUARDRAIL_ID: set both or neither',
    ],
    [{ BEDROCK_GUARDRAIL_VERSION: '1' }, 'Invalid BEDROCK_GUARDRAIL_ID="": expected a guardrail ID with BEDROCK_GUARDRAIL_VERSION: set both or neither'],
    [
      { ...GUARDRAIL, BEDROCK_GUARDRAIL_VERSION: 'latest' },
      'Invalid BEDROCK_GUARDRAIL_VERSION="latest": expected a guardrail version: a number such as 1, or DRAFT',
    ],
    [{ ...GUARDRAIL, BEDROCK_GUARDRAIL_ID: 'My Guardrail' }, 'Invalid BEDROCK_GUARDRAIL_ID="My Guardrail": expected a guardrail ID such as gr1a2b3c4d5e'],
  ])('a guardrail setting that cannot be used stops start-up with one line (%o)', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(() => loadConfig(env)).toThrow(message)
  })
})

describe('a server without a guardrail', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await makeApp()
  })
  afterAll(() => t.close())

  test('sends no guardrail, so [[guardrail]] has nothing to intervene with', async () => {
    const { body } = await browser(t.app).send('[[guardrail]] no guardrail here #g0')
    expect(body).toContain('data-status="done"')
    const [request] = t.emulator.requests.filter((r) => JSON.stringify(r.body).includes('#g0'))
    expect(request).toMatchObject({ guardrail: null, intervened: false })
    expect(request!.body).not.toHaveProperty('guardrailConfig')
  })
})

describe('a server with a guardrail (BEDROCK_GUARDRAIL_ID, BEDROCK_GUARDRAIL_VERSION)', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await makeApp({ env: GUARDRAIL })
  })
  afterAll(() => t.close())
  const upstream = (marker: string) => t.emulator.requests.filter((r) => JSON.stringify(r.body).includes(marker))

  test('every call carries the guardrail, with asynchronous stream processing, and answers as usual', async () => {
    const { body } = await browser(t.app).send('a guarded question #g1')
    expect(body).toContain('data-status="done"')
    const [request] = upstream('#g1')
    expect(request).toMatchObject({ guardrail: 'gr1a2b3c4d5e:2', intervened: false })
    expect((request!.body as { guardrailConfig?: unknown }).guardrailConfig).toEqual({
      guardrailIdentifier: 'gr1a2b3c4d5e',
      guardrailVersion: '2',
      streamProcessingMode: 'async',
    })
  })

  test('an intervention is shown in the thread as blocked by the guardrail, with its message, recorded, and counted on the dashboard and /metrics', async () => {
    const ivy = browser(t.app)
    const { body } = await ivy.send('[[guardrail]] something the guardrail refuses #g2')
    expect(upstream('#g2')[0]).toMatchObject({ guardrail: 'gr1a2b3c4d5e:2', intervened: true })
    const shown = unescapeHtml(body)
    expect(shown).toContain('data-status="error"')
    expect(shown).toMatch(
      new RegExp(`<p class="msg-blocked" role="alert">Blocked by the guardrail: ${GUARDRAIL_BLOCKED_MESSAGE.replace(/[.[\]]/g, '\\$&')}</p>`),
    )
    // not a normal reply: the guardrail's words are not the reply's text, and no generic error is said
    expect(shown).not.toContain('class="msg-error"')
    expect(shown).not.toMatch(/<div class="msg-text md-reply"[^>]*>\s*<p>Sorry/)
    // the same on a reload of the conversation
    const page = unescapeHtml(await (await ivy.get(ivy.conversation!)).text())
    expect(page).toContain(`<p class="msg-blocked" role="alert">Blocked by the guardrail: ${GUARDRAIL_BLOCKED_MESSAGE}</p>`)
    // recorded with its own error type, outcome error (no answer), and its tokens
    const row = await t.sql("SELECT outcome, error_type, success FROM invocations WHERE error_type = 'GuardrailIntervened'")
    expect(row).toEqual([{ outcome: 'error', error_type: 'GuardrailIntervened', success: 0 }])
    // the dashboard counts it as InvocationsIntervened and lists it by type
    const dashboard = unescapeHtml(await (await ivy.get('/dashboard')).text())
    expect(dashboard).toMatch(/<dt>InvocationsIntervened<\/dt>\s*<dd>\s*<span class="value">1<\/span>/)
    expect(dashboard).toContain('Blocked by the guardrail')
    expect(dashboard).toContain('GuardrailIntervened')
    // and /metrics exports it beside the other counters
    const metrics = await (await ivy.get('/metrics')).text()
    expect(metrics).toMatch(/^bedrock_invocations_intervened_total\{model="[^"]+"\} 1$/m)
    expect(metrics).toMatch(/^bedrock_invocation_errors_total\{model="[^"]+",category="intervened"\} 1$/m)
  })

  test('a blocked exchange is not sent again with the next message', async () => {
    const jo = browser(t.app)
    await jo.send('[[guardrail]] refused first #g3')
    await jo.send('then a fine one #g4')
    const [next] = upstream('#g4')
    expect(JSON.stringify(next!.body).includes('refused first')).toBe(false)
    expect(JSON.stringify(next!.body).includes(GUARDRAIL_BLOCKED_MESSAGE)).toBe(false)
  })
})
