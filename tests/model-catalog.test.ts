import { afterEach, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { catalog, loadCatalogFile, useCatalogOverrides } from '../src/services/models.ts'
import { costFor, priceFor } from '../src/services/models.ts'
import { listedModels, modelInfo } from '../src/services/models.ts'

const ROOT = join(import.meta.dir, '..')
afterEach(() => useCatalogOverrides([]))

describe('the model catalogue', () => {
  test('offers Claude first, with names, context windows and prices', () => {
    const listed = listedModels()
    expect(listed[0]!.name).toStartWith('Claude')
    expect(listed.some((m) => m.id.startsWith('us.amazon.nova'))).toBe(true)
    expect(listed.some((m) => m.id.includes('llama'))).toBe(true)
    expect(listed.some((m) => m.id.startsWith('mistral.'))).toBe(true)
    for (const m of catalog()) {
      expect(m.contextWindow).toBeGreaterThan(0)
      expect(priceFor(m.id)).not.toBeNull()
    }
  })

  test('knows a model by its profile id, base id or ARN, and guesses conservatively for others', () => {
    expect(modelInfo('anthropic.claude-sonnet-4-5-20250929-v1:0').name).toBe('Claude Sonnet 4.5')
    expect(modelInfo('arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc').known).toBe(false)
    expect(modelInfo('my.custom-model').contextWindow).toBe(128_000)
  })

  test('cost arithmetic: tokens times the price per 1,000, with the geographic profile premium', () => {
    expect(costFor('global.anthropic.claude-sonnet-4-5-20250929-v1:0', 1000, 1000)).toBeCloseTo(0.018, 10)
    expect(costFor('us.anthropic.claude-sonnet-4-5-20250929-v1:0', 1000, 1000)).toBeCloseTo(0.0198, 10)
    expect(costFor('us.amazon.nova-lite-v1:0', 2_000_000, 500_000)).toBeCloseTo(0.12 + 0.12, 10)
    expect(costFor('unknown.model', 1000, 1000)).toBeNull()
  })

  test('an override file replaces and adds entries', async () => {
    const file = `/tmp/catalog-${crypto.randomUUID()}.json`
    await Bun.write(
      file,
      JSON.stringify([
        { id: 'us.amazon.nova-lite-v1:0', name: 'Nova Lite (negotiated)', contextWindow: 300000, maxOutput: 10000, inputPer1k: 0.00003, outputPer1k: 0.0001 },
        { id: 'my.private-model-v1:0', name: 'Our fine-tune', contextWindow: 32000, maxOutput: 4000, inputPer1k: 0.01, outputPer1k: 0.02 },
      ]),
    )
    useCatalogOverrides(await loadCatalogFile(file))
    expect(modelInfo('us.amazon.nova-lite-v1:0').name).toBe('Nova Lite (negotiated)')
    expect(priceFor('us.amazon.nova-lite-v1:0')).toEqual({ inputPer1k: 0.00003, outputPer1k: 0.0001 })
    expect(listedModels().map((m) => m.name)).toContain('Our fine-tune')
  })

  test('a bad override file stops start-up with a line naming it', async () => {
    const file = `/tmp/catalog-${crypto.randomUUID()}.json`
    await Bun.write(file, JSON.stringify([{ id: 'x.y', name: 'No window' }]))
    const proc = Bun.spawn(['bun', 'src/index.ts'], {
      cwd: ROOT,
      env: { ...process.env, MODEL_CATALOG_FILE: file, PORT: '0', METRICS_DB_PATH: `/tmp/never-${crypto.randomUUID()}/m.db` },
      stderr: 'pipe',
      stdout: 'pipe',
    })
    expect(await proc.exited).toBe(2)
    expect(await new Response(proc.stderr).text()).toMatch(/^MODEL_CATALOG_FILE .*: entry 0\.contextWindow .+\n$/)
  })
})
