import { describe, expect, test } from 'bun:test'
import { BedrockClient, ListFoundationModelsCommand, ListInferenceProfilesCommand, paginateListInferenceProfiles } from '@aws-sdk/client-bedrock'
import { listedModels } from '../src/services/models.ts'
import { browser, makeApp, SERVER_CREDENTIALS, type TestApp, unescapeHtml, useApp } from './helpers.ts'

let t: TestApp
useApp((app) => {
  t = app
})

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'

/** The Model select's options as [value, label], and the selected one. */
function selectOf(html: string) {
  const select = html.match(/<select id="model"[\s\S]*?<\/select>/)![0]
  const options = [...select.matchAll(/<option value="([^"]*)"( selected="")?>([^<]*)<\/option>/g)].map((m) => ({
    id: unescapeHtml(m[1]!),
    name: unescapeHtml(m[3]!),
    selected: Boolean(m[2]),
  }))
  return { options, selected: options.find((o) => o.selected)?.id, note: html.match(/<p class="hint" id="models-note" role="status">([^<]*)<\/p>/)?.[1] }
}

const listCalls = (accessKeyId: string) =>
  t.emulator.requests.filter((r) => (r.operation === 'ListFoundationModels' || r.operation === 'ListInferenceProfiles') && r.accessKeyId === accessKeyId)

/** A browser with its own sidebar keys saved. */
async function browserWithKeys(accessKeyId: string) {
  const you = browser(t.app)
  await you.get('/')
  const saved = await you.post('/credentials', { accessKeyId, secretAccessKey: SECRET, region: 'us-east-1' }, { htmx: true })
  expect(saved.status).toBe(200)
  return you
}

describe('the Model select lists the models the credentials in use can call', () => {
  test("the server's credentials: foundation models, global and geographic profiles and an application profile, named by the catalogue", async () => {
    const { options, selected, note } = selectOf(await (await browser(t.app).get('/')).text())
    const byId = new Map(options.map((o) => [o.id, o.name]))
    expect(byId.get('global.anthropic.claude-sonnet-4-6')).toBe('Claude Sonnet 4.6 (global)')
    expect(byId.get('us.anthropic.claude-sonnet-4-6')).toBe('Claude Sonnet 4.6 (US)')
    expect(byId.get('global.anthropic.claude-opus-4-8')).toBe('Claude Opus 4.8 (global)')
    expect(byId.get('us.anthropic.claude-opus-4-7')).toBe('Claude Opus 4.7 (US)')
    expect(byId.get('amazon.nova-pro-v1:0')).toBe('Amazon Nova Pro')
    expect(byId.get('arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/emuteamchat01')).toBe('Team chat (Sonnet 4.6) (application profile)')
    // a model Bedrock serves only through profiles, and one that writes no text, are not offered
    expect(byId.has('anthropic.claude-sonnet-4-6')).toBe(false)
    expect(byId.has('amazon.titan-embed-text-v2:0')).toBe(false)
    // the catalogue's order: today's Claude first, global before geographic; then the custom choice
    expect(options[0]!.id).toBe('global.anthropic.claude-sonnet-4-6')
    expect(options.at(-1)!.id).toBe('custom')
    expect(selected).toBe('global.anthropic.claude-sonnet-4-6')
    expect(note).toBeUndefined()
    const calls = listCalls(SERVER_CREDENTIALS.accessKeyId)
    expect(calls.some((r) => r.operation === 'ListFoundationModels' && r.path.includes('byOutputModality=TEXT'))).toBe(true)
    // system-defined and application profiles (paging is the SDK's paginator, checked below)
    expect(calls.some((r) => r.operation === 'ListInferenceProfiles' && r.path.includes('type=SYSTEM_DEFINED'))).toBe(true)
    expect(calls.some((r) => r.operation === 'ListInferenceProfiles' && r.path.includes('type=APPLICATION'))).toBe(true)
  })

  test('the list is cached per credentials and region: another page load asks Bedrock nothing', async () => {
    await browser(t.app).get('/')
    const before = listCalls(SERVER_CREDENTIALS.accessKeyId).length
    await browser(t.app).get('/')
    expect(listCalls(SERVER_CREDENTIALS.accessKeyId).length).toBe(before)
  })

  test("a browser's own sidebar keys get their own list, asked with those keys", async () => {
    const key = 'AKIABROWSERLIST00001'
    const you = await browserWithKeys(key)
    const { options } = selectOf(await (await you.get('/')).text())
    expect(options.some((o) => o.id === 'global.anthropic.claude-sonnet-4-6')).toBe(true)
    expect(listCalls(key).length).toBeGreaterThan(0)
    expect(listCalls(key).every((r) => r.authorization?.startsWith(`AWS4-HMAC-SHA256 Credential=${key}/`))).toBe(true)
  })

  test('refused (no bedrock:ListFoundationModels): the catalogue is shown, and one line says so', async () => {
    const you = await browserWithKeys('AKIANOLIST0000000001')
    const { options, note } = selectOf(await (await you.get('/')).text())
    expect(options.map((o) => o.id)).toEqual([...listedModels().map((m) => m.id), 'custom'])
    expect(unescapeHtml(note!)).toBe(
      "Bedrock would not list the models these credentials can call (AccessDeniedException: they lack bedrock:ListFoundationModels), so the catalogue's models are shown.",
    )
  })

  test('a slow Bedrock never holds the page: the catalogue is shown meanwhile, with its line', async () => {
    const you = await browserWithKeys('AKIASLOWLIST00000001')
    const started = performance.now()
    const { options, note } = selectOf(await (await you.get('/')).text())
    expect(performance.now() - started).toBeLessThan(1500)
    expect(options.length).toBe(listedModels().length + 1)
    expect(note).toContain('Bedrock has not answered which models this account can call yet')
  })

  test('Refresh models asks Bedrock again: the panel for htmx (the choice kept), a redirect back without JavaScript', async () => {
    const you = browser(t.app)
    await you.get('/')
    const before = listCalls(SERVER_CREDENTIALS.accessKeyId).filter((r) => r.operation === 'ListFoundationModels').length
    const res = await you.post('/models/refresh', { modelId: 'us.anthropic.claude-opus-4-7' }, { htmx: true })
    expect(res.status).toBe(200)
    const panel = await res.text()
    expect(panel).toStartWith('<section class="panel" id="model-panel">')
    expect(selectOf(panel).selected).toBe('us.anthropic.claude-opus-4-7')
    expect(listCalls(SERVER_CREDENTIALS.accessKeyId).filter((r) => r.operation === 'ListFoundationModels').length).toBe(before + 1)

    const plain = await you.post('/models/refresh', {}, { headers: { Referer: 'http://localhost/' } })
    expect(plain.status).toBe(303)
    expect(plain.headers.get('location')).toBe('/')
    expect(listCalls(SERVER_CREDENTIALS.accessKeyId).filter((r) => r.operation === 'ListFoundationModels').length).toBe(before + 2)
  })

  test('BEDROCK_MODEL_ID, when set, is the default the select starts with', async () => {
    const other = await makeApp({ emulator: t.emulator, env: { BEDROCK_MODEL_ID: 'us.amazon.nova-pro-v1:0' } })
    try {
      expect(selectOf(await (await browser(other.app).get('/')).text()).selected).toBe('us.amazon.nova-pro-v1:0')
    } finally {
      await other.close()
    }
  })
})

describe("the emulator's control plane, through the real SDK", () => {
  const client = (accessKeyId = SERVER_CREDENTIALS.accessKeyId) =>
    new BedrockClient({ region: 'eu-west-1', endpoint: t.emulator.url, credentials: { ...SERVER_CREDENTIALS, accessKeyId }, maxAttempts: 1 })

  test('ListFoundationModels filters as Bedrock does; ListInferenceProfiles pages with nextToken and filters by type', async () => {
    const onDemand = await client().send(new ListFoundationModelsCommand({ byOutputModality: 'TEXT', byInferenceType: 'ON_DEMAND' }))
    const ids = onDemand.modelSummaries!.map((m) => m.modelId)
    expect(ids).toContain('amazon.nova-pro-v1:0')
    expect(ids).not.toContain('anthropic.claude-opus-4-7')
    expect(ids).not.toContain('amazon.titan-embed-text-v2:0')
    expect(onDemand.modelSummaries![0]!.modelArn).toStartWith('arn:aws:bedrock:eu-west-1::foundation-model/')

    const first = await client().send(new ListInferenceProfilesCommand({ maxResults: 2, typeEquals: 'SYSTEM_DEFINED' }))
    expect(first.inferenceProfileSummaries!.length).toBe(2)
    expect(first.nextToken).toBeString()
    const all = []
    for await (const page of paginateListInferenceProfiles({ client: client(), pageSize: 3 }, { typeEquals: 'SYSTEM_DEFINED' }))
      all.push(...page.inferenceProfileSummaries!)
    const profileIds = all.map((p) => p.inferenceProfileId)
    expect(profileIds).toContain('global.anthropic.claude-opus-4-7')
    expect(profileIds).toContain('eu.anthropic.claude-opus-4-7')
    expect(all.every((p) => p.type === 'SYSTEM_DEFINED' && p.createdAt instanceof Date)).toBe(true)
    const apps = await client().send(new ListInferenceProfilesCommand({ typeEquals: 'APPLICATION' }))
    expect(apps.inferenceProfileSummaries!.map((p) => p.inferenceProfileArn)).toEqual([
      'arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/emuteamchat01',
    ])
  })

  test('an AKIANOLIST key is refused with AccessDeniedException, as an account without the permission is', async () => {
    const refused = await client('AKIANOLIST0000000002')
      .send(new ListFoundationModelsCommand({}))
      .catch((err: Error) => err)
    expect((refused as Error).name).toBe('AccessDeniedException')
    expect((refused as Error).message).toContain('is not authorized to perform: bedrock:ListFoundationModels')
  })
})
